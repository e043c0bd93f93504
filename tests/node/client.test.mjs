// @tessera/node/client against a real `tessera serve` (target/debug/tessera,
// which `cargo test --workspace` builds before ./scripts/test runs the node
// tests) on a temporary SQLite data directory: a fleet built through the
// client's admin methods, every decision endpoint, snapshots opened with the
// package's own verifier and answering as the host does, the error mapping
// (status, code, details; TesseraError), and @tessera/node/express fetching
// the host's key set and guarding a real Express app with host snapshots.
// Every route of the host's /openapi.json is called through the client.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import express from 'express';

import { TesseraClient, TesseraError as ClientTesseraError } from '../../bindings-node/pkg/client.js';
import { createTessera } from '../../bindings-node/pkg/express.js';
import { TesseraError, TesseraVerifier } from '../../bindings-node/pkg/node.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.join(root, 'target/debug/tessera');
const MANIFEST = path.join(root, 'examples/fleet/manifest.toml');
const START_TIMEOUT_MS = 60_000;

/** The fleet manifest's catalog (examples/fleet/manifest.toml). */
const CATALOG = [
  'fleet:read', 'miner:read', 'miner:blink_led', 'miner:reboot', 'miner:download_logs', 'miner:update_pools',
  'miner:firmware_update', 'rack:read', 'rack:manage', 'site:read', 'site:manage', 'user:read', 'user:manage',
  'role:read', 'role:manage',
];
const M11 = ['site:1', 'rack:1', 'miner:11'];
const M21 = ['site:2', 'rack:2', 'miner:21'];
const M22 = ['site:2', 'rack:2', 'miner:22'];
const PATHS = [[], ['site:1'], ['site:1', 'rack:1'], M11, ['site:2'], M21, M22, ['site:1', 'miner:12'], ['nonsense'], ['site:3']];
const ROUTES = ['/miners', '/sites/1/racks', '/sites/2/racks', '/settings/users', '/nowhere'];
const PRINCIPALS = ['alice', 'bob', 'carol', 'vic'];

// ------------------------------------------------------------ the host process

const host = { child: null, base: null, token: null, dataDir: null, stderr: '', exit: null };

/** Environment for the binary: a temp SQLite store, a free port, the fleet manifest; nothing inherited that could redirect it. */
function hostEnv() {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('TESSERA_') || key === 'DATABASE_URL') delete env[key];
  return { ...env, TESSERA_DATA_DIR: host.dataDir, TESSERA_LISTEN: '127.0.0.1:0', TESSERA_MANIFEST: MANIFEST };
}

function startHost() {
  if (!existsSync(BIN)) {
    throw new Error(
      `${BIN} is missing: build it with \`cargo build -p tessera-host --bin tessera\` ` +
        '(./scripts/test builds it with `cargo test --workspace` before the node tests)',
    );
  }
  host.dataDir = mkdtempSync(path.join(os.tmpdir(), 'tessera-client-test-'));
  const child = spawn(BIN, ['serve'], { cwd: root, env: hostEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  host.child = child;
  host.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve((host.exit = { code, signal }))));
  child.stderr.setEncoding('utf8').on('data', (text) => (host.stderr += text));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`tessera serve printed no address within ${START_TIMEOUT_MS} ms:\n${host.stderr}`)), START_TIMEOUT_MS);
    child.on('error', (err) => reject(err));
    host.exited.then(({ code, signal }) => reject(new Error(`tessera serve exited (${code ?? signal}) before listening:\n${host.stderr}`)));
    child.stdout.setEncoding('utf8').on('data', (text) => {
      out += text;
      const address = /^tessera listening on (http:\/\/\S+)$/m.exec(out);
      const token = /^bootstrap token: (\S+)$/m.exec(out);
      if (address && token) {
        clearTimeout(timer);
        host.base = address[1];
        host.token = token[1];
        resolve();
      }
    });
  });
}

/** `tessera token create --kind check` on the same store. */
async function createCheckToken() {
  const { stdout } = await promisify(execFile)(BIN, ['token', 'create', '--kind', 'check'], { cwd: root, env: hostEnv() });
  return stdout.trim();
}

// ------------------------------------------------------------ clients

/** Every request the recording clients send: `METHOD /path` (pathname as sent), and the actor header. */
const sent = [];
function recordingFetch(url, init) {
  const { pathname } = new URL(url);
  sent.push({ method: init.method, pathname, actor: init.headers['tessera-actor'] });
  return fetch(url, init);
}

let admin; // bootstrap admin token, no actor: the trusted backend
let checkClient; // a `check` token
let checkToken;
const servers = [];

before(async () => {
  await startHost();
  admin = new TesseraClient({ baseUrl: host.base, token: host.token, fetch: recordingFetch });
  checkToken = await createCheckToken();
  checkClient = new TesseraClient({ baseUrl: `${host.base}/`, token: checkToken, fetch: recordingFetch });
});

after(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
  if (host.child && !host.exit) {
    host.child.kill('SIGKILL');
    await host.exited;
  }
  if (host.dataDir) rmSync(host.dataDir, { recursive: true, force: true });
});

/** Asserts that `promise` rejects with a TesseraError of `code` and `status`; returns the error. */
async function rejectsWith(promise, code, status) {
  let error;
  try {
    await promise;
  } catch (err) {
    error = err;
  }
  assert.ok(error, `expected ${code}, got an answer`);
  assert.ok(error instanceof TesseraError, `not a TesseraError: ${error}`);
  assert.deepEqual([error.code, error.status], [code, status], error.message);
  assert.equal(typeof error.message, 'string');
  assert.equal(typeof error.details, 'object');
  return error;
}

const who = (principal, org = 'acme') => ({ org, principal });

// ------------------------------------------------------------ the fleet

const ids = {};

test('the client is the package export @tessera/node/client, and its errors are the package TesseraError', async () => {
  const pkg = await import('../../bindings-node/pkg/package.json', { with: { type: 'json' } });
  assert.deepEqual(pkg.default.exports['./client'], { types: './client.d.ts', default: './client.js' });
  for (const file of ['client.js', 'client.d.ts']) {
    assert.ok(pkg.default.files.includes(file), file);
    assert.ok(existsSync(path.join(root, 'bindings-node/pkg', file)), file);
  }
  assert.equal(ClientTesseraError, TesseraError);
  assert.deepEqual(await admin.health(), { status: 'ok' });
});

