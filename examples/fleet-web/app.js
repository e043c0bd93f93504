// The fleet demo: one signed snapshot per user, opened in the browser by
// @tessera/web (the same resolver the host runs). The nav bar, the route
// guard, the miners list and the action buttons all ask the snapshot; this
// file holds no permission rule of its own. The server still checks every
// request: the snapshot only decides what the UI shows.
//
// Two ways to run it:
// - static: serve the repository root and open
//   /examples/fleet-web/?user=root|carol|vic, with the snapshots that
//   `export-demo` signed (`&snapshot=<path>` loads another file, for tests);
// - live: `node examples/fleet-web/live.mjs` against `tessera serve --demo`
//   and open /login/root|carol|vic: the page (`?live&user=…`) then takes the
//   logged-in user's snapshot and the key set from the host, through the
//   app's relay (@tessera/node/express) under /tessera.

import init, { TesseraVerifier, TesseraError } from '../../wasm/pkg/web.js';

const USERS = ['root', 'carol', 'vic'];

// Demo fleet data (what the app's API would return). Paths run from the
// org's top-level node down to the item itself.
const MINERS = [
  { id: 'miner:11', name: 'Miner 11', path: ['site:1', 'rack:1', 'miner:11'] },
  { id: 'miner:21', name: 'Miner 21', path: ['site:2', 'rack:2', 'miner:21'] },
];
const RACKS = [
  { id: 'rack:1', name: 'Rack 1', site: '1', path: ['site:1', 'rack:1'] },
  { id: 'rack:2', name: 'Rack 2', site: '2', path: ['site:2', 'rack:2'] },
];
const DEMO_USERS = [
  { id: 'root', name: 'Platform operator' },
  { id: 'carol', name: 'Carol (field tech at site 1 only)' },
  { id: 'vic', name: 'Vic (viewer, one miner hidden)' },
];

const NAV_LABELS = { '/miners': 'Miners', '/settings/users': 'Users settings' };
// A parameterised route is not in nav(); the app adds this link itself when
// the guard allows it.
const RACKS_LINK = { route: '/sites/1/racks', label: 'Racks at site 1' };

const params = new URLSearchParams(location.search);
const user = USERS.includes(params.get('user')) ? params.get('user') : 'root';
const live = params.has('live');

const app = document.querySelector('[data-testid="app"]');
const navBar = document.querySelector('[data-testid="nav"]');
const noticeBar = document.querySelector('[data-testid="notice"]');
const picker = document.querySelector('[data-testid="user-picker"]');

// ---------------------------------------------------------------------------
// Small DOM helper: h('li', { 'data-testid': 'x' }, 'text', child). Text is
// always set as text, never as HTML.

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else if (value !== false && value !== undefined) el.setAttribute(name, value === true ? '' : value);
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

const testId = (prefix, route) => `${prefix}${route.replace(/[^a-z0-9]+/gi, '-').replace(/-$/, '')}`;

// ---------------------------------------------------------------------------
// Loading and verifying the snapshot.

/** Resolves a same-origin URL relative to the page; anything else is refused. */
function sameOrigin(path) {
  const url = new URL(path, location.href);
  if (url.origin !== location.origin) throw new TesseraError('BAD_ARGUMENT', `${path} is not on this origin`);
  return url;
}

async function fetchText(url) {
  const response = await fetch(url, { cache: 'no-store' });
  if (!response.ok) throw new TesseraError('FETCH_FAILED', `${url.pathname}: HTTP ${response.status}`);
  return response.text();
}

async function openSnapshot() {
  await init();
  const [snapshotUrl, jwksUrl] = live
    ? [sameOrigin('/tessera/snapshot'), sameOrigin('/tessera/keys')]
    : [sameOrigin(params.get('snapshot') ?? `data/${user}.txt`), sameOrigin('data/jwks.json')];
  const [text, jwks] = await Promise.all([fetchText(snapshotUrl), fetchText(jwksUrl)]);
  const verifier = TesseraVerifier.fromJwks(jwks);
  // The current time is checked against the snapshot's expiry; the principal
  // must be the user this page was opened for.
  return verifier.open(text.trim(), undefined, { principal: user });
}

function showInvalid(err) {
  const code = err && err.code ? err.code : 'INTERNAL';
  navBar.hidden = true;
  navBar.replaceChildren();
  app.replaceChildren(
    h('section', { class: 'invalid', 'data-testid': 'invalid-snapshot', role: 'alert' },
      h('h2', {}, 'Invalid snapshot'),
      h('p', {}, 'The permission snapshot for ', h('strong', {}, user), ' could not be verified, so nothing is shown.'),
      h('p', {}, 'Code: ', h('code', { 'data-testid': 'error-code' }, code)),
      h('p', { class: 'muted', 'data-testid': 'error-message' }, err && err.message ? err.message : String(err))));
  app.dataset.state = 'invalid';
}

// ---------------------------------------------------------------------------
// Views. Each returns an element; the router has already run the guard.

function homeView(snapshot) {
  return h('section', { 'data-testid': 'view-home' },
    h('h1', {}, 'Fleet'),
    h('p', { 'data-testid': 'principal' }, 'Signed in as ', h('strong', {}, snapshot.principalName ?? snapshot.principal),
      ` (${snapshot.principal}) in org `, h('strong', {}, snapshot.org), snapshot.superuser ? ' — superuser' : ''),
    h('p', { class: 'muted' }, `Snapshot revision ${snapshot.revision}, expires ${new Date(snapshot.expiresAt * 1000).toLocaleString()}.`));
}

