//! Signing (the host side only; behind the `sign` feature so the browser
//! build carries no private-key code).

use ed25519_dalek::ed25519::signature::MultipartSigner;
use thiserror::Error;

use super::{Envelope, Jwk, SIGNING_CONTEXT, SnapshotPayload};

/// An Ed25519 signing key with its id. The seed comes from the caller: the
/// core has no randomness.
pub struct SigningKey {
    kid: String,
    key: ed25519_dalek::SigningKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// Why a payload could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignError {
    /// The payload names another key than the one signing it.
    #[error("payload kid `{payload}` differs from signing key `{key}`")]
    KidMismatch {
        /// The header's kid.
        payload: String,
        /// The key's kid.
        key: String,
    },
    /// The payload does not encode (it always does for compiled payloads).
    #[error("payload does not encode")]
    Encode,
}

impl SigningKey {
    /// A key from its 32-byte seed.
    pub fn from_seed(kid: &str, seed: &[u8; 32]) -> SigningKey {
        SigningKey {
            kid: kid.to_owned(),
            key: ed25519_dalek::SigningKey::from_bytes(seed),
        }
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The raw public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The public key as a JWK.
    pub fn jwk(&self) -> Jwk {
        Jwk::ed25519(&self.kid, &self.public_key())
    }

    /// Encodes and signs a payload into the binary envelope.
    pub fn sign(&self, payload: &SnapshotPayload) -> Result<Vec<u8>, SignError> {
        if payload.header.kid != self.kid {
            return Err(SignError::KidMismatch {
                payload: payload.header.kid.clone(),
                key: self.kid.clone(),
            });
        }
        let bytes = postcard::to_allocvec(payload).map_err(|_| SignError::Encode)?;
        let signature = self.sign_bytes(&bytes);
        Ok(Envelope {
            kid: &self.kid,
            payload: &bytes,
            signature: &signature,
        }
        .encode())
    }

    /// Signs already-encoded payload bytes (domain-separated): the message
    /// is the context followed by the payload, hashed in place rather than
    /// copied into one buffer.
    pub fn sign_bytes(&self, payload: &[u8]) -> [u8; 64] {
        self.key
            .multipart_sign(&[SIGNING_CONTEXT, payload])
            .to_bytes()
    }
}
