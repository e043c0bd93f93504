// @tessera/node/express against a real Express app on 127.0.0.1: status
// codes and error bodies of requirePermission and routeGuard, header and
// cookie transport, org/principal binding, and the key set fetched from a
// stand-in for the host's `GET /v1/keys` (first use, refresh on an unknown
// kid, at most once per 30 s).

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import { after, before, test } from 'node:test';

import express from 'express';

import { createTessera } from '../../bindings-node/pkg/express.js';
import { loadVectors, root } from './vector-runner.mjs';

const vectors = loadVectors();
const demoDir = `${root}/examples/fleet-web/data`;
const hasDemo = existsSync(`${demoDir}/jwks.json`);
const demo = (name) => readFileSync(`${demoDir}/${name}`, 'utf8').trim();

/** The snapshot of the vector case in `file` whose description starts with `start`. */
function snapshotOf(file, start) {
  const found = vectors.files.find((f) => f.name === file).cases.find((c) => c.description.startsWith(start));
  assert.ok(found, `${file}: ${start}`);
  return found.snapshot;
}

// alice (acme, fleet): reboot allowed at site:2/rack:2/miner:21, denied at
// site:1/rack:5/*, miner:99 hidden (not_found).
const alice = snapshotOf('fleet_paths.json', 'hidden miner answers not_found on its real path');
// carol (acme, fleet routes): /sites/1/racks allowed, /sites/2/racks redirects to '/'.
const carol = snapshotOf('fleet_routes_claims.json', "guard: rack:read@site:{site} at carol's own site");
// A snapshot of org `romm`, not `acme`.
const otherOrg = vectors.files.find((f) => f.name === 'media_hidden_kiosk.json').cases[0].snapshot;

/** `text` with one signature bit flipped. */
function tampered(text) {
  const bytes = Buffer.from(text.slice(5), 'base64url');
  bytes[bytes.length - 10] ^= 1;
  return `tss1.${bytes.toString('base64url')}`;
}

/** `text` claiming kid `vectorz` (same length as `vectors`): a kid no key set has. */
function unknownKid(text) {
  const bytes = Buffer.from(text.slice(5), 'base64url');
  assert.equal(bytes.subarray(1, 8).toString(), 'vectors');
  bytes[7] = 'z'.charCodeAt(0);
  return `tss1.${bytes.toString('base64url')}`;
}

/** The fleet routes of the example, guarded by one `createTessera` instance. */
function fleetRoutes(tessera) {
  const router = express.Router();
  const org = () => 'acme';
  const minerPath = (req) => [`site:${req.params.site}`, `rack:${req.params.rack}`, `miner:${req.params.miner}`];
  const ok = (req, res) => res.json({ ok: true, principal: req.tessera.snapshot.principal });
  const reboot = '/sites/:site/racks/:rack/miners/:miner/reboot';

  router.post(`/api${reboot}`, tessera.requirePermission('miner:reboot', { path: minerPath, org }), ok);
  router.post(
    `/bound${reboot}`,
    tessera.requirePermission('miner:reboot', { path: minerPath, org, principal: (req) => req.get('x-user') }),
    ok,
  );
  router.post(
    '/broken-path',
    tessera.requirePermission('miner:reboot', {
      path: () => {
        throw new Error('no such miner');
      },
      org,
    }),
    ok,
  );
  router.post('/no-path-array', tessera.requirePermission('miner:reboot', { path: () => 'site:1', org }), ok);
  router.post('/no-org', tessera.requirePermission('miner:reboot', { path: () => [], org: () => undefined }), ok);
  // Manifest routes, relative to the mount point; a guarded route may check more.
  router.use('/app', tessera.routeGuard({ org }));
  router.get(
    '/app/sites/:site/racks',
    tessera.requirePermission('rack:read', { path: (req) => [`site:${req.params.site}`], org }),
    (req, res) => res.json({ racks: [], site: req.params.site }),
  );
  router.use('/app', (req, res) => res.json({ route: req.path }));
  return router;
}

let clock = vectors.now;
let served = { keys: [] };
const keyFetches = { '/v1/keys': 0, '/pinned/v1/keys': 0 };
const servers = [];
let app;
let keys;

