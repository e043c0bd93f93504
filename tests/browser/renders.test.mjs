// Render counts in a real Chromium: after a snapshot swap, only the
// components whose answer changed re-render, and an answer asked again of
// the same snapshot makes no call into the wasm module (the session's
// per-snapshot memo). Once with @tessera/react (useCan, useCanAnywhere and
// the package's <Can>, counted by a Profiler), once with @tessera/vue
// (computed-based probes and its <Can>).
//
// The snapshots are real: a `tessera serve` seeded like the fleet example
// (examples/fleet-react/data.mjs) signs bob's snapshot (a), then one grant
// changes (FIELD_TECH at site:2 added for bob) and it signs the next (b).
// The page's session fetches through a stub the test drives (no relay): it
// serves the host's JWKS and snapshot a, then b once the test says so.
// The pages (tests/browser/renders/) are bundled here with esbuild into
// tests/out/renders/.
//
// Needs target/debug/tessera, the built wasm package, Debian's chromium.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { build } from 'esbuild';
import { TesseraClient } from '@tessera/node/client';
import { TesseraVerifier } from '@tessera/web';

import { ORG, seed } from '../../examples/fleet-react/data.mjs';
import { root, startHost } from '../support/host.mjs';
import { PROBES, shown } from './renders/probes.mjs';
import { launch, openAs } from './support.mjs';

const OPTIONS = { timeout: 60_000 };
const OUT = path.join(root, 'tests/out/renders');
const ORIGIN = 'http://renders.test';
const WASM = path.join(root, 'wasm/pkg/web/tessera_wasm_bg.wasm');

let host;
let browser;
let fixture;
/** Each probe's answer under snapshot a and b, from @tessera/web in Node. */
const answers = { a: {}, b: {} };

/** The distinct `check` questions the probes ask (as the page's module counter names them). */
const checkQuestions = [...new Set(PROBES.filter((p) => p.kind !== 'anywhere').map((p) => `${p.permission}@${p.path.join('/')}`))];

async function bundle(name, entry, define) {
  await build({
    entryPoints: [path.join(root, 'tests/browser/renders', entry)],
    outfile: path.join(OUT, `${name}.js`),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    jsx: 'automatic',
    define,
    logLevel: 'warning',
  });
}

before(async () => {
  host = await startHost();
  await seed({ host: host.base, token: host.token });
  const admin = new TesseraClient({ baseUrl: host.base, token: host.token });
  const keys = await admin.keys();
  const a = await admin.snapshot({ org: ORG, principal: 'bob', text: true });
  await admin.createAssignment(ORG, { subject: 'user:bob', role: 'FIELD_TECH', scope: 'site:2' });
  const b = await admin.snapshot({ org: ORG, principal: 'bob', text: true });
  fixture = { keys, snapshots: { a, b } };

  const verifier = TesseraVerifier.fromJwks(keys);
  for (const [label, text] of Object.entries(fixture.snapshots)) {
    const snapshot = verifier.open(text);
    for (const probe of PROBES) {
      answers[label][probe.name] = probe.kind === 'anywhere'
        ? snapshot.canAnywhere(probe.permission)
        : snapshot.check(probe.permission, probe.path);
    }
    snapshot.free();
  }

  await Promise.all([
    // React's development build: <Profiler> reports only there (or in the profiling build).
    bundle('react', 'react-page.jsx', { 'process.env.NODE_ENV': '"development"' }),
    bundle('vue', 'vue-page.mjs', {
      'process.env.NODE_ENV': '"production"',
      __VUE_OPTIONS_API__: 'true',
      __VUE_PROD_DEVTOOLS__: 'false',
      __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
    }),
  ]);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await host?.stop();
});

const changed = () => PROBES.filter((p) => answers.a[p.name] !== answers.b[p.name]).map((p) => p.name);

test('the fixture: one grant changes some answers and leaves the others', () => {
  // FIELD_TECH at site:2 gives bob blink and rack:manage there; nothing at site 1 moves.
  assert.deepEqual(changed(), ['blink-211', 'rack-manage-21']);
  assert.equal(answers.a['read-113'], 'not_found');
  assert.equal(answers.a['reboot-111'], 'deny');
});

/** A page serving `name`'s bundle at ORIGIN, with the fixture in `window.FIXTURE`. */
async function openPage(t, name) {
  const html = `<!doctype html><meta charset="utf-8"><title>renders: ${name}</title>
<script>window.FIXTURE = ${JSON.stringify(fixture)};</script>
<div id="root"></div><script type="module" src="/${name}.js"></script>`;
  const page = await openAs(t, browser, ORIGIN, null, {
    setup: (context) => context.route(`${ORIGIN}/**`, (route) => {
      const { pathname } = new URL(route.request().url());
      if (pathname === `/${name}.html`) return route.fulfill({ contentType: 'text/html', body: html });
      if (pathname === `/${name}.js`) return route.fulfill({ contentType: 'text/javascript', body: readFileSync(path.join(OUT, `${name}.js`)) });
      if (pathname === '/tessera_wasm_bg.wasm') return route.fulfill({ contentType: 'application/wasm', body: readFileSync(WASM) });
      return route.fulfill({ status: 404, body: 'not found' });
    }),
  });
  await page.goto(`${ORIGIN}/${name}.html`);
  await page.waitForFunction(() => window.tessera?.status === 'ready');
  return page;
}

