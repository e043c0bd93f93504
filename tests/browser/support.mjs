// What the example apps' browser tests share: Debian's chromium through
// playwright-core (never a downloaded browser), a page per demo user with
// its login cookie, a DOM sampler (every 50 ms, in the page), and
// screenshots under tests/out/screenshots/<app>/.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

import { root } from '../support/host.mjs';

export const CHROMIUM = '/usr/bin/chromium';
export const WAIT_MS = 15_000;

export async function launch() {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (./scripts/test does)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    timeout: WAIT_MS,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** The screenshot folder of `app`. */
export function shots(app) {
  const dir = path.join(root, 'tests', 'out', 'screenshots', app);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * A page logged in as `user` (null: no cookie, the anonymous visitor) at
 * `url`; `setup(context)` runs first (routes that block or delay requests).
 * Page errors fail the test, except the ones `allowErrors` matches.
 */
export async function openAs(t, browser, url, user, { setup, allowErrors } = {}) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 600 } });
  t.after(() => context.close());
  if (user) await context.addCookies([{ name: 'user', value: user, url }]);
  if (setup) await setup(context);
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !allowErrors?.test(msg.text())) errors.push(msg.text());
  });
  t.after(() => assert.deepEqual(errors, [], 'errors in the page'));
  return page;
}

/**
 * Samples `probe` (a function source evaluated in the page) every 50 ms
 * until `stop()`; resolves the samples.
 */
export async function sampler(page, probe) {
  await page.evaluate((source) => {
    const read = new Function(`return (${source})();`);
    window.__samples = [];
    window.__sampling = setInterval(() => window.__samples.push({ at: performance.now(), ...read() }), 50);
  }, probe.toString());
  return async () => page.evaluate(() => {
    clearInterval(window.__sampling);
    return window.__samples;
  });
}

/** Waits until `predicate` (in the page) holds; resolves the ms it took. */
export async function within(page, ms, predicate, arg) {
  const started = Date.now();
  await page.waitForFunction(predicate, arg, { timeout: ms, polling: 50 });
  return Date.now() - started;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** `text` (`tss1.`) with one signature byte flipped. */
export function tampered(text) {
  const bytes = Buffer.from(text.trim().slice(5), 'base64url');
  bytes[bytes.length - 10] ^= 1;
  return `tss1.${bytes.toString('base64url')}`;
}

// ---------------------------------------------------------------- the relay's routes, intercepted

/** A page setup: the revision event stream refused (the session must poll). */
export const blockEvents = (context) => context.route('**/tessera/events', (route) => route.abort());

/** A page setup: every snapshot answer `ms` late. */
export const delaySnapshots = (ms) => (context) => context.route('**/tessera/snapshot*', async (route) => {
  await sleep(ms);
  return route.continue();
});

/** A page setup: every snapshot answer with one signature byte flipped. */
export const tamperSnapshots = (context) => context.route('**/tessera/snapshot*', async (route) => {
  const response = await route.fetch();
  return route.fulfill({ response, body: tampered(await response.text()) });
});

/** A page setup counting snapshot requests in `counter.fetched`. */
export const countSnapshots = (counter) => (context) => context.route('**/tessera/snapshot*', (route) => {
  counter.fetched += 1;
  return route.continue();
});

/**
 * Waits until the page's session has just swapped in a new snapshot, so
 * that its own refresh (at 80% of a 5 s lifetime) is at least 3.5 s away:
 * a change seen within 3 s after this was seen by events or polling, not
 * by the clock.
 */
export async function afterFreshSnapshot(page) {
  await page.waitForFunction(() => {
    const held = window.tessera?.snapshot;
    return held && Date.now() / 1000 - held.issuedAt < 0.5;
  }, undefined, { timeout: 10_000, polling: 20 });
}

/**
 * Samples `probe` every 50 ms for `ms` on a page that refreshes its 5 s
 * snapshot; asserts at least two refreshes happened and that every sample
 * is `allowed`.
 */
export async function assertNoFlash(page, counter, probe, allowed, ms = 10_500) {
  const before = counter.fetched;
  const stop = await sampler(page, probe);
  await sleep(ms);
  const samples = await stop();
  assert.ok(counter.fetched - before >= 2, `two refreshes in ${ms} ms, saw ${counter.fetched - before}`);
  assert.ok(samples.length >= (ms / 50) * 0.7, `${samples.length} samples`);
  assert.deepEqual(samples.filter((sample) => !allowed(sample)), [], 'every sample shows the allowed page');
}
