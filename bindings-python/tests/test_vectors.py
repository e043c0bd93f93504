"""Every conformance vector through the Python SDK's public API
(tests/out/vectors.json, written by `cargo run -p tessera-tests --bin
export-vectors`), held to the same expectations as the Rust and JS
runners; and the refusals of `open`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tessera import Snapshot, TesseraError, Verifier, _abi

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "out" / "vectors.json"


@pytest.fixture(scope="module")
def vectors() -> dict[str, Any]:
    if not VECTORS.exists():
        pytest.fail(f"{VECTORS} is missing: run `cargo run -p tessera-tests --bin export-vectors -- tests/out/vectors.json`")
    return json.loads(VECTORS.read_text())


def answer(snapshot: Snapshot, query: dict[str, Any]) -> Any:
    """One vector query through the public API, in the core's JSON shapes."""
    [(kind, args)] = query.items()
    if kind == "check":
        [decision] = snapshot.check_many([args])
        # The plain check and the handle check agree with the batch.
        assert snapshot.check(args["permission"], args["path"], args.get("owner")) == decision["decision"]
        handle = snapshot.permission(args["permission"])
        if handle is not None:
            assert snapshot.check(handle, args["path"], args.get("owner")) == decision["decision"]
        return decision
    if kind == "check_many":
        return snapshot.check_many(args["checks"])
    if kind == "can_anywhere":
        return snapshot.can_anywhere(args["permission"])
    if kind == "effective":
        return snapshot.effective(args["path"], args.get("owner"))
    if kind == "filter":
        kept = snapshot.filter(args["permission"], args["items"], lambda item: item["path"], lambda item: item.get("owner"))
        return [item["id"] for item in kept]
    if kind == "filter_plan":
        return snapshot.filter_plan(args["permission"])
    if kind == "guard":
        return snapshot.guard(args["route"])
    if kind == "nav":
        return snapshot.nav()
    if kind == "claims":
        return snapshot.claims()
    if kind == "explain":
        return snapshot.explain(args["permission"], args["path"], args.get("owner"))
    if kind == "header":
        return {"superuser": snapshot.superuser, "active": snapshot.active, "token_scopes": snapshot.token_scopes}
    raise AssertionError(f"unknown query {kind}")


def test_every_vector_answers_as_expected(vectors: dict[str, Any]) -> None:
    verifier = Verifier.from_jwks(vectors["jwks"])
    opened: dict[str, Snapshot] = {}
    total = 0
    for file in vectors["files"]:
        for case in file["cases"]:
            snapshot = opened.get(case["snapshot"])
            if snapshot is None:
                snapshot = verifier.open(case["snapshot"], vectors["now"])
                opened[case["snapshot"]] = snapshot
            actual = answer(snapshot, case["query"])
            where = f"{file['name']}: {case['description']}"
            if "explain" in case["query"]:
                for key, value in case["expect"].items():
                    assert actual.get(key) == value, f"{where}: field {key}"
            else:
                assert actual == case["expect"], where
        total += len(file["cases"])
        print(f"python {file['name']}: {len(file['cases'])} queries")
    print(f"python total: {total} queries")
    assert total >= 500


def refused(code: str, call: Any) -> None:
    with pytest.raises(TesseraError) as raised:
        call()
    assert raised.value.code == code, raised.value


