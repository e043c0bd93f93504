#!/usr/bin/env bash
# Issue 14's curve: checks/s and p50/p99 while writes land, for every kind
# of write (a node without policy, one user, a group's members, a role's
# holders, everyone) at 0, 1, 10 and 100 writes/s, with 2,000 and 20,000
# active principals, on SQLite and on Postgres. Each row's figures go into
# docs/benchmarks/log.md#write-cost and the summary into BENCHMARKS.md.
#
#   ./benches/writes/run.sh                  # everything (about 25 minutes)
#   ./benches/writes/run.sh sqlite 2000      # one backend, one size
#
# Postgres runs in a database with a random name on TESSERA_TEST_POSTGRES's
# server (default postgres://postgres@127.0.0.1:5432/postgres), dropped at
# the end. The load generator runs in the server's process (see
# host-rust/examples/write_cost.rs).
set -euo pipefail
cd "$(dirname "$0")/../.."

cargo build -q -p tessera-host --release --example write_cost
bench=target/release/examples/write_cost

backends=(sqlite postgres)
sizes=(2000 20000)
if [[ $# -ge 1 ]]; then backends=("$1"); fi
if [[ $# -ge 2 ]]; then sizes=("$2"); fi

for backend in "${backends[@]}"; do
  for principals in "${sizes[@]}"; do
    "$bench" --backend "$backend" --principals "$principals" --rates 0,1,10,100 \
      --kinds node,user,group,role,everyone
  done
done
