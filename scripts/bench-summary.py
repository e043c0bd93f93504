#!/usr/bin/env python3
"""Summarise criterion results for BENCHMARKS.md.

For every benchmark under the given criterion directories prints: the median
point estimate with its 95% confidence interval (criterion's estimates.json),
and p50 / p99 over the per-sample means (sample.json: each sample's total
time / its iteration count; with 20-50 samples, p99 is about the slowest
sample). Usage: scripts/bench-summary.py target/criterion benches/peers/target/criterion
"""
import json
import os
import sys


def fmt(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3), ("ns", 1.0)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns * 1000:.3g} ps"


def pct(values, q):
    values = sorted(values)
    rank = q * (len(values) - 1)
    low = int(rank)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (rank - low)


for root in sys.argv[1:]:
    for folder, _, files in sorted(os.walk(root)):
        if os.path.basename(folder) != "new" or "estimates.json" not in files:
            continue
        with open(os.path.join(folder, "benchmark.json")) as f:
            name = json.load(f)["full_id"]
        with open(os.path.join(folder, "estimates.json")) as f:
            median = json.load(f)["median"]
        with open(os.path.join(folder, "sample.json")) as f:
            sample = json.load(f)
        means = [t / i for t, i in zip(sample["times"], sample["iters"])]
        ci = median["confidence_interval"]
        print(
            f"| `{name}` | {fmt(median['point_estimate'])} "
            f"[{fmt(ci['lower_bound'])} – {fmt(ci['upper_bound'])}] "
            f"| {fmt(pct(means, 0.5))} | {fmt(pct(means, 0.99))} | {len(means)} |"
        )
