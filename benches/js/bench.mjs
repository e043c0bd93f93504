// The JS benchmark of issue 5, item 7 and issue 6, item 6: @tessera/web
// (wasm) and @tessera/node (napi addon) from Node next to @casl/ability and
// @cedar-policy/cedar-wasm, in one run, one process.
//
//   ./scripts/build-wasm && ./scripts/build-node
//   cargo run -q -p tessera-tests --bin export-bench -- tests/out/bench
//   node benches/js/bench.mjs
//
// Every figure is the median over BATCHES timed batches of the mean time
// per call within a batch (process.hrtime.bigint around a loop of N calls,
// N chosen so a batch lasts about BATCH_MS), after a warm-up. Before any
// timing, the engines are asked every (miner action, miner) question of the
// model and must agree on all of them; the addon must answer exactly as the
// wasm package on every check, checkMany, nav and header; and checkMany must
// agree with nav(). Any disagreement exits non-zero. Results are printed as a table
// and written to tests/out/bench/js-results.json.

import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { execSync } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { AbilityBuilder, createMongoAbility, subject } from '@casl/ability';
import { TesseraVerifier } from '../../wasm/pkg/node.js';

let NodeVerifier;
try {
  ({ TesseraVerifier: NodeVerifier } = await import('../../bindings-node/pkg/node.js'));
} catch (err) {
  console.error(`${err.message}\nbuild the addon first: ./scripts/build-node`);
  process.exit(2);
}

const require = createRequire(import.meta.url);
const cedar = require('@cedar-policy/cedar-wasm/nodejs');

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DATA = path.join(ROOT, 'tests/out/bench');
const BATCHES = 21;
const BATCH_MS = 25;
const WARMUP_MS = 300;

// ---------------------------------------------------------------- inputs

function load(name) {
  try {
    return readFileSync(path.join(DATA, name), 'utf8');
  } catch (err) {
    console.error(`${err.message}\nrun first: cargo run -q -p tessera-tests --bin export-bench -- tests/out/bench`);
    process.exit(2);
  }
}

const jwks = load('jwks.json');
const snapshot100Text = load('snapshot_100.txt').trim();
const snapshotNavText = load('snapshot_nav.txt').trim();
const navTree = JSON.parse(load('nav_tree.json'));
const model = JSON.parse(load('model.json'));
const NOW = model.issued_at + 100;

const verifier = TesseraVerifier.fromJwks(jwks);
const snap = verifier.open(snapshot100Text, NOW);
const navSnap = verifier.open(snapshotNavText, NOW);

// Site 1 has no cap; rack 1-2 carries ADMIN for `techs`. Site 0 is capped
// (no miner:reboot) although rack 0-1 carries FIELD_TECH.
const ALLOW4 = ['site:1', 'rack:1-2', 'shelf:1-2-3', 'miner:1-2-3-4'];
const DENY4 = ['site:0', 'rack:0-1', 'shelf:0-1-3', 'miner:0-1-3-4'];
const ALLOW3 = ['site:1', 'rack:1-2', 'shelf:1-2-3'];
const DEPTH1 = ['site:1'];
const ROOT_PATH = [];
const reboot = snap.permission('miner:reboot');

// The same snapshots through @tessera/node (the napi addon).
const nodeVerifier = NodeVerifier.fromJwks(jwks);
const nodeSnap = nodeVerifier.open(snapshot100Text, NOW);
const nodeNavSnap = nodeVerifier.open(snapshotNavText, NOW);
const nodeReboot = nodeSnap.permission('miner:reboot');

// ------------------------------------------------------ the peers' models

const MINER_ACTIONS = model.roles.SUPER_ADMIN.filter((key) => key.startsWith('miner:'));
const idOf = (node) => node.slice(node.indexOf(':') + 1);

