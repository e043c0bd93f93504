"""A client of one Tessera host (docs/http.md §6), over the standard
library: the decisions, snapshots and keys, and the model endpoints.
Answers are the host's JSON (snake_case) as dicts and lists; every
non-2xx answer raises `TesseraError` with the host's `code`, `status`
and `details`; a host that cannot be reached is `UNAVAILABLE`.
`AsyncClient` is its twin for asyncio: the same methods, awaited."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, Concatenate, ParamSpec, TypeVar

from .errors import TesseraError

#: The snapshot's binary media type.
SNAPSHOT_MEDIA_TYPE = "application/vnd.tessera.snapshot"
_UNSET: Any = object()
P = ParamSpec("P")
R = TypeVar("R")


def _segment(value: str, name: str) -> str:
    if not isinstance(value, str) or value == "":
        raise TesseraError("BAD_ARGUMENT", f"{name} must be a non-empty string")
    return urllib.parse.quote(value, safe="")


def _key_segments(key: str, name: str) -> str:
    """`type:id` as two path segments (`site:7` → `site/7`)."""
    ty, sep, ident = key.partition(":") if isinstance(key, str) else ("", "", "")
    if not sep or not ty or not ident:
        raise TesseraError("BAD_ARGUMENT", f"{name} must be a string like 'type:id', not {key!r}")
    return f"{_segment(ty, name)}/{_segment(ident, name)}"


def _put(body: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """Adds the fields that are given (not `None`)."""
    body.update({key: value for key, value in fields.items() if value is not None})
    return body


class Client:
    """A client of the host at `base_url` with an API `token`; `actor` is
    sent as `Tessera-Actor` (a user this backend authenticated), `None`
    acts as the trusted backend."""

    def __init__(self, base_url: str, token: str, actor: str | None = None, timeout: float = 10.0) -> None:
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise TesseraError("BAD_ARGUMENT", "base_url must be an http(s) URL")
        if not isinstance(token, str) or token == "":
            raise TesseraError("BAD_ARGUMENT", "token must be an API token")
        if actor is not None and (not isinstance(actor, str) or actor == ""):
            raise TesseraError("BAD_ARGUMENT", "actor must be a user id or None")
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.actor = actor
        self.timeout = timeout

    def with_actor(self, actor: str | None) -> Client:
        """The same client acting as `actor`."""
        return Client(self.base_url, self._token, actor, self.timeout)

    # -- transport ----------------------------------------------------
    def _request(
        self,
        method: str,
        path: str,
        body: Any = _UNSET,
        query: Mapping[str, Any] | None = None,
        accept: str = "application/json",
        expect: str = "json",
    ) -> Any:
        url = self.base_url + path
        if query:
            given = {key: str(value) for key, value in query.items() if value is not None}
            if given:
                url += "?" + urllib.parse.urlencode(given)
        headers = {"authorization": f"Bearer {self._token}", "accept": accept}
        if self.actor is not None:
            headers["tessera-actor"] = self.actor
        data = None
        if body is not _UNSET:
            headers["content-type"] = "application/json"
            data = json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as error:
            raise _host_error(method, url, error.code, error.read()) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise TesseraError("UNAVAILABLE", f"{method} {url}: {reason}") from None
        if expect == "bytes":
            return payload
        if expect == "text":
            return payload.decode()
        if status == 204 or payload == b"":
            return None
        try:
            return json.loads(payload)
        except ValueError:
            raise TesseraError("BAD_RESPONSE", f"{method} {url}: the answer is not JSON", status) from None

    def _org(self, org: str) -> str:
        return f"/v1/orgs/{_segment(org, 'org')}"

    # -- decisions ----------------------------------------------------
    @staticmethod
    def _who(org: str, principal: str, token_scopes: Sequence[str] | None, min_revision: int | None) -> dict[str, Any]:
        return _put({"org": org, "principal": principal}, token_scopes=token_scopes, min_revision=min_revision)

    def check(
        self, org: str, principal: str, permission: str, path: Sequence[str] = (), owner: str | None = None,
        token_scopes: Sequence[str] | None = None, min_revision: int | None = None,
    ) -> dict[str, Any]:
        """`POST /v1/check`: `{decision, diagnostic?, revision}`."""
        body = _put(self._who(org, principal, token_scopes, min_revision), permission=permission, path=list(path), owner=owner)
        return self._request("POST", "/v1/check", body)

    def check_batch(
        self, org: str, principal: str, checks: Sequence[Mapping[str, Any]],
        token_scopes: Sequence[str] | None = None, min_revision: int | None = None,
    ) -> dict[str, Any]:
        """`POST /v1/check/batch`: `{decisions: [{decision, diagnostic?}], revision}`."""
        body = self._who(org, principal, token_scopes, min_revision)
        body["checks"] = [_put({"permission": c["permission"], "path": list(c.get("path", ()))}, owner=c.get("owner")) for c in checks]
        return self._request("POST", "/v1/check/batch", body)

    def explain(
        self, org: str, principal: str, permission: str, path: Sequence[str] = (), owner: str | None = None,
        token_scopes: Sequence[str] | None = None, min_revision: int | None = None,
    ) -> dict[str, Any]:
        """`POST /v1/explain`: `{decision, revision, trace}`."""
        body = _put(self._who(org, principal, token_scopes, min_revision), permission=permission, path=list(path), owner=owner)
        return self._request("POST", "/v1/explain", body)

    def filter(
        self, org: str, principal: str, permission: str, columns: Mapping[str, str] | None = None,
        owner_column: str | None = None, dialect: str | None = None,
        token_scopes: Sequence[str] | None = None, min_revision: int | None = None,
    ) -> dict[str, Any]:
        """`POST /v1/filter`: `{plan, sql?, revision}`; with `columns` (node
        type → column) a parameterised WHERE fragment in `dialect`."""
        body = _put(
            self._who(org, principal, token_scopes, min_revision),
            permission=permission, columns=dict(columns) if columns is not None else None,
            owner_column=owner_column, dialect=dialect,
        )
        return self._request("POST", "/v1/filter", body)

    def can_anywhere(self, org: str, principal: str, permission: str, min_revision: int | None = None) -> dict[str, Any]:
        """`POST /v1/can-anywhere`: `{allowed, revision}`."""
        body = _put(self._who(org, principal, None, min_revision), permission=permission)
        return self._request("POST", "/v1/can-anywhere", body)

    def guard(self, org: str, principal: str, route: str, min_revision: int | None = None) -> dict[str, Any]:
        """`POST /v1/guard`: `{decision, fallback?, revision}`."""
        body = _put(self._who(org, principal, None, min_revision), route=route)
        return self._request("POST", "/v1/guard", body)

    def effective(self, org: str, principal: str, path: Sequence[str] = (), owner: str | None = None) -> dict[str, Any]:
        """`GET …/effective`: `{permissions, revision}`."""
        query = _put({"principal": principal}, path=",".join(path) if path else None, owner=owner)
        return self._request("GET", f"{self._org(org)}/effective", query=query)

    def nav(self, org: str, principal: str) -> dict[str, Any]:
        """`GET …/nav`: `{nav, revision}`."""
        return self._request("GET", f"{self._org(org)}/nav", query={"principal": principal})

    def claims(self, org: str, principal: str) -> dict[str, Any]:
        """`GET …/claims`: `{claims, revision}`."""
        return self._request("GET", f"{self._org(org)}/claims", query={"principal": principal})

    # -- snapshots and keys -------------------------------------------
    def snapshot(
        self, org: str, principal: str, text: bool = False, token_scopes: Sequence[str] | None = None,
        under: Sequence[str] | None = None, min_revision: int | None = None,
    ) -> str | bytes:
        """`GET …/snapshot`: the signed snapshot, as the binary envelope or,
        with `text=True`, its `tss1.` text. Open it with
        `Verifier.from_jwks(client.keys())`."""
        query = _put(
            {"principal": principal},
            token_scopes=",".join(token_scopes) if token_scopes is not None else None,
            under=",".join(under) if under is not None else None, min_revision=min_revision,
        )
        path = f"{self._org(org)}/snapshot"
        if text:
            return self._request("GET", path, query=query, accept="text/plain", expect="text").strip()
        return self._request("GET", path, query=query, accept=SNAPSHOT_MEDIA_TYPE, expect="bytes")

    def keys(self) -> dict[str, Any]:
        """`GET /v1/keys`: the JWKS snapshots are verified with."""
        return self._request("GET", "/v1/keys")

    # -- the model ----------------------------------------------------
    def create_org(self, id: str, name: str) -> dict[str, Any]:  # noqa: A002 - the API's word
        return self._request("POST", "/v1/orgs", {"id": id, "name": name})

    def rename_org(self, org: str, name: str) -> dict[str, Any]:
        return self._request("PATCH", self._org(org), {"name": name})

    def delete_org(self, org: str) -> None:
        return self._request("DELETE", self._org(org))

    def put_user(self, id: str, name: str | None = None, superuser: bool | None = None, active: bool | None = None) -> dict[str, Any]:  # noqa: A002
        body = _put({}, name=name, superuser=superuser, active=active)
        return self._request("PUT", f"/v1/users/{_segment(id, 'user id')}", body)

    def put_member(self, org: str, user: str) -> None:
        return self._request("PUT", f"{self._org(org)}/members/{_segment(user, 'user')}")

    def search_members(self, org: str, search: str | None = None, limit: int | None = None) -> Any:
        return self._request("GET", f"{self._org(org)}/members", query={"search": search, "limit": limit})

    def delete_member(self, org: str, user: str) -> None:
        return self._request("DELETE", f"{self._org(org)}/members/{_segment(user, 'user')}")

    def list_groups(self, org: str) -> Any:
        return self._request("GET", f"{self._org(org)}/groups")

    def create_group(self, org: str, name: str, id: str | None = None, default: bool | None = None) -> dict[str, Any]:  # noqa: A002
        return self._request("POST", f"{self._org(org)}/groups", _put({"name": name}, id=id, default=default))

    def update_group(self, org: str, id: str, name: str | None = None, default: bool | None = None) -> dict[str, Any]:  # noqa: A002
        return self._request("PATCH", f"{self._org(org)}/groups/{_segment(id, 'group id')}", _put({}, name=name, default=default))

    def delete_group(self, org: str, id: str) -> None:  # noqa: A002
        return self._request("DELETE", f"{self._org(org)}/groups/{_segment(id, 'group id')}")

    def put_group_member(self, org: str, group: str, member: str) -> None:
        """`member` is `user:<id>` or `group:<id>`."""
        path = f"{self._org(org)}/groups/{_segment(group, 'group id')}/members/{_key_segments(member, 'member')}"
        return self._request("PUT", path)

    def delete_group_member(self, org: str, group: str, member: str) -> None:
        path = f"{self._org(org)}/groups/{_segment(group, 'group id')}/members/{_key_segments(member, 'member')}"
        return self._request("DELETE", path)

    def catalog(self) -> dict[str, Any]:
        return self._request("GET", "/v1/catalog")

    def list_roles(self, org: str) -> Any:
        return self._request("GET", f"{self._org(org)}/roles")

    def create_role(self, org: str, name: str, permissions: Sequence[str] | None = None) -> dict[str, Any]:
        body = _put({"name": name}, permissions=list(permissions) if permissions is not None else None)
        return self._request("POST", f"{self._org(org)}/roles", body)

    def update_role(self, org: str, id: str, name: str | None = None, permissions: Sequence[str] | None = None) -> dict[str, Any]:  # noqa: A002
        body = _put({}, name=name, permissions=list(permissions) if permissions is not None else None)
        return self._request("PATCH", f"{self._org(org)}/roles/{_segment(id, 'role id')}", body)

    def delete_role(self, org: str, id: str) -> None:  # noqa: A002
        return self._request("DELETE", f"{self._org(org)}/roles/{_segment(id, 'role id')}")

    def list_nodes(self, org: str) -> Any:
        return self._request("GET", f"{self._org(org)}/nodes")

    def put_node(self, org: str, node: str, parent: str | None = None) -> None:
        return self._request("PUT", f"{self._org(org)}/nodes/{_key_segments(node, 'node')}", {"parent": parent})

    def delete_node(self, org: str, node: str) -> None:
        return self._request("DELETE", f"{self._org(org)}/nodes/{_key_segments(node, 'node')}")

    def list_assignments(self, org: str) -> Any:
        return self._request("GET", f"{self._org(org)}/assignments")

    def create_assignment(self, org: str, subject: str, role: str, scope: str | None = None, owner_only: bool | None = None) -> dict[str, Any]:
        body = _put({"subject": subject, "role": role, "scope": scope}, owner_only=owner_only)
        return self._request("POST", f"{self._org(org)}/assignments", body)

    def delete_assignment(self, org: str, id: str) -> None:  # noqa: A002
        return self._request("DELETE", f"{self._org(org)}/assignments/{_segment(id, 'assignment id')}")

    def list_hidden(self, org: str) -> Any:
        return self._request("GET", f"{self._org(org)}/hidden")

    def create_hidden(self, org: str, selector: str, node: str) -> dict[str, Any]:
        return self._request("POST", f"{self._org(org)}/hidden", {"selector": selector, "node": node})

    def delete_hidden(self, org: str, id: str) -> None:  # noqa: A002
        return self._request("DELETE", f"{self._org(org)}/hidden/{_segment(id, 'hidden entry id')}")

    def list_caps(self, org: str) -> Any:
        return self._request("GET", f"{self._org(org)}/caps")

    def create_cap(self, org: str, selector: str, allow: Sequence[str], scope: str | None = None) -> dict[str, Any]:
        return self._request("POST", f"{self._org(org)}/caps", {"selector": selector, "scope": scope, "allow": list(allow)})

    def delete_cap(self, org: str, id: str) -> None:  # noqa: A002
        return self._request("DELETE", f"{self._org(org)}/caps/{_segment(id, 'cap id')}")

    def get_settings(self, org: str) -> dict[str, Any]:
        return self._request("GET", f"{self._org(org)}/settings")

    def put_settings(self, org: str, kiosk: bool) -> dict[str, Any]:
        return self._request("PUT", f"{self._org(org)}/settings", {"kiosk": kiosk})

    def audit(self, org: str, after: int | None = None) -> Any:
        return self._request("GET", f"{self._org(org)}/audit", query={"after": after})

    def who_can(
        self, org: str, permission: str, path: Sequence[str] = (), owner: str | None = None,
        limit: int | None = None, after: str | None = None,
    ) -> dict[str, Any]:
        """`POST /v1/who-can`: every active user `check` allows."""
        body = _put({"org": org, "permission": permission, "path": list(path)}, owner=owner, limit=limit, after=after)
        return self._request("POST", "/v1/who-can", body)

    def export_org(self, org: str) -> str:
        """`GET …/export`: the org's document, canonical text (docs/documents.md §9)."""
        return self._request("GET", f"{self._org(org)}/export", expect="text")

    def apply_org(self, org: str, document: Mapping[str, Any] | str, dry_run: bool = True) -> dict[str, Any]:
        """`POST …/apply`: the plan; applied in one transaction unless `dry_run`."""
        parsed = json.loads(document) if isinstance(document, str) else dict(document)
        return self._request("POST", f"{self._org(org)}/apply", {"document": parsed, "dry_run": dry_run})

    def health(self) -> dict[str, Any]:
        return self._request("GET", "/healthz")


