"""The FastAPI dependency and the Flask decorator against a real `tessera
serve --demo`: snapshots from the host, keys fetched from its `/v1/keys`
on first use, and the answers of the Express middleware: 401 for a
missing, tampered, oversized or mismatched snapshot, 403 for a deny, 404
for a hidden miner, the handler (with the snapshot, to filter a list)
otherwise."""

from __future__ import annotations

from typing import Any

import flask
import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient

from tessera import Snapshot
from tessera import fastapi as tessera_fastapi
from tessera import flask as tessera_flask
from tessera.client import Client
from tessera.gate import Gate

MINERS = [
    {"id": "miner:11", "path": ["site:1", "rack:1", "miner:11"]},
    {"id": "miner:21", "path": ["site:2", "rack:2", "miner:21"]},
]


def miner_path(params: dict[str, str]) -> list[str]:
    return [f"site:{params['site']}", f"rack:{params['rack']}", f"miner:{params['miner']}"]


def fastapi_app(gate: Gate, org: str) -> Any:
    app = FastAPI()
    tessera_fastapi.install(app)
    reboot = tessera_fastapi.require_permission(
        gate, "miner:reboot", path=lambda r: miner_path(r.path_params), org=lambda r: org
    )
    read = tessera_fastapi.require_snapshot(gate, org=lambda r: org, principal=lambda r: r.headers.get("x-user"))

    @app.post("/api/sites/{site}/racks/{rack}/miners/{miner}/reboot")
    def do_reboot(site: str, rack: str, miner: str, snapshot: Snapshot = Depends(reboot)) -> dict[str, str]:
        return {"rebooted": f"miner:{miner}", "by": snapshot.principal}

    @app.get("/api/miners")
    def miners(request: Request, snapshot: Snapshot = Depends(read)) -> list[str]:
        return [m["id"] for m in snapshot.filter("miner:read", MINERS, lambda m: m["path"])]

    client = TestClient(app)
    return lambda method, url, headers: _answer(client.request(method, url, headers=headers), lambda r: r.json())


def flask_app(gate: Gate, org: str) -> Any:
    app = flask.Flask(__name__)

    @app.post("/api/sites/<site>/racks/<rack>/miners/<miner>/reboot")
    @tessera_flask.require_permission(gate, "miner:reboot", path=lambda r: miner_path(r.view_args), org=lambda r: org)
    def do_reboot(site: str, rack: str, miner: str) -> Any:
        return {"rebooted": f"miner:{miner}", "by": flask.g.tessera.principal}

    @app.get("/api/miners")
    @tessera_flask.require_snapshot(gate, org=lambda r: org, principal=lambda r: r.headers.get("x-user"))
    def miners() -> Any:
        return [m["id"] for m in flask.g.tessera.filter("miner:read", MINERS, lambda m: m["path"])]

    def call(method: str, url: str, headers: dict[str, str]) -> tuple[int, Any]:
        # Werkzeug's client sends its own cookie jar, not a Cookie header.
        client = app.test_client()
        headers = dict(headers)
        if "cookie" in headers:
            name, _, value = headers.pop("cookie").partition("=")
            client.set_cookie(name, value)
        return _answer(client.open(url, method=method, headers=headers), lambda r: r.get_json())

    return call


def _answer(response: Any, body: Any) -> tuple[int, Any]:
    return response.status_code, body(response)


@pytest.mark.parametrize("make", [fastapi_app, flask_app], ids=["fastapi", "flask"])
def test_answers_as_the_express_middleware(host, make) -> None:
    client = Client(host.base, host.token)
    text = {user: client.snapshot("acme", user, text=True) for user in ("root", "carol", "vic")}
    gate = Gate(keys_url=f"{host.base}/v1/keys", cookie="tessera", max_bytes=4096)
    call = make(gate, "acme")
    reboot = "/api/sites/{}/racks/{}/miners/{}/reboot"
    as_user = lambda user: {"tessera-snapshot": text[user], "x-user": user}  # noqa: E731

    status, body = call("POST", reboot.format(2, 2, 21), as_user("root"))
    assert (status, body) == (200, {"rebooted": "miner:21", "by": "root"})
    status, body = call("POST", reboot.format(1, 1, 11), as_user("carol"))
    assert (status, body["error"]["code"]) == (403, "FORBIDDEN")
    status, body = call("POST", reboot.format(2, 2, 21), as_user("vic"))
    assert (status, body["error"]["code"]) == (404, "NOT_FOUND")
    status, body = call("POST", reboot.format(2, 2, 21), {"cookie": f"tessera={text['root']}"})
    assert status == 200, body
    status, body = call("POST", reboot.format(2, 2, 21), {})
    assert (status, body["error"]["code"]) == (401, "UNAUTHENTICATED")
    at = len(text["root"]) // 2
    tampered = text["root"][:at] + ("A" if text["root"][at] != "A" else "B") + text["root"][at + 1 :]
    status, body = call("POST", reboot.format(2, 2, 21), {"tessera-snapshot": tampered})
    assert status == 401 and body["error"]["code"] in ("BAD_SIGNATURE", "BAD_ENCODING")
    status, body = call("POST", reboot.format(2, 2, 21), {"tessera-snapshot": "tss1." + "A" * 5000})
    assert (status, body["error"]["code"]) == (401, "TOO_LARGE")

    # The list, filtered by the snapshot of the user it is bound to.
    assert call("GET", "/api/miners", as_user("vic")) == (200, ["miner:11"])
    assert call("GET", "/api/miners", as_user("root")) == (200, ["miner:11", "miner:21"])
    status, body = call("GET", "/api/miners", {"tessera-snapshot": text["vic"], "x-user": "carol"})
    assert (status, body["error"]["code"]) == (401, "WRONG_PRINCIPAL")
    status, body = call("GET", "/api/miners", {"tessera-snapshot": text["vic"]})
    assert (status, body["error"]["code"]) == (401, "UNAUTHENTICATED")

    # Bound to another org, the same snapshot is refused.
    other = make(gate, "arcade")
    status, body = other("POST", reboot.format(2, 2, 21), as_user("root"))
    assert (status, body["error"]["code"]) == (401, "WRONG_ORG")


@pytest.mark.parametrize("make", [fastapi_app, flask_app], ids=["fastapi", "flask"])
def test_keys_that_cannot_be_loaded_are_503(host, make) -> None:
    text = Client(host.base, host.token).snapshot("acme", "root", text=True)
    call = make(Gate(keys_url="http://127.0.0.1:9/v1/keys"), "acme")
    status, body = call("POST", "/api/sites/1/racks/1/miners/11/reboot", {"tessera-snapshot": text})
    assert (status, body["error"]["code"]) == (503, "KEYS_UNAVAILABLE")
