#!/usr/bin/env bash
# The HTTP load benchmark of BENCHMARKS.md: a release `tessera serve` on
# embedded SQLite, a small fleet, then wrk (Debian package) on the same
# machine: /v1/check for 60 s (RSS before and after), /v1/check/batch and
# snapshot export for 20 s each.
#
#   ./benches/http/run.sh            # needs: apt-get install wrk
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 1; }
cargo build --release -p tessera-host --bin tessera
dir=$(mktemp -d)
port=${PORT:-7799}
out="$dir/serve.out"
TESSERA_DATA_DIR="$dir" TESSERA_LISTEN="127.0.0.1:$port" ./target/release/tessera serve >"$out" 2>"$dir/serve.err" &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do grep -q '^bootstrap token:' "$out" 2>/dev/null && break; sleep 0.1; done
export TOKEN=$(sed -n 's/^bootstrap token: //p' "$out")
base="http://127.0.0.1:$port"
call() { curl -sf -X "$1" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' ${3:+-d "$3"} "$base$2" >/dev/null; }
call POST /v1/orgs '{"id":"acme","name":"Acme"}'
call PUT /v1/users/carol '{"name":"Carol"}'
call PUT /v1/orgs/acme/members/carol
call PUT /v1/orgs/acme/nodes/site/1 '{"parent":null}'
call PUT /v1/orgs/acme/nodes/rack/1 '{"parent":"site:1"}'
call POST /v1/orgs/acme/assignments '{"subject":"user:carol","role":"FIELD_TECH","scope":"site:1"}'
rss() { awk '/VmRSS/ {print $2 " kB"}' "/proc/$pid/status"; }
wrk -t1 -c16 -d3s -s benches/http/check.lua "$base/v1/check" >/dev/null
echo "RSS before: $(rss)"
echo "== /v1/check, 60 s, 16 connections, 1 wrk thread"
wrk -t1 -c16 -d60s --latency -s benches/http/check.lua "$base/v1/check"
echo "RSS after: $(rss)"
echo "== /v1/check/batch (100 checks per request), 20 s"
wrk -t1 -c16 -d20s --latency -s benches/http/batch.lua "$base/v1/check/batch"
echo "== snapshot export, 20 s"
wrk -t1 -c16 -d20s --latency -s benches/http/snapshot.lua "$base/v1/orgs/acme/snapshot"
curl -s "$base/metrics" | grep -E '^tessera_snapshot_cache_total|^tessera_decisions_total'
