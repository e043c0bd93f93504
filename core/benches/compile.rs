//! Criterion benchmark for the snapshot builder's CPU half (issue 3): the
//! target of `host-rust/examples/seed_bench.rs` (a user in 50 effective
//! groups, 510 assignments, 20 hidden entries, 11 caps, ~2,100 known
//! nodes), with the facts built in memory as the host loads them. Times
//! `compile`, encode + sign of the compiled payload, and both together.
//!
//! Run with `cargo bench -p tessera-core --bench compile`. For instruction
//! counts: `examples/compile_fleet.rs`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs,
    unreachable_pub,
    reason = "benchmark setup"
)]

#[path = "support/fleet_target.rs"]
mod fleet_target;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use tessera_core::{Manifest, SigningKey, compile};

use fleet_target::{KID, MANIFEST, request, target_facts};

fn fleet_target(c: &mut Criterion) {
    let manifest = Manifest::from_toml(MANIFEST).unwrap();
    let facts = target_facts(&manifest);
    let key = SigningKey::from_seed(KID, &[7; 32]);
    let payload = compile(&manifest, &facts, &request()).unwrap();
    let envelope = key.sign(&payload).unwrap();
    eprintln!(
        "fleet target: {} effective groups, {} assignments, {} hidden, {} caps, {} known nodes, envelope {} B",
        payload.groups.len(),
        facts.assignments.len(),
        facts.hidden.len(),
        facts.caps.len(),
        payload.nodes.len(),
        envelope.len()
    );
    assert_eq!(payload.groups.len(), 50);
    assert_eq!(facts.assignments.len(), 510);
    assert_eq!((facts.hidden.len(), facts.caps.len()), (20, 11));
    assert!((2_000..2_300).contains(&payload.nodes.len()));

    let mut group = c.benchmark_group("fleet_target");
    group.sample_size(50);
    group.bench_function("compile", |b| {
        b.iter(|| compile(&manifest, black_box(&facts), &request()).unwrap());
    });
    group.bench_function("encode_sign", |b| {
        b.iter(|| key.sign(black_box(&payload)).unwrap());
    });
    group.bench_function("compile_sign", |b| {
        b.iter(|| {
            let payload = compile(&manifest, black_box(&facts), &request()).unwrap();
            key.sign(&payload).unwrap()
        });
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
}

criterion_group! {
    name = benches;
    config = config();
    targets = fleet_target
}
criterion_main!(benches);
