"""The Python SDK's speed, next to cedarpy (Cedar's Python bindings) and
casbin answering the same questions in the same run (issue 18, item 7).

    cargo run -q -p tessera-tests --bin export-bench -- tests/out/bench
    target/venv-python/bin/pip install cedarpy==4.12.2 casbin==1.43.0
    PYTHONPATH=bindings-python/src target/venv-python/bin/python bindings-python/bench.py

The model is the JS bench's (benches/js/bench.mjs, tests/src/bin/export_bench.rs):
site → rack → shelf → miner, alice in `techs` with a role on every rack,
org-wide VIEWER, and caps on sites 0 and 3. Before timing, the three
engines must agree on every (miner action, miner) question of the grid.
Each figure is the best of 5 rounds, in ns per call.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import casbin
import cedarpy

from tessera import Verifier

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "out" / "bench"
ALLOW4 = ["site:1", "rack:1-2", "shelf:1-2-3", "miner:1-2-3-4"]
DENY4 = ["site:0", "rack:0-1", "shelf:0-1-3", "miner:0-1-3-4"]


def ident(node: str) -> str:
    return node.split(":", 1)[1]


def load() -> tuple[dict, str, dict]:
    if not (DATA / "model.json").exists():
        sys.exit(f"{DATA} is missing: cargo run -q -p tessera-tests --bin export-bench -- tests/out/bench")
    model = json.loads((DATA / "model.json").read_text())
    return model, (DATA / "snapshot_100.txt").read_text().strip(), json.loads((DATA / "jwks.json").read_text())


def cedar_policies(model: dict) -> str:
    """Alice's grants as Cedar: roles are action groups, a policy per assignment, caps as forbid."""
    policies = []
    for a in model["facts"]["assignments"]:
        kind, who = a["subject"].split(":")
        principal = f'principal == User::"{who}"' if kind == "user" else f'principal in Group::"{who}"'
        resource = "resource"
        if a.get("scope"):
            ty, node = a["scope"].split(":")
            resource = f'resource in {ty.capitalize()}::"{node}"'
        policies.append(f'permit ({principal}, action in Action::"role:{a["role"]}", {resource});')
    for cap in model["facts"]["caps"]:
        group = cap["selector"].split(":")[1]
        ty, node = cap["scope"].split(":")
        allowed = ", ".join(f'Action::"{key}"' for key in cap["allow"])
        policies.append(
            f'forbid (principal in Group::"{group}", action, resource in {ty.capitalize()}::"{node}") unless {{ action in [{allowed}] }};'
        )
    return "\n".join(policies)


def cedar_request(model: dict, key: str, path: list[str]) -> tuple[dict, list]:
    roles = [role for role, keys in model["roles"].items() if key in keys]
    site, rack, shelf, miner = (ident(n) for n in path)
    uid = lambda ty, i: {"type": ty, "id": i}  # noqa: E731
    entities = [
        {"uid": uid("User", "alice"), "attrs": {}, "parents": [uid("Group", "techs")]},
        {"uid": uid("Group", "techs"), "attrs": {}, "parents": []},
        {"uid": uid("Site", site), "attrs": {}, "parents": []},
        {"uid": uid("Rack", rack), "attrs": {}, "parents": [uid("Site", site)]},
        {"uid": uid("Shelf", shelf), "attrs": {}, "parents": [uid("Rack", rack)]},
        {"uid": uid("Miner", miner), "attrs": {}, "parents": [uid("Shelf", shelf)]},
        {"uid": uid("Action", key), "attrs": {}, "parents": [uid("Action", f"role:{r}") for r in roles]},
    ]
    request = {"principal": 'User::"alice"', "action": f'Action::"{key}"', "resource": f'Miner::"{miner}"', "context": {}}
    return request, entities


CASBIN_MODEL = """
[request_definition]
r = sub, obj, act
[policy_definition]
p = sub, obj, act, eft
[role_definition]
g = _, _
[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))
[matchers]
m = g(r.sub, p.sub) && keyMatch(r.obj, p.obj) && r.act == p.act
"""


