// examples/fleet-react in a real Chromium, against a real `tessera serve`
// (5 s snapshots) seeded through the host API, behind the app's Express
// backend and its @tessera/node/express relay: what each demo user sees, a
// forbidden route landing on its fallback, a hidden miner as the app's 404,
// a revocation through the host API removing buttons and nav within 2 s
// (events) or within the polling interval (events blocked, 2 s), refreshes
// before expiry without a flash of "denied", the loading state while the
// first snapshot is slow, and a tampered snapshot's error state.
// Screenshots: tests/out/screenshots/fleet-react/.
//
// Needs: target/debug/tessera, the built packages and the example bundle
// (node examples/fleet-react/build.mjs); ./scripts/test does all of it.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { TesseraClient } from '@tessera/node/client';

import { seed } from '../../examples/fleet-react/data.mjs';
import { startApp } from '../../examples/fleet-react/server.mjs';
import { root, startHost } from '../support/host.mjs';
import {
  afterFreshSnapshot, assertNoFlash, blockEvents, countSnapshots, delaySnapshots, launch, openAs, sampler, shots, tamperSnapshots,
  within,
} from './support.mjs';

const OPTIONS = { timeout: 90_000 };
const dir = shots('fleet-react');

let host;
let app;
let browser;
let admin;
let bobTech;

