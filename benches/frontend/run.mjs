// Front ends: swapping the snapshot under 1,000 <Can>, in Chromium.
//
//   node benches/frontend/run.mjs [--runs N]      (N swaps each way; default 15)
//
// A real `tessera serve` (target/debug/tessera, tests/support/host.mjs) is
// seeded with the fleet manifest: sites 1 and 2, one rack each, 500 miners
// in each rack, and bob as FIELD_TECH at site:1. It signs bob's snapshot
// (a); then FIELD_TECH at site:2 is added and it signs the next (b). Under
// a, bob may blink the 500 miners of site 1; under b, all 1,000: a swap
// either way changes 500 of the 1,000 answers.
//
// The page (benches/frontend/page.jsx, bundled here with esbuild, React's
// production build, into tests/out/bench-frontend/) mounts 1,000
// @tessera/react <Can> over a session whose fetch is a stub serving a or b,
// and 1,000 CASL <Can> equivalents over @casl/ability rules with the same
// answers (`blink_led` on `Miner` with `{site: '1'}`, then also `{site:
// '2'}`). Each sample times one swap until React has committed: the
// session's refresh() (stub fetch, verify + open the signed snapshot, emit)
// and React's render of the <Can> whose answer changed; CASL's
// ability.update(rules) and React's render of every <Can> (as @casl/react's
// <Can> force-updates on each update). Swaps alternate a→b, b→a, Tessera
// and CASL interleaved, after 3 warm-up swaps each. Prints a markdown table
// of medians (ms).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { TesseraClient } from '@tessera/node/client';

import { root, startHost } from '../../tests/support/host.mjs';
import { launch } from '../../tests/browser/support.mjs';
import { bundle } from '../../scripts/bundle.mjs';

const args = process.argv.slice(2);
const RUNS = args.includes('--runs') ? Number(args[args.indexOf('--runs') + 1]) : 15;
const WARMUP = 3;
const PER_SITE = 500;
const ORG = 'acme';
const OUT = path.join(root, 'tests/out/bench-frontend');
const ORIGIN = 'http://bench.test';
assert.ok(Number.isInteger(RUNS) && RUNS > 0, '--runs N: a positive number of swaps each way');

const miners = [];
for (const site of ['1', '2']) {
  for (let n = 0; n < PER_SITE; n++) {
    const id = `${site}${String(n).padStart(4, '0')}`;
    miners.push({ id, site, path: [`site:${site}`, `rack:${site}1`, `miner:${id}`] });
  }
}

/** Bob's two snapshots and the JWKS, from a real host. */
async function snapshots() {
  const host = await startHost();
  try {
    const admin = new TesseraClient({ baseUrl: host.base, token: host.token });
    await admin.createOrg({ id: ORG, name: 'Acme Mining' });
    await admin.putUser('bob', { name: 'Bob' });
    await admin.putMember(ORG, 'bob');
    for (const site of ['1', '2']) {
      await admin.putNode(ORG, `site:${site}`);
      await admin.putNode(ORG, `rack:${site}1`, { parent: `site:${site}` });
    }
    for (let at = 0; at < miners.length; at += 25) {
      await Promise.all(miners.slice(at, at + 25).map((miner) => admin.putNode(ORG, `miner:${miner.id}`, { parent: `rack:${miner.site}1` })));
    }
    await admin.createAssignment(ORG, { subject: 'user:bob', role: 'FIELD_TECH', scope: 'site:1' });
    const a = await admin.snapshot({ org: ORG, principal: 'bob', text: true });
    await admin.createAssignment(ORG, { subject: 'user:bob', role: 'FIELD_TECH', scope: 'site:2' });
    const b = await admin.snapshot({ org: ORG, principal: 'bob', text: true });
    return { keys: await admin.keys(), snapshots: { a, b } };
  } finally {
    await host.stop();
  }
}

