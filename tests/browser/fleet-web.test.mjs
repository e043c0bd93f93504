// The fleet demo (examples/fleet-web/) in a real Chromium: for each demo
// user, the nav items, a forbidden route landing on its fallback, the miners
// list and its buttons, once with the snapshots export-demo signed and once
// live, against `tessera serve --demo` through examples/fleet-web/live.mjs;
// and a tampered snapshot showing "Invalid snapshot".
// Screenshots go to tests/out/screenshots/<user>.png.
//
// Needs: the built wasm package (./scripts/build-wasm), the demo snapshots
// (`cargo run -p tessera-tests --bin export-demo -- examples/fleet-web/data`,
// valid for one hour), playwright-core (npm ci) and Debian's chromium at
// /usr/bin/chromium, and target/debug/tessera for the live run. ./scripts/test
// does all of that. Never downloads a browser.
//
// Run: node --test tests/browser/

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { startLive } from '../../examples/fleet-web/live.mjs';
import { startHost } from '../support/host.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const outDir = path.join(root, 'tests', 'out');
const screenshots = path.join(outDir, 'screenshots');
const dataDir = path.join(root, 'examples', 'fleet-web', 'data');
const CHROMIUM = '/usr/bin/chromium';
const WAIT_MS = 15_000;
const TEST_OPTIONS = { timeout: 60_000 };

// ---------------------------------------------------------------------------
// A static file server for the repository root.

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
};

function serveStatic(request, response) {
  const reply = (status, text) => {
    response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
    response.end(text);
  };
  if (request.method !== 'GET' && request.method !== 'HEAD') return reply(405, 'method not allowed');
  let pathname;
  try {
    pathname = decodeURIComponent(new URL(request.url, 'http://localhost').pathname);
  } catch {
    return reply(400, 'bad path');
  }
  if (pathname.endsWith('/')) pathname += 'index.html';
  const file = path.resolve(root, `.${pathname}`);
  if (pathname.includes('\0') || (file !== root && !file.startsWith(root.endsWith(path.sep) ? root : root + path.sep))) {
    return reply(403, 'outside the served root');
  }
  const type = TYPES[path.extname(file)];
  if (!type) return reply(404, 'not served');
  fs.readFile(file, (err, body) => {
    if (err) return reply(err.code === 'ENOENT' || err.code === 'EISDIR' ? 404 : 500, err.code);
    response.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
    response.end(request.method === 'HEAD' ? undefined : body);
  });
}

// ---------------------------------------------------------------------------

let server;
let baseUrl;
let browser;
// The live demo: `tessera serve --demo` and examples/fleet-web/live.mjs.
let host;
let live;

before(async () => {
  for (const file of ['root.txt', 'carol.txt', 'vic.txt', 'jwks.json']) {
    assert.ok(fs.existsSync(path.join(dataDir, file)),
      `${file} is missing in examples/fleet-web/data: run \`cargo run -p tessera-tests --bin export-demo -- examples/fleet-web/data\``);
  }
  assert.ok(fs.existsSync(path.join(root, 'wasm', 'pkg', 'web', 'tessera_wasm_bg.wasm')),
    'wasm/pkg/web is missing: run ./scripts/build-wasm');
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (./scripts/test does)`);
  fs.mkdirSync(screenshots, { recursive: true });

  server = http.createServer(serveStatic);
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  baseUrl = `http://127.0.0.1:${server.address().port}`;

  host = await startHost({ args: ['--demo'] });
  // The bootstrap admin token, as the README's walk-through uses: a `check`
  // token may not export the superuser root's snapshot (docs/http.md §6.3).
  live = await startLive({ host: host.base, token: host.token });

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    timeout: WAIT_MS,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});

