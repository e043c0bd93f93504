// The fleet demo against a live host: `tessera serve --demo` holds the org
// `acme` (examples/fleet/demo.json: root, carol, vic and alice), and this
// small backend serves the page, a demo login (a cookie naming the user)
// and @tessera/node/express's relay under /tessera, which hands the
// logged-in user's snapshot and the host's key set to the page. Nothing is
// pre-exported: a write through the host API shows on the next load.
//
//   cargo run -p tessera-host -- serve --demo          # prints the address and a token
//   TESSERA_HOST=http://127.0.0.1:7700 TESSERA_TOKEN=$(cat tessera-data/token) node examples/fleet-web/live.mjs
//   open http://127.0.0.1:3000/login/carol             (root, carol or vic)
//
// Needs the built @tessera/web (./scripts/build-wasm) and `npm ci`.

import path from 'node:path';
import { fileURLToPath } from 'node:url';

import express from 'express';
import { tesseraRoutes } from '@tessera/node/express';

const root = fileURLToPath(new URL('../..', import.meta.url));
const ORG = 'acme';
const USERS = ['root', 'carol', 'vic'];

/** The demo user the `fleet_user` cookie names, or undefined. */
function loggedIn(req) {
  const match = /(?:^|;\s*)fleet_user=([a-z]+)/.exec(req.headers.cookie ?? '');
  return match && USERS.includes(match[1]) ? match[1] : undefined;
}

/**
 * The demo on `port` (0: a free one) against the host at `host`, whose
 * `token` may read snapshots: an admin token for all three users (a
 * `check` token may not export the superuser root's snapshot unless the
 * host allows it). Resolves `{ url, close }`.
 */
export function startLive({ host, token, port = 0 }) {
  const app = express();
  app.use('/tessera', tesseraRoutes({ host, token, org: () => ORG, principal: loggedIn }));
  app.get('/login/:user', (req, res) => {
    if (!USERS.includes(req.params.user)) return res.status(404).send('no such demo user');
    res.cookie('fleet_user', req.params.user, { httpOnly: true, sameSite: 'lax' })
      .redirect(`/examples/fleet-web/?live&user=${req.params.user}`);
  });
  app.get('/', (req, res) => res.redirect('/login/root'));
  // Only the page and the wasm package, never the rest of the repository.
  app.use('/examples/fleet-web', express.static(path.join(root, 'examples/fleet-web')));
  app.use('/wasm/pkg', express.static(path.join(root, 'wasm/pkg')));
  return new Promise((resolve) => {
    const server = app.listen(port, '127.0.0.1', () => {
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        close: () => new Promise((done) => { server.closeAllConnections(); server.close(done); }),
      });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { TESSERA_HOST: host, TESSERA_TOKEN: token, PORT: port = '3000' } = process.env;
  if (!host || !token) {
    console.error('set TESSERA_HOST (the host URL) and TESSERA_TOKEN (a token that may read snapshots)');
    process.exit(2);
  }
  const { url } = await startLive({ host, token, port: Number(port) });
  console.log(`fleet-web (live) on ${url}: log in at ${url}/login/root, carol or vic`);
}
