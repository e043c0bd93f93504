//! JWKS-shaped public key sets (`kid`, `kty: "OKP"`, `crv: "Ed25519"`, `x`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

use super::VerifyError;

/// One public key in JWK form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key id.
    pub kid: String,
    /// Always `OKP`.
    pub kty: String,
    /// Always `Ed25519`.
    pub crv: String,
    /// The 32-byte public key, base64url without padding.
    pub x: String,
}

#[derive(Deserialize, Serialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

/// The keys a verifier trusts, by `kid`.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<(String, VerifyingKey)>,
}

impl Jwk {
    /// The JWK of a raw Ed25519 public key.
    pub fn ed25519(kid: &str, public_key: &[u8; 32]) -> Jwk {
        Jwk {
            kid: kid.to_owned(),
            kty: "OKP".to_owned(),
            crv: "Ed25519".to_owned(),
            x: URL_SAFE_NO_PAD.encode(public_key),
        }
    }

    fn verifying_key(&self) -> Result<VerifyingKey, VerifyError> {
        let bad = |why: &str| VerifyError::BadKeySet(format!("key `{}`: {why}", self.kid));
        if self.kty != "OKP" || self.crv != "Ed25519" {
            return Err(bad("not an OKP Ed25519 key"));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(&self.x)
            .map_err(|_| bad("`x` is not base64url"))?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| bad("`x` is not 32 bytes"))?;
        VerifyingKey::from_bytes(&bytes).map_err(|_| bad("`x` is not a curve point"))
    }
}

impl KeySet {
    /// Parses `{"keys": [...]}`. Duplicate `kid`s are refused.
    pub fn from_jwks(json: &str) -> Result<KeySet, VerifyError> {
        let jwks: Jwks =
            serde_json::from_str(json).map_err(|err| VerifyError::BadKeySet(err.to_string()))?;
        KeySet::from_jwks_keys(&jwks.keys)
    }

    /// Builds a key set from parsed JWKs.
    pub fn from_jwks_keys(jwks: &[Jwk]) -> Result<KeySet, VerifyError> {
        let mut keys: Vec<(String, VerifyingKey)> = Vec::with_capacity(jwks.len());
        for jwk in jwks {
            if keys.iter().any(|(kid, _)| *kid == jwk.kid) {
                return Err(VerifyError::BadKeySet(format!(
                    "duplicate kid `{}`",
                    jwk.kid
                )));
            }
            keys.push((jwk.kid.clone(), jwk.verifying_key()?));
        }
        Ok(KeySet { keys })
    }

    /// The key set as JWKS JSON.
    pub fn to_jwks_json(&self) -> String {
        let keys = self
            .keys
            .iter()
            .map(|(kid, key)| Jwk::ed25519(kid, key.as_bytes()))
            .collect();
        serde_json::to_string(&Jwks { keys }).unwrap_or_default()
    }

    pub(super) fn get(&self, kid: &str) -> Option<&VerifyingKey> {
        self.keys
            .iter()
            .find(|(known, _)| known == kid)
            .map(|(_, key)| key)
    }
}
