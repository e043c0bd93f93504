//! One secret per process keys the hash tables built from ids an org's
//! administrators choose (the compiler's, and the node index of every
//! snapshot this host opens), so that no tenant can craft ids that collide
//! and make the host's work for its org quadratic. Answers never depend on
//! it.

use std::sync::OnceLock;

use tessera_core::CompileRequest;

static SEED: OnceLock<u64> = OnceLock::new();

/// This process's hash seed, drawn from the OS on first use. Should the OS
/// refuse randomness, the clock and the process id stand in: the host keeps
/// answering, only less hardened.
pub fn hash_seed() -> u64 {
    *SEED.get_or_init(|| match crate::ids::random_bytes::<8>() {
        Ok(bytes) => u64::from_le_bytes(bytes),
        Err(_) => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_nanos() as u64);
            nanos ^ u64::from(std::process::id()).rotate_left(32)
        }
    })
}

/// A compile request for a snapshot this process asks itself and never
/// exports (an actor's holdings, a preview's after side): no lifetime, no
/// key, no provenance, this process's seed.
pub(crate) fn in_process(principal: &str) -> CompileRequest<'_> {
    CompileRequest {
        principal,
        token_scopes: None,
        under: None,
        issued_at: 0,
        expires_at: 1,
        kid: "",
        provenance: false,
        hash_seed: hash_seed(),
    }
}
