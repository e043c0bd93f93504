// examples/media-vue in a real Chromium, against a real `tessera serve`
// (5 s snapshots) seeded through the host API, behind the app's Express
// backend and its @tessera/node/express relay: what viv, ed and the
// signed-out kiosk visitor see (platforms and roms with the hidden rom
// absent, buttons, collections editable only by their owner), a forbidden
// route landing on its fallback, the hidden rom's URL as the app's 404, a
// revocation through the host API removing buttons within 2 s (events) or
// within the polling interval (events blocked, 2 s), refreshes before expiry
// without a flash of "denied", the loading state while the first snapshot
// is slow, and a tampered snapshot's error state.
// Screenshots: tests/out/screenshots/media-vue/.
//
// Needs: target/debug/tessera, the built packages and the example bundle
// (node examples/media-vue/build.mjs); ./scripts/test does all of it.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { TesseraClient } from '@tessera/node/client';

import { ORG, seed } from '../../examples/media-vue/data.mjs';
import { startApp } from '../../examples/media-vue/server.mjs';
import { root, startHost } from '../support/host.mjs';
import {
  afterFreshSnapshot, assertNoFlash, blockEvents, countSnapshots, delaySnapshots, launch, openAs, sampler, shots, tamperSnapshots,
  within,
} from './support.mjs';

const OPTIONS = { timeout: 90_000 };
const dir = shots('media-vue');

let host;
let app;
let browser;
let admin;
let edEditor;

before(async () => {
  assert.ok(fs.existsSync(path.join(root, 'examples/media-vue/dist/app.js')), 'build it: node examples/media-vue/build.mjs');
  host = await startHost({ manifest: 'examples/media/manifest.toml', args: ['--snapshot-ttl', '5'] });
  ({ edEditor } = await seed({ host: host.base, token: host.token }));
  admin = new TesseraClient({ baseUrl: host.base, token: host.token });
  app = await startApp({ host: host.base, token: await host.createToken('check'), pollSeconds: 2 });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await app?.close();
  await host?.stop();
});

const ready = (page) => page.waitForFunction(() => window.tessera?.status === 'ready');
const nav = (page) => page.$$eval('nav a', (links) => links.map((a) => a.dataset.nav));
const rows = (page, attribute) => page.$$eval(`[data-${attribute}]`, (items, name) => items.map((item) => item.dataset[name]), attribute);
const count = (page, selector) => page.locator(selector).count();

/** Ed's EDITOR at the SNES platform taken away through the host API; `restore` gives it back. */
async function revokeEd() {
  await admin.deleteAssignment(ORG, edEditor);
  return async () => {
    ({ id: edEditor } = await admin.createAssignment(ORG, { subject: 'user:ed', role: 'EDITOR', scope: 'platform:snes' }));
  };
}

// viv views; ed edits the SNES shelf; the kiosk visitor (no cookie) only reads. rom 2 is
// hidden from everyone; each user edits only the collection they own.
const EXPECT = {
  viv: { nav: ['/platforms', '/collections'], roms: ['1'], download: 1, remove: 0, upload: 0, edit: ['favs'] },
  ed: { nav: ['/platforms', '/collections'], roms: ['1'], download: 1, remove: 1, upload: 1, edit: ['rpgs'] },
  kiosk: { nav: ['/platforms', '/collections'], roms: ['1'], download: 0, remove: 0, upload: 0, edit: [] },
};

test('viv, ed and the kiosk visitor each see their own library', OPTIONS, async (t) => {
  for (const [user, want] of Object.entries(EXPECT)) {
    const page = await openAs(t, browser, app.url, user === 'kiosk' ? null : user);
    await page.goto(`${app.url}/platforms`);
    await ready(page);
    await page.waitForSelector('[data-platform="snes"]');
    assert.deepEqual(await nav(page), want.nav, `${user}'s nav`);
    assert.deepEqual(await rows(page, 'platform'), ['snes', 'n64'], `${user}'s platforms`);
    await page.screenshot({ path: path.join(dir, `${user}-platforms.png`) });
    await page.click('[data-platform="snes"] a');
    await page.waitForSelector('[data-page="roms"] [data-rom]');
    assert.deepEqual(await rows(page, 'rom'), want.roms, `${user}'s snes roms (rom 2 hidden)`);
    assert.equal(await count(page, '[data-action="download"]'), want.download, `${user}'s download buttons`);
    assert.equal(await count(page, '[data-action="delete"]'), want.remove, `${user}'s delete buttons`);
    assert.equal(await count(page, '[data-action="upload"]'), want.upload, `${user}'s upload button`);
    await page.screenshot({ path: path.join(dir, `${user}-roms.png`) });
    await page.click('nav a[data-nav="/collections"]');
    await page.waitForSelector('[data-collection="favs"]');
    const editable = await page.$$eval('[data-collection]:has([data-action="edit"])', (items) => items.map((li) => li.dataset.collection));
    assert.deepEqual(editable, want.edit, `${user} edits only what they own`);
    await page.screenshot({ path: path.join(dir, `${user}-collections.png`) });
  }
});