before(async () => {
  assert.ok(fs.existsSync(path.join(root, 'examples/fleet-react/dist/app.js')), 'build it: node examples/fleet-react/build.mjs');
  host = await startHost({ args: ['--snapshot-ttl', '5'] });
  ({ bobTech } = await seed({ host: host.base, token: host.token }));
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

/** Bob's FIELD_TECH at site 1 taken away through the host API; `restore` gives it back. */
async function revokeBob() {
  await admin.deleteAssignment('acme', bobTech);
  return async () => {
    ({ id: bobTech } = await admin.createAssignment('acme', { subject: 'user:bob', role: 'FIELD_TECH', scope: 'site:1' }));
  };
}

const EXPECT = {
  alice: { nav: ['/miners', '/settings/users'], sites: ['1', '2'], miners: ['111', '112', '113', '211', '212'], reboot: 5, blink: 5 },
  bob: { nav: ['/miners'], sites: ['1'], miners: ['111', '112'], reboot: 0, blink: 2 },
  carol: { nav: ['/miners'], sites: ['2'], miners: ['211', '212'], reboot: 0, blink: 2 },
};

test('each demo user sees their own nav, sites, miners and buttons', OPTIONS, async (t) => {
  for (const [user, want] of Object.entries(EXPECT)) {
    const page = await openAs(t, browser, app.url, user);
    await page.goto(`${app.url}/`);
    await ready(page);
    await page.waitForSelector('[data-page="sites"]');
    assert.deepEqual(await nav(page), want.nav, `${user}'s nav`);
    assert.deepEqual(await rows(page, 'site'), want.sites, `${user}'s sites`);
    await page.screenshot({ path: path.join(dir, `${user}-home.png`) });
    await page.click('nav a[data-nav="/miners"]');
    await page.waitForSelector('[data-page="miners"]');
    assert.deepEqual(await rows(page, 'miner'), want.miners, `${user}'s miners`);
    assert.equal(await count(page, '[data-action="reboot"]'), want.reboot, `${user}'s reboot buttons`);
    assert.equal(await count(page, '[data-action="blink"]'), want.blink, `${user}'s blink buttons`);
    await page.screenshot({ path: path.join(dir, `${user}-miners.png`) });
  }
  const dave = await openAs(t, browser, app.url, 'dave');
  await dave.goto(`${app.url}/`);
  await dave.waitForSelector('[data-page="nothing-in-scope"]');
  assert.deepEqual(await nav(dave), [], "dave's nav is empty");
  await dave.screenshot({ path: path.join(dir, 'dave-nothing-in-scope.png') });
});

test('a forbidden route lands on its fallback; a hidden miner is the app 404', OPTIONS, async (t) => {
  const bob = await openAs(t, browser, app.url, 'bob');
  for (const forbidden of ['/settings/users', '/sites/2/racks']) {
    await bob.goto(`${app.url}${forbidden}`);
    await bob.waitForSelector('[data-page="sites"]');
    assert.equal(new URL(bob.url()).pathname, '/', `${forbidden} redirects to its fallback`);
  }
  await bob.goto(`${app.url}/miners/113`);
  await bob.waitForSelector('[data-page="not-found"]');
  await bob.screenshot({ path: path.join(dir, 'bob-hidden-miner-404.png') });
  await bob.goto(`${app.url}/miners/112`);
  await bob.waitForSelector('[data-page="miner"]');
  const alice = await openAs(t, browser, app.url, 'alice');
  await alice.goto(`${app.url}/miners/113`);
  await alice.waitForSelector('[data-page="miner"]');
});

test('a revocation through the host API removes buttons and nav within 2 s, without a reload', OPTIONS, async (t) => {
  const bob = await openAs(t, browser, app.url, 'bob');
  await bob.goto(`${app.url}/miners`);
  await bob.waitForSelector('[data-action="blink"]');
  await afterFreshSnapshot(bob);
  const restore = await revokeBob();
  t.after(restore);
  const took = await within(bob, 2_000, () =>
    document.querySelectorAll('[data-action="blink"]').length === 0 && !document.querySelector('nav a[data-nav="/miners"]'));
  t.diagnostic(`removed after ${took} ms`);
  await bob.screenshot({ path: path.join(dir, 'bob-revoked.png') });
});

test('with the event stream blocked, a revocation is seen within the polling interval', OPTIONS, async (t) => {
  const bob = await openAs(t, browser, app.url, 'bob', {
    setup: blockEvents,
    allowErrors: /Failed to load resource/,
  });
  await bob.goto(`${app.url}/miners`);
  await bob.waitForSelector('[data-action="blink"]');
  await afterFreshSnapshot(bob);
  const restore = await revokeBob();
  t.after(restore);
  // Polling every 2 s; the page's own refresh is at least 3.5 s away.
  const took = await within(bob, 3_000, () => document.querySelectorAll('[data-action="blink"]').length === 0);
  t.diagnostic(`removed after ${took} ms by polling`);
});

test('refreshes before expiry show no flash of denied (5 s snapshots, two refreshes)', OPTIONS, async (t) => {
  const counter = { fetched: 0 };
  const bob = await openAs(t, browser, app.url, 'bob', { setup: countSnapshots(counter) });
  await bob.goto(`${app.url}/miners`);
  await bob.waitForSelector('[data-action="blink"]');
  await assertNoFlash(bob, counter, () => ({
    blink: document.querySelectorAll('[data-action="blink"]').length,
    nav: document.querySelectorAll('nav a').length,
    state: document.querySelector('[data-state]')?.dataset.state ?? null,
  }), (s) => !(s.blink !== 2 || s.nav !== 1 || s.state !== null));
});

test('while the first snapshot is slow the page shows its loading state, never the denied one', OPTIONS, async (t) => {
  const bob = await openAs(t, browser, app.url, 'bob', {
    setup: delaySnapshots(1_000),
  });
  await bob.goto(`${app.url}/`);
  const stop = await sampler(bob, () => ({
    loading: Boolean(document.querySelector('[data-state="loading"]')),
    denied: Boolean(document.querySelector('[data-page="nothing-in-scope"]')),
    sites: document.querySelectorAll('[data-site]').length,
  }));
  await bob.waitForSelector('[data-loading], [data-state="loading"]', { state: 'attached' }).catch(() => {});
  await bob.screenshot({ path: path.join(dir, 'bob-loading.png') });
  await bob.waitForSelector('[data-site="1"]', { timeout: 5_000 });
  const samples = await stop();
  assert.ok(samples.some((s) => s.loading), 'the loading state was shown');
  assert.deepEqual(samples.filter((s) => s.denied), [], 'the denied state never was');
});

test('a tampered snapshot shows a clear error state', OPTIONS, async (t) => {
  const bob = await openAs(t, browser, app.url, 'bob', {
    setup: tamperSnapshots,
  });
  await bob.goto(`${app.url}/`);
  const alert = await bob.waitForSelector('[role="alert"][data-state="error"]');
  assert.match(await alert.textContent(), /BAD_SIGNATURE/);
  assert.equal(await count(bob, '[data-site]'), 0, 'nothing is shown as allowed');
  await bob.screenshot({ path: path.join(dir, 'bob-tampered.png') });
});
