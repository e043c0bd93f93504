// The operator console (docs/console.md §10) in Chromium against a real
// `tessera serve` (target/debug/tessera, built with console/dist embedded)
// on SQLite, and once on Postgres:
// signing in through a one-time URL, the screens gated by the signed-in
// user's own snapshot (a control the user may not use is disabled with the
// reason), the audit screen's filters and diffs, a role built in the
// matrix, an assignment, a hidden entry and a group member added with a
// preview first, a previewed revocation cancelled, a hidden node gone from the user's view as, refusals shown with
// their code (read pairing, immutable built-in, escalation), signing out; axe-core
// finds no serious or critical violation on any screen. Screenshots in
// tests/out/screenshots/console/.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';

import AxeBuilder from '@axe-core/playwright';
import { TesseraClient } from '@tessera/node/client';

import { startHost } from '../support/host.mjs';
import { launch, openAs, shots } from './support.mjs';

const OPTIONS = { timeout: 90_000 };
const dir = shots('console');

let host;
let browser;
let admin;

/** The org acme: mia a member admin, vic a member with no admin key, a group and a site. */
async function seed(client) {
  await client.createOrg({ id: 'acme', name: 'Acme' });
  for (const [id, name] of [['mia', 'Mia (member admin)'], ['vic', 'Vic (no admin key)']]) {
    await client.putUser(id, { name });
    await client.putMember('acme', id);
  }
  const role = await client.createRole('acme', { name: 'Member admin', permissions: ['user:manage', 'user:read'] });
  await client.createAssignment('acme', { subject: 'user:mia', role: role.id });
  await client.createGroup('acme', { id: 'night', name: 'Night shift' });
  await client.putNode('acme', 'site:1', { parent: null });
}

before(async () => {
  host = await startHost();
  admin = new TesseraClient({ baseUrl: host.base, token: host.token });
  await seed(admin);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await host?.stop();
});

/** A page signed in as `actor` through a fresh one-time URL (of `on`'s host). */
async function signIn(t, actor, on = { base: host.base, client: admin }) {
  const { url } = await on.client.consoleSignIn({ actor, org: 'acme' });
  // The refusals it provokes on purpose are logged by the browser.
  const page = await openAs(t, browser, on.base, null, { allowErrors: /Failed to load resource: .* (400|401|403|404)/ });
  await page.goto(`${on.base}${url}`);
  assert.match(await page.textContent('main'), new RegExp(`signs you in as ${actor}`));
  await page.click('[data-action="sign-in"]');
  await page.waitForURL(`${on.base}/console/`);
  await page.waitForSelector(`[data-actor="${actor}"]`);
  await page.waitForSelector('[data-page="access"]');
  return page;
}