const median = (values) => {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const ms = (value) => value.toFixed(2);

const { keys, snapshots: signed } = await snapshots();
const rule = (site) => ({ action: 'blink_led', subject: 'Miner', conditions: { site } });
const fixture = { keys, snapshots: signed, rules: { a: [rule('1')], b: [rule('1'), rule('2')] }, miners };

await bundle({ entry: path.join(root, 'benches/frontend/page.jsx'), outfile: path.join(OUT, 'page.js'), wasm: false });
const html = `<!doctype html><meta charset="utf-8"><title>1,000 Can</title>
<script>window.FIXTURE = ${JSON.stringify(fixture)};</script>
<div id="tessera"></div><div id="casl"></div><script type="module" src="/page.js"></script>`;
const files = {
  '/': ['text/html', html],
  '/page.js': ['text/javascript', readFileSync(path.join(OUT, 'page.js'))],
  '/tessera_wasm_bg.wasm': ['application/wasm', readFileSync(path.join(root, 'wasm/pkg/web/tessera_wasm_bg.wasm'))],
};

const browser = await launch();
const samples = { tessera: [], casl: [] };
const costs = [];
try {
  const context = await browser.newContext({ viewport: { width: 1000, height: 600 } });
  await context.route(`${ORIGIN}/**`, (route) => {
    const file = files[new URL(route.request().url()).pathname];
    return file ? route.fulfill({ contentType: file[0], body: file[1] }) : route.fulfill({ status: 404, body: '' });
  });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
  await page.goto(`${ORIGIN}/`);
  await page.waitForFunction(() => window.bench);
  const start = await page.evaluate(() => window.bench.ready());
  assert.deepEqual(start, { tessera: PER_SITE, casl: PER_SITE, status: 'ready' }, 'snapshot a and rules a: 500 allowed');

  const want = { a: PER_SITE, b: 2 * PER_SITE };
  for (let run = 0; run < WARMUP + RUNS; run++) {
    for (const label of ['b', 'a']) {
      for (const which of ['tessera', 'casl']) {
        const sample = await page.evaluate(([w, l]) => window.bench[w](l), [which, label]);
        assert.equal(sample.allowed, want[label], `${which} shows ${want[label]} allowed under ${label}`);
        if (which === 'casl') assert.equal(sample.rendered, 2 * PER_SITE, 'every CASL <Can> re-renders at each update');
        if (run >= WARMUP) samples[which].push(sample);
      }
    }
  }
  for (let run = 0; run < RUNS; run++) costs.push(await page.evaluate(() => window.bench.costs()));
  assert.deepEqual(errors, [], 'errors in the page');
} finally {
  await browser.close();
}

const row = (name, list, rendered) => `| ${name} | ${rendered} | **${ms(median(list.map((s) => s.total)))}** | `
  + `${ms(median(list.map((s) => s.source)))} | ${ms(median(list.map((s) => s.react)))} | `
  + `${ms(Math.min(...list.map((s) => s.total)))} – ${ms(Math.max(...list.map((s) => s.total)))} |`;
const ratio = median(samples.tessera.map((s) => s.total)) / median(samples.casl.map((s) => s.total));
const version = (name) => JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version;

console.log(`Swapping the snapshot under 1,000 <Can> (500 answers change), Chromium ${browser.version()}, `
  + `React ${version('react')}, @casl/ability ${version('@casl/ability')}; median of ${samples.tessera.length} swaps `
  + `(${RUNS} each way, after ${WARMUP} warm-up rounds), ms.\n`);
console.log('| front end | re-rendered per swap | swap until React committed | of which: until the change is announced | of which: announcement to commit (listeners, answers, React) | min – max |');
console.log('|---|---|---|---|---|---|');
console.log(row('@tessera/react `<Can>` (session.refresh(): stub fetch, verify + open, emit)', samples.tessera, '500 (the answers that changed)'));
console.log(row('CASL `<Can>` equivalent (ability.update(rules) in flushSync)', samples.casl, '1,000 (every subscriber)'));
console.log(`\nTessera / CASL (median swap): ${ratio.toFixed(2)}x`);
console.log(`\nOutside a swap, 1,000 calls each (median of ${costs.length}): snapshot.check into the module `
  + `${ms(median(costs.map((c) => c.check)))} ms; session.decision from the memo ${ms(median(costs.map((c) => c.memo)))} ms; `
  + `CASL ability.can ${ms(median(costs.map((c) => c.casl)))} ms.`);
console.log(`\ncommand: node benches/frontend/run.mjs${args.length ? ` ${args.join(' ')}` : ''}`);