test('admin methods build a fleet and answer with the stored shapes', async () => {
  assert.deepEqual(await admin.createOrg({ id: 'acme', name: 'Acme' }), { id: 'acme', name: 'Acme' });
  assert.deepEqual(await admin.createOrg({ id: 'globex', name: 'Globex' }), { id: 'globex', name: 'Globex' });
  assert.deepEqual(await admin.renameOrg('globex', { name: ' Globex Corp ' }), { id: 'globex', name: 'Globex Corp' });

  assert.deepEqual(await admin.putUser('root', { name: 'Root', superuser: true }), { id: 'root', name: 'Root', superuser: true, active: true });
  for (const user of [...PRINCIPALS, 'dave']) {
    assert.deepEqual(await admin.putUser(user, { name: user }), { id: user, name: user, superuser: false, active: true });
  }
  assert.deepEqual(await admin.putUser('vic', { active: false }), { id: 'vic', name: 'vic', superuser: false, active: false });
  assert.equal((await admin.putUser('vic', { active: true })).active, true);
  for (const user of PRINCIPALS) assert.equal(await admin.putMember('acme', user), undefined);
  await admin.putMember('globex', 'dave');

  // site → rack → miner; miner:22 and miner:99 registered for the hidden entry and the deletion.
  await admin.putNode('acme', 'site:1');
  await admin.putNode('acme', 'site:2', { parent: null });
  await admin.putNode('acme', 'rack:1', { parent: 'site:1' });
  await admin.putNode('acme', 'rack:2', { parent: 'site:2' });
  await admin.putNode('acme', 'miner:11', { parent: 'rack:1' });
  await admin.putNode('acme', 'miner:21', { parent: 'rack:2' });
  await admin.putNode('acme', 'miner:22', { parent: 'rack:2' });
  await admin.putNode('acme', 'miner:99', { parent: 'rack:2' });
  assert.equal(await admin.deleteNode('acme', 'miner:99'), undefined);
  await admin.putNode('globex', 'site:9');
  assert.deepEqual((await admin.listNodes('acme')).slice(0, 3), [
    { node: 'site:1', parent: null },
    { node: 'site:2', parent: null },
    { node: 'rack:1', parent: 'site:1' },
  ]);

  const techs = await admin.createGroup('acme', { id: 'techs', name: 'Techs' });
  assert.deepEqual(techs, { id: 'techs', name: 'Techs', default: false });
  await admin.putGroupMember('acme', 'techs', 'user:carol');
  await admin.putGroupMember('acme', 'techs', 'user:vic');
  const temp = await admin.createGroup('acme', { name: 'Temp' });
  assert.match(temp.id, /\S/);
  assert.deepEqual(await admin.updateGroup('acme', temp.id, { name: 'Temporary' }), { id: temp.id, name: 'Temporary', default: false });
  await admin.putGroupMember('acme', temp.id, 'group:techs');
  await admin.deleteGroupMember('acme', temp.id, 'group:techs');
  await admin.putGroupMember('acme', temp.id, 'user:bob');
  await admin.deleteGroupMember('acme', temp.id, 'user:bob');
  assert.equal(await admin.deleteGroup('acme', temp.id), undefined);
  assert.deepEqual(
    (await admin.listGroups('acme')).map((g) => [g.id, g.members]),
    [['admin', []], ['members', []], ['techs', ['user:carol', 'user:vic']]],
  );
  assert.deepEqual(await admin.searchMembers('acme', { search: 'VI', limit: 5 }), [{ id: 'vic', name: 'vic' }]);

  const roles = await admin.listRoles('acme');
  assert.deepEqual(roles.map((r) => r.id), ['SUPER_ADMIN', 'ADMIN', 'FIELD_TECH']);
  const blinker = await admin.createRole('acme', { name: 'Blinker', permissions: ['miner:blink_led', 'miner:read'] });
  assert.deepEqual(
    { ...blinker, id: undefined },
    { id: undefined, name: 'Blinker', builtin: null, mode: 'custom', guarded: false, permissions: ['miner:read', 'miner:blink_led'] },
  );
  const { catalog } = await admin.catalog();
  assert.deepEqual(
    catalog.find((entry) => entry.key === 'miner:blink_led'),
    { key: 'miner:blink_led', description: null, requires: ['miner:read'], requiredBy: [] },
    'camelCase out',
  );
  const renamed = await admin.updateRole('acme', blinker.id, { name: 'Blinkers', permissions: ['fleet:read', 'miner:read', 'miner:blink_led'] });
  assert.deepEqual([renamed.name, renamed.permissions], ['Blinkers', ['fleet:read', 'miner:read', 'miner:blink_led']]);
  ids.blinker = blinker.id;
  const spare = await admin.createRole('acme', { name: 'Spare' });
  assert.equal(await admin.deleteRole('acme', spare.id), undefined);

  // carol and vic (techs): FIELD_TECH on site 1, capped there without download_logs;
  // alice: ADMIN org-wide; bob: Blinkers on rack 2; miner 11 hidden from vic,
  // miner 22 from bob; dave: FIELD_TECH on globex's site 9.
  const techsOnSite1 = await admin.createAssignment('acme', { subject: 'group:techs', role: 'FIELD_TECH', scope: 'site:1' });
  assert.deepEqual({ ...techsOnSite1, id: typeof techsOnSite1.id }, { id: 'string', subject: 'group:techs', role: 'FIELD_TECH', scope: 'site:1', ownerOnly: false });
  const aliceAdmin = await admin.createAssignment('acme', { subject: 'user:alice', role: 'ADMIN' });
  assert.equal(aliceAdmin.scope, null);
  await admin.createAssignment('acme', { subject: 'user:bob', role: blinker.id, scope: 'rack:2' });
  const ownerOnly = await admin.createAssignment('acme', { subject: 'user:bob', role: 'FIELD_TECH', scope: 'site:1', ownerOnly: true });
  assert.equal(ownerOnly.ownerOnly, true);
  await admin.createAssignment('globex', { subject: 'user:dave', role: 'FIELD_TECH', scope: 'site:9' });
  assert.equal((await admin.listAssignments('acme')).length, 4);

  const cap = await admin.createCap('acme', {
    selector: 'group:techs',
    scope: 'site:1',
    allow: ['fleet:read', 'miner:read', 'miner:blink_led', 'rack:read', 'rack:manage'],
  });
  assert.deepEqual(cap.allow, ['fleet:read', 'miner:read', 'miner:blink_led', 'rack:read', 'rack:manage']);
  ids.cap = cap.id;
  const spareCap = await admin.createCap('acme', { selector: 'user:bob', allow: CATALOG });
  assert.equal(spareCap.scope, null);
  assert.deepEqual((await admin.listCaps('acme')).map((c) => c.id).sort(), [cap.id, spareCap.id].sort());
  await admin.deleteCap('acme', spareCap.id);

  const hidden = await admin.createHidden('acme', { selector: 'user:vic', node: 'miner:11' });
  assert.deepEqual({ ...hidden, id: undefined }, { id: undefined, selector: 'user:vic', node: 'miner:11' });
  await admin.createHidden('acme', { selector: 'user:bob', node: 'miner:22' });
  const spareHidden = await admin.createHidden('acme', { selector: 'everyone', node: 'miner:21' });
  assert.equal((await admin.listHidden('acme')).length, 3);
  await admin.deleteHidden('acme', spareHidden.id);

  assert.deepEqual(await admin.putSettings('acme', { kiosk: false }), { kiosk: false });
  assert.deepEqual(await admin.getSettings('acme'), { kiosk: false });

  // A scratch org and member, removed again.
  await admin.createOrg({ id: 'scratch', name: 'Scratch' });
  await admin.putMember('scratch', 'dave');
  await admin.deleteMember('scratch', 'dave');
  assert.equal(await admin.deleteOrg('scratch'), undefined);
  await rejectsWith(admin.listGroups('scratch'), 'NOT_FOUND', 404);

  // The audit trail has every write, oldest first, paged by `after`.
  const audit = await admin.audit('acme');
  assert.ok(audit.length > 20, `${audit.length} audit rows`);
  const actions = new Set(audit.map((row) => row.action));
  for (const action of ['node.put', 'node.delete', 'group.create', 'group_member.put', 'role.create', 'assignment.create', 'cap.create', 'hidden.delete']) {
    assert.ok(actions.has(action), action);
  }
  assert.ok(audit.every((row, at) => at === 0 || row.id > audit[at - 1].id));
  const last = audit[audit.length - 1];
  assert.deepEqual(await admin.audit('acme', { after: last.id }), []);
  assert.deepEqual(await admin.audit('acme', { after: audit[audit.length - 2].id }), [last]);
});

