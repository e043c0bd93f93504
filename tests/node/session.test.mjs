// @tessera/web/session in Node 20 and the Express relay it talks to
// (@tessera/node/express tesseraRoutes), against a real `tessera serve`
// seeded through the host API: the relay takes the principal only from the
// app's session, marks snapshots no-store and relays events; the session
// answers from its snapshot (denying while it has none), keeps it on 304,
// coalesces refreshes, follows revision events, reads its own writes,
// refetches keys once on an unknown kid, goes stale then expired when the
// relay fails, and opens an `initial` snapshot without a request.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import express from 'express';
import { TesseraClient } from '@tessera/node/client';
import { tesseraRoutes } from '@tessera/node/express';
import { createTessera } from '@tessera/web/session';

import { seed } from '../../examples/fleet-react/data.mjs';
import { startHost } from '../support/host.mjs';

const M111 = ['site:1', 'rack:11', 'miner:111'];

let host;
let admin;
let relay;
let bobTech;

/** The relay in an Express app whose "session" is the `x-user` header. */
function startRelay(options = {}) {
  const app = express();
  app.use('/tessera', tesseraRoutes({
    host: host.base,
    token: options.token,
    org: () => 'acme',
    principal: (req) => req.headers['x-user'] ?? null,
    ...options,
  }));
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve({
      url: `http://127.0.0.1:${server.address().port}/tessera`,
      close: () => new Promise((done) => { server.closeAllConnections(); server.close(done); }),
    }));
  });
}

/** A fetch that sends `x-user: user` and records each request's path and answer. */
function userFetch(user, log = []) {
  const fetchAs = async (url, init = {}) => {
    const response = await fetch(url, { ...init, headers: { ...init.headers, 'x-user': user } });
    log.push({ path: new URL(url).pathname, status: response.status, ifNoneMatch: init.headers?.['if-none-match'] });
    return response;
  };
  fetchAs.log = log;
  return fetchAs;
}

function sessionOf(user, extra = {}) {
  const session = createTessera({
    snapshotUrl: `${relay.url}/snapshot`,
    keysUrl: `${relay.url}/keys`,
    fetch: userFetch(user),
    ...extra,
  });
  return session;
}

const until = async (predicate, ms = 3_000) => {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > ms) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now() - started;
};

before(async () => {
  host = await startHost();
  ({ bobTech } = await seed({ host: host.base, token: host.token }));
  admin = new TesseraClient({ baseUrl: host.base, token: host.token });
  relay = await startRelay({ token: await host.createToken('check') });
});

after(async () => {
  await relay?.close();
  await host?.stop();
});

test('the relay serves the logged-in user only, never stored, and only anonymous when the app says so', async () => {
  const asBob = await fetch(`${relay.url}/snapshot?principal=alice`, { headers: { 'x-user': 'bob' } });
  assert.equal(asBob.status, 400, 'no principal may be named in the request');
  const bob = await fetch(`${relay.url}/snapshot`, { headers: { 'x-user': 'bob' } });
  assert.equal(bob.status, 200);
  assert.equal(bob.headers.get('cache-control'), 'no-store');
  assert.match(await bob.text(), /^tss1\./);
  const etag = bob.headers.get('etag');
  const again = await fetch(`${relay.url}/snapshot`, { headers: { 'x-user': 'bob', 'if-none-match': etag } });
  assert.equal(again.status, 304);
  const nobody = await fetch(`${relay.url}/snapshot`);
  assert.equal(nobody.status, 401);
  assert.equal((await nobody.json()).error.code, 'UNAUTHENTICATED');
  const keys = await fetch(`${relay.url}/keys`);
  assert.equal(keys.status, 200);
  assert.ok((await keys.json()).keys.length >= 1);

  const kiosk = await startRelay({ token: host.token, anonymous: true });
  try {
    const visitor = await fetch(`${kiosk.url}/snapshot`);
    assert.equal(visitor.status, 200, 'null is the anonymous visitor with anonymous: true');
  } finally {
    await kiosk.close();
  }
});

test('the relay passes the host events on', async () => {
  const gone = new AbortController();
  const response = await fetch(`${relay.url}/events`, { headers: { 'x-user': 'bob' }, signal: gone.signal });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'text/event-stream');
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  while (!text.includes('\n\n')) text += (await reader.read()).value;
  assert.match(text, /event: revision\nid: \d+\ndata: \{"revision":\d+\}/);
  gone.abort();
  await assert.rejects(reader.read());
});