async function listen(handler) {
  // Above Node's default 16 KB header limit, so the middleware sees oversized snapshots.
  const server = http.createServer({ maxHeaderSize: 64 * 1024 }, handler);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return `http://127.0.0.1:${server.address().port}`;
}

before(async () => {
  // The host's `GET /v1/keys`, serving `served`; `/broken/v1/keys` fails.
  keys = await listen((req, res) => {
    if (req.url in keyFetches) {
      keyFetches[req.url] += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(served));
    } else {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('down');
    }
  });

  const server = express();
  const fixed = { jwks: vectors.jwks, now: vectors.now, cookie: 'tessera' };
  server.use('/main', fleetRoutes(createTessera(fixed)));
  server.use('/expired', fleetRoutes(createTessera({ ...fixed, now: vectors.expires_at })));
  server.use('/small', fleetRoutes(createTessera({ ...fixed, maxBytes: 512 })));
  server.use('/fetched', fleetRoutes(createTessera({ keysUrl: `${keys}/v1/keys`, now: () => clock })));
  server.use('/pinned', fleetRoutes(createTessera({ ...fixed, keysUrl: `${keys}/pinned/v1/keys` })));
  server.use('/down', fleetRoutes(createTessera({ keysUrl: `${keys}/broken/v1/keys`, now: vectors.now })));
  if (hasDemo) server.use('/demo', fleetRoutes(createTessera({ jwks: readFileSync(`${demoDir}/jwks.json`, 'utf8') })));
  app = await listen(server);
});

after(() => {
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
});

/** Sends a request; `snapshot` goes in the `tessera-snapshot` header. */
async function call(path, { snapshot, method = 'POST', headers = {} } = {}) {
  const all = snapshot === undefined ? headers : { 'tessera-snapshot': snapshot, ...headers };
  const response = await fetch(`${app}${path}`, { method, headers: all });
  const body = await response.json();
  return { status: response.status, code: body.error?.code, body };
}

const miner = (site, rack, id) => `/sites/${site}/racks/${rack}/miners/${id}/reboot`;

test('the package exports the middleware as @tessera/node/express', async () => {
  const pkg = JSON.parse(readFileSync(`${root}/bindings-node/pkg/package.json`, 'utf8'));
  const entry = pkg.exports['./express'];
  for (const file of [entry.default, entry.types]) {
    assert.ok(existsSync(`${root}/bindings-node/pkg/${file}`), file);
    assert.ok(pkg.files.includes(file.replace('./', '')), file);
  }
  const module = await import(`../../bindings-node/pkg/${entry.default}`);
  assert.deepEqual(Object.keys(module).sort(), ['createTessera', 'tesseraRoutes']);
});

test('allowed → next() with req.tessera; denied → 403; hidden → 404', async () => {
  const allowed = await call(`/main/api${miner(2, 2, 21)}`, { snapshot: alice });
  assert.deepEqual([allowed.status, allowed.body], [200, { ok: true, principal: 'alice' }]);

  const denied = await call(`/main/api${miner(1, 5, 55)}`, { snapshot: alice });
  assert.equal(denied.status, 403);
  assert.equal(denied.code, 'FORBIDDEN');
  assert.equal(typeof denied.body.error.message, 'string');

  const hidden = await call(`/main/api${miner(2, 2, 99)}`, { snapshot: alice });
  assert.deepEqual([hidden.status, hidden.code], [404, 'NOT_FOUND']);
  // Hidden wherever a path places it.
  assert.equal((await call(`/main/api${miner(1, 1, 99)}`, { snapshot: alice })).status, 404);
});

test('no, tampered, expired, oversized, malformed or foreign snapshots → 401 with the code', async () => {
  const cases = [
    [undefined, '/main', 'UNAUTHENTICATED'],
    ['', '/main', 'UNAUTHENTICATED'],
    [tampered(alice), '/main', 'BAD_SIGNATURE'],
    [alice, '/expired', 'EXPIRED'],
    [`tss1.${'A'.repeat(20_000)}`, '/main', 'TOO_LARGE'],
    [alice, '/small', 'TOO_LARGE'],
    ['tss1.not*base64', '/main', 'BAD_ENCODING'],
    [`Bearer ${alice}`, '/main', 'BAD_ENCODING'],
    [otherOrg, '/main', 'WRONG_ORG'],
  ];
  for (const [snapshot, prefix, code] of cases) {
    const answer = await call(`${prefix}/api${miner(2, 2, 21)}`, { snapshot });
    assert.deepEqual([answer.status, answer.code], [401, code], `${prefix} ${String(snapshot).slice(0, 20)}`);
    assert.equal(typeof answer.body.error.message, 'string');
  }
});