def test_open_refuses_with_stable_codes(vectors: dict[str, Any]) -> None:
    verifier = Verifier.from_jwks(json.dumps(vectors["jwks"]))
    text: str = vectors["files"][0]["cases"][0]["snapshot"]
    now: int = vectors["now"]
    snapshot = verifier.open(text, now)
    assert snapshot.issued_at <= now < snapshot.expires_at

    at = (len("tss1.") + len(text)) // 2
    tampered = text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1 :]
    with pytest.raises(TesseraError) as raised:
        verifier.open(tampered, now)
    assert raised.value.code in ("BAD_SIGNATURE", "BAD_ENCODING")
    refused("EXPIRED", lambda: verifier.open(text, snapshot.expires_at))
    refused("BAD_ENCODING", lambda: verifier.open(text[: len(text) // 2], now))
    refused("BAD_ENCODING", lambda: verifier.open(bytes(range(200)), now))
    refused("WRONG_ORG", lambda: verifier.open(text, now, org="another-org"))
    refused("WRONG_PRINCIPAL", lambda: verifier.open(text, now, principal="someone-else"))
    for wrong in (1.5, "1000", True, -1, [now]):
        refused("BAD_ARGUMENT", lambda wrong=wrong: verifier.open(text, wrong))
    other = {"keys": [dict(vectors["jwks"]["keys"][0], kid="another-key")]}
    refused("UNKNOWN_KEY", lambda: Verifier.from_jwks(other).open(text, now))
    refused("BAD_KEY_SET", lambda: Verifier.from_jwks("{"))

    # `now=None` is the current time, never "skip expiry": the vectors'
    # snapshots expired long ago.
    refused("EXPIRED", lambda: verifier.open(text))

    # Over 1 MiB: the module refuses it; far over, the SDK before copying.
    refused("TOO_LARGE", lambda: verifier.open(bytes((1 << 20) + 1), now))
    refused("TOO_LARGE", lambda: verifier.open("tss1." + "A" * (3 << 20), now))

    snapshot.close()
    refused("BAD_ARGUMENT", lambda: snapshot.nav())


def test_inputs_larger_than_the_scratch_buffer_answer_the_same(vectors: dict[str, Any]) -> None:
    """A check whose path is over 64 KiB goes in buffers of its own
    (docs/abi.md §11.2); it answers as the JSON query does."""
    case = next(c for f in vectors["files"] for c in f["cases"] if "check" in c["query"])
    snapshot = Verifier.from_jwks(vectors["jwks"]).open(case["snapshot"], vectors["now"])
    permission = case["query"]["check"]["permission"]
    for path, owner in ((case["query"]["check"]["path"] + [f"site:{'x' * 70_000}"], None), ([], "o" * 70_000)):
        [expected] = snapshot.check_many([{"permission": permission, "path": path, "owner": owner}])
        assert snapshot.check(permission, path, owner) == expected["decision"]
        handle = snapshot.permission(permission)
        assert handle is not None and snapshot.check(handle, path, owner) == expected["decision"]


def test_a_verifier_outlives_a_trapped_instance(vectors: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """After a trap (docs/abi.md §11.9) a long-lived verifier, such as a
    gate's, opens in the instance that replaced the trapped one."""
    monkeypatch.setattr(_abi, "_shared", _abi.Abi())
    verifier = Verifier.from_jwks(vectors["jwks"])
    case = next(c for f in vectors["files"] for c in f["cases"] if "check" in c["query"])
    text = case["snapshot"]
    before = verifier.open(text, vectors["now"])
    args = case["query"]["check"]
    handle = before.permission(args["permission"])
    assert handle is not None
    _abi.shared()._instance.trapped = "in a test"
    refused("INTERNAL", lambda: before.nav())
    before.close()  # a no-op on a trapped instance, not an error
    after = verifier.open(text, vectors["now"])
    assert after.nav() == Verifier.from_jwks(vectors["jwks"]).open(text, vectors["now"]).nav()
    # A handle of the trapped instance is asked by its key, never by number.
    assert after.check(handle, args["path"], args.get("owner")) == case["expect"]["decision"]


def test_a_path_with_an_empty_segment_answers_as_the_json_check(vectors: dict[str, Any]) -> None:
    case = next(c for f in vectors["files"] for c in f["cases"] if "check" in c["query"])
    snapshot = Verifier.from_jwks(vectors["jwks"]).open(case["snapshot"], vectors["now"])
    permission = case["query"]["check"]["permission"]

    def outcome(call: Any) -> str:
        try:
            return str(call())
        except TesseraError as error:
            return error.code

    for path in ([""], ["site:1", ""]):
        expected = outcome(lambda: snapshot.check_many([{"permission": permission, "path": path}])[0]["decision"])
        assert outcome(lambda: snapshot.check(permission, path)) == expected, path