/** CASL rules equivalent to alice's grants on miners: one per (grant, action), caps as `cannot`. */
function caslModelAbility() {
  const { can, cannot, build } = new AbilityBuilder(createMongoAbility);
  let rules = 0;
  const techs = model.facts.group_members.some((m) => m.group === 'techs' && m.member === 'user:alice');
  for (const a of model.facts.assignments) {
    if (a.subject !== 'user:alice' && !(techs && a.subject === 'group:techs')) continue;
    const actions = model.roles[a.role].filter((key) => key.startsWith('miner:')).map((key) => key.slice(6));
    if (actions.length === 0) continue;
    if (a.scope === undefined || a.scope === null) {
      can(actions, 'Miner');
    } else {
      const [type, id] = a.scope.split(':');
      can(actions, 'Miner', { [`${type}Id`]: id });
    }
    rules += 1;
  }
  for (const cap of model.facts.caps) {
    if (!(techs && cap.selector === 'group:techs')) continue;
    const denied = MINER_ACTIONS.filter((key) => !cap.allow.includes(key)).map((key) => key.slice(6));
    const [type, id] = cap.scope.split(':');
    cannot(denied, 'Miner', { [`${type}Id`]: id });
    rules += 1;
  }
  return { ability: build(), rules };
}

/** The brief's minimal CASL form: a role with a condition on the site. */
function caslSimpleAbility() {
  const { can, build } = new AbilityBuilder(createMongoAbility);
  can('reboot', 'Miner', { siteId: '1' });
  return build();
}

const caslMiner = (p) =>
  subject('Miner', { id: idOf(p[3]), siteId: idOf(p[0]), rackId: idOf(p[1]), shelfId: idOf(p[2]) });

const uid = (type, id) => ({ type, id });
const action = (key) => uid('Action', key);

/** Cedar policies equivalent to alice's grants: roles are action groups, one policy per assignment, caps as forbid. */
function cedarModelPolicies() {
  const policies = [];
  const roleGroup = (role) => `Action::"role:${role}"`;
  for (const a of model.facts.assignments) {
    const [kind, who] = a.subject.split(':');
    const principal = kind === 'user' ? `principal == User::"${who}"` : `principal in Group::"${who}"`;
    let resource = 'resource';
    if (a.scope !== undefined && a.scope !== null) {
      const [type, id] = a.scope.split(':');
      resource = `resource in ${type[0].toUpperCase()}${type.slice(1)}::"${id}"`;
    }
    policies.push(`permit (${principal}, action in ${roleGroup(a.role)}, ${resource});`);
  }
  for (const cap of model.facts.caps) {
    const [, group] = cap.selector.split(':');
    const [type, id] = cap.scope.split(':');
    const allowed = cap.allow.map((key) => `Action::"${key}"`).join(', ');
    policies.push(
      `forbid (principal in Group::"${group}", action, resource in ${type[0].toUpperCase()}${type.slice(1)}::"${id}") unless { action in [${allowed}] };`,
    );
  }
  return policies;
}

/** The entities a Cedar request for `key` on a miner path needs: user, group, the miner's ancestry, the action with its role groups. */
function cedarModelEntities(key, p) {
  const roles = Object.keys(model.roles).filter((role) => model.roles[role].includes(key));
  const [site, rack, shelf, miner] = p.map(idOf);
  return [
    { uid: uid('User', 'alice'), attrs: {}, parents: [uid('Group', 'techs')] },
    { uid: uid('Group', 'techs'), attrs: {}, parents: [] },
    { uid: uid('Site', site), attrs: {}, parents: [] },
    { uid: uid('Rack', rack), attrs: {}, parents: [uid('Site', site)] },
    { uid: uid('Shelf', shelf), attrs: {}, parents: [uid('Rack', rack)] },
    { uid: uid('Miner', miner), attrs: {}, parents: [uid('Shelf', shelf)] },
    { uid: action(key), attrs: {}, parents: roles.map((role) => action(`role:${role}`)) },
  ];
}

function cedarCall(key, p, extra) {
  return {
    principal: uid('User', 'alice'),
    action: action(key),
    resource: uid('Miner', idOf(p[3])),
    context: {},
    entities: cedarModelEntities(key, p),
    ...extra,
  };
}

function cedarDecision(answer) {
  if (answer.type !== 'success') throw new Error(`cedar: ${JSON.stringify(answer.errors)}`);
  if (answer.response.diagnostics.errors.length) {
    throw new Error(`cedar: ${JSON.stringify(answer.response.diagnostics.errors)}`);
  }
  return answer.response.decision;
}