def _host_error(method: str, url: str, status: int, payload: bytes) -> TesseraError:
    """The host's `{"error": {code, message, details}}`, or the status."""
    try:
        error = json.loads(payload).get("error")
    except (ValueError, AttributeError):
        error = None
    if isinstance(error, dict) and isinstance(error.get("code"), str):
        details = error.get("details") if isinstance(error.get("details"), dict) else {}
        return TesseraError(error["code"], str(error.get("message", error["code"])), status, details)
    excerpt = payload[:200].decode(errors="replace")
    return TesseraError(f"HTTP_{status}", f"{method} {url} answered {status}: {excerpt}", status)


def _awaited(method: Callable[Concatenate[Client, P], R]) -> Callable[Concatenate[AsyncClient, P], Coroutine[Any, Any, R]]:
    """`method` of the sync client, run in a worker thread (the standard
    library's HTTP is blocking), with its signature and its errors."""

    async def call(self: AsyncClient, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return await asyncio.to_thread(method, self.sync, *args, **kwargs)

    call.__name__ = method.__name__
    call.__doc__ = method.__doc__
    return call


class AsyncClient:
    """`Client` for asyncio: every method is `Client`'s, awaited. Each
    request runs in asyncio's default thread pool, so as many run at once
    as it has threads (`loop.set_default_executor` sets how many).
    Cancelling the await does not stop a request already sent: a write
    may still land."""

    def __init__(self, base_url: str, token: str, actor: str | None = None, timeout: float = 10.0) -> None:
        self.sync = Client(base_url, token, actor, timeout)

    def with_actor(self, actor: str | None) -> AsyncClient:
        """The same client acting as `actor`."""
        twin = AsyncClient.__new__(AsyncClient)
        twin.sync = self.sync.with_actor(actor)
        return twin

    check = _awaited(Client.check)
    check_batch = _awaited(Client.check_batch)
    explain = _awaited(Client.explain)
    filter = _awaited(Client.filter)
    can_anywhere = _awaited(Client.can_anywhere)
    guard = _awaited(Client.guard)
    effective = _awaited(Client.effective)
    nav = _awaited(Client.nav)
    claims = _awaited(Client.claims)
    snapshot = _awaited(Client.snapshot)
    keys = _awaited(Client.keys)
    create_org = _awaited(Client.create_org)
    rename_org = _awaited(Client.rename_org)
    delete_org = _awaited(Client.delete_org)
    put_user = _awaited(Client.put_user)
    put_member = _awaited(Client.put_member)
    search_members = _awaited(Client.search_members)
    delete_member = _awaited(Client.delete_member)
    list_groups = _awaited(Client.list_groups)
    create_group = _awaited(Client.create_group)
    update_group = _awaited(Client.update_group)
    delete_group = _awaited(Client.delete_group)
    put_group_member = _awaited(Client.put_group_member)
    delete_group_member = _awaited(Client.delete_group_member)
    catalog = _awaited(Client.catalog)
    list_roles = _awaited(Client.list_roles)
    create_role = _awaited(Client.create_role)
    update_role = _awaited(Client.update_role)
    delete_role = _awaited(Client.delete_role)
    list_nodes = _awaited(Client.list_nodes)
    put_node = _awaited(Client.put_node)
    delete_node = _awaited(Client.delete_node)
    list_assignments = _awaited(Client.list_assignments)
    create_assignment = _awaited(Client.create_assignment)
    delete_assignment = _awaited(Client.delete_assignment)
    list_hidden = _awaited(Client.list_hidden)
    create_hidden = _awaited(Client.create_hidden)
    delete_hidden = _awaited(Client.delete_hidden)
    list_caps = _awaited(Client.list_caps)
    create_cap = _awaited(Client.create_cap)
    delete_cap = _awaited(Client.delete_cap)
    get_settings = _awaited(Client.get_settings)
    put_settings = _awaited(Client.put_settings)
    audit = _awaited(Client.audit)
    who_can = _awaited(Client.who_can)
    export_org = _awaited(Client.export_org)
    apply_org = _awaited(Client.apply_org)
    health = _awaited(Client.health)
