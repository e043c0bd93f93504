"""FastAPI: a dependency that answers 401 / 403 / 404 as the Express
middleware does (`tessera.gate`), and gives the handler the snapshot.

    gate = Gate(keys_url="http://127.0.0.1:7700/v1/keys")
    install(app)
    @app.post("/api/miners/{miner}/reboot")
    def reboot(miner: str, snapshot: Snapshot = Depends(require_permission(
        gate, "miner:reboot", path=lambda r: ["miner:" + r.path_params["miner"]], org=lambda r: "acme"))): ...
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from .gate import Gate, Refusal
from .snapshot import Snapshot

Of = Callable[[Request], Any]


def install(app: FastAPI) -> None:
    """Answers a refusal as `{"error": {"code", "message"}}` with its status."""

    async def refused(_: Request, refusal: Exception) -> JSONResponse:
        assert isinstance(refusal, Refusal)
        return JSONResponse(refusal.body(), status_code=refusal.status)

    app.add_exception_handler(Refusal, refused)


def require_snapshot(gate: Gate, org: Of, principal: Of | None = None) -> Callable[[Request], Snapshot]:
    """A dependency giving the request's snapshot, bound to `org(request)`
    (and `principal(request)`), for filtering lists in the handler."""

    def dependency(request: Request) -> Snapshot:
        return gate.bind(request, request.headers, request.cookies, org, principal)

    return dependency


def require_permission(
    gate: Gate,
    permission: str,
    path: Callable[[Request], Sequence[str]],
    org: Of,
    owner: Callable[[Request], str | None] | None = None,
    principal: Of | None = None,
) -> Callable[[Request], Snapshot]:
    """A dependency that lets the request through iff the snapshot allows
    `permission` at `path(request)`; it gives the handler the snapshot."""

    def dependency(request: Request) -> Snapshot:
        snapshot = gate.bind(request, request.headers, request.cookies, org, principal)
        Gate.require(snapshot, permission, request, path, owner)
        return snapshot

    return dependency
