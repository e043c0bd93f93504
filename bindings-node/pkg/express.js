// @tessera/node/express: Express middleware that verifies the caller's
// snapshot (from a header or a cookie), binds it to the request's org (and,
// when given, principal) and answers permission checks and manifest routes.
// No rule lives here: every decision is the snapshot's (tessera-core's).

import { TesseraError, TesseraVerifier } from './node.js';

/** `keysUrl` is fetched at most once per this many seconds. */
const REFRESH_SECONDS = 30;
/** Give up on a key fetch after this many ms. */
const FETCH_TIMEOUT_MS = 5_000;

/** The keys of a JWKS (object or JSON text); throws BAD_KEY_SET if malformed. */
function keysOf(jwks) {
  TesseraVerifier.fromJwks(jwks);
  return (typeof jwks === 'string' ? JSON.parse(jwks) : jwks).keys;
}

/** A header or cookie value, when it is a non-empty string. */
function present(value) {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The value of cookie `name` in a `Cookie` header, or undefined. */
function cookieValue(headerValue, name) {
  if (typeof headerValue !== 'string') return undefined;
  for (const part of headerValue.split(';')) {
    const at = part.indexOf('=');
    if (at < 0 || part.slice(0, at).trim() !== name) continue;
    let value = part.slice(at + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    try {
      return value.includes('%') ? decodeURIComponent(value) : value;
    } catch {
      return value;
    }
  }
  return undefined;
}

/** An id from an option function (which may throw); a non-string or '' is `undefined`. */
function idFrom(fn, req) {
  return present(fn(req));
}

function requireFunction(value, name) {
  if (typeof value !== 'function') throw new TypeError(`${name} must be a function of the request`);
}

function sendError(res, status, code, message, details) {
  const error = details === undefined ? { code, message } : { code, message, details };
  res.status(status).json({ error });
}

/** Sends the 401 (or 503 KEYS_UNAVAILABLE) for an error thrown while opening a snapshot. */
function sendOpenError(res, err) {
  const code = err instanceof TesseraError ? err.code : 'UNAUTHENTICATED';
  const message = err instanceof Error ? err.message : String(err);
  sendError(res, code === 'KEYS_UNAVAILABLE' ? 503 : 401, code, message);
}

/**
 * Creates the middleware factories sharing one key set.
 *
 * Keys: `jwks` (static, trusted as given) and/or `keysUrl` (the host's
 * `GET /v1/keys`). The URL is fetched when a snapshot's `kid` is not among
 * the keys held (so on first use when there is no `jwks`), at most once per
 * 30 s; after a fetch the open is retried once. The fetched set replaces the
 * previous one; a `kid` also in `jwks` keeps the static key. A failed fetch
 * answers 503 `KEYS_UNAVAILABLE`. The host's `/v1/keys` is public; when the
 * keys sit behind a proxy that wants a token, pass it as `keysToken`, sent
 * as `Authorization: Bearer <token>` with every key fetch (a function is
 * called at each fetch, for tokens that change).
 *
 * The snapshot is the `tss1.` text in request header `header`, else in cookie
 * `cookie` (when named). Over `maxBytes` it is refused (401 `TOO_LARGE`)
 * without parsing. Note that Node refuses request headers over 16 KB in all
 * (`maxHeaderSize`) with a 431 before any middleware runs.
 *
 * @param {object} [options]
 * @param {string | {keys: object[]}} [options.jwks] static key set
 * @param {string | URL} [options.keysUrl] the host's `/v1/keys`
 * @param {string | (() => string | Promise<string>)} [options.keysToken] API token for `keysUrl` (`Authorization: Bearer`)
 * @param {string} [options.header='tessera-snapshot'] request header holding the snapshot
 * @param {string} [options.cookie] cookie holding the snapshot, when the header is absent
 * @param {number} [options.maxBytes=16384] largest accepted snapshot text
 * @param {number | (() => number)} [options.now] the clock in unix seconds, for
 *   expiry checks and the refresh interval (default: the system clock)
 */
export function createTessera({ jwks, keysUrl, keysToken, header = 'tessera-snapshot', cookie, maxBytes = 16384, now } = {}) {
  if (jwks === undefined && keysUrl === undefined) throw new TypeError('createTessera needs jwks or keysUrl');
  if (keysToken !== undefined && typeof keysToken !== 'string' && typeof keysToken !== 'function') {
    throw new TypeError('keysToken must be an API token or a function giving one');
  }
  const headerName = header.toLowerCase();
  const staticKeys = jwks === undefined ? [] : keysOf(jwks);
  let verifier = TesseraVerifier.fromJwks({ keys: staticKeys });
  let lastFetch = -Infinity;
  let inflight = null;
  /** Snapshots already opened, per request: {snapshot, org}. */
  const opened = new WeakMap();

  /** `now` for `open` (undefined: the verifier reads the clock itself). */
  const nowSeconds = () => (typeof now === 'function' ? now() : now);
  const clock = () => nowSeconds() ?? Date.now() / 1000;

  async function fetchKeys() {
    const headers = { accept: 'application/json' };
    const token = typeof keysToken === 'function' ? await keysToken() : keysToken;
    if (token) headers.authorization = `Bearer ${token}`;
    const response = await fetch(keysUrl, {
      headers,
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    });
    if (!response.ok) throw new Error(`GET ${keysUrl} answered ${response.status}`);
    const keys = keysOf(await response.json());
    const pinned = new Set(staticKeys.map((key) => key.kid));
    verifier = TesseraVerifier.fromJwks({ keys: [...staticKeys, ...keys.filter((key) => !pinned.has(key.kid))] });
  }

  /** Fetches `keysUrl` unless fetched in the last 30 s; true when a fetch ran (or was running). */
  async function refreshKeys() {
    if (inflight) return inflight.then(() => true);
    const at = clock();
    if (!(at - lastFetch >= REFRESH_SECONDS)) return false;
    lastFetch = at;
    inflight = fetchKeys()
      .catch((err) => {
        throw new TesseraError('KEYS_UNAVAILABLE', `cannot load the key set: ${err.message}`);
      })
      .finally(() => {
        inflight = null;
      });
    await inflight;
    return true;
  }

  /**
   * The request's snapshot, verified and bound to `org` (and `principal`,
   * when given); opened once per request and instance for the same binding.
   * Rejects with a TesseraError: `UNAUTHENTICATED` (no snapshot), `TOO_LARGE`,
   * an open error code, or `KEYS_UNAVAILABLE`.
   *
   * @param {{headers: object}} req an Express (or node:http) request
   * @param {{org: string, principal?: string}} expect
   */
  async function snapshotOf(req, { org, principal } = {}) {
    if (typeof org !== 'string' || org === '') throw new TesseraError('BAD_ARGUMENT', 'snapshotOf needs the org');
    const done = opened.get(req);
    if (done && done.org === org && (principal === undefined || done.snapshot.principal === principal)) {
      return done.snapshot;
    }
    const text = present(req.headers[headerName]) ?? (cookie ? present(cookieValue(req.headers.cookie, cookie)) : undefined);
    if (!text) {
      const where = cookie ? `header ${header} or cookie ${cookie}` : `header ${header}`;
      throw new TesseraError('UNAUTHENTICATED', `no snapshot in ${where}`);
    }
    if (Buffer.byteLength(text) > maxBytes) {
      throw new TesseraError('TOO_LARGE', `snapshot is over ${maxBytes} bytes`);
    }
    const expect = principal === undefined ? { org } : { org, principal };
    let snapshot;
    try {
      snapshot = verifier.open(text, nowSeconds(), expect);
    } catch (err) {
      if (err.code !== 'UNKNOWN_KEY' || keysUrl === undefined || !(await refreshKeys())) throw err;
      snapshot = verifier.open(text, nowSeconds(), expect);
    }
    opened.set(req, { snapshot, org });
    return snapshot;
  }

  /**
   * Opens the snapshot bound to `org(req)` / `principal(req)`; on success
   * sets `req.tessera = { snapshot }` and returns it, else answers the
   * request and returns undefined. Throwing `org`/`principal` functions, or
   * ones giving no id, fail closed (403 / 401).
   */
  async function authenticate(req, res, org, principal) {
    let expect;
    try {
      expect = { org: idFrom(org, req), principal: principal ? idFrom(principal, req) : undefined };
    } catch (err) {
      sendError(res, 403, 'FORBIDDEN', `cannot bind the snapshot: ${err.message}`);
      return undefined;
    }
    if (expect.org === undefined) {
      sendError(res, 403, 'FORBIDDEN', 'the request has no org to bind the snapshot to');
      return undefined;
    }
    if (principal && expect.principal === undefined) {
      sendError(res, 401, 'UNAUTHENTICATED', 'the request has no principal to bind the snapshot to');
      return undefined;
    }
    try {
      const snapshot = await snapshotOf(req, expect);
      req.tessera = { snapshot };
      return snapshot;
    } catch (err) {
      sendOpenError(res, err);
      return undefined;
    }
  }

  /**
   * Middleware allowing the request iff the snapshot allows `permission` at
   * `path(req)` (with `owner(req)` for owner-only grants). Answers 401 (no,
   * invalid, expired, oversized or mismatched snapshot; the TesseraError code
   * or UNAUTHENTICATED), 403 FORBIDDEN (`deny`, or a throwing path/owner
   * function), 404 NOT_FOUND (`not_found`: hidden from the caller), 503
   * KEYS_UNAVAILABLE; otherwise sets `req.tessera = { snapshot }` and calls
   * `next()`. Error bodies are `{"error": {"code", "message"}}`.
   *
   * @param {string} permission catalog key, e.g. `miner:reboot`
   * @param {object} options
   * @param {(req) => string[]} options.path the resource's path, e.g. `['site:1', 'rack:2']`
   * @param {(req) => string | null | undefined} [options.owner] the resource's owner
   * @param {(req) => string} options.org the request's org: the snapshot must be for it
   * @param {(req) => string} [options.principal] the authenticated user: the snapshot must be theirs
   */
  function requirePermission(permission, { path, owner, org, principal } = {}) {
    if (typeof permission !== 'string' || permission === '') throw new TypeError('permission must be a catalog key');
    requireFunction(path, 'path');
    requireFunction(org, 'org');
    if (owner !== undefined) requireFunction(owner, 'owner');
    if (principal !== undefined) requireFunction(principal, 'principal');

    return async function tesseraRequirePermission(req, res, next) {
      const snapshot = await authenticate(req, res, org, principal);
      if (!snapshot) return;
      let effect;
      try {
        effect = snapshot.check(permission, path(req), owner ? owner(req) ?? null : null);
      } catch (err) {
        sendError(res, 403, 'FORBIDDEN', `cannot check ${permission}: ${err.message}`);
        return;
      }
      if (effect === 'allow') return next();
      if (effect === 'not_found') return sendError(res, 404, 'NOT_FOUND', 'not found');
      sendError(res, 403, 'FORBIDDEN', `${permission} is not allowed here`);
    };
  }

  /**
   * Middleware applying the manifest's routes (docs/decisions.md §2.1) to the request
   * path, as received (percent-encoded: core decodes each segment once):
   * `snapshot.guard(route(req))`. The mapping is the Rust `RouteGuard`'s
   * (`docs/routes.md`): `allow` → `next()` (with `req.tessera = { snapshot }`);
   * `redirect` → 403
   * `{"error": {"code": "FORBIDDEN", "message", "details": {"fallback"}}}`
   * (an API answers; a page can send the user to `details.fallback`);
   * `not_found` (hidden, or a parameter that is no node id) and `no_route`
   * → 404 NOT_FOUND. Snapshot problems answer as in
   * `requirePermission`. Mount it where the manifest's routes start: by
   * default the route is `req.path`, which is relative to the mount point.
   *
   * @param {object} options
   * @param {(req) => string} options.org the request's org
   * @param {(req) => string} [options.principal] the authenticated user
   * @param {(req) => string} [options.route] the manifest route to guard (default `req.path`)
   */
  function routeGuard({ org, principal, route = (req) => req.path } = {}) {
    requireFunction(org, 'org');
    requireFunction(route, 'route');
    if (principal !== undefined) requireFunction(principal, 'principal');

    return async function tesseraRouteGuard(req, res, next) {
      const snapshot = await authenticate(req, res, org, principal);
      if (!snapshot) return;
      let result;
      try {
        result = snapshot.guard(route(req));
      } catch (err) {
        sendError(res, 403, 'FORBIDDEN', `cannot guard the route: ${err.message}`);
        return;
      }
      if (result.decision === 'allow') return next();
      if (result.decision === 'redirect') {
        return sendError(res, 403, 'FORBIDDEN', 'this route is not allowed', { fallback: result.fallback });
      }
      sendError(res, 404, 'NOT_FOUND', 'not found');
    };
  }

  return { requirePermission, routeGuard, snapshotOf };
}

/** Headers of the host's snapshot answer passed on to the browser. */
const RELAYED = ['content-type', 'etag', 'tessera-revision', 'vary'];

/**
 * The app backend's relay for its own pages (docs/frontend.md §8.1): a
 * middleware to mount under a prefix (`app.use('/tessera', tesseraRoutes(…))`)
 * that answers three routes from the host, so a browser never holds a host
 * token:
 *
 * - `GET /snapshot`: the logged-in user's snapshot as `tss1.` text, the
 *   principal taken only from `principal(req)` (the app's session), never
 *   from the request; `If-None-Match` and `?min_revision=N` are passed on
 *   (304 for a copy still valid); `Cache-Control: no-store`.
 * - `GET /keys`: the host's public keys.
 * - `GET /events`: the org's revision events, relayed as they come and
 *   closed when the browser goes away.
 *
 * `principal(req)` gives the user id; `null` is the anonymous visitor only
 * with `anonymous: true` (otherwise 401, as are `undefined` and the id
 * `anonymous`); a throwing `org` or `principal` is 403. Snapshot and key
 * requests to the host time out after 5 s.
 * Host errors are passed on in the API's shape; an unreachable host is
 * 503 UNAVAILABLE. Other paths and methods fall through to `next()`.
 *
 * @param {object} options
 * @param {string | URL} options.host the host's base URL (`http://127.0.0.1:7700`)
 * @param {string | (() => string | Promise<string>)} options.token a `check` (or `admin`) API token
 * @param {(req) => string} options.org the org the user acts in
 * @param {(req) => string | null | undefined} options.principal the logged-in user
 * @param {boolean} [options.anonymous=false] whether `null` means the anonymous visitor
 * @param {typeof fetch} [options.fetch] the fetch to reach the host with
 */
export function tesseraRoutes({ host, token, org, principal, anonymous = false, fetch: fetchFn = globalThis.fetch } = {}) {
  if (host === undefined) throw new TypeError('tesseraRoutes needs the host URL');
  if (typeof token !== 'string' && typeof token !== 'function') throw new TypeError('tesseraRoutes needs an API token');
  requireFunction(org, 'org');
  requireFunction(principal, 'principal');
  const base = String(host).replace(/\/+$/, '');

  async function call(path, headers, signal) {
    const bearer = typeof token === 'function' ? await token() : token;
    return fetchFn(`${base}${path}`, {
      headers: { ...headers, authorization: `Bearer ${bearer}` },
      signal: signal ?? AbortSignal.timeout(FETCH_TIMEOUT_MS),
    });
  }

  /** The request's org and principal, or undefined once answered. */
  function who(req, res) {
    let orgId;
    let user;
    try {
      orgId = idFrom(org, req);
      user = principal(req);
    } catch (err) {
      sendError(res, 403, 'FORBIDDEN', `cannot tell whose snapshot to serve: ${err.message}`);
      return undefined;
    }
    if (orgId === undefined) {
      sendError(res, 403, 'FORBIDDEN', 'the request has no org');
      return undefined;
    }
    if (user === null && anonymous) return { org: orgId, principal: 'anonymous' };
    // Only `null` with `anonymous: true` is the anonymous visitor, never a user id that spells it.
    if (typeof user !== 'string' || user === '' || user === 'anonymous') {
      sendError(res, 401, 'UNAUTHENTICATED', 'not logged in');
      return undefined;
    }
    return { org: orgId, principal: user };
  }

  async function passError(res, response) {
    let body;
    try {
      body = await response.json();
    } catch {
      body = { error: { code: 'UNAVAILABLE', message: `the host answered ${response.status}` } };
    }
    res.status(response.status).json(body);
  }

  async function snapshot(req, res) {
    res.set('cache-control', 'no-store');
    const asked = who(req, res);
    if (!asked) return;
    const query = new URLSearchParams({ principal: asked.principal });
    const asks = new URL(req.originalUrl ?? req.url, 'http://relay').searchParams;
    if ([...asks.keys()].some((key) => key !== 'min_revision') || asks.getAll('min_revision').length > 1) {
      return sendError(res, 400, 'BAD_REQUEST', 'the snapshot relay takes one parameter, `min_revision`');
    }
    const minRevision = asks.get('min_revision') ?? undefined;
    if (minRevision !== undefined) {
      if (!/^\d{1,19}$/.test(minRevision)) {
        return sendError(res, 400, 'BAD_REQUEST', '`min_revision` must be a revision number');
      }
      query.set('min_revision', minRevision);
    }
    const headers = { accept: 'text/plain' };
    const held = present(req.headers['if-none-match']);
    if (held) headers['if-none-match'] = held;
    const response = await call(`/v1/orgs/${encodeURIComponent(asked.org)}/snapshot?${query}`, headers);
    if (response.status !== 200 && response.status !== 304) return passError(res, response);
    for (const name of RELAYED) {
      const value = response.headers.get(name);
      if (value !== null) res.set(name, value);
    }
    res.status(response.status);
    if (response.status === 304) return res.end();
    res.send(await response.text());
  }

  async function keys(req, res) {
    const response = await call('/v1/keys', { accept: 'application/json' });
    if (!response.ok) return passError(res, response);
    res.json(await response.json());
  }

  async function events(req, res) {
    const asked = who(req, res);
    if (!asked) return;
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    const headers = { accept: 'text/event-stream' };
    const lastEventId = present(req.headers['last-event-id']);
    if (lastEventId) headers['last-event-id'] = lastEventId;
    let response;
    try {
      response = await call(`/v1/orgs/${encodeURIComponent(asked.org)}/events`, headers, gone.signal);
    } catch (err) {
      if (gone.signal.aborted) return undefined;
      throw err;
    }
    if (!response.ok) return passError(res, response);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    res.flushHeaders?.();
    try {
      for await (const chunk of response.body) res.write(chunk);
    } catch {
      // The browser went away (the fetch was aborted) or the host closed.
    }
    res.end();
  }

  const routes = { '/snapshot': snapshot, '/keys': keys, '/events': events };

  return async function tesseraRelay(req, res, next) {
    const route = routes[req.path];
    if (!route || req.method !== 'GET') return next();
    try {
      await route(req, res);
    } catch (err) {
      if (!res.headersSent) sendError(res, 503, 'UNAVAILABLE', `the permission host cannot be reached: ${err.message}`);
      else res.end();
    }
  };
}