// ------------------------------------------------------------ decisions

test('check: allow, deny, not_found, diagnostics, owner, revision', async () => {
  const check = (principal, permission, p, extra = {}) => admin.check({ ...who(principal), permission, path: p, ...extra });

  const allowed = await check('carol', 'miner:blink_led', M11);
  assert.deepEqual(Object.keys(allowed).sort(), ['decision', 'revision']);
  assert.equal(allowed.decision, 'allow');
  assert.ok(Number.isInteger(allowed.revision) && allowed.revision > 0);
  assert.equal((await check('carol', 'miner:reboot', M11)).decision, 'deny');
  assert.equal((await check('carol', 'miner:download_logs', M11)).decision, 'deny', 'the cap');
  assert.equal((await check('carol', 'miner:blink_led', M21)).decision, 'deny');
  assert.equal((await check('vic', 'miner:read', M11)).decision, 'not_found');
  assert.equal((await check('bob', 'miner:read', M22)).decision, 'not_found');
  assert.equal((await check('bob', 'miner:blink_led', M21)).decision, 'allow');
  assert.equal((await check('alice', 'miner:reboot', M21)).decision, 'allow');
  assert.equal((await check('alice', 'user:manage', [])).decision, 'deny');
  // bob's owner-only FIELD_TECH on site 1.
  assert.equal((await check('bob', 'miner:download_logs', M11, { owner: 'bob' })).decision, 'allow');
  assert.equal((await check('bob', 'miner:download_logs', M11, { owner: 'carol' })).decision, 'deny');
  assert.equal((await check('bob', 'miner:download_logs', M11)).decision, 'deny');

  assert.deepEqual(await check('carol', 'miner:explode', M11), { decision: 'deny', diagnostic: 'UNKNOWN_PERMISSION', revision: allowed.revision });
  assert.deepEqual(await check('carol', 'miner:read', ['nonsense']), { decision: 'deny', diagnostic: 'INVALID_PATH', revision: allowed.revision });

  // Token scopes narrow the answer.
  assert.equal((await check('carol', 'miner:blink_led', M11, { tokenScopes: ['miner:read'] })).decision, 'deny');
  assert.equal((await check('carol', 'miner:read', M11, { tokenScopes: ['miner:read'] })).decision, 'allow');
  assert.equal((await check('carol', 'miner:read', M11, { tokenScopes: [] })).decision, 'deny');

  // Unknown org or principal: 404.
  await rejectsWith(check('nobody', 'miner:read', M11), 'NOT_FOUND', 404);
  await rejectsWith(admin.check({ ...who('carol', 'initech'), permission: 'miner:read', path: [] }), 'NOT_FOUND', 404);
});