const { ability: caslModel, rules: caslRules } = caslModelAbility();
const caslSimple = caslSimpleAbility();
const cedarPolicies = cedarModelPolicies();
const cedarPolicyText = cedarPolicies.join('\n');
const preparse = (id, text) => {
  const answer = cedar.preparsePolicySet(id, { staticPolicies: text });
  if (answer.type !== 'success') throw new Error(`cedar preparse ${id}: ${JSON.stringify(answer.errors)}`);
};
preparse('model', cedarPolicyText);
const CEDAR_SIMPLE_POLICY = 'permit (principal in Role::"tech", action == Action::"reboot", resource in Site::"1");';
preparse('simple', CEDAR_SIMPLE_POLICY);
const cedarSimpleCall = {
  principal: uid('User', 'alice'),
  action: action('reboot'),
  resource: uid('Miner', '1-2-3-4'),
  context: {},
  entities: [
    { uid: uid('User', 'alice'), attrs: {}, parents: [uid('Role', 'tech')] },
    { uid: uid('Role', 'tech'), attrs: {}, parents: [] },
    { uid: uid('Site', '1'), attrs: {}, parents: [] },
    { uid: uid('Rack', '1-2'), attrs: {}, parents: [uid('Site', '1')] },
    { uid: uid('Miner', '1-2-3-4'), attrs: {}, parents: [uid('Rack', '1-2')] },
  ],
  preparsedPolicySetId: 'simple',
};

// ------------------------------------------------------- agreement checks

function agree() {
  const sites = new Set();
  const grid = [];
  for (const n of model.facts.nodes) {
    if (n.node.startsWith('shelf:')) {
      const [s, r] = idOf(n.node).split('-');
      sites.add(s);
      grid.push([`site:${s}`, `rack:${s}-${r}`, n.node, `miner:${idOf(n.node)}-0`]);
    }
  }
  let questions = 0;
  let allowed = 0;
  const nodeHandles = new Map(MINER_ACTIONS.map((key) => [key, nodeSnap.permission(key)]));
  for (const key of MINER_ACTIONS) {
    for (const p of grid) {
      const tessera = snap.check(key, p);
      const addon = nodeSnap.check(key, p);
      const addonHandle = nodeSnap.check(nodeHandles.get(key), p);
      const casl = caslModel.can(key.slice(6), caslMiner(p)) ? 'allow' : 'deny';
      const cedarAnswer = cedarDecision(cedar.statefulIsAuthorized(cedarCall(key, p, { preparsedPolicySetId: 'model' })));
      if (tessera !== casl || tessera !== cedarAnswer || tessera !== addon || tessera !== addonHandle) {
        throw new Error(
          `disagreement on ${key} at ${p}: tessera ${tessera}, addon ${addon}/${addonHandle}, casl ${casl}, cedar ${cedarAnswer}`,
        );
      }
      questions += 1;
      if (tessera === 'allow') allowed += 1;
    }
  }
  // The addon answers every catalog key at every known node (and one level
  // below) exactly as the wasm module, in single checks and in checkMany.
  const known = model.facts.nodes.map((n) => n.node);
  const parentOf = new Map(model.facts.nodes.map((n) => [n.node, n.parent ?? null]));
  const pathTo = (node) => {
    const out = [];
    for (let at = node; at; at = parentOf.get(at)) out.unshift(at);
    return out;
  };
  const catalog = model.roles.SUPER_ADMIN;
  const everything = [];
  for (const key of [...catalog, 'miner:nope']) {
    everything.push({ permission: key, path: [] });
    for (const node of known) {
      everything.push({ permission: key, path: pathTo(node) });
      everything.push({ permission: key, path: [...pathTo(node), 'miner:x-0'] });
    }
  }
  const sameJson = (what, a, b) => {
    if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`addon vs wasm, ${what}: ${JSON.stringify(a)} != ${JSON.stringify(b)}`);
  };
  for (const c of everything) {
    if (snap.check(c.permission, c.path) !== nodeSnap.check(c.permission, c.path)) {
      throw new Error(`addon vs wasm: ${c.permission} at ${c.path}`);
    }
  }
  sameJson('checkMany (model)', nodeSnap.checkMany(everything), snap.checkMany(everything));
  sameJson('checkMany (nav tree)', nodeNavSnap.checkMany(navTree), navSnap.checkMany(navTree));
  sameJson('nav()', nodeNavSnap.nav(), navSnap.nav());
  for (const key of catalog) sameJson(`canAnywhere ${key}`, nodeSnap.canAnywhere(key), snap.canAnywhere(key));
  for (const field of ['org', 'principal', 'revision', 'kid', 'catalogHash', 'expiresAt']) {
    sameJson(`header ${field}`, nodeSnap[field], snap[field]);
  }
  const addonQuestions = questions * 2 + everything.length * 2 + navTree.length + catalog.length;
  // The timed questions themselves.
  const expect = (what, got, want) => {
    if (got !== want) throw new Error(`${what}: ${got}, expected ${want}`);
  };
  for (const [name, s, h] of [['tessera', snap, reboot], ['addon', nodeSnap, nodeReboot]]) {
    expect(`${name} allow4`, s.check(h, ALLOW4), 'allow');
    expect(`${name} deny4`, s.check(h, DENY4), 'deny');
    expect(`${name} allow3`, s.check(h, ALLOW3), 'allow');
  }
  expect('casl simple', caslSimple.can('reboot', subject('Miner', { siteId: '1', rackId: '1-2' })), true);
  expect('cedar simple', cedarDecision(cedar.statefulIsAuthorized(cedarSimpleCall)), 'allow');
  // checkMany over the nav tree answers what nav() shows.
  const decisions = navSnap.checkMany(navTree);
  const shown = navTree.filter((_, at) => decisions[at].decision === 'allow').map((item) => item.route);
  expect('checkMany vs nav()', JSON.stringify(shown), JSON.stringify(navSnap.nav()));
  return { questions, allowed, navShown: shown.length, addonQuestions };
}

