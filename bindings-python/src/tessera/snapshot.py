"""Verifying snapshots and asking them: the API of `@tessera/web`, in
Python's conventions. Every answer comes from the portable policy module
(docs/abi.md §11); no rule of the resolver is written here."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, TypeVar

from . import _abi
from .errors import TesseraError

Decision = Literal["allow", "deny", "not_found"]
T = TypeVar("T")

#: `tessera_check`'s codes (docs/abi.md §11.8); a `-1` crosses unsigned.
_DECISIONS: dict[int, Decision] = {0: "allow", 1: "deny", 2: "not_found"}
#: Larger than any envelope (1 MiB) or its text: refused before it is
#: copied into the module (docs/abi.md §11.5), which judges the exact limit.
_MAX_INPUT_BYTES = 2 << 20


def _now(now: object) -> int:
    """`None` is the current time, never "skip expiry"; anything but a
    whole, non-negative number of seconds is refused."""
    if now is None:
        return int(time.time())
    if isinstance(now, bool) or not isinstance(now, int) or now < 0 or now >= 2**64:
        raise TesseraError("BAD_ARGUMENT", f"now must be whole Unix seconds, not {now!r}")
    return now


class Verifier:
    """A key set (the host's `/v1/keys`), to open snapshots with."""

    def __init__(self, jwks: str) -> None:
        self._jwks = jwks
        self._lock = threading.Lock()
        abi = _abi.shared()
        #: The instance and the key set's handle in it, replaced together.
        self._keys = (abi, abi.verifier(jwks))

    def _current(self) -> tuple[_abi.Abi, int]:
        """The key set, made again in the process's new instance when the
        one it was in trapped (docs/abi.md §11.9), so a long-lived
        verifier (a gate's) outlives a trap."""
        keys = self._keys
        if keys[0].trapped:
            with self._lock:
                keys = self._keys
                if keys[0].trapped:
                    abi = _abi.shared()
                    keys = self._keys = (abi, abi.verifier(self._jwks))
        return keys

    @classmethod
    def from_jwks(cls, jwks: str | Mapping[str, Any]) -> Verifier:
        """A verifier for a JWKS, as text or as its parsed object."""
        return cls(jwks if isinstance(jwks, str) else json.dumps(jwks))

    def open(
        self,
        snapshot: str | bytes,
        now: int | None = None,
        org: str | None = None,
        principal: str | None = None,
    ) -> Snapshot:
        """Verifies and opens a snapshot: its `tss1.` text, or the binary
        envelope. With `org` or `principal`, the snapshot must be theirs
        (`WRONG_ORG`, `WRONG_PRINCIPAL`)."""
        if isinstance(snapshot, str):
            form, data = 1, snapshot.encode()
        elif isinstance(snapshot, (bytes, bytearray, memoryview)):
            form, data = 0, bytes(snapshot)
        else:
            raise TesseraError("BAD_ARGUMENT", "a snapshot is its tss1. text or its bytes")
        if len(data) > _MAX_INPUT_BYTES:
            raise TesseraError("TOO_LARGE", f"a snapshot of {len(data)} bytes is over the 1 MiB envelope")
        for name, value in (("org", org), ("principal", principal)):
            if value is not None and (not isinstance(value, str) or value == ""):
                raise TesseraError("BAD_ARGUMENT", f"{name} must be a non-empty string")
        abi, keys = self._current()
        return Snapshot(abi.open(keys, form, data, _now(now), org or "", principal or ""), abi)

    def close(self) -> None:
        """Frees the key set (snapshots opened with it stay open)."""
        with self._lock:
            abi, keys = self._keys
            if keys:
                self._keys = (abi, 0)
                abi.close("tessera_verifier_close", keys)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - never raise from a finalizer
            pass


class Permission:
    """A permission key resolved once, for checks in loops."""

    def __init__(self, key: str, handle: int, abi: _abi.Abi) -> None:
        self.key = key
        self._handle = handle
        self._abi = abi

    def __repr__(self) -> str:
        return f"Permission({self.key!r})"

    def __del__(self) -> None:
        try:
            if self._handle:
                self._abi.close("tessera_permission_close", self._handle)
                self._handle = 0
        except Exception:  # noqa: BLE001 - never raise from a finalizer
            pass


def _segments(path: Sequence[str]) -> Sequence[str]:
    """The path as a list or tuple (a `str` is refused: it is not one)."""
    if isinstance(path, (list, tuple)):
        return path
    if isinstance(path, str):
        raise _bad_path()
    return list(path)


def _bad_path() -> TesseraError:
    return TesseraError("BAD_ARGUMENT", "a path is a sequence of `type:id` strings")


class Snapshot:
    """An opened snapshot: one principal's permissions in one org."""

    def __init__(self, handle: int, abi: _abi.Abi) -> None:
        self._handle = handle
        self._abi = abi
        self._info: dict[str, Any] = abi.info(handle)

    # -- the header ---------------------------------------------------
    @property
    def org(self) -> str:
        return self._info["org"]

    @property
    def principal(self) -> str:
        return self._info["principal"]

    @property
    def principal_name(self) -> str:
        return self._info["principal_name"]

    @property
    def superuser(self) -> bool:
        return self._info["superuser"]

    @property
    def active(self) -> bool:
        return self._info["active"]

    @property
    def anonymous(self) -> bool:
        return self._info["anonymous"]

    @property
    def token_scopes(self) -> list[str] | None:
        return self._info["token_scopes"]

    @property
    def issued_at(self) -> int:
        return self._info["issued_at"]

    @property
    def expires_at(self) -> int:
        return self._info["expires_at"]

    @property
    def revision(self) -> int:
        return self._info["revision"]

    @property
    def catalog_hash(self) -> str:
        return self._info["catalog_hash"]

    @property
    def kid(self) -> str:
        return self._info["kid"]

    @property
    def subtrees(self) -> list[str] | None:
        return self._info["subtrees"]

    def header(self) -> dict[str, Any]:
        """Every header field, as a dict."""
        return dict(self._info)

    # -- queries ------------------------------------------------------
    def _ask(self, name: str, args: dict[str, Any]) -> Any:
        return self._abi.answer(self._handle, {name: args})

    def permission(self, key: str) -> Permission | None:
        """A handle for `key`, or `None` when the catalog lacks it."""
        handle = self._abi.permission(self._handle, key)
        return Permission(key, handle, self._abi) if handle else None

    def check(self, permission: str | Permission, path: Sequence[str] = (), owner: str | None = None) -> Decision:
        """`"allow"`, `"deny"` or `"not_found"` (a hidden thing: answer 404).
        Asked through `tessera_check` with the path in text form; a
        segment with a `,` (which no node id has) or an empty one goes to
        the JSON query instead, so the module judges the path as given."""
        # Plain type tests and no calls of our own: this is the hot path.
        if type(permission) is Permission and permission._abi is self._abi:
            handle, key = permission._handle, b""
        elif type(permission) is str:
            handle, key = 0, permission.encode()
        elif isinstance(permission, (str, Permission)):
            # A subclass, or a handle of another instance (one that
            # trapped, which means nothing here): asked by its key.
            handle, key = 0, (permission.key if isinstance(permission, Permission) else str(permission)).encode()
        else:
            raise TesseraError("BAD_ARGUMENT", "a permission is a key or a Permission")
        if owner is None:
            owner_bytes = b""
        elif isinstance(owner, str):
            owner_bytes = owner.encode()
        else:
            raise TesseraError("BAD_ARGUMENT", "an owner is a user id or None")
        segments = path if type(path) is list or type(path) is tuple else _segments(path)
        try:
            text = ",".join(segments)
        except TypeError:
            raise _bad_path() from None
        if text.count(",") != (len(segments) - 1 if segments else 0) or "" in segments:
            name = permission.key if isinstance(permission, Permission) else str(permission)
            return self._ask("check", {"permission": name, "path": list(segments), "owner": owner})["decision"]
        decision = _DECISIONS.get(self._abi.check(self._handle, handle, key, text.encode(), owner_bytes))
        if decision is None:
            raise TesseraError("BAD_ARGUMENT", "the snapshot or permission is closed")
        return decision

    def check_many(self, checks: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Many checks (`{"permission", "path", "owner"?}`), answered in order
        as `{"decision", "diagnostic"?}`."""
        return self._ask("check_many", {"checks": [dict(check) for check in checks]})

    def can_anywhere(self, permission: str) -> bool:
        return self._ask("can_anywhere", {"permission": permission})

    def effective(self, path: Sequence[str] = (), owner: str | None = None) -> list[str]:
        return self._ask("effective", {"path": list(path), "owner": owner})

    def filter(
        self,
        permission: str,
        items: Iterable[T],
        path_of: Callable[[T], Sequence[str]],
        owner_of: Callable[[T], str | None] | None = None,
    ) -> list[T]:
        """The items the principal may `permission`, in their order."""
        listed = list(items)
        asked = [
            {"id": str(at), "path": list(path_of(item)), "owner": owner_of(item) if owner_of else None}
            for at, item in enumerate(listed)
        ]
        kept = self._ask("filter", {"permission": permission, "items": asked})
        return [listed[int(at)] for at in kept]

    def filter_plan(self, permission: str) -> dict[str, Any]:
        return self._ask("filter_plan", {"permission": permission})

    def guard(self, route: str) -> dict[str, Any]:
        return self._ask("guard", {"route": route})

    def nav(self) -> list[str]:
        return self._ask("nav", {})

    def claims(self) -> list[str]:
        return self._ask("claims", {})

    def explain(self, permission: str, path: Sequence[str] = (), owner: str | None = None) -> dict[str, Any]:
        return self._ask("explain", {"permission": permission, "path": list(path), "owner": owner})

    def close(self) -> None:
        """Frees the snapshot in the module."""
        if self._handle:
            self._abi.close("tessera_close", self._handle)
            self._handle = 0

    def __enter__(self) -> Snapshot:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - never raise from a finalizer
            pass
