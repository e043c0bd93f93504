"""What the FastAPI dependency and the Flask decorator share, as the
Express middleware does it (`@tessera/node/express`): the key set (a
static JWKS and/or the host's `/v1/keys`, fetched again on an unknown
`kid` at most once per 30 s), the snapshot read from a header or a
cookie (with a size limit), bound to the request's org and principal,
and the HTTP answer of a check: 401 for a missing or refused snapshot,
403 for a deny, 404 for a thing hidden from the caller, 503 when the key
set cannot be loaded. No rule is decided here: every decision is the
snapshot's."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .errors import TesseraError
from .snapshot import Snapshot, Verifier

#: The host's keys are fetched at most once per this many seconds.
REFRESH_SECONDS = 30
#: Give up on a key fetch after this many seconds.
FETCH_TIMEOUT = 5.0


class Lookup(Protocol):
    """A request's headers or cookies: a dict, or a framework's own type."""

    def get(self, key: str, /) -> str | None: ...


@dataclass
class Refusal(Exception):
    """An answer instead of the handler: `{"error": {"code", "message", "details"?}}`."""

    status: int
    code: str
    message: str
    details: Mapping[str, Any] | None = None

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = dict(self.details)
        return {"error": error}


def _refusal_of(error: TesseraError) -> Refusal:
    """A refused snapshot's answer: 401 with its code, 503 without keys."""
    return Refusal(503 if error.code == "KEYS_UNAVAILABLE" else 401, error.code, error.message)


class Gate:
    """The snapshot of a request, verified and bound, and the answers of
    checks and routes. `now` (Unix seconds, or a function giving them) is
    for tests; by default the current time."""

    def __init__(
        self,
        jwks: str | Mapping[str, Any] | None = None,
        keys_url: str | None = None,
        keys_token: str | None = None,
        header: str = "tessera-snapshot",
        cookie: str | None = None,
        max_bytes: int = 16384,
        now: int | Callable[[], int] | None = None,
    ) -> None:
        if jwks is None and keys_url is None:
            raise TesseraError("BAD_ARGUMENT", "a Gate needs jwks or keys_url")
        self._static: list[dict[str, Any]] = _keys_of(jwks) if jwks is not None else []
        self._verifier = Verifier.from_jwks({"keys": self._static})
        self._keys_url = keys_url
        self._keys_token = keys_token
        self.header = header.lower()
        self.cookie = cookie
        self.max_bytes = max_bytes
        self._now = now
        self._last_fetch = float("-inf")
        self._lock = threading.Lock()

    def _clock(self) -> int | None:
        return self._now() if callable(self._now) else self._now

    def _refresh(self) -> bool:
        """Fetches the host's keys unless fetched in the last 30 s; whether it did."""
        with self._lock:
            at = self._clock() or time.time()
            if at - self._last_fetch < REFRESH_SECONDS or self._keys_url is None:
                return False
            self._last_fetch = at
            headers = {"accept": "application/json"}
            if self._keys_token:
                headers["authorization"] = f"Bearer {self._keys_token}"
            try:
                request = urllib.request.Request(self._keys_url, headers=headers)
                with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as response:
                    fetched = _keys_of(json.loads(response.read()))
            except (OSError, ValueError, TesseraError) as error:
                raise TesseraError("KEYS_UNAVAILABLE", f"cannot load the key set: {error}") from None
            pinned = {key.get("kid") for key in self._static}
            keys = self._static + [key for key in fetched if key.get("kid") not in pinned]
            self._verifier = Verifier.from_jwks({"keys": keys})
            return True

    def snapshot_of(self, headers: Lookup, cookies: Lookup, org: str, principal: str | None = None) -> Snapshot:
        """The request's snapshot, verified and bound to `org` (and
        `principal`); raises `TesseraError` (`UNAUTHENTICATED`, `TOO_LARGE`,
        an open's code, `KEYS_UNAVAILABLE`)."""
        text = headers.get(self.header) or (cookies.get(self.cookie) if self.cookie else None)
        if not text:
            where = f"header {self.header}" + (f" or cookie {self.cookie}" if self.cookie else "")
            raise TesseraError("UNAUTHENTICATED", f"no snapshot in {where}")
        if len(text.encode()) > self.max_bytes:
            raise TesseraError("TOO_LARGE", f"snapshot is over {self.max_bytes} bytes")
        try:
            return self._verifier.open(text, self._clock(), org=org, principal=principal)
        except TesseraError as error:
            if error.code != "UNKNOWN_KEY" or not self._refresh():
                raise
        return self._verifier.open(text, self._clock(), org=org, principal=principal)

    def bind(
        self,
        request: Any,
        headers: Lookup,
        cookies: Lookup,
        org: Callable[[Any], Any],
        principal: Callable[[Any], Any] | None = None,
    ) -> Snapshot:
        """The request's snapshot bound to `org(request)` (and
        `principal(request)`); a throwing function fails closed (403)."""
        try:
            org_id, principal_id = org(request), principal(request) if principal else None
        except Exception as error:  # noqa: BLE001 - a throwing binding fails closed
            raise Refusal(403, "FORBIDDEN", f"cannot bind the snapshot: {error}") from None
        return self.authenticate(headers, cookies, org_id, principal_id, bound=principal is not None)

    def authenticate(self, headers: Lookup, cookies: Lookup, org: str | None, principal: str | None = None, bound: bool = False) -> Snapshot:
        """[`snapshot_of`] with the refusal an HTTP answer needs: no org is
        403; `bound` (a principal function was given) with no principal is
        401."""
        if not org:
            raise Refusal(403, "FORBIDDEN", "the request has no org to bind the snapshot to")
        if bound and not principal:
            raise Refusal(401, "UNAUTHENTICATED", "the request has no principal to bind the snapshot to")
        try:
            return self.snapshot_of(headers, cookies, org, principal or None)
        except TesseraError as error:
            raise _refusal_of(error) from None

    @staticmethod
    def require(
        snapshot: Snapshot,
        permission: str,
        request: Any,
        path: Callable[[Any], Sequence[str]],
        owner: Callable[[Any], str | None] | None = None,
    ) -> None:
        """Nothing when `permission` is allowed at `path(request)` (with
        `owner(request)`); else the refusal: 403 for a deny (or a check
        that cannot run, a throwing function), 404 when the thing is
        hidden."""
        try:
            decision = snapshot.check(permission, path(request), owner(request) if owner else None)
        except Exception as error:  # noqa: BLE001 - any failure denies
            raise Refusal(403, "FORBIDDEN", f"cannot check {permission}: {error}") from None
        if decision == "not_found":
            raise Refusal(404, "NOT_FOUND", "not found")
        if decision != "allow":
            raise Refusal(403, "FORBIDDEN", f"{permission} is not allowed here")


def _keys_of(jwks: str | Mapping[str, Any]) -> list[dict[str, Any]]:
    """The keys of a JWKS; `BAD_KEY_SET` when it is not one."""
    Verifier.from_jwks(jwks).close()
    parsed = json.loads(jwks) if isinstance(jwks, str) else jwks
    return [dict(key) for key in parsed["keys"]]