// ---------------------------------------------------------------- timing

let sink;

function timeBatch(fn, n) {
  let last;
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) last = fn();
  const elapsed = process.hrtime.bigint() - start;
  sink = last;
  return Number(elapsed) / n;
}

function bench(name, fn, notes = {}) {
  // Warm-up, which also estimates the cost per call.
  let calls = 0;
  const warmStart = process.hrtime.bigint();
  const warmBudget = BigInt(WARMUP_MS) * 1_000_000n;
  while (process.hrtime.bigint() - warmStart < warmBudget) {
    for (let i = 0; i < 16; i++) sink = fn();
    calls += 16;
  }
  const perCall = Number(process.hrtime.bigint() - warmStart) / calls;
  const n = Math.max(10, Math.round((BATCH_MS * 1e6) / perCall));
  const samples = [];
  for (let b = 0; b < BATCHES; b++) samples.push(timeBatch(fn, n));
  samples.sort((a, b) => a - b);
  const result = {
    name,
    median_ns: samples[Math.floor(samples.length / 2)],
    min_ns: samples[0],
    max_ns: samples[samples.length - 1],
    calls_per_batch: n,
    batches: BATCHES,
    ...notes,
  };
  const items = notes.items_per_call;
  if (items) result.median_ns_per_item = result.median_ns / items;
  results.push(result);
  process.stderr.write(`  ${name}: ${fmt(result.median_ns)}\n`);
  return result;
}

function fmt(ns) {
  if (ns < 1000) return `${ns.toFixed(ns < 10 ? 2 : ns < 100 ? 1 : 0)} ns`;
  if (ns < 1e6) return `${(ns / 1000).toFixed(ns < 1e4 ? 2 : 1)} µs`;
  return `${(ns / 1e6).toFixed(2)} ms`;
}

// ------------------------------------------------------------------- run

const results = [];
const agreement = agree();
process.stderr.write(
  `agreement: ${agreement.questions} (miner action, miner) questions, ${agreement.allowed} allow, ` +
    `Tessera = CASL = Cedar on all; checkMany = nav() (${agreement.navShown} of ${navTree.length} shown); ` +
    `addon = wasm on ${agreement.addonQuestions} answers\n`,
);