/** What each probe shows now, by name (a <Can> probe: its children or its fallback). */
const showing = (page, suffix = '') => page.evaluate(({ names, suffix }) =>
  Object.fromEntries(names.map((name) => [name, document.querySelector(`[data-probe="${name}${suffix}"]`)?.textContent ?? null])),
{ names: PROBES.map((p) => p.name), suffix });

const expectShown = (label) => Object.fromEntries(PROBES.map((p) => [p.name, shown(p, answers[label][p.name])]));

/** `{renders, checks}`: the render counts, and the module checks so far. */
const counters = (page) => page.evaluate(() => ({ renders: { ...window.renders }, checks: [...window.moduleChecks] }));

const delta = (before, after) => Object.fromEntries(Object.keys(after).map((name) => [name, after[name] - (before[name] ?? 0)]));

/** Serves snapshot b and refreshes; resolves once the framework has flushed. */
async function swap(page) {
  await page.evaluate(async () => {
    window.served = 'b';
    await window.tessera.refresh();
    await (window.flushed ? window.flushed() : null);
    await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
  });
}

/** The assertions both frameworks share, around one swap from a to b. */
async function swapOnlyChangedRerender(t, page) {
  await page.waitForFunction((n) => Object.keys(window.renders).length >= n, PROBES.length);
  assert.deepEqual(await showing(page), expectShown('a'), 'snapshot a shown');
  const start = await counters(page);
  // Every question was asked of snapshot a exactly once, however many probes and reads.
  assert.deepEqual([...start.checks].sort(), [...checkQuestions].sort(), 'one module check per question on snapshot a');

  await swap(page);
  assert.deepEqual(await showing(page), expectShown('b'), 'snapshot b shown');
  const swapped = await counters(page);
  const rerendered = delta(start.renders, swapped.renders);
  t.diagnostic(`renders at the swap: ${JSON.stringify(rerendered)}`);
  const want = Object.fromEntries(PROBES.map((p) => [p.name, changed().includes(p.name) ? 1 : 0]));
  assert.deepEqual(rerendered, want, 'exactly the probes whose answer changed re-rendered, once');
  const asked = swapped.checks.slice(start.checks.length);
  assert.deepEqual([...asked].sort(), [...checkQuestions].sort(), 'one module check per question on snapshot b');
  return swapped;
}

test('@tessera/react: a swap re-renders only the components whose answer changed; a re-render asks the module nothing', OPTIONS, async (t) => {
  const page = await openPage(t, 'react');
  const swapped = await swapOnlyChangedRerender(t, page);

  // Every probe renders again (its parent did), asking the same questions: all from the memo.
  await page.evaluate(() => window.rerender());
  const again = await counters(page);
  assert.deepEqual(delta(swapped.renders, again.renders), Object.fromEntries(PROBES.map((p) => [p.name, 1])), 'every probe rendered again');
  assert.deepEqual(again.checks.slice(swapped.checks.length), [], 'no module call for a question already answered');
  assert.deepEqual(await showing(page), expectShown('b'));
  const requests = await page.evaluate(() => window.requests);
  assert.deepEqual(requests, ['/tessera/keys', '/tessera/snapshot', '/tessera/snapshot'], 'the stub served the keys and the two snapshots');
});

test('@tessera/vue: a swap re-renders only the components whose answer changed; new computeds asking again call the module nothing', OPTIONS, async (t) => {
  const page = await openPage(t, 'vue');
  const swapped = await swapOnlyChangedRerender(t, page);

  // A second copy of every probe: new computeds, new <Can>s, the same questions of the same snapshot.
  await page.evaluate(() => window.showTwins());
  const again = await counters(page);
  assert.deepEqual(await showing(page, '+twin'), expectShown('b'), 'the twins show snapshot b');
  assert.deepEqual(delta(swapped.renders, again.renders),
    Object.fromEntries([...PROBES.map((p) => [p.name, 0]), ...PROBES.map((p) => [`${p.name}+twin`, 1])]),
    'the twins rendered once, the first probes not again');
  assert.deepEqual(again.checks.slice(swapped.checks.length), [], 'no module call for a question already answered');
  const requests = await page.evaluate(() => window.requests);
  assert.deepEqual(requests, ['/tessera/keys', '/tessera/snapshot', '/tessera/snapshot'], 'the stub served the keys and the two snapshots');
});