test('revision increases with every write and minRevision ahead is STALE (409)', async () => {
  const ask = (extra = {}) => admin.check({ ...who('carol'), permission: 'miner:reboot', path: M21, ...extra });
  const before = await ask();
  assert.equal(before.decision, 'deny');
  assert.equal((await ask({ minRevision: before.revision })).revision, before.revision);

  // A grant is answered at once (read-your-writes), at a higher revision.
  const grant = await admin.createAssignment('acme', { subject: 'user:carol', role: 'ADMIN', scope: 'rack:2' });
  const granted = await ask({ minRevision: before.revision + 1 });
  assert.equal(granted.decision, 'allow');
  assert.ok(granted.revision > before.revision);
  await admin.deleteAssignment('acme', grant.id);
  const revoked = await ask();
  assert.equal(revoked.decision, 'deny');
  assert.ok(revoked.revision > granted.revision);

  const stale = await rejectsWith(ask({ minRevision: revoked.revision + 1000 }), 'STALE', 409);
  assert.deepEqual(stale.details, { minRevision: revoked.revision + 1000, revision: revoked.revision });
  // Thunks: each request starts only when awaited (a rejection nobody
  // awaits yet would be an unhandled rejection).
  for (const call of [
    () => admin.checkBatch({ ...who('carol'), checks: [], minRevision: revoked.revision + 1 }),
    () => admin.nav({ ...who('carol'), minRevision: revoked.revision + 1 }),
    () => admin.snapshot({ ...who('carol'), minRevision: revoked.revision + 1 }),
  ]) {
    await rejectsWith(call(), 'STALE', 409);
  }
});

test('checkBatch answers each check as check does, in order', async () => {
  const checks = [];
  for (const permission of [...CATALOG, 'miner:explode']) for (const p of PATHS) checks.push({ permission, path: p });
  checks.push({ permission: 'miner:download_logs', path: M11, owner: 'bob' });
  for (const principal of PRINCIPALS) {
    const batch = await admin.checkBatch({ ...who(principal), checks });
    assert.equal(batch.decisions.length, checks.length);
    const one = await Promise.all(checks.map((c) => admin.check({ ...who(principal), ...c })));
    assert.deepEqual(batch.decisions, one.map(({ revision, ...decision }) => decision), principal);
    assert.ok(one.every((answer) => answer.revision === batch.revision));
  }
  const scoped = await admin.checkBatch({ ...who('carol'), checks: [{ permission: 'miner:blink_led', path: M11 }], tokenScopes: ['miner:read'] });
  assert.deepEqual(scoped.decisions, [{ decision: 'deny' }]);
});

test('explain, filter (plan and SQL), canAnywhere, guard, effective, nav, claims', async () => {
  const explained = await admin.explain({ ...who('carol'), permission: 'miner:download_logs', path: M11 });
  assert.equal(explained.decision, 'deny');
  assert.deepEqual(explained.trace.removedByCaps, [{ id: ids.cap, scope: 'site:1' }]);
  assert.equal(explained.trace.assignments[0].role, 'FIELD_TECH');
  const scoped = await admin.explain({ ...who('carol'), permission: 'miner:blink_led', path: M11, tokenScopes: ['miner:read'] });
  assert.equal(scoped.trace.removedByTokenScopes, true);

  const plain = await admin.filter({ ...who('carol'), permission: 'miner:read' });
  assert.deepEqual(plain.plan.rules, [{ node: 'site:1', rule: 'allow', exact: false }]);
  assert.equal(plain.sql, undefined);
  const columns = { site: 'site_id', rack: 'rack_id', miner: 'miner_id' };
  const sqlite = await admin.filter({ ...who('carol'), permission: 'miner:read', columns, dialect: 'sqlite' });
  assert.deepEqual(sqlite.sql, { sql: '(CASE WHEN site_id = ?1 THEN 1 ELSE 0 END) = 1', params: ['1'] });
  const postgres = await admin.filter({ ...who('carol'), permission: 'miner:read', columns: new Map(Object.entries(columns)) });
  assert.deepEqual(postgres.sql, { sql: '(CASE WHEN site_id = $1 THEN 1 ELSE 0 END) = 1', params: ['1'] });
  const owned = await admin.filter({ ...who('bob'), permission: 'miner:download_logs', columns, ownerColumn: 'owner_id', dialect: 'sqlite' });
  assert.match(owned.sql.sql, /owner_id = \?\d/);
  assert.ok(owned.sql.params.includes('bob'));
  assert.equal((await admin.filter({ ...who('alice'), permission: 'miner:read', columns })).plan.org, 'allow');

  assert.deepEqual(await admin.canAnywhere({ ...who('carol'), permission: 'miner:blink_led' }), { allowed: true, revision: plain.revision });
  assert.equal((await admin.canAnywhere({ ...who('carol'), permission: 'user:manage' })).allowed, false);

  assert.deepEqual(await admin.guard({ ...who('carol'), route: '/sites/1/racks' }), { decision: 'allow', revision: plain.revision });
  assert.deepEqual(await admin.guard({ ...who('carol'), route: '/sites/2/racks' }), { decision: 'redirect', fallback: '/', revision: plain.revision });
  assert.equal((await admin.guard({ ...who('carol'), route: '/nowhere' })).decision, 'no_route');

  const effective = await admin.effective({ ...who('carol'), path: ['site:1', 'rack:1'] });
  assert.deepEqual(effective.permissions, ['fleet:read', 'miner:read', 'miner:blink_led', 'rack:read', 'rack:manage']);
  assert.deepEqual((await admin.effective({ ...who('carol'), path: ['site:1'], tokenScopes: ['miner:read', 'rack:read'] })).permissions, ['miner:read', 'rack:read']);
  assert.deepEqual((await admin.effective({ ...who('bob'), path: M11, owner: 'bob' })).permissions.includes('miner:download_logs'), true);
  assert.deepEqual((await admin.effective(who('carol'))).permissions, []);

  assert.deepEqual(await admin.nav(who('carol')), { nav: ['/miners'], revision: plain.revision });
  assert.deepEqual((await admin.nav(who('alice'))).nav, ['/miners', '/settings/users']);
  const claims = await admin.claims(who('carol'));
  assert.ok(claims.claims.includes('users.carol') && claims.claims.includes('groups.Techs'), claims.claims.join());
});

// ------------------------------------------------------------ snapshots