const caslAllow = caslMiner(ALLOW4);
const caslDeny = caslMiner(DENY4);
const caslSimpleSubject = subject('Miner', { id: '1-2-3-4', siteId: '1', rackId: '1-2', shelfId: '1-2-3' });
const cedarAllow = cedarCall('miner:reboot', ALLOW4, { preparsedPolicySetId: 'model' });
const cedarDeny = cedarCall('miner:reboot', DENY4, { preparsedPolicySetId: 'model' });
const cedarAllowUnparsed = cedarCall('miner:reboot', ALLOW4, { policies: { staticPolicies: cedarPolicyText } });
const navHandles = navTree.map((item) => ({ handle: navSnap.permission(item.permission), path: item.path }));

const group = (label) => process.stderr.write(`${label}\n`);

group('@tessera/web');
bench('tessera check, handle, depth 4, allow', () => snap.check(reboot, ALLOW4), { engine: 'tessera', kind: 'check' });
bench('tessera check, handle, depth 4, deny (cap)', () => snap.check(reboot, DENY4), { engine: 'tessera', kind: 'check' });
bench('tessera check, handle, depth 3, allow', () => snap.check(reboot, ALLOW3), { engine: 'tessera', kind: 'check' });
bench('tessera check, string key, depth 4, allow', () => snap.check('miner:reboot', ALLOW4), { engine: 'tessera', kind: 'check' });
bench('tessera check, string key, depth 4, deny (cap)', () => snap.check('miner:reboot', DENY4), { engine: 'tessera', kind: 'check' });
bench('tessera canAnywhere, handle', () => snap.canAnywhere(reboot), { engine: 'tessera', kind: 'check' });
bench('tessera checkMany, 50-item nav tree', () => navSnap.checkMany(navTree), {
  engine: 'tessera',
  kind: 'batch',
  items_per_call: navTree.length,
});
bench(
  'tessera 50 × check(handle) in a JS loop, same tree',
  () => {
    let allowed = 0;
    for (const item of navHandles) if (navSnap.check(item.handle, item.path) === 'allow') allowed += 1;
    return allowed;
  },
  { engine: 'tessera', kind: 'batch', items_per_call: navTree.length },
);
bench('tessera nav(), 50 routes', () => navSnap.nav(), { engine: 'tessera', kind: 'batch', items_per_call: navTree.length });
bench(
  'tessera open (verify + decode), 100 scopes, tss1 text',
  () => {
    const opened = verifier.open(snapshot100Text, NOW);
    opened.free();
    return opened;
  },
  { engine: 'tessera', kind: 'open', text_bytes: snapshot100Text.length },
);

// Where the time of a handle check goes: the same call on the raw
// wasm-bindgen class (internal, not API) with the path already joined, the
// boundary floor (a check at the org root, empty path), and the join alone.
group('diagnostics');
const rawSnap = snap._raw;
const rawReboot = reboot._handle;
const allow4Text = ALLOW4.join(',');
bench('diag: raw checkHandle, depth 4 pre-joined', () => rawSnap.checkHandle(rawReboot, allow4Text, undefined), {
  engine: 'tessera',
  kind: 'diagnostic',
});
bench("diag: raw checkHandle, org root ('')", () => rawSnap.checkHandle(rawReboot, '', undefined), {
  engine: 'tessera',
  kind: 'diagnostic',
});
bench('diag: path.join(",") alone, depth 4', () => ALLOW4.join(','), { engine: 'js', kind: 'diagnostic' });

