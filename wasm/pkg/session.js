// @tessera/web/session: a live permission session for a page (or a Node
// process). It fetches the user's snapshot through the app backend's relay,
// keeps it fresh (before expiry, on a revision event, when the tab comes
// back, by polling when there is no event stream) and answers from it.
// No rule lives here: every answer is the snapshot's (tessera-core's); this
// file only decides *when* to fetch and remembers answers per snapshot.

import init, { TesseraError, TesseraVerifier } from '#tessera';
import { serverEvents } from './sse.js';

const NONE = Object.freeze([]);
const LOADING = Object.freeze({ decision: 'loading' });
const UNAVAILABLE = Object.freeze({ decision: 'unavailable' });
/** Tries of a read-your-writes refetch the relay answers 409 STALE to. */
const STALE_TRIES = 4;
/** A revision event stream silent this long is dead (the host sends a comment every 15 s). */
const STREAM_IDLE_MS = 35_000;

/**
 * A session over the relay's `snapshotUrl`, `keysUrl` and (optional)
 * `eventsUrl`. Every request goes through `fetch`; `now` is the clock in
 * unix seconds (tests). `initial` is a `tss1.` text the server rendered
 * into the page; with `keys` (the JWKS, rendered too) the session opens
 * without any request.
 */
export function createTessera(options = {}) {
  const {
    snapshotUrl, keysUrl, eventsUrl, initial, keys,
    fetch: fetchFn = globalThis.fetch?.bind(globalThis),
    refreshAt = 0.8, pollSeconds = 60,
    now = () => Date.now() / 1000,
  } = options;
  if (!snapshotUrl || (!keysUrl && keys === undefined)) throw new TypeError('createTessera needs snapshotUrl and keysUrl (or keys)');
  if (typeof fetchFn !== 'function') throw new TypeError('createTessera needs a fetch');
  if (!(refreshAt > 0 && refreshAt < 1)) throw new TypeError('refreshAt must be between 0 and 1');
  if (!(pollSeconds > 0)) throw new TypeError('pollSeconds must be a positive number of seconds');

  const listeners = new Set();
  let verifier = null;
  let snapshot = null;
  let etag = null;
  /** The revision the held snapshot is known current at (a 304 confirms it at a later one). */
  let known = 0;
  let status = 'loading';
  let error = null;
  let memo = new Map();
  let inflight = null;
  let closed = false;
  let refreshTimer, expiryTimer, pollTimer, streamRetry, retryTimer;
  let fetching = null;
  let stream = null;
  let markReady;
  const ready = new Promise((resolve) => { markReady = resolve; });

  const href = (url, params) => {
    const full = new URL(String(url), globalThis.location?.href);
    for (const [key, value] of Object.entries(params ?? {})) full.searchParams.set(key, String(value));
    return full.href;
  };

  function emit() {
    if (status !== 'loading') markReady(session);
    for (const listener of [...listeners]) {
      try { listener(session); } catch (err) { queueMicrotask(() => { throw err; }); }
    }
  }

  /** Sets the status; listeners hear of it only when something changed. */
  function setStatus(next, err = error) {
    if (next === status && err === error) return;
    status = next;
    error = err;
    emit();
  }

  async function loadKeys(jwks) {
    if (jwks === undefined) {
      const response = await fetchFn(href(keysUrl), { headers: { accept: 'application/json' } });
      if (!response.ok) throw await failure(response, 'KEYS_UNAVAILABLE');
      jwks = await response.json();
    }
    verifier = TesseraVerifier.fromJwks(jwks);
  }

  /** Opens `text`; an unknown key refetches the keys once. */
  async function open(text) {
    try {
      return verifier.open(text, Math.floor(now()));
    } catch (err) {
      if (err.code !== 'UNKNOWN_KEY' || !keysUrl) throw err;
      await loadKeys();
      return verifier.open(text, Math.floor(now()));
    }
  }

  /** Swaps in a new snapshot atomically, frees the old one, drops the answers. */
  function swap(next, tag) {
    if (closed) return next.free();
    clearTimeout(retryTimer);
    const old = snapshot;
    snapshot = next;
    etag = tag;
    known = next.revision;
    memo = new Map();
    if (old && old !== next) old.free();
    schedule();
    status = 'ready';
    error = null;
    emit();
  }

  /** Refresh at `refreshAt` of the lifetime; expire at the end. */
  function schedule() {
    clearTimeout(refreshTimer);
    clearTimeout(expiryTimer);
    if (!snapshot || closed) return;
    const { issuedAt, expiresAt } = snapshot;
    const at = issuedAt + (expiresAt - issuedAt) * refreshAt;
    refreshTimer = setTimeout(() => refresh().catch(() => {}), Math.max(0, (at - now()) * 1000));
    expiryTimer = setTimeout(expire, Math.max(0, (expiresAt - now()) * 1000));
  }

  /** Drops an expired snapshot: everything denies until a refresh succeeds. */
  /**
   * Tries again soon after a refresh that left the session behind (a
   * failure, or a 304 past the refresh point): within half the time the
   * snapshot has left, at least 1 s and at most `pollSeconds` apart, so a
   * blip does not run out the snapshot while the event stream is quiet.
   */
  function retrySoon() {
    clearTimeout(retryTimer);
    if (closed) return;
    const left = snapshot ? snapshot.expiresAt - now() : Infinity;
    const seconds = Math.min(pollSeconds, Math.max(1, left / 2));
    retryTimer = setTimeout(() => refresh().catch(() => {}), seconds * 1000);
  }

  const pastRefreshPoint = () => {
    if (!snapshot) return false;
    const { issuedAt, expiresAt } = snapshot;
    return now() >= issuedAt + (expiresAt - issuedAt) * refreshAt;
  };

  function expire() {
    if (!snapshot || snapshot.expiresAt > now()) return schedule();
    snapshot.free();
    snapshot = null;
    etag = null;
    memo = new Map();
    setStatus('expired');
  }

  async function failure(response, code) {
    let body = null;
    try { body = await response.json(); } catch {}
    const message = body?.error?.message ?? `${response.url} answered ${response.status}`;
    return new TesseraError(body?.error?.code ?? code, message);
  }

  async function fetchSnapshot(minRevision) {
    for (let tries = 1; ; tries++) {
      const headers = { accept: 'text/plain' };
      if (etag && snapshot) headers['if-none-match'] = etag;
      const params = minRevision > 0 ? { min_revision: minRevision } : undefined;
      fetching = new AbortController();
      const response = await fetchFn(href(snapshotUrl, params), { headers, cache: 'no-store', signal: fetching.signal });
      if (response.status === 304 && snapshot) {
        known = Math.max(known, Number(response.headers.get('tessera-revision')) || 0);
        if (pastRefreshPoint()) retrySoon();
        return setStatus('ready', null);
      }
      if (response.ok) return swap(await open(await response.text()), response.headers.get('etag'));
      const err = await failure(response, 'SNAPSHOT_UNAVAILABLE');
      if (err.code !== 'STALE' || tries >= STALE_TRIES) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100 * tries));
    }
  }

  /**
   * Fetches a new snapshot now (one request at a time: concurrent calls
   * share it). `minRevision`: a revision the snapshot must have reached
   * (the `Tessera-Revision` of an admin write, for read-your-writes).
   * A failure keeps the last good snapshot (`stale`) until it expires.
   */
  async function refresh({ minRevision } = {}) {
    if (closed) return;
    const current = () => minRevision !== undefined && snapshot && known >= minRevision;
    if (current()) return;
    // A fetch already running answers this call too, unless it cannot reach `minRevision`.
    if (inflight) {
      await inflight;
      if (minRevision === undefined || current()) return;
    }
    if (inflight) return refresh({ minRevision });
    inflight = (async () => {
      try {
        await initialized;
        if (!verifier) await loadKeys(keys);
        await fetchSnapshot(minRevision);
      } catch (err) {
        if (closed) return;
        const reason = err instanceof TesseraError ? err : new TesseraError('SNAPSHOT_UNAVAILABLE', String(err?.message ?? err));
        error = reason;
        if (snapshot && snapshot.expiresAt <= now()) expire();
        else setStatus(snapshot ? 'stale' : 'error', reason);
        retrySoon();
        throw reason;
      }
    })();
    const running = inflight;
    try { await running; } finally { if (inflight === running) inflight = null; }
  }

  /** Follows the revision events; on failure, polls and retries the stream. */
  async function follow() {
    if (closed || !eventsUrl) return;
    const abort = new AbortController();
    stream = abort;
    try {
      const response = await fetchFn(href(eventsUrl), { headers: { accept: 'text/event-stream' }, signal: abort.signal });
      if (!response.ok || !response.body) throw new Error(`events answered ${response.status}`);
      stopPolling();
      for await (const event of serverEvents(response.body, { idleMs: STREAM_IDLE_MS })) onEvent(event);
    } catch {}
    if (stream !== abort || closed) return;
    abort.abort();
    stream = null;
    startPolling();
    streamRetry = setTimeout(follow, pollSeconds * 1000);
  }

  function onEvent({ event, data }) {
    if (event !== 'revision') return;
    let revision;
    try { revision = JSON.parse(data).revision; } catch { return; }
    if (!snapshot || revision > known) refresh({ minRevision: revision }).catch(() => {});
  }

  function startPolling() {
    if (pollTimer === undefined && !closed) pollTimer = setInterval(() => refresh().catch(() => {}), pollSeconds * 1000);
  }

  function stopPolling() {
    clearInterval(pollTimer);
    pollTimer = undefined;
  }

  const onVisible = () => {
    if (globalThis.document?.visibilityState !== 'hidden') refresh().catch(() => {});
  };

  /** Answers from the current snapshot, remembered until it is swapped. */
  function answer(key, compute, otherwise) {
    if (!snapshot) return otherwise;
    // Timers sleep with a suspended laptop or a background tab: an answer
    // never comes from a snapshot past its expiry.
    if (snapshot.expiresAt <= now()) {
      queueMicrotask(expire);
      return otherwise;
    }
    if (key === undefined) {
      try { return compute(snapshot); } catch { return otherwise; }
    }
    let value = memo.get(key);
    if (value === undefined && !memo.has(key)) {
      try { value = compute(snapshot); } catch { value = otherwise; }
      memo.set(key, value);
    }
    return value;
  }

  /**
   * The memo key of a question: its parts joined by NUL. A part that is
   * not a string (or an array of strings) or that holds a NUL could make
   * two questions share a key: such a question is not remembered
   * (`undefined`), only answered.
   */
  function keyOf(tag, permission, path, owner) {
    let key = tag;
    for (const part of [permission, owner]) {
      if (part === undefined || part === null) key += '\u0000-';
      else if (typeof part === 'string' && !part.includes('\u0000')) key += `\u0000=${part}`;
      else return undefined;
    }
    if (path === undefined || path === null) return `${key}\u0000-`;
    if (!Array.isArray(path)) return undefined;
    for (const segment of path) {
      if (typeof segment !== 'string' || segment.includes('\u0000')) return undefined;
      key += `\u0000/${segment}`;
    }
    return key;
  }

  const session = {
    get status() { return status; },
    get snapshot() { return snapshot; },
    get error() { return error; },
    /** The revision the snapshot is known current at (0 without one). */
    get revision() { return snapshot ? known : 0; },
    ready,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    refresh,
    close() {
      closed = true;
      fetching?.abort();
      clearTimeout(retryTimer);
      stream?.abort();
      stream = null;
      stopPolling();
      clearTimeout(refreshTimer);
      clearTimeout(expiryTimer);
      clearTimeout(streamRetry);
      globalThis.document?.removeEventListener?.('visibilitychange', onVisible);
      globalThis.removeEventListener?.('online', onVisible);
      listeners.clear();
      snapshot?.free();
      snapshot = null;
    },
    check: (permission, path, owner) => answer(keyOf('c', permission, path, owner), (s) => s.check(permission, path, owner), 'deny'),
    decision(permission, path, owner) {
      return status === 'loading' ? 'loading' : session.check(permission, path, owner);
    },
    canAnywhere: (permission) => answer(keyOf('a', permission), (s) => s.canAnywhere(permission), false),
    effective: (path, owner) => answer(keyOf('e', '', path, owner), (s) => s.effective(path, owner), NONE),
    nav: () => answer('n', (s) => s.nav(), NONE),
    claims: () => answer('l', (s) => s.claims(), NONE),
    guard: (route) => (status === 'loading' ? LOADING : answer(keyOf('g', route), (s) => s.guard(route), UNAVAILABLE)),
    explain: (permission, path, owner) => answer(keyOf('x', permission, path, owner), (s) => s.explain(permission, path, owner), null),
    filter(permission, items, pathOf, ownerOf) {
      if (!snapshot || snapshot.expiresAt <= now()) return [];
      try { return snapshot.filter(permission, items, pathOf, ownerOf); } catch { return []; }
    },
  };

  // The module loads first: no fetch or open runs before it.
  const initialized = init();
  (async () => {
    try {
      await initialized;
      if (initial) {
        try {
          await loadKeys(keys);
          swap(await open(initial), null);
        } catch {
          // An expired or damaged rendered snapshot: fetch a fresh one.
          await refresh();
        }
      } else {
        await refresh();
      }
    } catch (err) {
      if (status === 'loading') setStatus('error', err instanceof TesseraError ? err : new TesseraError('SNAPSHOT_UNAVAILABLE', String(err?.message ?? err)));
    }
    if (closed) return;
    globalThis.document?.addEventListener?.('visibilitychange', onVisible);
    globalThis.addEventListener?.('online', onVisible);
    if (eventsUrl) follow();
    else startPolling();
  })();

  return session;
}