after(async () => {
  await browser?.close();
  await live?.close();
  await host?.stop();
  if (server) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/**
 * Opens the demo page (or `url`, which lands on it) and waits until the
 * app has verified (or refused) the snapshot.
 */
async function openDemo(t, query, hash = '', url = `${baseUrl}/examples/fleet-web/?${query}${hash}`) {
  const context = await browser.newContext({ viewport: { width: 900, height: 520 } });
  t.after(() => context.close());
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  const pageErrors = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => { if (msg.type() === 'error') pageErrors.push(msg.text()); });
  t.after(() => assert.deepEqual(pageErrors, [], 'errors in the page'));
  await page.goto(url);
  await page.waitForSelector('[data-testid="app"]:is([data-state="ready"], [data-state="invalid"])');
  return page;
}

/** Sets the hash and waits for the router to settle on `expected`. */
async function visit(page, route, expected = route) {
  await page.evaluate((hash) => { location.hash = hash; }, `#${route}`);
  await page.waitForSelector(`[data-testid="app"][data-route="${expected}"]`);
  return page;
}

const navItems = (page) => page.$$eval('[data-testid="nav"] a', (links) => links.map((a) => a.dataset.testid));
const minerIds = (page) => page.$$eval('[data-testid="miner-list"] li', (items) => items.map((li) => li.dataset.node));
const count = (page, selector) => page.locator(selector).count();

// What the manifest and facts give each user (examples/fleet/):
// root is a superuser; carol is FIELD_TECH at site:1; vic views the whole org
// (rack:read at the org root, so /sites/1/racks is allowed) with miner:21 hidden.
const EXPECT = {
  root: { nav: ['nav-home', 'nav-miners', 'nav-settings-users', 'nav-sites-1-racks'], miners: ['miner:11', 'miner:21'] },
  carol: { nav: ['nav-home', 'nav-miners', 'nav-sites-1-racks'], miners: ['miner:11'] },
  vic: { nav: ['nav-home', 'nav-miners', 'nav-sites-1-racks'], miners: ['miner:11'] },
};

for (const [user, expected] of Object.entries(EXPECT)) {
  test(`fleet-web: ${user}`, TEST_OPTIONS, async (t) => {
    await checkUser(await openDemo(t, `user=${user}`), user, expected, `${user}.png`);
  });
  test(`fleet-web live (tessera serve --demo, through the relay): ${user}`, TEST_OPTIONS, async (t) => {
    await checkUser(await openDemo(t, null, '', `${live.url}/login/${user}`), user, expected, `live-${user}.png`);
  });
}

/** What `user` sees and may do on the page, whatever served the snapshot. */
async function checkUser(page, user, expected, shot) {
  const state = await page.getAttribute('[data-testid="app"]', 'data-state');
  const code = state === 'invalid' ? await page.textContent('[data-testid="error-code"]') : null;
  assert.equal(state, 'ready', `snapshot for ${user} was refused with ${code}` +
    (code === 'EXPIRED' ? ' (the demo snapshots last one hour: rerun export-demo)' : ''));
  assert.equal(await count(page, '[data-testid="invalid-snapshot"]'), 0);

  // The nav bar, from nav() plus the guarded racks link.
  assert.deepEqual(await navItems(page), expected.nav);

  // The miners list, filtered by miner:read; buttons by check().
  await page.click('[data-testid="nav-miners"]');
  await page.waitForSelector('[data-testid="app"][data-route="/miners"] [data-testid="view-miners"]');
  assert.deepEqual(await minerIds(page), expected.miners);
  if (user === 'vic') assert.equal(await count(page, '[data-node="miner:21"]'), 0, 'the hidden miner is listed');
  if (user === 'carol') {
    assert.equal(await count(page, '[data-testid="blink-11"]'), 1, 'carol sees Blink on miner:11');
    assert.equal(await count(page, '[data-testid="reboot-11"]'), 0, 'carol must not see Reboot on miner:11');
    await page.click('[data-testid="blink-11"]');
    assert.match(await page.textContent('[data-testid="action-status"]'), /Blink requested for miner:11/);
  }
  if (user === 'root') {
    for (const selector of ['blink-11', 'reboot-11', 'blink-21', 'reboot-21']) {
      assert.equal(await count(page, `[data-testid="${selector}"]`), 1, `root sees ${selector}`);
    }
  }
  if (user === 'vic') {
    assert.equal(await count(page, '[data-testid="miner-list"] button'), 0, 'vic is read-only');
  }
  await page.screenshot({ path: path.join(screenshots, shot) });

  // An allowed parameterised route renders its view.
  await visit(page, '/sites/1/racks');
  assert.equal(await count(page, '[data-testid="view-racks"] [data-testid="rack-1"]'), 1);

  // The users settings page: allowed for root, redirected to "/" for the others.
  await visit(page, '/settings/users', user === 'root' ? '/settings/users' : '/');
  if (user === 'root') {
    assert.equal(await count(page, '[data-testid="view-settings-users"]'), 1);
    assert.equal(await page.isVisible('[data-testid="notice"]'), false);
  } else {
    assert.equal(new URL(page.url()).hash, '#/', 'the forbidden route must land on its fallback');
    assert.equal(await count(page, '[data-testid="view-home"]'), 1);
    assert.match(await page.textContent('[data-testid="notice"]'), /redirected to \//);
  }

  // A site carol has no racks:read at redirects; an unknown route is not found.
  if (user === 'carol') {
    await visit(page, '/miners');
    await visit(page, '/sites/2/racks', '/');
    assert.equal(new URL(page.url()).hash, '#/');
  }
  await visit(page, '/no/such/page');
  assert.equal(await count(page, '[data-testid="view-not-found"]'), 1);
  assert.equal(await page.getAttribute('[data-testid="view-not-found"]', 'data-decision'), 'no_route');
}

test('fleet-web: opening straight on a forbidden route lands on its fallback', TEST_OPTIONS, async (t) => {
  const page = await openDemo(t, 'user=carol', '#/settings/users');
  await page.waitForSelector('[data-testid="app"][data-route="/"] [data-testid="view-home"]');
  assert.equal(new URL(page.url()).hash, '#/');
  assert.equal(await page.isVisible('[data-testid="notice"]'), true);
});

test('fleet-web: a tampered snapshot shows "Invalid snapshot" and no nav', TEST_OPTIONS, async (t) => {
  // Flip one base64 character in the middle of root's snapshot (staying in
  // the base64url alphabet), so the signed bytes change.
  const text = fs.readFileSync(path.join(dataDir, 'root.txt'), 'utf8').trim();
  assert.ok(text.startsWith('tss1.'));
  const at = Math.floor(('tss1.'.length + text.length) / 2);
  const tampered = text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1);
  assert.notEqual(tampered, text);
  const file = path.join(outDir, 'tampered-root.txt');
  fs.writeFileSync(file, tampered);

  const page = await openDemo(t, 'user=root&snapshot=/tests/out/tampered-root.txt', '#/miners');
  assert.equal(await page.getAttribute('[data-testid="app"]', 'data-state'), 'invalid');
  await page.waitForSelector('[data-testid="invalid-snapshot"]');
  assert.match(await page.textContent('[data-testid="invalid-snapshot"] h2'), /Invalid snapshot/);
  assert.match(await page.textContent('[data-testid="error-code"]'), /^(BAD_SIGNATURE|BAD_ENCODING)$/);
  assert.equal(await page.isVisible('[data-testid="nav"]'), false);
  assert.equal(await count(page, '[data-testid="nav"] a'), 0);
  assert.equal(await count(page, '[data-testid="miner-list"]'), 0);
  await page.screenshot({ path: path.join(screenshots, 'tampered.png') });
});

test('fleet-web: the static server refuses paths outside the root', TEST_OPTIONS, async () => {
  const status = await new Promise((resolve, reject) => {
    // A raw request, so that no client normalises the `..` away.
    const request = http.request({ host: '127.0.0.1', port: server.address().port, path: '/..%2f..%2fetc%2fpasswd.txt' },
      (response) => { response.resume(); resolve(response.statusCode); });
    request.on('error', reject);
    request.end();
  });
  assert.equal(status, 403);
});