test('snapshots (binary and text) open with the package verifier and answer as the host does', async () => {
  const jwks = await checkClient.keys();
  assert.ok(Array.isArray(jwks.keys) && jwks.keys.length >= 1);
  const verifier = TesseraVerifier.fromJwks(jwks);
  let compared = 0;

  for (const principal of PRINCIPALS) {
    const bytes = await checkClient.snapshot(who(principal));
    assert.ok(bytes instanceof Uint8Array, 'binary envelope');
    const text = await checkClient.snapshot({ ...who(principal), text: true });
    assert.match(text, /^tss1\.[A-Za-z0-9_-]+$/);
    const fromBytes = verifier.open(bytes, undefined, who(principal));
    const snapshot = verifier.open(text, undefined, who(principal));
    assert.ok(jwks.keys.some((key) => key.kid === snapshot.kid));
    assert.deepEqual([snapshot.org, snapshot.principal, fromBytes.revision], ['acme', principal, snapshot.revision]);

    const checks = [];
    for (const permission of [...CATALOG, 'miner:explode']) for (const p of PATHS) checks.push({ permission, path: p });
    checks.push({ permission: 'miner:download_logs', path: M11, owner: principal });
    const hostBatch = await admin.checkBatch({ ...who(principal), checks });
    assert.equal(snapshot.revision, hostBatch.revision, 'same revision');
    assert.deepEqual(snapshot.checkMany(checks), hostBatch.decisions, `${principal}: checkMany`);
    assert.deepEqual(fromBytes.checkMany(checks), hostBatch.decisions, `${principal}: binary`);
    for (const c of checks) assert.equal(snapshot.check(c.permission, c.path, c.owner), hostBatch.decisions[checks.indexOf(c)].decision);
    compared += checks.length;

    assert.deepEqual(snapshot.nav(), (await admin.nav(who(principal))).nav);
    assert.deepEqual(snapshot.claims(), (await admin.claims(who(principal))).claims);
    for (const p of PATHS.slice(0, 7)) {
      assert.deepEqual(snapshot.effective(p), (await admin.effective({ ...who(principal), path: p })).permissions, `${principal} effective ${p}`);
    }
    for (const route of ROUTES) {
      const { revision, ...guard } = await admin.guard({ ...who(principal), route });
      assert.deepEqual(snapshot.guard(route), guard, `${principal} guard ${route}`);
    }
    for (const permission of CATALOG) {
      assert.equal(snapshot.canAnywhere(permission), (await admin.canAnywhere({ ...who(principal), permission })).allowed);
      assert.deepEqual(snapshot.filterPlan(permission), (await admin.filter({ ...who(principal), permission })).plan);
    }
    // Exported snapshots leave out provenance (opt-in, docs/snapshots.md §3): the host's
    // trace also names the granting subjects and roles and the removing caps.
    for (const [permission, p] of [['miner:download_logs', M11], ['miner:read', M22], ['miner:blink_led', M21], ['miner:explode', M11]]) {
      const { trace } = await admin.explain({ ...who(principal), permission, path: p });
      const local = snapshot.explain(permission, p);
      assert.equal(local.provenance, false);
      const { assignments, removedByCaps, provenance } = trace;
      assert.deepEqual({ ...local, assignments, removedByCaps, provenance }, trace, `${principal} explain ${permission}`);
    }
  }
  assert.ok(compared > 500, `${compared} checks compared`);

  // Token scopes and subtrees.
  const scoped = verifier.open(await checkClient.snapshot({ ...who('carol'), tokenScopes: ['miner:read'] }), undefined, who('carol'));
  assert.deepEqual([scoped.check('miner:read', M11), scoped.check('miner:blink_led', M11)], ['allow', 'deny']);
  const subtree = verifier.open(await checkClient.snapshot({ ...who('carol'), under: ['site:1'], text: true }));
  assert.deepEqual(subtree.subtrees, ['site:1']);
  assert.equal(subtree.check('miner:blink_led', M11), 'allow');
  assert.deepEqual(subtree.checkMany([{ permission: 'miner:read', path: M21 }]), [{ decision: 'deny', diagnostic: 'OUTSIDE_SNAPSHOT' }]);
  await rejectsWith(checkClient.snapshot({ ...who('carol'), under: ['not a key'] }), 'BAD_REQUEST', 400);

  // A snapshot binds to its org and principal.
  const dave = await checkClient.snapshot({ ...who('dave', 'globex'), text: true });
  assert.throws(() => verifier.open(dave, undefined, { org: 'acme' }), (err) => err instanceof TesseraError && err.code === 'WRONG_ORG');
  assert.throws(() => verifier.open(dave, undefined, { org: 'globex', principal: 'carol' }), (err) => err.code === 'WRONG_PRINCIPAL');
});