group('@tessera/node (napi)');
const nodeNavHandles = navTree.map((item) => ({ handle: nodeNavSnap.permission(item.permission), path: item.path }));
bench('napi check, handle, depth 4, allow', () => nodeSnap.check(nodeReboot, ALLOW4), { engine: 'tessera-node', kind: 'check' });
bench('napi check, handle, depth 4, deny (cap)', () => nodeSnap.check(nodeReboot, DENY4), { engine: 'tessera-node', kind: 'check' });
bench('napi check, handle, depth 3, allow', () => nodeSnap.check(nodeReboot, ALLOW3), { engine: 'tessera-node', kind: 'check' });
bench('napi check, handle, depth 1 (site:1), deny', () => nodeSnap.check(nodeReboot, DEPTH1), { engine: 'tessera-node', kind: 'check' });
bench('napi check, handle, org root (empty path), deny', () => nodeSnap.check(nodeReboot, ROOT_PATH), { engine: 'tessera-node', kind: 'check' });
bench('napi check, string key, depth 4, allow', () => nodeSnap.check('miner:reboot', ALLOW4), { engine: 'tessera-node', kind: 'check' });
bench('napi check, string key, depth 4, deny (cap)', () => nodeSnap.check('miner:reboot', DENY4), { engine: 'tessera-node', kind: 'check' });
bench('napi canAnywhere, handle', () => nodeSnap.canAnywhere(nodeReboot), { engine: 'tessera-node', kind: 'check' });
bench('napi checkMany, 50-item nav tree', () => nodeNavSnap.checkMany(navTree), {
  engine: 'tessera-node',
  kind: 'batch',
  items_per_call: navTree.length,
});
bench(
  'napi 50 × check(handle) in a JS loop, same tree',
  () => {
    let allowed = 0;
    for (const item of nodeNavHandles) if (nodeNavSnap.check(item.handle, item.path) === 'allow') allowed += 1;
    return allowed;
  },
  { engine: 'tessera-node', kind: 'batch', items_per_call: navTree.length },
);
bench('napi nav(), 50 routes', () => nodeNavSnap.nav(), { engine: 'tessera-node', kind: 'batch', items_per_call: navTree.length });
bench(
  'napi open (verify + decode), 100 scopes, tss1 text',
  () => {
    const opened = nodeVerifier.open(snapshot100Text, NOW);
    opened.free();
    return opened;
  },
  { engine: 'tessera-node', kind: 'open', text_bytes: snapshot100Text.length },
);
const nodeRawSnap = nodeSnap._raw;
const nodeRawReboot = nodeReboot._handle;
bench('diag: napi raw checkHandle, depth 4 pre-joined', () => nodeRawSnap.checkHandle(nodeRawReboot, allow4Text, undefined), {
  engine: 'tessera-node',
  kind: 'diagnostic',
});
bench("diag: napi raw checkHandle, org root ('')", () => nodeRawSnap.checkHandle(nodeRawReboot, '', undefined), {
  engine: 'tessera-node',
  kind: 'diagnostic',
});
// The addon's fast function (what `check(handle, path)` calls): the
// snapshot and the handle by number, the path pre-joined.
const nodeRawModule = require('../../bindings-node/pkg/raw/tessera-node.node');
bench('diag: napi raw fast checkHandle(ids), depth 4 pre-joined', () => nodeRawModule.checkHandle(nodeSnap._id, nodeReboot._id, allow4Text, undefined), {
  engine: 'tessera-node',
  kind: 'diagnostic',
});
bench("diag: napi raw fast checkHandle(ids), org root ('')", () => nodeRawModule.checkHandle(nodeSnap._id, nodeReboot._id, '', undefined), {
  engine: 'tessera-node',
  kind: 'diagnostic',
});

group('@casl/ability');
bench('casl can(), 1 rule (siteId)', () => caslSimple.can('reboot', caslSimpleSubject), { engine: 'casl', kind: 'check' });
bench(`casl can(), model rules (${caslRules}), allow`, () => caslModel.can('reboot', caslAllow), {
  engine: 'casl',
  kind: 'check',
  rules: caslRules,
});
bench(`casl can(), model rules (${caslRules}), deny (cap)`, () => caslModel.can('reboot', caslDeny), {
  engine: 'casl',
  kind: 'check',
  rules: caslRules,
});

group('@cedar-policy/cedar-wasm');
bench('cedar statefulIsAuthorized, 1 pre-parsed policy', () => cedar.statefulIsAuthorized(cedarSimpleCall), {
  engine: 'cedar',
  kind: 'check',
  policies: 1,
});
bench(`cedar statefulIsAuthorized, ${cedarPolicies.length} pre-parsed policies, allow`, () => cedar.statefulIsAuthorized(cedarAllow), {
  engine: 'cedar',
  kind: 'check',
  policies: cedarPolicies.length,
});
bench(`cedar statefulIsAuthorized, ${cedarPolicies.length} pre-parsed policies, deny (cap)`, () => cedar.statefulIsAuthorized(cedarDeny), {
  engine: 'cedar',
  kind: 'check',
  policies: cedarPolicies.length,
});
bench(`cedar isAuthorized, ${cedarPolicies.length} policies as text per call, allow`, () => cedar.isAuthorized(cedarAllowUnparsed), {
  engine: 'cedar',
  kind: 'check',
  policies: cedarPolicies.length,
});

