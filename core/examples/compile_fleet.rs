//! Compiles and signs the snapshot of issue 3's benchmark target (see
//! `benches/support/fleet_target.rs`) a given number of times, for
//! profilers: instruction counts under callgrind do not depend on what
//! else the machine runs. One build's count is the difference between a
//! run with N builds and a run with none (the setup), over N.
//!
//! ```sh
//! cargo build -p tessera-core --release --example compile_fleet
//! valgrind --tool=callgrind target/release/examples/compile_fleet 0
//! valgrind --tool=callgrind target/release/examples/compile_fleet 10
//! ```
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::print_stdout,
    unreachable_pub,
    reason = "example setup"
)]

#[path = "../benches/support/fleet_target.rs"]
mod fleet_target;

use std::hint::black_box;

use tessera_core::{Manifest, SigningKey, compile};

use fleet_target::{KID, MANIFEST, request, target_facts};

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .map_or(1, |arg| arg.parse().expect("a number of runs"));
    let manifest = Manifest::from_toml(MANIFEST).unwrap();
    let facts = target_facts(&manifest);
    let key = SigningKey::from_seed(KID, &[7; 32]);
    let mut bytes = 0;
    for _ in 0..runs {
        let payload = compile(&manifest, black_box(&facts), &request()).unwrap();
        bytes = black_box(key.sign(&payload).unwrap()).len();
    }
    println!(
        "{runs} builds; {} nodes in the facts; envelope {bytes} B",
        facts.nodes.len()
    );
}