test('the principal binding: the snapshot must be the request user’s', async () => {
  const path = `/main/bound${miner(2, 2, 21)}`;
  assert.equal((await call(path, { snapshot: alice, headers: { 'x-user': 'alice' } })).status, 200);
  const other = await call(path, { snapshot: alice, headers: { 'x-user': 'bob' } });
  assert.deepEqual([other.status, other.code], [401, 'WRONG_PRINCIPAL']);
  const nobody = await call(path, { snapshot: alice });
  assert.deepEqual([nobody.status, nobody.code], [401, 'UNAUTHENTICATED']);
});

test('bad path or org functions fail closed (403, never 500)', async () => {
  for (const route of ['/main/broken-path', '/main/no-path-array', '/main/no-org']) {
    const answer = await call(route, { snapshot: alice });
    assert.deepEqual([answer.status, answer.code], [403, 'FORBIDDEN'], route);
  }
});

test('the snapshot can travel in a cookie', async () => {
  const path = `/main/api${miner(2, 2, 21)}`;
  const viaCookie = await call(path, { headers: { cookie: `theme=dark; tessera=${alice}; lang=en` } });
  assert.equal(viaCookie.status, 200);
  const quoted = await call(path, { headers: { cookie: `tessera="${alice}"` } });
  assert.equal(quoted.status, 200);
  const denied = await call(`/main/api${miner(1, 5, 55)}`, { headers: { cookie: `tessera=${alice}` } });
  assert.equal(denied.status, 403);
  const elsewhere = await call(path, { headers: { cookie: `nottessera=${alice}` } });
  assert.deepEqual([elsewhere.status, elsewhere.code], [401, 'UNAUTHENTICATED']);
  // The header wins over the cookie.
  const both = await call(path, { snapshot: tampered(alice), headers: { cookie: `tessera=${alice}` } });
  assert.equal(both.code, 'BAD_SIGNATURE');
});

test('routeGuard maps every guard result as the Rust RouteGuard does: allow, redirect (403 + fallback), not_found and no_route (404)', async () => {
  const get = (route, snapshot) => call(`/main/app${route}`, { snapshot, method: 'GET' });
  assert.deepEqual((await get('/miners', carol)).body, { route: '/miners' });
  assert.deepEqual((await get('/sites/1/racks', carol)).body, { racks: [], site: '1' });

  const redirected = await get('/sites/2/racks', carol);
  assert.equal(redirected.status, 403);
  assert.deepEqual(redirected.body.error.details, { fallback: '/' });
  assert.equal(redirected.code, 'FORBIDDEN');
  assert.deepEqual((await get('/settings/users', carol)).body.error.details, { fallback: '/' });

  // Core decodes the raw path once: %31 is site 1, for the guard and the handler alike.
  assert.equal((await get('/sites/%31/racks', carol)).status, 200);
  assert.equal((await get('/sites/%32/racks', carol)).status, 403);
  const long = `/sites/${'a'.repeat(129)}/racks`;
  for (const route of ['/nowhere', '/sites', '/sites/a%20b/racks', '/sites/%2B1/racks', '/sites/1%2F2/racks', '/sites/%zz/racks', long]) {
    const answer = await get(route, carol);
    assert.deepEqual([answer.status, answer.code], [404, 'NOT_FOUND'], route);
  }
  assert.equal((await get('/miners')).status, 401);
  assert.equal((await get('/miners', otherOrg)).code, 'WRONG_ORG');
});

