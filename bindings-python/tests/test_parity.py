"""The Python SDK against the native resolver on random models from the
core's `testing` generators: tests/out/parity.json (written by `cargo run
-p tessera-tests --bin export-parity`) holds each model's signed snapshot,
its header and the native answers; every answer through the SDK must be
the same."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tessera import Verifier
from test_vectors import answer

PARITY = Path(__file__).resolve().parents[2] / "tests" / "out" / "parity.json"


def test_random_models_answer_as_the_native_core() -> None:
    if not PARITY.exists():
        pytest.fail(f"{PARITY} is missing: run `cargo run -p tessera-tests --bin export-parity -- tests/out/parity.json`")
    parity: dict[str, Any] = json.loads(PARITY.read_text())
    verifier = Verifier.from_jwks(parity["jwks"])
    pairs, mismatches = 0, []
    for model in parity["models"]:
        with verifier.open(model["snapshot"], parity["now"]) as snapshot:
            pairs += 1
            if snapshot.header() != model["header"]:
                mismatches.append(f"seed {model['seed']}: header {snapshot.header()} != {model['header']}")
            for case in model["cases"]:
                pairs += 1
                actual = answer(snapshot, case["query"])
                if actual != case["expect"]:
                    mismatches.append(f"seed {model['seed']}: {case['query']}: native {case['expect']} python {actual}")
    print(f"python differential: {len(parity['models'])} models, {pairs} (snapshot, query) pairs, {len(mismatches)} mismatches")
    assert pairs >= 10_000, pairs
    assert not mismatches, "\n".join(mismatches[:20])