def casbin_enforcer(model: dict, actions: list[str]) -> casbin.Enforcer:
    """Alice's grants as casbin rules: a path prefix per scope, caps as deny."""
    adapter_path = DATA / "casbin.csv"
    nodes = {n["node"]: n["parent"] for n in model["facts"]["nodes"]}

    def prefix(node: str | None) -> str:
        chain = []
        while node:
            chain.append(node)
            node = nodes.get(node)
        return "/" + "/".join(reversed(chain)) + ("/*" if chain else "*")

    lines = ["g, alice, techs"]
    for a in model["facts"]["assignments"]:
        who = a["subject"].split(":")[1]
        for key in model["roles"][a["role"]]:
            if key in actions:
                lines.append(f"p, {who}, {prefix(a.get('scope'))}, {key}, allow")
    for cap in model["facts"]["caps"]:
        for key in actions:
            if key not in cap["allow"]:
                lines.append(f"p, {cap['selector'].split(':')[1]}, {prefix(cap['scope'])}, {key}, deny")
    adapter_path.write_text("\n".join(lines) + "\n")
    model_path = DATA / "casbin.conf"
    model_path.write_text(CASBIN_MODEL)
    return casbin.Enforcer(str(model_path), str(adapter_path))


def best(call: Callable[[], object], rounds: int = 5, target_ns: int = 200_000_000) -> float:
    """ns per call: the best of `rounds`, each long enough to time."""
    n = 1
    while True:
        start = time.perf_counter_ns()
        for _ in range(n):
            call()
        spent = time.perf_counter_ns() - start
        if spent > target_ns // 10:
            break
        n *= 4
    results = []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        for _ in range(n):
            call()
        results.append((time.perf_counter_ns() - start) / n)
    return min(results)


def main() -> None:
    model, text, jwks = load()
    now = model["issued_at"]
    verifier = Verifier.from_jwks(jwks)
    snapshot = verifier.open(text, now)
    actions = [k for k in model["roles"]["SUPER_ADMIN"] if k.startswith("miner:")]
    policies = cedar_policies(model)
    enforcer = casbin_enforcer(model, actions)

    # Agreement on every (miner action, miner) of the grid, first.
    shelves = [n["node"] for n in model["facts"]["nodes"] if n["node"].startswith("shelf:")]
    parents = {n["node"]: n["parent"] for n in model["facts"]["nodes"]}
    questions = allowed = 0
    for shelf in shelves:
        rack = parents[shelf]
        path = [parents[rack], rack, shelf, f"miner:{ident(shelf)}-4"]
        obj = "/" + "/".join(path)
        for key in actions:
            tessera = snapshot.check(key, path) == "allow"
            request, entities = cedar_request(model, key, path)
            cedar = cedarpy.is_authorized(request, policies, entities).allowed
            rule = enforcer.enforce("alice", obj, key)
            if not tessera == cedar == rule:
                sys.exit(f"disagreement on {key} at {path}: tessera {tessera}, cedar {cedar}, casbin {rule}")
            questions += 1
            allowed += tessera
    print(f"agreement: {questions} questions, {allowed} allowed, Tessera = Cedar = casbin on all")

    reboot = snapshot.permission("miner:reboot")
    assert reboot is not None
    checks = [{"permission": key, "path": [parents[parents[s]], parents[s], s, f"miner:{ident(s)}-4"]} for s in shelves[:9] for key in actions][:50]
    allow_request, allow_entities = cedar_request(model, "miner:reboot", ALLOW4)
    deny_request, deny_entities = cedar_request(model, "miner:reboot", DENY4)
    rows = [
        ("tessera check, handle, depth 4, allow", lambda: snapshot.check(reboot, ALLOW4)),
        ("tessera check, handle, depth 4, deny (cap)", lambda: snapshot.check(reboot, DENY4)),
        ("tessera check, string key, depth 4, allow", lambda: snapshot.check("miner:reboot", ALLOW4)),
        ("tessera check_many, 50 checks", lambda: snapshot.check_many(checks)),
        ("tessera open, 100 known nodes", lambda: verifier.open(text, now).close()),
        ("cedarpy is_authorized, allow", lambda: cedarpy.is_authorized(allow_request, policies, allow_entities)),
        ("cedarpy is_authorized, deny (cap)", lambda: cedarpy.is_authorized(deny_request, policies, deny_entities)),
        ("casbin enforce, allow", lambda: enforcer.enforce("alice", "/" + "/".join(ALLOW4), "miner:reboot")),
        ("casbin enforce, deny (cap)", lambda: enforcer.enforce("alice", "/" + "/".join(DENY4), "miner:reboot")),
    ]
    figures = {}
    for label, call in rows:
        figures[label] = best(call)
        print(f"{label:48} {figures[label] / 1000:10.2f} µs")
    handle = figures["tessera check, handle, depth 4, allow"]
    print(f"cedarpy / tessera handle check: {figures['cedarpy is_authorized, allow'] / handle:.1f}x")
    print(f"casbin / tessera handle check: {figures['casbin enforce, allow'] / handle:.1f}x")


if __name__ == "__main__":
    main()
