//! Node ids are chosen by an org's administrators, and the compiler keys
//! its tables by them. Ids crafted to collide under a known hash seed must
//! not make a compile under the host's secret seed superlinear
//! (issue 12.7): 50,000 crafted ids compile within 5× the time of 50,000
//! ordinary ones. The same ids under the seed they were crafted for show
//! that the crafting works.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test setup fails loudly"
)]

use std::time::{Duration, Instant};

use tessera_core::testing::node_key_hash;
use tessera_core::{CompileRequest, Facts, Manifest, NodeFact, NodeKey, compile};

/// How many ids, and how many low bits of their hash they share.
const IDS: usize = 50_000;
const SHARED_BITS: u32 = 14;

const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// The compiler's hash of a node key under seed 0, written out so that
/// the search below can reuse the state of a shared prefix: the seed, the
/// type `site`, its terminator, then the id's first eight bytes and its
/// tail, its terminator, and the finaliser. (Checked against the core's.)
mod replica {
    const K: u64 = 0x517c_c1b7_2722_0a95;

    pub(super) fn mix(hash: u64, word: u64) -> u64 {
        (hash.rotate_left(5) ^ word).wrapping_mul(K)
    }

    pub(super) fn word(bytes: &[u8]) -> u64 {
        bytes
            .iter()
            .enumerate()
            .fold(0, |word, (at, byte)| word | u64::from(*byte) << (8 * at))
    }

    pub(super) fn finish(mut hash: u64) -> u64 {
        hash ^= hash >> 31;
        hash = hash.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        hash ^ (hash >> 32)
    }

    /// The state after `site`, its terminator and eight id bytes.
    pub(super) fn prefix(head: &[u8; 8]) -> u64 {
        let after_type = mix(mix(0, word(b"site")), 0xff);
        mix(after_type, word(head))
    }

    /// The hash of the key whose id is `head` then `tail` (four bytes).
    pub(super) fn with_tail(prefix: u64, tail: &[u8; 4]) -> u64 {
        finish(mix(mix(prefix, word(tail)), 0xff))
    }
}

/// Twelve-character ids whose node key hashes agree, under seed 0, on
/// their low `bits` (the bits a hash table's bucket index comes from); with
/// `bits` 0, random ids of the same shape.
fn ids(bits: u32) -> Vec<String> {
    let mask = (1u64 << bits) - 1;
    let mut ids = Vec::with_capacity(IDS);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    while ids.len() < IDS {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let head: [u8; 8] = std::array::from_fn(|at| ALPHABET[((state >> (at * 6)) % 62) as usize]);
        let prefix = replica::prefix(&head);
        for tail in 0..62u32.pow(4) {
            let tail: [u8; 4] =
                std::array::from_fn(|at| ALPHABET[(tail / 62u32.pow(at as u32) % 62) as usize]);
            if replica::with_tail(prefix, &tail) & mask == 0 {
                let id = String::from_utf8([head.as_slice(), tail.as_slice()].concat()).unwrap();
                ids.push(id);
                if ids.len() == IDS || bits == 0 {
                    break;
                }
            }
        }
    }
    ids
}

fn facts(ids: &[String]) -> Facts {
    let mut facts: Facts = serde_json::from_value(serde_json::json!({
        "org": "acme",
        "users": [{"id": "alice"}],
        "members": ["alice"],
        "groups": [{"id": "members", "name": "members", "default": true}],
    }))
    .unwrap();
    facts.nodes = ids
        .iter()
        .map(|id| NodeFact {
            node: NodeKey {
                ty: "site".to_owned(),
                id: id.clone(),
            },
            parent: None,
        })
        .collect();
    facts
}

/// The fastest of three compiles.
fn compile_time(manifest: &Manifest, facts: &Facts, hash_seed: u64) -> Duration {
    let request = CompileRequest {
        principal: "alice",
        token_scopes: None,
        under: None,
        issued_at: 0,
        expires_at: 1,
        kid: "k",
        provenance: false,
        hash_seed,
    };
    (0..3)
        .map(|_| {
            let started = Instant::now();
            compile(manifest, facts, &request).unwrap();
            started.elapsed()
        })
        .min()
        .unwrap()
}

#[test]
fn crafted_node_ids_do_not_make_a_seeded_compile_superlinear() {
    let text =
        std::fs::read_to_string(tessera_tests::repo_root().join("examples/fleet/manifest.toml"))
            .unwrap();
    let manifest = Manifest::from_toml(&text).unwrap();
    let started = Instant::now();
    let crafted = ids(SHARED_BITS);
    println!("crafted {IDS} ids in {:?}", started.elapsed());
    for id in crafted.iter().step_by(997) {
        let key = NodeKey {
            ty: "site".to_owned(),
            id: id.clone(),
        };
        let mask = (1 << SHARED_BITS) - 1;
        assert_eq!(
            node_key_hash(0, &key) & mask,
            0,
            "the replica is the core's hash"
        );
    }
    let crafted = facts(&crafted);
    let ordinary = facts(&ids(0));
    let secret = 0x5eed_1234_abcd_ef01;
    let baseline = compile_time(&manifest, &ordinary, secret);
    let keyed = compile_time(&manifest, &crafted, secret);
    let known = compile_time(&manifest, &crafted, 0);
    println!(
        "ordinary {baseline:?}, crafted under a secret seed {keyed:?}, under the seed they were crafted for {known:?}"
    );
    assert!(
        keyed <= baseline * 5,
        "crafted ids compile in {keyed:?}, ordinary ones in {baseline:?}"
    );
    assert!(
        known > baseline * 5,
        "the crafting does not work: {known:?} against {baseline:?}"
    );
}