test('a conditional snapshot request downloads only what a write changed', async () => {
  const first = await checkClient.snapshotIfChanged({ ...who('carol'), text: true });
  assert.equal(first.changed, true);
  assert.match(first.snapshot, /^tss1\./);
  assert.match(first.etag, /^W\/"/);
  const again = await checkClient.snapshotIfChanged({ ...who('carol'), text: true, etag: first.etag });
  assert.deepEqual(again, { changed: false, etag: first.etag, revision: again.revision });
  // A write that cannot touch carol's snapshot: her copy still holds.
  const other = await admin.createAssignment('acme', { subject: 'user:alice', role: 'FIELD_TECH', scope: 'site:2' });
  const untouched = await checkClient.snapshotIfChanged({ ...who('carol'), etag: first.etag });
  assert.equal(untouched.changed, false);
  assert.ok(untouched.revision > again.revision, 'answered at the new revision');
  // A write to carol: a new snapshot and a new tag.
  const mine = await admin.createAssignment('acme', { subject: 'user:carol', role: 'FIELD_TECH', scope: 'site:2' });
  const changed = await checkClient.snapshotIfChanged({ ...who('carol'), etag: first.etag });
  assert.equal(changed.changed, true);
  assert.ok(changed.snapshot instanceof Uint8Array && changed.etag !== first.etag);
  await admin.deleteAssignment('acme', mine.id);
  await admin.deleteAssignment('acme', other.id);
  await assert.rejects(checkClient.snapshotIfChanged({ ...who('carol'), etag: 7 }), (err) => err.code === 'BAD_ARGUMENT');
});

// ------------------------------------------------------------ errors

test('errors: status, code and details from the host; TesseraError', async () => {
  const notFound = await rejectsWith(admin.deleteGroup('acme', 'no-such-group'), 'NOT_FOUND', 404);
  assert.deepEqual(notFound.details, { kind: 'group', id: 'no-such-group' });
  await rejectsWith(admin.listRoles('initech'), 'NOT_FOUND', 404);
  await rejectsWith(admin.deleteAssignment('globex', (await admin.listAssignments('acme'))[0].id), 'NOT_FOUND', 404);
  await rejectsWith(admin.createGroup('acme', { name: 'techs' }), 'NAME_TAKEN', 409);
  await rejectsWith(admin.createRole('acme', { name: 'Bad', permissions: ['miner:explode'] }), 'UNKNOWN_PERMISSION', 400);
  await rejectsWith(admin.deleteRole('acme', ids.blinker), 'ROLE_IN_USE', 409);
  await rejectsWith(admin.deleteRole('acme', 'SUPER_ADMIN'), 'BUILTIN_ROLE_IMMUTABLE', 403);
  await rejectsWith(admin.deleteNode('acme', 'site:1'), 'NODE_IN_USE', 409);

  // Bad token: 401, whatever the route.
  const stranger = new TesseraClient({ baseUrl: host.base, token: 'tsk_admin_not-a-token' });
  await rejectsWith(stranger.check({ ...who('carol'), permission: 'miner:read', path: [] }), 'UNAUTHENTICATED', 401);
  assert.ok((await stranger.keys()).keys.length > 0, 'the public keys need no token');
  await rejectsWith(stranger.listGroups('acme'), 'UNAUTHENTICATED', 401);

  // A check token asks questions and fetches snapshots and keys, and may not touch the model.
  assert.equal((await checkClient.check({ ...who('carol'), permission: 'miner:blink_led', path: M11 })).decision, 'allow');
  await rejectsWith(checkClient.listGroups('acme'), 'FORBIDDEN', 403);
  await rejectsWith(checkClient.putNode('acme', 'site:5'), 'FORBIDDEN', 403);
  await rejectsWith(checkClient.audit('acme'), 'FORBIDDEN', 403);
});

test('Tessera-Actor: per client, per call, and ESCALATION_DENIED / FORBIDDEN for the acting user', async () => {
  const asAlice = new TesseraClient({ baseUrl: host.base, token: host.token, actor: 'alice', fetch: recordingFetch });
  assert.equal(asAlice.actor, 'alice');
  // alice (ADMIN: everything but user:manage and role:manage) may not create
  // orgs or grant SUPER_ADMIN (escalations), nor make roles or manage another
  // user's grants (she lacks the [admin] keys).
  await rejectsWith(asAlice.createOrg({ id: 'mine', name: 'Mine' }), 'ESCALATION_DENIED', 403);
  const narrow = await admin.createCap('acme', { selector: 'group:techs', scope: 'site:2', allow: ['miner:read'] });
  await rejectsWith(asAlice.deleteCap('acme', narrow.id), 'ESCALATION_DENIED', 403);
  await admin.deleteCap('acme', narrow.id);
  await rejectsWith(asAlice.createRole('acme', { name: 'Mine', permissions: ['miner:read'] }), 'FORBIDDEN', 403);
  await rejectsWith(asAlice.createAssignment('acme', { subject: 'user:bob', role: 'FIELD_TECH', scope: 'site:2' }), 'FORBIDDEN', 403);
  // What her [admin] keys allow she may do; the audit names her.
  await asAlice.putNode('acme', 'rack:3', { parent: 'site:2' });
  await asAlice.deleteNode('acme', 'rack:3');
  const audit = await admin.audit('acme');
  assert.deepEqual(
    audit.filter((row) => row.target === 'rack:3').map((row) => [row.action, row.actor]),
    [['node.put', 'alice'], ['node.delete', 'alice']],
  );

  // Per call: `actor: null` drops the client's actor (the trusted backend); a string replaces it.
  await rejectsWith(admin.createOrg({ id: 'mine', name: 'Mine' }, { actor: 'bob' }), 'ESCALATION_DENIED', 403);
  assert.deepEqual(await asAlice.createOrg({ id: 'mine', name: 'Mine' }, { actor: null }), { id: 'mine', name: 'Mine' });
  await asAlice.deleteOrg('mine', { actor: 'root' });
  await rejectsWith(asAlice.withActor(null).listGroups('mine'), 'NOT_FOUND', 404);
  const actors = sent.filter((r) => r.pathname === '/v1/orgs' || r.pathname === '/v1/orgs/mine').map((r) => [r.method, r.actor]);
  assert.deepEqual(actors.slice(-4), [['POST', 'alice'], ['POST', 'bob'], ['POST', undefined], ['DELETE', 'root']]);
});

test('path parameters are percent-encoded; bad arguments fail before any request', async () => {
  // Encoded, `a/b` stays one segment and the host refuses the id (400), not the route (404).
  const badId = await rejectsWith(admin.putUser('a/b', { name: 'x' }), 'BAD_REQUEST', 400);
  assert.match(badId.message, /a\/b/);
  assert.ok(sent.some((r) => r.pathname === '/v1/users/a%2Fb'));
  await rejectsWith(admin.putGroupMember('acme', 'techs', 'user:x y'), 'BAD_REQUEST', 400);
  assert.ok(sent.some((r) => r.pathname === '/v1/orgs/acme/groups/techs/members/user/x%20y'));
  await rejectsWith(admin.deleteGroup('acme', '../../orgs'), 'NOT_FOUND', 404);
  assert.ok(sent.some((r) => r.pathname === '/v1/orgs/acme/groups/..%2F..%2Forgs'));

  const before = sent.length;
  assert.throws(() => admin.putNode('acme', 'site'), (err) => err instanceof TesseraError && err.code === 'BAD_ARGUMENT');
  assert.throws(() => admin.putGroupMember('acme', 'techs', 'carol'), (err) => err.code === 'BAD_ARGUMENT');
  assert.throws(() => admin.listGroups(''), (err) => err.code === 'BAD_ARGUMENT');
  assert.throws(() => admin.effective({ ...who('carol'), path: 'site:1' }), (err) => err.code === 'BAD_ARGUMENT');
  assert.throws(() => admin.check(null), (err) => err.code === 'BAD_ARGUMENT');
  assert.throws(() => new TesseraClient({ baseUrl: 'ftp://x', token: 't' }), (err) => err.code === 'BAD_ARGUMENT');
  assert.throws(() => new TesseraClient({ baseUrl: host.base }), (err) => err.code === 'BAD_ARGUMENT');
  assert.equal(sent.length, before, 'no request sent');
});

test('answers without the API error shape, unreachable hosts and timeouts', async () => {
  const fake = (respond) => new TesseraClient({ baseUrl: 'http://tessera.invalid/prefix', token: 't', fetch: respond, timeoutMs: 200 });
  const seen = [];
  const proxy = fake(async (url) => {
    seen.push(url);
    return new Response('<html>bad gateway</html>', { status: 502, headers: { 'content-type': 'text/html' } });
  });
  const gateway = await rejectsWith(proxy.check({ ...who('carol'), permission: 'miner:read', path: [] }), 'HTTP_502', 502);
  assert.match(gateway.message, /bad gateway/);
  assert.deepEqual(seen, ['http://tessera.invalid/prefix/v1/check']);
  await rejectsWith(fake(async () => new Response('not json', { status: 200 })).keys(), 'BAD_RESPONSE', 200);
  const down = await rejectsWith(fake(async () => { throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') }); }).keys(), 'UNAVAILABLE', 0);
  assert.match(down.message, /ECONNREFUSED/);
  const hang = (url, init) => new Promise((resolve, reject) => init.signal.addEventListener('abort', () => reject(init.signal.reason)));
  const slow = await rejectsWith(fake(hang).keys(), 'UNAVAILABLE', 0);
  assert.match(slow.message, /200 ms/);
  // The caller's own abort is not turned into UNAVAILABLE.
  const controller = new AbortController();
  const pending = fake(hang).keys({ signal: controller.signal });
  controller.abort();
  await assert.rejects(pending, (err) => err.name === 'AbortError');
});

// ------------------------------------------------------------ Express against the host

test('@tessera/node/express fetches the host key set (public, or with keysToken) and guards with host snapshots', async () => {
  const app = express();
  const guarded = (tessera) =>
    tessera.requirePermission('miner:reboot', {
      path: (req) => [`site:${req.params.site}`, `rack:${req.params.rack}`, `miner:${req.params.miner}`],
      org: () => 'acme',
      principal: (req) => req.get('x-user'),
    });
  const ok = (req, res) => res.json({ by: req.tessera.snapshot.principal });
  const keysUrl = `${host.base}/v1/keys`;
  app.post('/with-token/sites/:site/racks/:rack/miners/:miner/reboot', guarded(createTessera({ keysUrl, keysToken: checkToken })), ok);
  app.post('/with-fn/sites/:site/racks/:rack/miners/:miner/reboot', guarded(createTessera({ keysUrl, keysToken: async () => checkToken })), ok);
  app.post('/no-token/sites/:site/racks/:rack/miners/:miner/reboot', guarded(createTessera({ keysUrl })), ok);
  const server = http.createServer(app);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const base = `http://127.0.0.1:${server.address().port}`;
  const reboot = async (prefix, [site, rack, miner], snapshot, user) => {
    const response = await fetch(`${base}/${prefix}/sites/${site}/racks/${rack}/miners/${miner}/reboot`, {
      method: 'POST',
      headers: { 'tessera-snapshot': snapshot, 'x-user': user },
    });
    const body = await response.json();
    return [response.status, body.error?.code ?? body.by];
  };
  const text = (principal, org = 'acme') => checkClient.snapshot({ ...who(principal, org), text: true });

  const alice = await text('alice');
  assert.deepEqual(await reboot('with-token', [2, 2, 21], alice, 'alice'), [200, 'alice']);
  assert.deepEqual(await reboot('with-fn', [2, 2, 21], alice, 'alice'), [200, 'alice']);
  const carol = await text('carol');
  assert.deepEqual(await reboot('with-token', [1, 1, 11], carol, 'carol'), [403, 'FORBIDDEN']);
  assert.deepEqual(await reboot('with-token', [1, 1, 11], await text('vic'), 'vic'), [404, 'NOT_FOUND']);
  // Another org's snapshot, or another user's, is refused.
  assert.deepEqual(await reboot('with-token', [1, 1, 11], await text('dave', 'globex'), 'dave'), [401, 'WRONG_ORG']);
  assert.deepEqual(await reboot('with-token', [2, 2, 21], alice, 'carol'), [401, 'WRONG_PRINCIPAL']);

  // Granted, then revoked: a snapshot taken after the revocation is refused.
  // (One taken before stays valid offline until it expires: docs/snapshots.md §3.)
  assert.deepEqual(await reboot('with-token', [2, 2, 21], carol, 'carol'), [403, 'FORBIDDEN']);
  const grant = await admin.createAssignment('acme', { subject: 'user:carol', role: 'ADMIN', scope: 'rack:2' });
  const carolGranted = await text('carol');
  assert.deepEqual(await reboot('with-token', [2, 2, 21], carolGranted, 'carol'), [200, 'carol']);
  await admin.deleteAssignment('acme', grant.id);
  assert.deepEqual(await reboot('with-token', [2, 2, 21], await text('carol'), 'carol'), [403, 'FORBIDDEN']);
  assert.deepEqual(await reboot('with-token', [2, 2, 21], carolGranted, 'carol'), [200, 'carol']);

  // The host's key set is public: no token is needed to fetch it.
  assert.deepEqual(await reboot('no-token', [2, 2, 21], alice, 'alice'), [200, 'alice']);
  assert.deepEqual(await reboot('no-token', [1, 1, 11], carol, 'carol'), [403, 'FORBIDDEN']);
});

// ------------------------------------------------------------ coverage, shutdown

test('events: the current revision, then one per write; refusals reject; the stream stops on abort', async () => {
  const stop = new AbortController();
  const events = admin.events({ org: 'acme' }, { signal: stop.signal });
  const first = (await events.next()).value.revision;
  assert.ok(Number.isInteger(first) && first > 0);
  await admin.putUser('eve', { name: 'Eve' });
  await admin.putMember('acme', 'eve');
  let seen = first;
  while (seen < first + 2) {
    const next = (await events.next()).value.revision;
    assert.ok(next > seen, `revisions go up: ${seen} then ${next}`);
    seen = next;
  }
  const resumed = checkClient.events({ org: 'acme', lastEventId: first });
  assert.equal((await resumed.next()).value.revision, seen, 'resuming behind gets the current revision');
  await resumed.return();
  await assert.rejects(checkClient.events({ org: 'nope' }).next(), (err) => err instanceof ClientTesseraError && err.status === 404);
  stop.abort();
  assert.deepEqual(await events.next(), { value: undefined, done: true });
});

test('whoCan and userAccess answer as check does', async () => {
  const asked = { org: 'acme', permission: 'miner:blink_led', path: M11 };
  const { principals, anonymous, next } = await admin.whoCan(asked);
  assert.equal(anonymous, false);
  assert.equal(next, null);
  for (const principal of PRINCIPALS) {
    const { decision } = await admin.check({ ...asked, principal });
    assert.equal(principals.some((p) => p.id === principal), decision === 'allow', principal);
  }
  const paged = await admin.whoCan({ ...asked, limit: 1 });
  assert.equal(paged.principals.length, Math.min(1, principals.length));
  const why = await admin.userExplain('acme', 'carol', { permission: 'miner:blink_led', path: M11 });
  assert.deepEqual(why.trace, (await admin.explain({ ...asked, principal: 'carol' })).trace);
  const map = await admin.userAccess('acme', 'carol');
  assert.deepEqual(map.root, (await admin.effective({ org: 'acme', principal: 'carol' })).permissions);
  const viewed = await admin.userView('acme', 'carol', { routes: ['/miners'] });
  assert.deepEqual(viewed.nav, (await admin.nav({ org: 'acme', principal: 'carol' })).nav);
  assert.equal(viewed.routes[0].decision, (await admin.guard({ org: 'acme', principal: 'carol', route: '/miners' })).decision);
  await assert.rejects(checkClient.whoCan(asked), (err) => err.code === 'FORBIDDEN' && err.status === 403);
  const document = await admin.exportOrg('acme');
  assert.equal(JSON.parse(document).format, 'tessera.org/1');
  assert.equal(await admin.exportOrg('acme'), document, 'canonical: the same state, the same bytes');
  const unchanged = await admin.applyOrg('acme', { document });
  assert.deepEqual([unchanged.plan, unchanged.applied, unchanged.principalsAffected], [[], false, 0], 'its own export: nothing to do');
  const renamed = JSON.parse(document);
  renamed.org.name = 'Acme Renamed';
  const applied = await admin.applyOrg('acme', { document: renamed, dryRun: false });
  assert.deepEqual(applied.plan, [{ kind: 'org', op: 'update', target: 'acme', pointer: '/org/name' }]);
  assert.equal(applied.applied, true);
  await admin.applyOrg('acme', { document, dryRun: false });
  const wrong = await rejectsWith(admin.applyOrg('acme', { document: { ...JSON.parse(document), format: 'tessera.org/9' } }), 'BAD_REQUEST', 400);
  assert.equal(wrong.details.pointer, '/format');
  const before = await admin.whoCan(asked);
  const preview = await admin.preview('acme', { method: 'POST', path: '/v1/orgs/acme/hidden', body: { selector: 'everyone', node: 'miner:11' } });
  assert.ok(preview.principalsAffected > 0 && preview.changes.some((c) => c.after === 'not_found'), JSON.stringify(preview));
  assert.equal(preview.truncated, false);
  assert.equal(preview.totalChanges, preview.changes.length);
  assert.deepEqual(await admin.whoCan(asked), before, 'a preview writes nothing');
  await assert.rejects(
    admin.preview('acme', { method: 'POST', path: '/v1/orgs/acme/roles', body: { name: 'R', permissions: ['miner:reboot'] } }),
    (err) => err.code === 'READ_PAIRING_VIOLATION',
  );
});

test('consoleSignIn makes a one-time URL whose cookie is the session', async () => {
  const { url, expiresAt } = await admin.consoleSignIn({ actor: 'carol', org: 'acme' });
  assert.match(url, /^\/console\/sign-in\/[0-9a-f]{64}$/);
  assert.ok(expiresAt > Date.now() / 1000);
  const asked = await fetch(`${host.base}${url}`);
  assert.equal(asked.status, 200);
  assert.equal(asked.headers.get('set-cookie'), null, 'opening the link only asks to confirm');
  const opened = await fetch(`${host.base}${url}`, { method: 'POST' });
  assert.equal(opened.status, 200);
  const cookie = opened.headers.get('set-cookie').split(';')[0];
  const current = await fetch(`${host.base}/v1/console-sessions/current`, { headers: { cookie } });
  assert.deepEqual((({ actor, org }) => ({ actor, org }))(await current.json()), { actor: 'carol', org: 'acme' });
  assert.equal((await fetch(`${host.base}${url}`, { method: 'POST' })).status, 404, 'once');
  await assert.rejects(admin.consoleSignIn({ actor: 'nobody' }), (err) => err.code === 'NOT_FOUND' && err.status === 404);
});

test('every route of the host /openapi.json was called through the client', async () => {
  const document = await admin.openapi();
  const missing = [];
  for (const [pattern, item] of Object.entries(document.paths)) {
    if (pattern === '/metrics') continue; // Prometheus scrapes it; not a client call
    if (pattern.startsWith('/v1/console-sessions/current')) continue; // the console page's, by its cookie; not a backend call
    const regex = new RegExp(`^${pattern.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    for (const method of Object.keys(item)) {
      if (!sent.some((r) => r.method === method.toUpperCase() && regex.test(r.pathname))) missing.push(`${method.toUpperCase()} ${pattern}`);
    }
  }
  assert.deepEqual(missing, []);
});

test('SIGTERM stops the host with exit status 0; then calls fail with UNAVAILABLE', async () => {
  host.child.kill('SIGTERM');
  const { code, signal } = await host.exited;
  assert.deepEqual({ code, signal }, { code: 0, signal: null }, host.stderr);
  const error = await rejectsWith(admin.keys(), 'UNAVAILABLE', 0);
  assert.match(error.message, /GET http:\/\/127\.0\.0\.1:\d+\/v1\/keys/);
});
