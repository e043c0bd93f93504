//! Signed permission snapshots (docs/snapshots.md §3): the payload schema, its postcard
//! encoding, the byte-exact envelope, signing and verification. The schema
//! is written down in `docs/format.md`; keep the two in step.

mod envelope;
mod err;
mod keys;
mod payload;
#[cfg(feature = "sign")]
mod sign;
mod verify;

pub use envelope::{Envelope, MAX_ENVELOPE_BYTES, MAX_TEXT_BYTES, TEXT_PREFIX, from_text, to_text};
pub use err::VerifyError;
pub use keys::{Jwk, KeySet};
pub use payload::{
    AssignmentUse, CapUse, FORMAT_VERSION, Header, KnownNode, NodeProvenance, PrincipalInfo,
    Provenance, ProvenanceRole, RouteSource, ScopeSets, SnapshotPayload,
};
#[cfg(feature = "sign")]
pub use sign::{SignError, SigningKey};
pub use verify::{Expect, Verifier};

/// The bytes signed are this context immediately followed by the payload.
pub const SIGNING_CONTEXT: &[u8] = b"tessera/snapshot/v1";
