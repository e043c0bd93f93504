//! Opening a signed snapshot: envelope, key, signature, version, payload,
//! kid agreement, expiry and the caller's expectations, in that order.

use ed25519_dalek::Signature;

use super::{Envelope, FORMAT_VERSION, KeySet, SIGNING_CONTEXT, SnapshotPayload, VerifyError};

/// What the caller expects the snapshot to be about.
#[derive(Debug, Clone, Copy, Default)]
pub struct Expect<'a> {
    /// The org the request is for.
    pub org: Option<&'a str>,
    /// The principal the request is for.
    pub principal: Option<&'a str>,
}

/// Verifies snapshots against a key set.
#[derive(Debug, Clone)]
pub struct Verifier {
    keys: KeySet,
}

impl Verifier {
    /// A verifier trusting `keys`.
    pub fn new(keys: KeySet) -> Self {
        Verifier { keys }
    }

    /// A verifier from JWKS JSON.
    pub fn from_jwks(json: &str) -> Result<Self, VerifyError> {
        KeySet::from_jwks(json).map(Verifier::new)
    }

    /// Verifies and decodes without building the query indexes.
    pub fn verified_payload(
        &self,
        bytes: &[u8],
        now: u64,
        expect: Expect<'_>,
    ) -> Result<SnapshotPayload, VerifyError> {
        let envelope = Envelope::decode(bytes)?;
        let key = self
            .keys
            .get(envelope.kid)
            .ok_or_else(|| VerifyError::UnknownKey(envelope.kid.to_owned()))?;
        let mut message = Vec::with_capacity(SIGNING_CONTEXT.len() + envelope.payload.len());
        message.extend_from_slice(SIGNING_CONTEXT);
        message.extend_from_slice(envelope.payload);
        key.verify_strict(&message, &Signature::from_bytes(envelope.signature))
            .map_err(|_| VerifyError::BadSignature)?;
        let version = postcard::take_from_bytes::<u32>(envelope.payload)
            .map_err(|_| VerifyError::BadEncoding("format version"))?
            .0;
        if version != FORMAT_VERSION {
            return Err(VerifyError::WrongFormatVersion(version));
        }
        let payload: SnapshotPayload = decode_payload(envelope.payload)?;
        if payload.header.kid != envelope.kid {
            return Err(VerifyError::BadSignature);
        }
        if payload.header.expires_at <= now {
            return Err(VerifyError::Expired {
                expires_at: payload.header.expires_at,
                now,
            });
        }
        if expect.org.is_some_and(|org| org != payload.header.org) {
            return Err(VerifyError::WrongOrg(payload.header.org));
        }
        if expect
            .principal
            .is_some_and(|principal| principal != payload.header.principal.id)
        {
            return Err(VerifyError::WrongPrincipal(payload.header.principal.id));
        }
        Ok(payload)
    }
}

/// Postcard decode with "no trailing bytes".
pub(crate) fn decode_payload(bytes: &[u8]) -> Result<SnapshotPayload, VerifyError> {
    let (payload, rest) = postcard::take_from_bytes::<SnapshotPayload>(bytes)
        .map_err(|_| VerifyError::BadEncoding("payload does not decode"))?;
    if !rest.is_empty() {
        return Err(VerifyError::BadEncoding("bytes after the payload"));
    }
    Ok(payload)
}
