"""Flask: a decorator that answers 401 / 403 / 404 as the Express
middleware does (`tessera.gate`), with the snapshot in `flask.g.tessera`.

    gate = Gate(keys_url="http://127.0.0.1:7700/v1/keys")
    @app.post("/api/miners/<miner>/reboot")
    @require_permission(gate, "miner:reboot", path=lambda r: ["miner:" + r.view_args["miner"]], org=lambda r: "acme")
    def reboot(miner): ...
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from flask import Request, g, jsonify, request

from .gate import Gate, Refusal

Of = Callable[[Request], Any]
F = TypeVar("F", bound=Callable[..., Any])


def _answer(refusal: Refusal) -> Any:
    return jsonify(refusal.body()), refusal.status


def require_snapshot(gate: Gate, org: Of, principal: Of | None = None) -> Callable[[F], F]:
    """The view runs with the request's snapshot in `g.tessera`."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                g.tessera = gate.bind(request, request.headers, request.cookies, org, principal)
            except Refusal as refusal:
                return _answer(refusal)
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate


def require_permission(
    gate: Gate,
    permission: str,
    path: Callable[[Request], Sequence[str]],
    org: Of,
    owner: Callable[[Request], str | None] | None = None,
    principal: Of | None = None,
) -> Callable[[F], F]:
    """The view runs iff the snapshot allows `permission` at
    `path(request)`, with the snapshot in `g.tessera`."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                snapshot = gate.bind(request, request.headers, request.cookies, org, principal)
                Gate.require(snapshot, permission, request, path, owner)
            except Refusal as refusal:
                return _answer(refusal)
            g.tessera = snapshot
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate
