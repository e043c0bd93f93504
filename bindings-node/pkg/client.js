// @tessera/node/client: a client for the host's HTTP API (docs/http.md §6) over
// Node's built-in `fetch`. One method per route; no rule lives here, every
// answer is the host's. No dependencies, and no native addon: errors are the
// package's own `TesseraError` (from api.js, the class `@tessera/node`
// exports), so `err instanceof TesseraError` holds for both.

import { TesseraError, camelKeys } from './api.js';
import { serverEvents } from './sse.js';

/** Default time a request may take before it fails with UNAVAILABLE. */
const DEFAULT_TIMEOUT_MS = 30_000;
/** The media type of the binary snapshot envelope. */
const SNAPSHOT_MEDIA_TYPE = 'application/vnd.tessera.snapshot';

function badArgument(message) {
  return new TesseraError('BAD_ARGUMENT', message);
}

/** A TesseraError carrying the HTTP status and the server's details. */
function hostError(code, message, status, details, cause) {
  const err = new TesseraError(code, message);
  err.status = status;
  err.details = details && typeof details === 'object' ? details : {};
  if (cause !== undefined) err.cause = cause;
  return err;
}

/** One URL path segment: a non-empty string, percent-encoded. */
function segment(value, name) {
  if (typeof value !== 'string' || value === '') throw badArgument(`${name} must be a non-empty string`);
  return encodeURIComponent(value);
}

/** `type:id` as two path segments (`site:7` → `site/7`). */
function keySegments(key, name, example) {
  if (typeof key !== 'string') throw badArgument(`${name} must be a string like ${example}`);
  const at = key.indexOf(':');
  if (at <= 0 || at === key.length - 1) throw badArgument(`${name} must be a string like ${example}, not ${JSON.stringify(key)}`);
  return `${segment(key.slice(0, at), name)}/${segment(key.slice(at + 1), name)}`;
}

function requireObject(value, name) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw badArgument(`${name} must be an object`);
  return value;
}

/** A list argument as an array of strings. */
function stringList(value, name) {
  if (!Array.isArray(value) && !(value instanceof Set)) throw badArgument(`${name} must be an array of strings`);
  const list = [...value];
  if (!list.every((item) => typeof item === 'string')) throw badArgument(`${name} must be an array of strings`);
  return list;
}

/** Sets `out[key]` when `value` is neither undefined nor null. */
function put(out, key, value) {
  if (value !== undefined && value !== null) out[key] = value;
  return out;
}

/** The JSON body fields every decision takes: who asks, and how fresh. */
function whoBody(args, name) {
  const { org, principal, tokenScopes, minRevision } = requireObject(args, name);
  const body = { org, principal };
  if (tokenScopes !== undefined && tokenScopes !== null) body.token_scopes = stringList(tokenScopes, 'tokenScopes');
  return put(body, 'min_revision', minRevision);
}

/** The query parameters of the GET decisions (lists comma-separated). */
function whoQuery(args, name) {
  const { principal, tokenScopes, minRevision } = requireObject(args, name);
  const query = { principal };
  if (tokenScopes !== undefined && tokenScopes !== null) query.token_scopes = stringList(tokenScopes, 'tokenScopes').join(',');
  return put(query, 'min_revision', minRevision);
}

/**
 * A client of one Tessera host.
 *
 * Every method takes an optional last argument `{ actor?, signal? }`:
 * `actor` overrides the client's `Tessera-Actor` for that call (`null`: none,
 * the call acts as the trusted backend); `signal` aborts it (the fetch's
 * `AbortError` is rethrown as is).
 *
 * Errors: every non-2xx answer rejects with a `TesseraError` whose `code` is
 * the server's (`NOT_FOUND`, `STALE`, `ESCALATION_DENIED`, ...), with
 * `status` (the HTTP status) and `details` (the server's object, `{}` when
 * none). An answer without the API's error shape gets code `HTTP_<status>`.
 * A host that cannot be reached, or does not answer within `timeoutMs`,
 * rejects with code `UNAVAILABLE` and status 0; an unreadable 2xx body with
 * `BAD_RESPONSE`. Bad arguments throw `BAD_ARGUMENT` before any request.
 */
export class TesseraClient {
  #base;
  #token;
  #actor;
  #fetch;
  #timeoutMs;

  /**
   * @param {object} options
   * @param {string | URL} options.baseUrl the host, e.g. `http://127.0.0.1:7700` (a path prefix is kept)
   * @param {string} options.token an API token (`admin`, or `check` for decisions, snapshots and keys)
   * @param {string} [options.actor] the acting user of admin calls (`Tessera-Actor`)
   * @param {typeof fetch} [options.fetch] a fetch implementation (default: the global one)
   * @param {number} [options.timeoutMs=30000] per-request time limit; 0: none
   */
  constructor({ baseUrl, token, actor, fetch: fetchImpl, timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
    if (!(typeof baseUrl === 'string' || baseUrl instanceof URL) || String(baseUrl) === '') {
      throw badArgument('baseUrl must be the host URL, e.g. http://127.0.0.1:7700');
    }
    const base = new URL(String(baseUrl));
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw badArgument('baseUrl must be an http(s) URL');
    if (typeof token !== 'string' || token === '') throw badArgument('token must be an API token');
    if (actor !== undefined && actor !== null && (typeof actor !== 'string' || actor === '')) {
      throw badArgument('actor must be a user id');
    }
    const impl = fetchImpl ?? globalThis.fetch;
    if (typeof impl !== 'function') throw badArgument('no fetch: pass options.fetch (Node 18+ has a global one)');
    if (!(Number.isFinite(timeoutMs) && timeoutMs >= 0)) throw badArgument('timeoutMs must be a number ≥ 0');
    base.search = '';
    base.hash = '';
    this.#base = base.href.replace(/\/+$/, '');
    this.#token = token;
    this.#actor = actor ?? undefined;
    this.#fetch = impl;
    this.#timeoutMs = timeoutMs;
  }

  /** The base URL requests go to (without a trailing slash). */
  get baseUrl() {
    return this.#base;
  }

  /** The client's default acting user, if any. */
  get actor() {
    return this.#actor;
  }

  /** A client like this one acting for `actor` (`null`: the trusted backend). */
  withActor(actor) {
    return new TesseraClient({
      baseUrl: this.#base,
      token: this.#token,
      actor,
      fetch: this.#fetch,
      timeoutMs: this.#timeoutMs,
    });
  }

  // ------------------------------------------------------------ transport

  /**
   * Sends one request. `expect`: `json` (parsed body; `undefined` for 204),
   * `bytes` (Uint8Array) or `text`.
   */
  async #request(method, path, { query, body, accept = 'application/json', expect = 'json', keys = 'camel', etag, full = false } = {}, options = {}) {
    const { actor, signal } = options ?? {};
    let url = `${this.#base}${path}`;
    if (query) {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(query)) {
        if (value !== undefined && value !== null) params.append(key, String(value));
      }
      const text = params.toString();
      if (text) url += `?${text}`;
    }
    const headers = { authorization: `Bearer ${this.#token}`, accept };
    const acting = options && Object.hasOwn(options, 'actor') ? actor : this.#actor;
    if (acting !== undefined && acting !== null) {
      if (typeof acting !== 'string' || acting === '') throw badArgument('actor must be a user id');
      headers['tessera-actor'] = acting;
    }
    if (etag !== undefined && etag !== null) {
      if (typeof etag !== 'string' || etag === '') throw badArgument('etag must be the ETag of a snapshot');
      headers['if-none-match'] = etag;
    }
    const init = { method, headers };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const timeout = this.#timeoutMs > 0 ? AbortSignal.timeout(this.#timeoutMs) : undefined;
    const signals = [signal, timeout].filter(Boolean);
    if (signals.length > 0) init.signal = signals.length === 1 ? signals[0] : AbortSignal.any(signals);

    const unreachable = (err) => {
      if (signal?.aborted) return err;
      const why = timeout?.aborted
        ? `no answer within ${this.#timeoutMs} ms`
        : (err?.cause?.message ?? err?.message ?? String(err));
      return hostError('UNAVAILABLE', `${method} ${url}: ${why}`, 0, {}, err);
    };

    let response;
    let payload;
    try {
      response = await this.#fetch(url, init);
      payload = response.ok && expect === 'bytes' ? new Uint8Array(await response.arrayBuffer()) : await response.text();
    } catch (err) {
      throw unreachable(err);
    }

    if (full && response.status === 304) return { status: 304, payload: undefined, headers: response.headers };
    if (!response.ok) {
      let error;
      try {
        error = JSON.parse(payload)?.error;
      } catch {
        error = undefined;
      }
      if (error && typeof error.code === 'string') {
        const message = typeof error.message === 'string' ? error.message : error.code;
        throw hostError(error.code, message, response.status, camelKeys(error.details));
      }
      const excerpt = payload.length > 200 ? `${payload.slice(0, 200)}…` : payload;
      throw hostError(`HTTP_${response.status}`, `${method} ${url} answered ${response.status}${excerpt ? `: ${excerpt}` : ''}`, response.status);
    }
    if (full) return { status: response.status, payload, headers: response.headers };
    if (expect !== 'json') return payload;
    if (response.status === 204 || payload === '') return undefined;
    try {
      const answer = JSON.parse(payload);
      return keys === 'camel' ? camelKeys(answer) : answer;
    } catch (err) {
      throw hostError('BAD_RESPONSE', `${method} ${url}: the answer is not JSON`, response.status, {}, err);
    }
  }

  #post(path, body, options) {
    return this.#request('POST', path, { body }, options);
  }

  #org(org) {
    return `/v1/orgs/${segment(org, 'org')}`;
  }

  // ------------------------------------------------------------ decisions

  /**
   * `POST /v1/check`: `{decision, diagnostic?, revision}`. An unknown
   * permission or invalid path is a `deny` with its diagnostic; an unknown
   * org or principal rejects with NOT_FOUND.
   */
  check(args, options) {
    const body = whoBody(args, 'check');
    body.permission = args.permission;
    body.path = args.path ?? [];
    put(body, 'owner', args.owner);
    return this.#post('/v1/check', body, options);
  }

  /** `POST /v1/check/batch`: `{decisions: [{decision, diagnostic?}], revision}`, in order. */
  checkBatch(args, options) {
    const body = whoBody(args, 'checkBatch');
    if (!Array.isArray(args.checks)) throw badArgument('checks must be an array of {permission, path?, owner?}');
    body.checks = args.checks.map((c) => {
      requireObject(c, 'each check');
      return put({ permission: c.permission, path: c.path ?? [] }, 'owner', c.owner);
    });
    return this.#post('/v1/check/batch', body, options);
  }

  /** `POST /v1/explain`: `{decision, revision, trace}` (the core's explanation, camelCase). */
  explain(args, options) {
    const body = whoBody(args, 'explain');
    body.permission = args.permission;
    body.path = args.path ?? [];
    put(body, 'owner', args.owner);
    return this.#post('/v1/explain', body, options);
  }

  /**
   * `POST /v1/filter`: `{plan, sql?, revision}`. With `columns` (node type →
   * column) the answer has `sql: {sql, params}`, a parameterised WHERE
   * fragment in `dialect` (`postgres`, the default, or `sqlite`).
   */
  filter(args, options) {
    const body = whoBody(args, 'filter');
    body.permission = args.permission;
    if (args.columns !== undefined && args.columns !== null) {
      body.columns = args.columns instanceof Map ? Object.fromEntries(args.columns) : requireObject(args.columns, 'columns');
    }
    put(body, 'owner_column', args.ownerColumn);
    put(body, 'dialect', args.dialect);
    return this.#post('/v1/filter', body, options);
  }

  /** `POST /v1/can-anywhere`: `{allowed, revision}`. */
  canAnywhere(args, options) {
    const body = whoBody(args, 'canAnywhere');
    body.permission = args.permission;
    return this.#post('/v1/can-anywhere', body, options);
  }

  /** `POST /v1/guard`: `{decision: 'allow'|'not_found'|'no_route', revision}` or `{decision: 'redirect', fallback, revision}`. */
  guard(args, options) {
    const body = whoBody(args, 'guard');
    body.route = args.route;
    return this.#post('/v1/guard', body, options);
  }

  /** `GET …/effective`: `{permissions, revision}`, the keys that hold at `path` (default: the org). */
  effective(args, options) {
    const query = whoQuery(args, 'effective');
    if (args.path !== undefined && args.path !== null) query.path = stringList(args.path, 'path').join(',');
    put(query, 'owner', args.owner);
    return this.#request('GET', `${this.#org(args.org)}/effective`, { query }, options);
  }

  /** `GET …/nav`: `{nav, revision}`. */
  nav(args, options) {
    return this.#request('GET', `${this.#org(requireObject(args, 'nav').org)}/nav`, { query: whoQuery(args, 'nav') }, options);
  }

  /** `GET …/claims`: `{claims, revision}`. */
  claims(args, options) {
    return this.#request('GET', `${this.#org(requireObject(args, 'claims').org)}/claims`, { query: whoQuery(args, 'claims') }, options);
  }

  // ------------------------------------------------------------ snapshots

  /**
   * `GET …/snapshot`: the signed snapshot of `principal` in `org`, as the
   * binary envelope (a Uint8Array) or, with `text: true`, its `tss1.` text.
   * `tokenScopes` narrows it to those keys; `under` (node keys) makes a
   * subtree snapshot. Open it with `TesseraVerifier.fromJwks(await client.keys())`.
   */
  snapshot(args, options) {
    const query = whoQuery(args, 'snapshot');
    if (args.under !== undefined && args.under !== null) query.under = stringList(args.under, 'under').join(',');
    const path = `${this.#org(args.org)}/snapshot`;
    if (args.text) {
      return this.#request('GET', path, { query, accept: 'text/plain', expect: 'text' }, options).then((text) => text.trim());
    }
    return this.#request('GET', path, { query, accept: SNAPSHOT_MEDIA_TYPE, expect: 'bytes' }, options);
  }

  /**
   * `GET …/snapshot` as a conditional request: `etag` is the tag of the
   * copy you hold (from an earlier answer). While that copy is still the
   * principal's snapshot (no write since can have changed it, its key still
   * signs, half its lifetime is left) the answer is `{changed: false, etag,
   * revision}` and nothing is downloaded; otherwise `{changed: true,
   * snapshot, etag, revision}` with a new snapshot (bytes, or text with
   * `text: true`) and its tag. Without `etag` it always downloads.
   */
  async snapshotIfChanged(args, options) {
    const query = whoQuery(args, 'snapshotIfChanged');
    if (args.under !== undefined && args.under !== null) query.under = stringList(args.under, 'under').join(',');
    const path = `${this.#org(args.org)}/snapshot`;
    const text = Boolean(args.text);
    const { status, payload, headers } = await this.#request(
      'GET',
      path,
      { query, accept: text ? 'text/plain' : SNAPSHOT_MEDIA_TYPE, expect: text ? 'text' : 'bytes', etag: args.etag, full: true },
      options,
    );
    const etag = headers.get('etag');
    const revision = Number(headers.get('tessera-revision'));
    if (status === 304) return { changed: false, etag, revision };
    return { changed: true, snapshot: text ? payload.trim() : payload, etag, revision };
  }

  /**
   * `GET …/events`: the org's revision events (docs/http.md §6.10), as an
   * async iterator of `{revision}`: first the current revision (unless
   * `lastEventId` is already there), then one per move. It runs until the
   * host closes the stream or `options.signal` aborts; stop early with
   * `break`. A refusal rejects like any call; a stream silent for 35 s
   * (the host sends a comment every 15 s) rejects with UNAVAILABLE.
   */
  async *events({ org, lastEventId } = {}, options = {}) {
    const headers = { authorization: `Bearer ${this.#token}`, accept: 'text/event-stream' };
    if (lastEventId !== undefined && lastEventId !== null) {
      if (!Number.isSafeInteger(lastEventId) || lastEventId < 0) throw badArgument('lastEventId must be a revision');
      headers['last-event-id'] = String(lastEventId);
    }
    const url = `${this.#base}${this.#org(org)}/events`;
    let response;
    try {
      response = await this.#fetch(url, { method: 'GET', headers, signal: options.signal });
    } catch (err) {
      if (options.signal?.aborted) throw err;
      throw hostError('UNAVAILABLE', `GET ${url}: ${err?.cause?.message ?? err?.message ?? err}`, 0, {}, err);
    }
    if (!response.ok) {
      let error;
      try {
        error = (await response.json())?.error;
      } catch {
        error = undefined;
      }
      throw hostError(error?.code ?? `HTTP_${response.status}`, error?.message ?? `GET ${url} answered ${response.status}`, response.status, camelKeys(error?.details));
    }
    try {
      for await (const event of serverEvents(response.body, { idleMs: 35_000 })) {
        if (event.event !== 'revision') continue;
        const { revision } = JSON.parse(event.data);
        yield { revision };
      }
    } catch (err) {
      if (options.signal?.aborted) return;
      throw hostError('UNAVAILABLE', `GET ${url}: ${err?.message ?? err}`, 0, {}, err);
    }
  }

  /** `GET /v1/keys`: the JWKS (`{keys: [...]}`) that verifies the host's snapshots. */
  keys(options) {
    return this.#request('GET', '/v1/keys', {}, options);
  }

  // ------------------------------------------------------------ orgs, users, members

  /** `POST /v1/orgs` (superuser actors only): `{id, name}`. */
  createOrg({ id, name } = {}, options) {
    return this.#post('/v1/orgs', { id, name }, options);
  }

  /** `PATCH /v1/orgs/{org}` with `{name}`: `{id, name}`. */
  renameOrg(org, { name } = {}, options) {
    return this.#request('PATCH', this.#org(org), { body: { name } }, options);
  }

  /** `DELETE /v1/orgs/{org}`: everything in it (its audit trail stays). */
  deleteOrg(org, options) {
    return this.#request('DELETE', this.#org(org), {}, options);
  }

  /** `PUT /v1/users/{id}` with `{name?, superuser?, active?}` (absent fields keep their value): the user as stored. */
  putUser(id, fields = {}, options) {
    const { name, superuser, active } = requireObject(fields, 'user fields');
    const body = put(put(put({}, 'name', name), 'superuser', superuser), 'active', active);
    return this.#request('PUT', `/v1/users/${segment(id, 'user id')}`, { body }, options);
  }

  /** `PUT …/members/{user}`: makes the user a member (re-adding is a no-op). */
  putMember(org, user, options) {
    return this.#request('PUT', `${this.#org(org)}/members/${segment(user, 'user')}`, {}, options);
  }

  /** `GET …/members?search=&limit=`: `[{id, name}]`, members whose id or name contains `search`, by id (at most `limit`, 1 to 100, default 20). */
  searchMembers(org, { search, limit } = {}, options) {
    return this.#request('GET', `${this.#org(org)}/members`, { query: { search, limit } }, options);
  }

  /** `DELETE …/members/{user}`: with its group memberships and assignments in the org. */
  deleteMember(org, user, options) {
    return this.#request('DELETE', `${this.#org(org)}/members/${segment(user, 'user')}`, {}, options);
  }

  // ------------------------------------------------------------ groups

  /** `GET …/groups`: `[{id, name, default, members}]`, `members` the direct ones (`user:<id>`, `group:<id>`). */
  listGroups(org, options) {
    return this.#request('GET', `${this.#org(org)}/groups`, {}, options);
  }

  /** `POST …/groups` with `{id?, name, default?}`: the group. */
  createGroup(org, { id, name, default: isDefault } = {}, options) {
    const body = put(put({ name }, 'id', id), 'default', isDefault);
    return this.#post(`${this.#org(org)}/groups`, body, options);
  }

  /** `PATCH …/groups/{id}` with `{name?, default?}`: the group. */
  updateGroup(org, id, { name, default: isDefault } = {}, options) {
    const body = put(put({}, 'name', name), 'default', isDefault);
    return this.#request('PATCH', `${this.#org(org)}/groups/${segment(id, 'group id')}`, { body }, options);
  }

  /** `DELETE …/groups/{id}`. */
  deleteGroup(org, id, options) {
    return this.#request('DELETE', `${this.#org(org)}/groups/${segment(id, 'group id')}`, {}, options);
  }

  /** `PUT …/groups/{id}/members/{user|group}/{id}`; `member` is `user:<id>` or `group:<id>`. */
  putGroupMember(org, group, member, options) {
    const path = `${this.#org(org)}/groups/${segment(group, 'group id')}/members/${keySegments(member, 'member', "'user:<id>' or 'group:<id>'")}`;
    return this.#request('PUT', path, {}, options);
  }

  /** `DELETE …/groups/{id}/members/{user|group}/{id}`. */
  deleteGroupMember(org, group, member, options) {
    const path = `${this.#org(org)}/groups/${segment(group, 'group id')}/members/${keySegments(member, 'member', "'user:<id>' or 'group:<id>'")}`;
    return this.#request('DELETE', path, {}, options);
  }

  // ------------------------------------------------------------ roles

  /** `GET /v1/catalog`: `{catalog: [{key, description, requires, requiredBy}]}`, both lists transitive. */
  catalog(options) {
    return this.#request('GET', '/v1/catalog', {}, options);
  }

  /** `GET …/roles`: built-ins in manifest order, then custom roles by name. */
  listRoles(org, options) {
    return this.#request('GET', `${this.#org(org)}/roles`, {}, options);
  }

  /** `POST …/roles` with `{name, permissions}`: the role (`{id, name, builtin, mode, guarded, permissions}`). */
  createRole(org, { name, permissions } = {}, options) {
    return this.#post(`${this.#org(org)}/roles`, put({ name }, 'permissions', permissions), options);
  }

  /** `PATCH …/roles/{id}` with `{name?, permissions?}`: the role. */
  updateRole(org, id, { name, permissions } = {}, options) {
    const body = put(put({}, 'name', name), 'permissions', permissions);
    return this.#request('PATCH', `${this.#org(org)}/roles/${segment(id, 'role id')}`, { body }, options);
  }

  /** `DELETE …/roles/{id}` (a custom role without live assignments). */
  deleteRole(org, id, options) {
    return this.#request('DELETE', `${this.#org(org)}/roles/${segment(id, 'role id')}`, {}, options);
  }

  // ------------------------------------------------------------ nodes

  /** `GET …/nodes`: `[{node, parent}]`, every registered node, parents first. */
  listNodes(org, options) {
    return this.#request('GET', `${this.#org(org)}/nodes`, {}, options);
  }

  /** `PUT …/nodes/{type}/{id}`: registers `node` (`site:7`) under `parent` (a node key, or null/absent: the org root). */
  putNode(org, node, { parent = null } = {}, options) {
    return this.#request('PUT', `${this.#org(org)}/nodes/${keySegments(node, 'node', "'site:7'")}`, { body: { parent } }, options);
  }

  /** `DELETE …/nodes/{type}/{id}` (no children, no policy on it). */
  deleteNode(org, node, options) {
    return this.#request('DELETE', `${this.#org(org)}/nodes/${keySegments(node, 'node', "'site:7'")}`, {}, options);
  }

  // ------------------------------------------------------------ assignments, hidden entries, caps

  /** `GET …/assignments`: `[{id, subject, role, scope, ownerOnly}]`, oldest first. */
  listAssignments(org, options) {
    return this.#request('GET', `${this.#org(org)}/assignments`, {}, options);
  }

  // ------------------------------------------------------------ access (admin token)

  /**
   * `POST /v1/who-can`: `{principals: [{id, name, via: [{subject, role,
   * scope}]}], anonymous, next, diagnostic?, revision}`: every active user
   * `check` allows, by id, `limit` at a time (pass `next` as `after`).
   */
  whoCan({ org, permission, path, owner, limit, after } = {}, options) {
    const body = { org, permission, path: path ?? [] };
    put(body, 'owner', owner);
    put(body, 'limit', limit);
    put(body, 'after', after);
    return this.#post('/v1/who-can', body, options);
  }

  /**
   * `POST /v1/console-sessions`: a one-time URL (a path on the host, valid
   * 60 s, once) that signs a browser in to the console as `actor`, a user
   * this backend authenticated, in `org` only when given:
   * `{url, expiresAt}` (docs/console.md §10.1). The client must not send
   * `Tessera-Actor` here.
   */
  consoleSignIn({ actor, org } = {}, options) {
    const body = { actor };
    put(body, 'org', org);
    return this.#post('/v1/console-sessions', body, options);
  }

  /**
   * `POST …/preview`: what the model write `{method, path, body?}` would
   * change, without making it: `{changes: [{principal, node, permission,
   * before, after}] (the first 10,000), truncated, totalChanges,
   * principalsAffected, revision}`, or the write's own
   * refusal (rejected like the write would be).
   */
  preview(org, { method, path, body } = {}, options) {
    const request = { method, path };
    put(request, 'body', body);
    return this.#post(`${this.#org(org)}/preview`, request, options);
  }

  /** `GET …/export`: the org as a `tessera.org/1` document (docs/documents.md §9), its canonical text. */
  exportOrg(org, options) {
    return this.#request('GET', `${this.#org(org)}/export`, { expect: 'text' }, options);
  }

  /**
   * `POST …/apply`: the plan that makes the org what `document` (a
   * `tessera.org/1` document, as an object or its JSON text) says; with
   * `dryRun: false`, applied in one transaction. `{plan: [{kind, op,
   * target, pointer}], counts, principalsAffected, applied, revision}`; a
   * refusal's `details.pointer` points into the document.
   */
  applyOrg(org, { document, dryRun = true } = {}, options) {
    const parsed = typeof document === 'string' ? JSON.parse(document) : document;
    return this.#post(`${this.#org(org)}/apply`, { document: parsed, dry_run: dryRun }, options);
  }

  /** `POST …/users/{id}/explain`: `explain` for a person, behind the access map's gate: `{decision, revision, trace}`. */
  userExplain(org, user, { permission, path, owner } = {}, options) {
    const body = { permission, path: path ?? [] };
    put(body, 'owner', owner);
    return this.#post(`${this.#org(org)}/users/${segment(user, 'user')}/explain`, body, options);
  }

  /** `GET …/users/{id}/access`: `{root, nodes: [{node, permissions}], hidden, revision}`. */
  userAccess(org, user, options) {
    return this.#request('GET', `${this.#org(org)}/users/${segment(user, 'user')}/access`, {}, options);
  }

  /** `POST …/users/{id}/view` with `{routes?}`: what the user sees: `{nav, routes: [{route, decision, fallback?}], visible, hidden, revision}`. */
  userView(org, user, { routes = [] } = {}, options) {
    return this.#post(`${this.#org(org)}/users/${segment(user, 'user')}/view`, { routes }, options);
  }

  /** `POST …/assignments` with `{subject, role, scope?, ownerOnly?}`: the assignment. */
  createAssignment(org, { subject, role, scope = null, ownerOnly } = {}, options) {
    const body = put({ subject, role, scope }, 'owner_only', ownerOnly);
    return this.#post(`${this.#org(org)}/assignments`, body, options);
  }

  /** `DELETE …/assignments/{id}`. */
  deleteAssignment(org, id, options) {
    return this.#request('DELETE', `${this.#org(org)}/assignments/${segment(id, 'assignment id')}`, {}, options);
  }

  /** `GET …/hidden`: `[{id, selector, node}]`. */
  listHidden(org, options) {
    return this.#request('GET', `${this.#org(org)}/hidden`, {}, options);
  }

  /** `POST …/hidden` with `{selector, node}`: the entry. */
  createHidden(org, { selector, node } = {}, options) {
    return this.#post(`${this.#org(org)}/hidden`, { selector, node }, options);
  }

  /** `DELETE …/hidden/{id}`. */
  deleteHidden(org, id, options) {
    return this.#request('DELETE', `${this.#org(org)}/hidden/${segment(id, 'hidden entry id')}`, {}, options);
  }

  /** `GET …/caps`: `[{id, selector, scope, allow}]`. */
  listCaps(org, options) {
    return this.#request('GET', `${this.#org(org)}/caps`, {}, options);
  }

  /** `POST …/caps` with `{selector, scope?, allow}`: the cap. */
  createCap(org, { selector, scope = null, allow } = {}, options) {
    return this.#post(`${this.#org(org)}/caps`, { selector, scope, allow }, options);
  }

  /** `DELETE …/caps/{id}`. */
  deleteCap(org, id, options) {
    return this.#request('DELETE', `${this.#org(org)}/caps/${segment(id, 'cap id')}`, {}, options);
  }

  // ------------------------------------------------------------ settings, audit, operations

  /** `GET …/settings`: `{kiosk}`. */
  getSettings(org, options) {
    return this.#request('GET', `${this.#org(org)}/settings`, {}, options);
  }

  /** `PUT …/settings` with `{kiosk}`: the settings. */
  putSettings(org, { kiosk } = {}, options) {
    return this.#request('PUT', `${this.#org(org)}/settings`, { body: { kiosk } }, options);
  }

  /** `GET …/audit?after=`: one page of audit rows after id `after` (default 0), oldest first. */
  audit(org, { after } = {}, options) {
    return this.#request('GET', `${this.#org(org)}/audit`, { query: { after } }, options);
  }

  /** `GET /healthz`: `{status: 'ok'}` when the host and its store answer. */
  health(options) {
    return this.#request('GET', '/healthz', {}, options);
  }

  /** `GET /openapi.json`: the API's OpenAPI document, as served (its keys are the wire's). */
  openapi(options) {
    return this.#request('GET', '/openapi.json', { keys: 'wire' }, options);
  }
}

export { TesseraError };