test('a forbidden route lands on its fallback; a hidden rom is the app 404', OPTIONS, async (t) => {
  const viv = await openAs(t, browser, app.url, 'viv');
  await viv.goto(`${app.url}/admin`);
  await viv.waitForSelector('[data-page="home"]');
  assert.equal(new URL(viv.url()).pathname, '/', '/admin redirects to its fallback');
  await viv.goto(`${app.url}/platforms/snes/roms/2`);
  await viv.waitForSelector('[data-page="not-found"]');
  assert.equal(new URL(viv.url()).pathname, '/platforms/snes/roms/2', 'the 404 keeps the URL');
  await viv.screenshot({ path: path.join(dir, 'viv-hidden-rom-404.png') });
  await viv.goto(`${app.url}/platforms/snes/roms/1`);
  await viv.waitForSelector('[data-page="rom"]');
});

test('a revocation through the host API removes buttons within 2 s, without a reload', OPTIONS, async (t) => {
  const ed = await openAs(t, browser, app.url, 'ed');
  await ed.goto(`${app.url}/platforms/snes/roms`);
  await ed.waitForSelector('[data-action="delete"]');
  await afterFreshSnapshot(ed);
  const restore = await revokeEd();
  t.after(restore);
  const took = await within(ed, 2_000, () => document.querySelectorAll('[data-action="delete"]').length === 0);
  t.diagnostic(`removed after ${took} ms`);
  await ed.screenshot({ path: path.join(dir, 'ed-revoked.png') });
});

test('with the event stream blocked, a revocation is seen within the polling interval', OPTIONS, async (t) => {
  const ed = await openAs(t, browser, app.url, 'ed', {
    setup: blockEvents,
    allowErrors: /Failed to load resource/,
  });
  await ed.goto(`${app.url}/platforms/snes/roms`);
  await ed.waitForSelector('[data-action="delete"]');
  await afterFreshSnapshot(ed);
  const restore = await revokeEd();
  t.after(restore);
  const took = await within(ed, 3_000, () => document.querySelectorAll('[data-action="delete"]').length === 0);
  t.diagnostic(`removed after ${took} ms by polling`);
});

test('refreshes before expiry show no flash of denied (5 s snapshots, two refreshes)', OPTIONS, async (t) => {
  const counter = { fetched: 0 };
  const ed = await openAs(t, browser, app.url, 'ed', { setup: countSnapshots(counter) });
  await ed.goto(`${app.url}/platforms/snes/roms`);
  await ed.waitForSelector('[data-action="delete"]');
  await assertNoFlash(ed, counter, () => ({
    remove: document.querySelectorAll('[data-action="delete"]').length,
    download: document.querySelectorAll('[data-action="download"]').length,
    nav: document.querySelectorAll('nav a').length,
    state: document.querySelector('[data-state]')?.dataset.state ?? null,
  }), (s) => !(s.remove !== 1 || s.download !== 1 || s.nav !== 2 || s.state !== null));
});

test('while the first snapshot is slow the page shows its loading state, never the denied one', OPTIONS, async (t) => {
  const ed = await openAs(t, browser, app.url, 'ed', { setup: delaySnapshots(1_000) });
  await ed.goto(`${app.url}/platforms/snes/roms`);
  const stop = await sampler(ed, () => ({
    loading: Boolean(document.querySelector('[data-state="loading"]')),
    notFound: Boolean(document.querySelector('[data-page="not-found"]')),
    rows: document.querySelectorAll('[data-rom]').length,
    remove: document.querySelectorAll('[data-action="delete"]').length,
  }));
  await ed.screenshot({ path: path.join(dir, 'ed-loading.png') });
  await ed.waitForSelector('[data-action="delete"]', { timeout: 5_000 });
  const samples = await stop();
  assert.ok(samples.some((s) => s.loading), 'the loading state was shown');
  // Denied would be the guard's 404 or the roms page without ed's buttons.
  const denied = samples.filter((s) => s.notFound || (s.rows > 0 && s.remove === 0));
  assert.deepEqual(denied, [], 'the denied state never was');
});

test('a tampered snapshot shows a clear error state', OPTIONS, async (t) => {
  const ed = await openAs(t, browser, app.url, 'ed', {
    setup: tamperSnapshots,
  });
  await ed.goto(`${app.url}/`);
  const alert = await ed.waitForSelector('[role="alert"][data-state="error"]');
  assert.match(await alert.textContent(), /BAD_SIGNATURE/);
  assert.equal(await count(ed, 'nav a'), 0, 'nothing is shown as allowed');
  await ed.screenshot({ path: path.join(dir, 'ed-tampered.png') });
});