/** axe-core's serious and critical violations on the page. */
async function violations(page) {
  const { violations: found } = await new AxeBuilder({ page }).analyze();
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.help}`);
}

test('a member admin signs in, reads the audit, filters it, sees a change, and signs out', OPTIONS, async (t) => {
  const page = await signIn(t, 'mia');
  const allowed = await page.$$eval('[data-gate] [data-allowed]', (cells) => cells.map((c) => c.dataset.allowed));
  assert.deepEqual(allowed, ['false', 'true', 'false'], 'roles, members, access');
  assert.match(await page.textContent('[data-gate="manage_roles"] [data-allowed]'), /You need role:manage at the org root/);
  assert.deepEqual(await violations(page), [], 'your-access screen');
  await page.screenshot({ path: path.join(dir, 'mia-access.png') });

  await page.click('[data-screen="audit"]');
  await page.waitForSelector('[data-page="audit"] [data-audit]');
  const actions = await page.$$eval('[data-audit]', (rows) => rows.map((r) => r.dataset.action));
  for (const action of ['org.create', 'role.create', 'assignment.create', 'group.create', 'node.put']) {
    assert.ok(actions.includes(action), `${action} in ${actions}`);
  }
  assert.equal(actions[0], 'node.put', 'newest first');
  assert.deepEqual(await violations(page), [], 'audit screen');
  await page.screenshot({ path: path.join(dir, 'mia-audit.png') });

  await page.selectOption('[data-filter="action"]', 'group.create');
  assert.deepEqual(await page.$$eval('[data-audit]', (rows) => rows.map((r) => r.dataset.action)), ['group.create']);
  await page.click('[data-toggle]');
  const change = await page.textContent('[data-diff]');
  assert.match(change, /name: added, now "Night shift"/, change);
  assert.equal(await page.getAttribute('[data-toggle]', 'aria-expanded'), 'true');
  await page.screenshot({ path: path.join(dir, 'mia-audit-change.png') });
  await page.selectOption('[data-filter="action"]', '');
  await page.fill('[data-filter="from"]', '2999-01-01T00:00');
  assert.equal(await page.getAttribute('[data-count]', 'data-count'), '0', 'nothing after the year 2999');

  await page.click('[data-action="sign-out"]');
  await page.waitForSelector('[data-page="signed-out"]');
  const current = await page.evaluate(async () => (await fetch('/v1/console-sessions/current')).status);
  assert.equal(current, 401, 'the session ended');
});

test('the access tools say why, who can and what a user can do, as the host does', OPTIONS, async (t) => {
  await admin.putNode('acme', 'rack:1', { parent: 'site:1' });
  await admin.putNode('acme', 'miner:11', { parent: 'rack:1' });
  await admin.createHidden('acme', { selector: 'user:vic', node: 'miner:11' });
  const page = await signIn(t, 'mia');
  await page.click('[data-screen="tools"]');
  const why = async (user, permission, path) => {
    const earlier = await page.evaluate(() => document.querySelector('[data-why]')?.textContent ?? null);
    await page.fill('[data-field="why-user"]', user);
    await page.fill('[data-field="why-permission"]', permission);
    await page.fill('[data-field="why-path"]', path);
    await page.click('[data-action="why"]');
    // The answer to this question, not the one before it.
    await page.waitForFunction((before) => {
      const now = document.querySelector('[data-why]')?.textContent;
      return now !== undefined && now !== before;
    }, earlier);
    return [await page.getAttribute('[data-why]', 'data-why'), await page.textContent('[data-why]')];
  };
  assert.deepEqual(await why('mia', 'user:manage', ''), ['allow', 'Allowed: Member admin for user:mia at the org root grants user:manage (decided at the org root).']);
  assert.deepEqual(await why('vic', 'user:manage', ''), ['deny', 'Denied: no assignment of vic at or above the org root grants user:manage.']);
  const [decision, told] = await why('vic', 'miner:read', 'site:1, rack:1, miner:11');
  assert.equal(decision, 'not_found');
  assert.match(told, /miner:11 is hidden from vic/);
  const explained = await admin.userExplain('acme', 'vic', { permission: 'miner:read', path: ['site:1', 'rack:1', 'miner:11'] });
  assert.equal(explained.decision, decision, 'the host’s decision');
  await page.fill('[data-field="permission"]', 'user:manage');
  await page.click('[data-action="who-can"]');
  await page.waitForSelector('[data-allowed-user]');
  const listed = await page.$$eval('[data-allowed-user]', (rows) => rows.map((r) => r.dataset.allowedUser));
  const answered = await admin.whoCan({ org: 'acme', permission: 'user:manage', path: [] });
  const members = answered.principals.map((p) => p.id).filter((id) => id !== 'root');
  assert.deepEqual(listed, members, 'the host’s answer, without the operator: the session is bound to acme');
  assert.match(await page.textContent('[data-allowed-user="mia"]'), /Member admin for user:mia at the org root/);
  assert.equal(await page.getAttribute('[data-anonymous]', 'data-anonymous'), 'false');
  await page.fill('[data-field="permission"]', 'no:such');
  await page.click('[data-action="who-can"]');
  await page.waitForSelector('[data-diagnostic="UNKNOWN_PERMISSION"]');

  await page.fill('[data-field="user"]', 'mia');
  await page.click('[data-action="what-can"]');
  await page.waitForSelector('[data-map="mia"]');
  const root = (await page.textContent('[data-root]')).split(', ');
  assert.deepEqual(root, (await admin.userAccess('acme', 'mia')).root);
  assert.deepEqual(await violations(page), [], 'access tools');
  await page.screenshot({ path: path.join(dir, 'mia-access-tools.png') });
  await page.fill('[data-field="user"]', 'nobody');
  await page.click('[data-action="what-can"]');
  await page.waitForSelector('[data-error="NOT_FOUND"]');
});

test('a member without an admin key sees every screen it may not use disabled, with the reason', OPTIONS, async (t) => {
  const page = await signIn(t, 'vic');
  assert.equal(await page.isDisabled('[data-screen="audit"]'), true);
  assert.equal(await page.isDisabled('[data-screen="tools"]'), true);
  assert.match(await page.textContent('[data-reason="audit"]'), /You need user:manage at the org root/);
  const described = await page.getAttribute('[data-screen="audit"]', 'aria-describedby');
  assert.equal(described, 'why-audit', 'the reason is the button’s description, not its colour');
  // The host refuses what the page disables: the gate is the host's.
  const refused = await page.evaluate(async () => (await fetch('/v1/orgs/acme/audit')).status);
  assert.equal(refused, 403);
  assert.deepEqual(await violations(page), [], 'vic’s screen');
  await page.screenshot({ path: path.join(dir, 'vic-access.png') });
});

/** The preview's sentences under the form `name`, once the host answered. */
async function previewOf(page, name) {
  await page.click(`[data-save="${name}"] [data-action="preview"]`);
  await page.waitForSelector(`[data-save="${name}"] [data-preview], [data-save="${name}"] [data-error]`);
  return page.textContent(`[data-save="${name}"]`);
}

/** Saves the form `name` and waits for the screen to read the model again. */
async function save(page, name, until) {
  await page.click(`[data-save="${name}"] [data-action="save"]`);
  await page.waitForSelector(until);
}

test('an org admin builds a role in the matrix, assigns it, previews a revocation, hides a node, nests a user; the audit shows each write', OPTIONS, async (t) => {
  await admin.putUser('ada', { name: 'Ada (org admin)' });
  await admin.putMember('acme', 'ada');
  await admin.createAssignment('acme', { subject: 'user:ada', role: 'SUPER_ADMIN' });
  await admin.putNode('acme', 'rack:7', { parent: 'site:1' });
  await admin.putNode('acme', 'miner:71', { parent: 'rack:7' });
  const page = await signIn(t, 'ada');

  // A custom role through the matrix: ticking reboot ticks the read it requires.
  await page.click('[data-screen="roles"]');
  await page.waitForSelector('[data-page="roles"] [data-role="SUPER_ADMIN"]');
  assert.match(await page.textContent('[data-role="SUPER_ADMIN"] [data-mode]'), /built-in, immutable, guarded/);
  await page.click('[data-action="new-role"]');
  await page.fill('[data-field="role-name"]', 'Rebooter');
  await page.check('[data-cell="new|miner:reboot"] input');
  assert.equal(await page.isChecked('[data-cell="new|miner:read"] input'), true, 'the read key ticks itself');
  assert.match(await previewOf(page, 'role'), /This changes no decision/);
  // The new row itself: the demo org has a custom role already.
  await save(page, 'role', '[data-page="roles"] tr:has-text("Rebooter") [data-mode="custom"]');
  const rebooter = (await admin.listRoles('acme')).find((role) => role.name === 'Rebooter');
  assert.deepEqual(rebooter.permissions, ['miner:read', 'miner:reboot']);
  assert.deepEqual(await violations(page), [], 'roles screen');
  await page.screenshot({ path: path.join(dir, 'ada-roles.png'), fullPage: true });

  // Unticking the read key says what else goes; keeping reboot alone is refused by the host.
  await page.click(`[data-role="${rebooter.id}"] [data-action="edit-role"]`);
  // A click, not uncheck(): the box stays ticked until the user chooses.
  await page.click(`[data-cell="${rebooter.id}|miner:read"] input`);
  assert.match(await page.textContent('[data-untick="miner:read"]'), /required by miner:reboot/);
  await page.click('[data-action="untick-one"]');
  assert.match(await previewOf(page, 'role'), /READ_PAIRING_VIOLATION/);
  assert.ok(await page.$('[data-save="role"] [data-error="READ_PAIRING_VIOLATION"]'));
  await page.screenshot({ path: path.join(dir, 'ada-roles-read-pairing.png'), fullPage: true });
  await page.click('[data-action="close-editor"]');
  await page.click('[data-role="SUPER_ADMIN"] [data-action="edit-role"]');
  assert.match(await previewOf(page, 'role'), /BUILTIN_ROLE_IMMUTABLE/);
  await page.click('[data-action="close-editor"]');

  // Assigning it at a site: the preview names what it gives, then who-can and the map show it.
  await page.click('[data-screen="nodes"]');
  await page.click('[data-node="site:1"] > button');
  await page.waitForSelector('[data-panel="site:1"]');
  await page.fill('[data-panel="site:1"] [data-field="subject"]', 'user:vic');
  await page.selectOption('[data-panel="site:1"] [data-field="role"]', rebooter.id);
  assert.match(await previewOf(page, 'assign'), /gives miner:reboot at site:1 to 1 principal: vic/);
  // The new row itself: site:1 carries assignments already.
  await save(page, 'assign', '[data-panel="site:1"] [data-row^="assignment:"]:has-text("Rebooter for user:vic")');
  assert.deepEqual(await violations(page), [], 'node tree');
  await page.screenshot({ path: path.join(dir, 'ada-nodes.png'), fullPage: true });
  await page.click('[data-screen="tools"]');
  await page.fill('[data-field="permission"]', 'miner:reboot');
  await page.fill('[data-field="path"]', 'site:1');
  await page.click('[data-action="who-can"]');
  await page.waitForSelector('[data-allowed-user="vic"]');
  assert.match(await page.textContent('[data-allowed-user="vic"]'), /Rebooter for user:vic at site:1/);
  await page.fill('[data-field="user"]', 'vic');
  await page.click('[data-action="what-can"]');
  await page.waitForSelector('[data-map="vic"] [data-node="site:1"]');
  assert.match(await page.textContent('[data-map="vic"] [data-node="site:1"]'), /miner:reboot/);

  // View as vic: their own snapshot, opened in the page, answers as the host does.
  await page.fill('[data-field="view-user"]', 'vic');
  await page.fill('[data-field="view-route"]', '/sites/1/racks');
  await page.click('[data-action="view-as"]');
  await page.waitForSelector('[data-view-as="vic"] [data-seen]');
  const seen = await page.$$eval('[data-seen-node]', (items) => items.map((item) => item.dataset.seenNode));
  assert.ok(seen.includes('miner:71') && !seen.includes('miner:11'), `miner:11 is hidden from vic: ${seen}`);
  const nav = await page.$$eval('[data-nav] code', (items) => items.map((item) => item.textContent));
  assert.deepEqual(nav, (await admin.nav({ org: 'acme', principal: 'vic' })).nav, 'vic’s nav, as the host answers it');
  const guarded = await admin.guard({ org: 'acme', principal: 'vic', route: '/sites/1/racks' });
  assert.equal(await page.getAttribute('[data-guard]', 'data-guard'), guarded.decision);
  assert.deepEqual(await violations(page), [], 'view as');
  await page.screenshot({ path: path.join(dir, 'ada-view-as.png'), fullPage: true });

  // Previewing the revocation, then cancelling it, changes nothing.
  const auditBefore = (await admin.audit('acme')).length;
  const revisionBefore = (await admin.check({ principal: 'vic', org: 'acme', permission: 'miner:reboot', path: ['site:1'] })).revision;
  await page.click('[data-screen="nodes"]');
  await page.click('[data-node="site:1"] > button');
  const row = '[data-panel="site:1"] [data-row^="assignment:"]:has-text("Rebooter for user:vic")';
  await page.click(`${row} [data-action="preview"]`);
  await page.waitForSelector(`${row} [data-preview]`);
  assert.match(await page.textContent(`${row} [data-preview]`), /removes miner:reboot at site:1 from 1 principal: vic/);
  await page.screenshot({ path: path.join(dir, 'ada-preview-revocation.png'), fullPage: true });
  await page.click(`${row} [data-action="cancel"]`);
  assert.equal(await page.$(`${row} [data-preview]`), null, 'the preview is gone');
  assert.equal((await admin.audit('acme')).length, auditBefore, 'no audit row');
  const after = await admin.check({ principal: 'vic', org: 'acme', permission: 'miner:reboot', path: ['site:1'] });
  assert.deepEqual([after.decision, after.revision], ['allow', revisionBefore], 'still allowed, same revision');

  // Hiding a node from vic.
  await page.click('[data-node="miner:71"] > button');
  await page.fill('[data-panel="miner:71"] [data-field="hidden-selector"]', 'user:vic');
  assert.match(await previewOf(page, 'add-hidden'), /hides miner:71 from 1 principal: vic/);
  await save(page, 'add-hidden', '[data-panel="miner:71"] [data-row^="hidden:"]');
  assert.ok((await admin.userAccess('acme', 'vic')).hidden.includes('miner:71'));
  await page.click('[data-screen="tools"]');
  await page.fill('[data-field="view-user"]', 'vic');
  await page.click('[data-action="view-as"]');
  await page.waitForFunction(() => document.querySelector('[data-view-as="vic"] [data-seen]') && !document.querySelector('[data-seen-node="miner:71"]'));
  assert.ok(await page.$('[data-seen-node="rack:7"]'), 'its parent is still there');

  // A user added to a group by search.
  await page.click('[data-screen="groups"]');
  await page.click('[data-group="night"] > button');
  await page.fill('[data-panel="night"] [data-field="member-search"]', 'vic');
  await save(page, 'add-member', '[data-panel="night"] [data-member="user:vic"]');
  assert.deepEqual(await violations(page), [], 'groups screen');
  await page.screenshot({ path: path.join(dir, 'ada-groups.png'), fullPage: true });

  await page.click('[data-screen="audit"]');
  await page.waitForSelector('[data-page="audit"] [data-audit]');
  const actions = await page.$$eval('[data-audit]', (rows) => rows.map((r) => r.dataset.action));
  assert.deepEqual(actions.slice(0, 4), ['group_member.put', 'hidden.create', 'assignment.create', 'role.create'], 'each write, newest first');
  const assigned = await page.getAttribute('[data-action="assignment.create"]', 'data-audit');
  await page.click(`[data-check-now="${assigned}"]`);
  await page.waitForSelector(`[data-now="${assigned}"]`);
  assert.match(await page.textContent(`[data-now="${assigned}"]`), /^Now vic holds at site:1: .*miner:reboot/);
  assert.deepEqual(await violations(page), [], 'audit with a check');
});

test('a member admin without role:manage cannot edit roles, and an escalation is refused with its code', OPTIONS, async (t) => {
  const page = await signIn(t, 'mia');
  assert.equal(await page.isDisabled('[data-screen="roles"]'), true);
  assert.match(await page.textContent('[data-reason="roles"]'), /You need role:manage at the org root/);
  assert.equal(await page.isDisabled('[data-screen="nodes"]'), false, 'user:manage opens the node tree');
  await page.click('[data-screen="nodes"]');
  await page.waitForSelector('[data-panel="root"]');
  assert.ok(await page.$('[data-panel="root"] [data-error="FORBIDDEN"]'), 'caps need site:manage: the refusal is shown');
  await page.fill('[data-panel="root"] [data-field="subject"]', 'user:vic');
  await page.fill('[data-panel="root"] [data-field="role"]', 'ADMIN');
  assert.match(await previewOf(page, 'assign'), /ESCALATION_DENIED/);
  await page.click('[data-save="assign"] [data-action="save"]');
  await page.waitForSelector('[data-save="assign"] [data-error="ESCALATION_DENIED"]');
  assert.equal((await admin.listAssignments('acme')).filter((a) => a.role === 'ADMIN').length, 0, 'nothing written');
  assert.deepEqual(await violations(page), [], 'mia’s node tree');
  await page.screenshot({ path: path.join(dir, 'mia-escalation.png'), fullPage: true });
});

test('an access admin without user:manage edits nodes, but may not preview: the reason is shown', OPTIONS, async (t) => {
  await admin.putUser('sam', { name: 'Sam (access admin)' });
  await admin.putMember('acme', 'sam');
  const role = await admin.createRole('acme', { name: 'Access admin', permissions: ['site:manage', 'site:read'] });
  await admin.createAssignment('acme', { subject: 'user:sam', role: role.id });
  const page = await signIn(t, 'sam');
  await page.click('[data-screen="nodes"]');
  await page.waitForSelector('[data-panel="root"]');
  const preview = '[data-panel="root"] [data-save="register"] [data-action="preview"]';
  assert.equal(await page.isDisabled(preview), true);
  const reason = await page.getAttribute(preview, 'aria-describedby');
  assert.match(await page.textContent(`[id="${reason}"]`), /You need user:manage at the org root/);
  assert.ok(await page.$('[data-panel="root"] [data-error="FORBIDDEN"]'), 'assignments need user:manage: the refusal is shown');
  await page.fill('[data-panel="root"] [data-field="register"]', 'site9');
  await page.click('[data-panel="root"] [data-save="register"] [data-action="save"]');
  await page.waitForSelector('[data-save="register"] [data-error="BAD_REQUEST"]');
  await page.fill('[data-panel="root"] [data-field="register"]', 'site:9');
  await page.click('[data-panel="root"] [data-save="register"] [data-action="save"]');
  await page.waitForSelector('[data-node="site:9"]');
  assert.deepEqual(await violations(page), [], 'sam’s node tree');
});

test('a used or unknown sign-in link says so', OPTIONS, async (t) => {
  const { url } = await admin.consoleSignIn({ actor: 'mia' });
  const page = await openAs(t, browser, host.base, null, { allowErrors: /Failed to load resource: .* 404/ });
  assert.equal((await page.request.post(`${host.base}${url}`)).status(), 200);
  const again = await page.goto(`${host.base}${url}`);
  assert.equal(again?.status(), 404);
  assert.match(await page.textContent('h1'), /not valid/);
  assert.deepEqual(await violations(page), [], 'the refusal page');
});

test('on Postgres: a member admin signs in, is gated by its own snapshot, reads the audit', OPTIONS, async (t) => {
  const pg = await startHost({ postgres: true });
  t.after(() => pg.stop());
  const client = new TesseraClient({ baseUrl: pg.base, token: pg.token });
  await seed(client);
  const page = await signIn(t, 'mia', { base: pg.base, client });
  const allowed = await page.$$eval('[data-gate] [data-allowed]', (cells) => cells.map((c) => c.dataset.allowed));
  assert.deepEqual(allowed, ['false', 'true', 'false'], 'roles, members, access');
  await page.click('[data-screen="audit"]');
  await page.waitForSelector('[data-page="audit"] [data-audit]');
  const actions = await page.$$eval('[data-audit]', (rows) => rows.map((r) => r.dataset.action));
  assert.equal(actions[0], 'node.put', 'newest first');
  assert.ok(actions.includes('group.create'), String(actions));
  await page.screenshot({ path: path.join(dir, 'postgres-mia-audit.png') });
});