test('keysUrl: fetched on first use, refreshed on an unknown kid at most once per 30 s', async () => {
  const path = `/fetched/api${miner(2, 2, 21)}`;
  // The host publishes another key set: the first request fetches it, in vain.
  const { x } = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
  served = { keys: [{ kid: 'other', kty: 'OKP', crv: 'Ed25519', x }] };
  let answer = await call(path, { snapshot: alice });
  assert.deepEqual([answer.status, answer.code, keyFetches['/v1/keys']], [401, 'UNKNOWN_KEY', 1]);

  // The host now publishes the signing key; within 30 s of the fetch nothing is refetched.
  served = { keys: [...served.keys, ...vectors.jwks.keys] };
  clock += 29;
  answer = await call(path, { snapshot: alice });
  assert.deepEqual([answer.status, answer.code, keyFetches['/v1/keys']], [401, 'UNKNOWN_KEY', 1]);

  // 30 s later the unknown kid triggers exactly one refresh, and the retried open succeeds.
  clock += 1;
  answer = await call(path, { snapshot: alice });
  assert.deepEqual([answer.status, keyFetches['/v1/keys']], [200, 2]);
  answer = await call(path, { snapshot: alice });
  assert.deepEqual([answer.status, keyFetches['/v1/keys']], [200, 2]);

  // A second unknown kid within 30 s does not refetch.
  clock += 10;
  answer = await call(path, { snapshot: unknownKid(alice) });
  assert.deepEqual([answer.status, answer.code, keyFetches['/v1/keys']], [401, 'UNKNOWN_KEY', 2]);
  answer = await call(path, { snapshot: unknownKid(alice) });
  assert.deepEqual([answer.status, answer.code, keyFetches['/v1/keys']], [401, 'UNKNOWN_KEY', 2]);
  assert.equal((await call(path, { snapshot: alice })).status, 200);

  // Concurrent unknown kids after the interval share one fetch.
  clock += 30;
  const answers = await Promise.all([1, 2, 3].map(() => call(path, { snapshot: unknownKid(alice) })));
  assert.deepEqual(answers.map((a) => a.code), ['UNKNOWN_KEY', 'UNKNOWN_KEY', 'UNKNOWN_KEY']);
  assert.equal(keyFetches['/v1/keys'], 3);

  // Keys known from a static `jwks` never cause a fetch.
  assert.equal((await call(`/pinned/api${miner(2, 2, 21)}`, { snapshot: alice })).status, 200);
  assert.equal(keyFetches['/pinned/v1/keys'], 0);
});

test('an unreachable key set answers 503 KEYS_UNAVAILABLE', async () => {
  const answer = await call(`/down/api${miner(2, 2, 21)}`, { snapshot: alice });
  assert.deepEqual([answer.status, answer.code], [503, 'KEYS_UNAVAILABLE']);
});

test('the fleet demo snapshots on the real clock: root allowed, carol denied, vic hidden', { skip: !hasDemo && 'no demo data' }, async () => {
  const path = `/demo/api${miner(2, 2, 21)}`;
  assert.equal((await call(path, { snapshot: demo('root.txt') })).status, 200);
  assert.equal((await call(path, { snapshot: demo('carol.txt') })).status, 403);
  assert.equal((await call(path, { snapshot: demo('vic.txt') })).status, 404);
  assert.equal((await call(`/demo/api${miner(1, 1, 11)}`, { snapshot: demo('vic.txt') })).status, 403);
});

test('the examples/fleet-node app with the demo snapshots', { skip: !hasDemo && 'no demo data' }, async () => {
  const { app: example } = await import('../../examples/fleet-node/server.mjs');
  const base = await listen(example);
  const send = async (method, path, user) => {
    const response = await fetch(`${base}${path}`, { method, headers: { 'tessera-snapshot': demo(`${user}.txt`) } });
    return [response.status, await response.json()];
  };
  const reboot = `/api${miner(2, 2, 21)}`;
  assert.deepEqual(await send('POST', reboot, 'root'), [200, { rebooting: 'miner:21', by: 'root' }]);
  assert.equal((await send('POST', reboot, 'carol'))[0], 403);
  assert.equal((await send('POST', reboot, 'vic'))[0], 404);
  assert.deepEqual((await send('GET', '/api/miners', 'vic'))[1].map((m) => m.id), ['11']);
  assert.deepEqual(await send('GET', '/app/settings/users', 'root'), [200, { page: '/settings/users' }]);
  assert.deepEqual((await send('GET', '/app/settings/users', 'carol'))[1].error.details, { fallback: '/' });
});