if (sink === undefined) throw new Error('nothing was computed');

// ---------------------------------------------------------------- report

const byName = (prefix) => results.find((r) => r.name.startsWith(prefix));
const handle = byName('tessera check, handle, depth 4, allow');
const casl = byName('casl can(), model rules');
const caslOne = byName('casl can(), 1 rule');
const cedarOne = byName('cedar statefulIsAuthorized, 1 pre-parsed');
const napiHandle = byName('napi check, handle, depth 4, allow');
const goals = {
  handle_check_le_500ns: handle.median_ns <= 500,
  handle_check_not_slower_than_casl_model: handle.median_ns <= casl.median_ns,
  handle_check_not_slower_than_casl_1_rule: handle.median_ns <= caslOne.median_ns,
  napi_handle_check_le_300ns: napiHandle.median_ns <= 300,
};

let commit = 'unknown';
try {
  commit = execSync('git rev-parse --short HEAD', { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  const dirty = execSync('git status --porcelain', { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  if (dirty) commit += ' (dirty)';
} catch {
  // Not a git checkout.
}
const meta = {
  date: new Date().toISOString(),
  commit,
  node: process.version,
  v8: process.versions.v8,
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cpus: os.cpus().length,
  casl: JSON.parse(readFileSync(path.join(ROOT, 'node_modules/@casl/ability/package.json'), 'utf8')).version,
  cedar_wasm: cedar.getCedarVersion(),
  batches: BATCHES,
  batch_ms: BATCH_MS,
  warmup_ms: WARMUP_MS,
  now: NOW,
};

const rows = results.map((r) => {
  const perItem = r.median_ns_per_item === undefined ? '' : fmt(r.median_ns_per_item);
  return [r.name, fmt(r.median_ns), `${fmt(r.min_ns)} – ${fmt(r.max_ns)}`, perItem];
});
const header = ['bench', 'median / call', 'batch min – max', 'per item'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
console.log(`\n${meta.cpus} CPUs (${meta.cpu}), node ${meta.node}, commit ${meta.commit}`);
console.log(`median of ${BATCHES} batches of ~${BATCH_MS} ms after ${WARMUP_MS} ms warm-up\n`);
console.log(line(header));
console.log(line(widths.map((w) => '-'.repeat(w))));
for (const row of rows) console.log(line(row));
console.log(
  `\nagreement: ${agreement.questions} questions, Tessera = CASL = Cedar; ` +
    `checkMany = nav() (${agreement.navShown}/${navTree.length} shown); addon = wasm on ${agreement.addonQuestions} answers`,
);
console.log(
  `goal: handle check ${fmt(handle.median_ns)} ≤ 500 ns: ${goals.handle_check_le_500ns ? 'pass' : 'MISS'}; ` +
    `≤ CASL can() (model ${fmt(casl.median_ns)}, 1 rule ${fmt(caslOne.median_ns)}): ` +
    `${goals.handle_check_not_slower_than_casl_model ? 'pass' : 'MISS'} / ${goals.handle_check_not_slower_than_casl_1_rule ? 'pass' : 'MISS'}`,
);
console.log(
  `goal (@tessera/node): handle check ${fmt(napiHandle.median_ns)} ≤ 300 ns: ${goals.napi_handle_check_le_300ns ? 'pass' : 'MISS'}; ` +
    `vs @tessera/web ${fmt(handle.median_ns)} (${(handle.median_ns / napiHandle.median_ns).toFixed(2)}×), ` +
    `vs CASL 1 rule ${fmt(caslOne.median_ns)}`,
);
console.log(`Cedar (1 pre-parsed policy) ÷ Tessera handle: ${(cedarOne.median_ns / handle.median_ns).toFixed(0)}×`);

mkdirSync(DATA, { recursive: true });
const out = path.join(DATA, 'js-results.json');
writeFileSync(out, `${JSON.stringify({ meta, agreement, goals, results }, null, 2)}\n`);
console.log(`\nwrote ${path.relative(ROOT, out)}`);
