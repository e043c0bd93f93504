// What the React and the Vue page of tests/browser/renders.test.mjs share:
// the session over a stub fetch the test drives, a count of every call into
// the wasm module's `check`, and the render counts the test reads.
//
// The page gets `window.FIXTURE = {keys, snapshots: {a, b}}` (a JWKS and two
// signed `tss1.` snapshots of one principal, from a real host) before this
// runs. The stub fetch answers the keys route with the JWKS and the snapshot
// route with `snapshots[window.served]`: the test flips `served` from 'a' to
// 'b' and calls `tessera.refresh()`.

import { Snapshot } from '@tessera/web';
import { createTessera } from '@tessera/web/session';

/** `renders[name]`: how many times the probe `name` rendered. */
export const renders = {};
export const count = (name) => {
  renders[name] = (renders[name] ?? 0) + 1;
};

/**
 * Every `check` into the module, on any snapshot: `Snapshot` (api.js) is the
 * class the session's snapshots are, one module instance in the bundle.
 */
export const moduleChecks = [];
const check = Snapshot.prototype.check;
Snapshot.prototype.check = function countedCheck(permission, path, owner) {
  moduleChecks.push(`${permission}@${(path ?? []).join('/')}`);
  return check.call(this, permission, path, owner);
};

const fixture = window.FIXTURE;
export const requests = [];

async function stubFetch(url) {
  const { pathname } = new URL(url);
  requests.push(pathname);
  if (pathname === '/tessera/keys') return Response.json(fixture.keys);
  if (pathname === '/tessera/snapshot') {
    return new Response(fixture.snapshots[window.served], { headers: { 'content-type': 'text/plain' } });
  }
  return new Response('{"error":{"code":"NOT_FOUND","message":"stub"}}', { status: 404 });
}

window.served = 'a';
export const session = createTessera({
  snapshotUrl: 'https://stub.invalid/tessera/snapshot',
  keysUrl: 'https://stub.invalid/tessera/keys',
  fetch: stubFetch,
  pollSeconds: 3600,
});

Object.assign(window, { tessera: session, renders, moduleChecks, requests });