test('the relay closes its host stream when the browser goes away', async () => {
  // A host with room for one stream: a second opens only once the first is closed upstream.
  const narrow = await startHost({ args: ['--max-event-streams', '1'] });
  const app = express();
  app.use('/tessera', tesseraRoutes({ host: narrow.base, token: narrow.token, org: () => 'acme', principal: () => 'bob' }));
  const server = await new Promise((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
  try {
    await new TesseraClient({ baseUrl: narrow.base, token: narrow.token }).createOrg({ id: 'acme', name: 'Acme' });
    const url = `http://127.0.0.1:${server.address().port}/tessera/events`;
    const gone = new AbortController();
    const first = await fetch(url, { signal: gone.signal });
    assert.equal(first.status, 200);
    const busy = await fetch(url);
    assert.equal(busy.status, 503, 'the host holds one stream');
    gone.abort();
    let reopened;
    for (let tries = 0; tries < 100 && reopened?.status !== 200; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      reopened = await fetch(url);
      if (reopened.status !== 200) await reopened.body?.cancel();
    }
    assert.equal(reopened.status, 200, 'the host stream was closed after the browser left');
    await reopened.body.cancel();
  } finally {
    server.closeAllConnections();
    server.close();
    await narrow.stop();
  }
});

test('the session denies while loading, then answers from its snapshot and memoizes', async () => {
  const session = sessionOf('bob');
  assert.equal(session.status, 'loading');
  assert.equal(session.decision('miner:blink_led', M111), 'loading');
  assert.equal(session.check('miner:blink_led', M111), 'deny', 'no snapshot: deny, never throw');
  assert.deepEqual(session.nav(), []);
  assert.equal(session.guard('/miners').decision, 'loading');
  await session.ready;
  assert.equal(session.status, 'ready');
  assert.equal(session.check('miner:blink_led', M111), 'allow');
  assert.equal(session.check('miner:reboot', M111), 'deny');
  assert.equal(session.check('miner:read', ['site:1', 'rack:11', 'miner:113']), 'not_found');
  assert.deepEqual(session.nav(), ['/miners']);
  assert.equal(session.nav(), session.nav(), 'the same answer object per snapshot');
  assert.equal(session.check('no:such', M111), 'deny');
  session.close();
});

test('concurrent refreshes make one request, with If-None-Match, and a 304 keeps the snapshot', async () => {
  const requests = [];
  const session = sessionOf('bob', { fetch: userFetch('bob', requests) });
  await session.ready;
  await session.refresh(); // the first fetch is done
  const held = session.snapshot;
  requests.length = 0;
  await Promise.all([session.refresh(), session.refresh(), session.refresh()]);
  const snapshots = requests.filter((r) => r.path.endsWith('/snapshot'));
  assert.equal(snapshots.length, 1, `coalesced: ${snapshots.length} requests for 3 refreshes`);
  assert.equal(snapshots[0].status, 304);
  assert.ok(snapshots[0].ifNoneMatch, 'the held copy is named');
  assert.equal(session.snapshot, held, 'kept on 304');
  // A write elsewhere moves the revision; a 304 says the held copy is current at it.
  await admin.putNode('acme', 'site:9');
  const { revision } = await admin.snapshotIfChanged({ org: 'acme', principal: 'alice' });
  await session.refresh({ minRevision: revision });
  assert.equal(session.snapshot, held, 'a write bob cannot see does not replace his snapshot');
  assert.ok(session.revision >= revision, `known current at ${session.revision} >= ${revision}`);
  session.close();
});

test('a revision event refreshes at once; refresh({minRevision}) reads its own write', async () => {
  const session = sessionOf('bob', { eventsUrl: `${relay.url}/events` });
  await session.ready;
  const first = session.snapshot;
  assert.equal(session.check('miner:blink_led', M111), 'allow');
  await admin.deleteAssignment('acme', bobTech);
  const took = await until(() => session.check('miner:blink_led', M111) === 'deny');
  assert.ok(took < 2_000, `seen in ${took} ms`);
  assert.notEqual(session.snapshot, first, 'a new snapshot replaced the old one');
  assert.throws(() => first.check('miner:read', M111), 'the old snapshot was freed');
  session.close();

  const reader = sessionOf('bob');
  await reader.ready;
  const written = await admin.createAssignment('acme', { subject: 'user:bob', role: 'FIELD_TECH', scope: 'site:1' });
  bobTech = written.id;
  const { revision } = await admin.snapshotIfChanged({ org: 'acme', principal: 'bob' });
  await reader.refresh({ minRevision: revision });
  assert.ok(reader.revision >= revision, `read its own write: ${reader.revision} >= ${revision}`);
  assert.equal(reader.check('miner:blink_led', M111), 'allow');
  reader.close();
});

test('a failed refresh keeps the last good snapshot (stale) until it expires, then denies', async () => {
  let clock = Date.now() / 1000;
  let broken = false;
  const base = userFetch('bob');
  const session = createTessera({
    snapshotUrl: `${relay.url}/snapshot`,
    keysUrl: `${relay.url}/keys`,
    now: () => clock,
    fetch: (url, init) => (broken ? Promise.reject(new Error('network down')) : base(url, init)),
  });
  await session.ready;
  await session.refresh(); // done with the first fetch (a refresh while one runs shares it)
  const heard = [];
  session.subscribe((s) => heard.push(s.status));
  broken = true;
  await assert.rejects(session.refresh());
  assert.equal(session.status, 'stale');
  assert.equal(session.check('miner:blink_led', M111), 'allow', 'stale still answers');
  // Past the snapshot's expiry, a failed refresh expires it: everything denies.
  clock = session.snapshot.expiresAt + 1;
  await assert.rejects(session.refresh());
  assert.equal(session.status, 'expired');
  assert.equal(session.snapshot, null);
  assert.equal(session.check('miner:blink_led', M111), 'deny');
  assert.deepEqual(heard, ['stale', 'expired']);
  // Back online: the next refresh is ready again.
  broken = false;
  clock = Date.now() / 1000;
  await session.refresh();
  assert.equal(session.status, 'ready');
  session.close();
});

test('a refresh that fails while the event stream is up is tried again soon', async () => {
  let failNext = false;
  const base = userFetch('bob');
  const session = createTessera({
    snapshotUrl: `${relay.url}/snapshot`,
    keysUrl: `${relay.url}/keys`,
    eventsUrl: `${relay.url}/events`,
    pollSeconds: 1,
    fetch: (url, init) => {
      if (failNext && url.includes('/snapshot')) {
        failNext = false;
        return Promise.reject(new Error('relay blip'));
      }
      return base(url, init);
    },
  });
  await session.ready;
  await until(() => session.check('miner:blink_led', M111) === 'allow');
  // The event's refresh fails; no poll runs while the stream is up: only the retry can see the write.
  failNext = true;
  await admin.deleteAssignment('acme', bobTech);
  await until(() => session.status === 'stale');
  const took = await until(() => session.check('miner:blink_led', M111) === 'deny', 4_000);
  assert.equal(session.status, 'ready');
  {
    const written = await admin.createAssignment('acme', { subject: 'user:bob', role: 'FIELD_TECH', scope: 'site:1' });
    bobTech = written.id;
  }
  assert.ok(took < 4_000, `retried within ${took} ms`);
  session.close();
});

test('an unknown kid refetches the keys once; a tampered snapshot is an error with its code', async () => {
  let keyFetches = 0;
  const base = userFetch('bob');
  const wrongKeys = { keys: [{ kid: 'other', kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' }] };
  const session = createTessera({
    snapshotUrl: `${relay.url}/snapshot`,
    keysUrl: `${relay.url}/keys`,
    keys: wrongKeys,
    fetch: (url, init) => {
      if (url.endsWith('/keys')) keyFetches += 1;
      return base(url, init);
    },
  });
  await session.ready;
  assert.equal(session.status, 'ready');
  assert.equal(keyFetches, 1, 'one key fetch after UNKNOWN_KEY');
  session.close();

  const tampered = createTessera({
    snapshotUrl: `${relay.url}/snapshot`,
    keysUrl: `${relay.url}/keys`,
    fetch: async (url, init) => {
      const response = await base(url, init);
      if (!url.includes('/snapshot')) return response;
      const text = await response.text();
      const bytes = Buffer.from(text.slice(5), 'base64url');
      bytes[bytes.length - 10] ^= 1;
      return new Response(`tss1.${bytes.toString('base64url')}`, { status: 200, headers: response.headers });
    },
  });
  await tampered.ready;
  assert.equal(tampered.status, 'error');
  assert.equal(tampered.error.code, 'BAD_SIGNATURE');
  assert.equal(tampered.check('miner:blink_led', M111), 'deny');
  tampered.close();
});

test('an initial snapshot and keys rendered into the page open without a request', async () => {
  const text = await (await fetch(`${relay.url}/snapshot`, { headers: { 'x-user': 'bob' } })).text();
  const keys = await (await fetch(`${relay.url}/keys`)).json();
  let requests = 0;
  const session = createTessera({
    snapshotUrl: `${relay.url}/snapshot`,
    keysUrl: `${relay.url}/keys`,
    initial: text,
    keys,
    fetch: () => {
      requests += 1;
      throw new Error('no request expected');
    },
  });
  await session.ready;
  assert.equal(session.status, 'ready');
  assert.equal(session.check('miner:blink_led', M111), 'allow');
  assert.equal(requests, 0);
  session.close();
});