function minersView(snapshot) {
  const visible = snapshot.filter('miner:read', MINERS, (m) => m.path);
  const status = h('p', { class: 'muted', 'data-testid': 'action-status' });
  const action = (label, miner) => () => { status.textContent = `${label} requested for ${miner.id} (demo: the server re-checks).`; };
  const number = (miner) => miner.id.split(':')[1];
  return h('section', { 'data-testid': 'view-miners' },
    h('h1', {}, 'Miners'),
    h('ul', { 'data-testid': 'miner-list' },
      visible.map((miner) => h('li', { class: 'card', 'data-testid': `miner-${number(miner)}`, 'data-node': miner.id },
        h('span', { class: 'name' }, miner.name, ' ', h('span', { class: 'where' }, miner.path.join(' › '))),
        snapshot.check('miner:blink_led', miner.path) === 'allow'
          && h('button', { 'data-testid': `blink-${number(miner)}`, onclick: action('Blink', miner) }, 'Blink'),
        snapshot.check('miner:reboot', miner.path) === 'allow'
          && h('button', { 'data-testid': `reboot-${number(miner)}`, onclick: action('Reboot', miner) }, 'Reboot')))),
    visible.length === 0 && h('p', { 'data-testid': 'no-miners' }, 'No miners visible.'),
    status);
}

function racksView(snapshot, site) {
  const racks = snapshot.filter('rack:read', RACKS.filter((r) => r.site === site), (r) => r.path);
  return h('section', { 'data-testid': 'view-racks' },
    h('h1', {}, `Racks at site ${site}`),
    h('ul', { 'data-testid': 'rack-list' },
      racks.map((rack) => h('li', { class: 'card', 'data-testid': `rack-${rack.id.split(':')[1]}` },
        h('span', { class: 'name' }, rack.name),
        snapshot.check('rack:manage', rack.path) === 'allow' && h('span', { class: 'where' }, 'you can manage this rack')))),
    racks.length === 0 && h('p', {}, 'No racks here.'));
}

function usersView(snapshot) {
  return h('section', { 'data-testid': 'view-settings-users' },
    h('h1', {}, 'Users'),
    h('ul', {}, DEMO_USERS.map((u) => h('li', { class: 'card' }, h('span', { class: 'name' }, u.name), h('span', { class: 'where' }, u.id)))),
    snapshot.check('user:manage', []) === 'allow' && h('button', { 'data-testid': 'invite-user' }, 'Invite user'));
}

function notFoundView(path, decision) {
  return h('section', { 'data-testid': 'view-not-found', 'data-decision': decision },
    h('h1', {}, 'Not found'),
    h('p', {}, 'There is no page at ', h('code', {}, path), '.'),
    h('p', {}, h('a', { href: '#/' }, 'Back to the start')));
}

// The app's pages. "/" is the fallback of every manifest route and is public,
// so it is not guarded; every other path goes through snapshot.guard().
const PAGES = [
  { pattern: /^\/miners$/, view: (s) => minersView(s) },
  { pattern: /^\/sites\/([^/]+)\/racks$/, view: (s, [site]) => racksView(s, site) },
  { pattern: /^\/settings\/users$/, view: (s) => usersView(s) },
];

// ---------------------------------------------------------------------------
// Nav bar and router.

function renderNav(snapshot) {
  const links = [{ route: '/', label: 'Home' }];
  for (const route of snapshot.nav()) links.push({ route, label: NAV_LABELS[route] ?? route });
  if (snapshot.guard(RACKS_LINK.route).decision === 'allow') links.push(RACKS_LINK);
  navBar.replaceChildren(...links.map(({ route, label }) =>
    h('a', { href: `#${route}`, 'data-testid': route === '/' ? 'nav-home' : testId('nav', route), 'data-route': route }, label)));
  navBar.hidden = false;
}

function currentPath() {
  const path = decodeURIComponent(location.hash.replace(/^#/, ''));
  return path.startsWith('/') ? path : '/';
}

function setNotice(text) {
  noticeBar.textContent = text ?? '';
  noticeBar.hidden = !text;
}

function navigate(snapshot, path, notice = null, depth = 0) {
  let view;
  if (path === '/') {
    view = homeView(snapshot);
  } else {
    const result = snapshot.guard(path);
    if (result.decision === 'redirect' && depth < 3) {
      // Replace the forbidden entry so Back does not return to it.
      history.replaceState(null, '', `#${result.fallback}`);
      navigate(snapshot, result.fallback, `You don't have access to ${path}; redirected to ${result.fallback}.`, depth + 1);
      return;
    }
    const page = result.decision === 'allow' && PAGES.find((p) => p.pattern.test(path));
    view = page ? page.view(snapshot, path.match(page.pattern).slice(1)) : notFoundView(path, result.decision);
  }
  setNotice(notice);
  for (const link of navBar.querySelectorAll('a')) link.classList.toggle('active', link.dataset.route === path);
  app.replaceChildren(view);
  app.dataset.route = path;
}

async function main() {
  picker.value = user;
  picker.addEventListener('change', () => {
    const chosen = encodeURIComponent(picker.value);
    if (live) location.assign(`/login/${chosen}`);
    else location.search = `?user=${chosen}`;
  });
  let snapshot;
  try {
    snapshot = await openSnapshot();
  } catch (err) {
    showInvalid(err);
    return;
  }
  renderNav(snapshot);
  window.addEventListener('hashchange', () => navigate(snapshot, currentPath()));
  navigate(snapshot, currentPath());
  app.dataset.state = 'ready';
}

main();
