// The media library's backend: its own login (a cookie naming the demo user),
// its data, the built front end, and @tessera/node/express's relay under
// /tessera, which serves the logged-in user's snapshot, the keys and the
// revision events from a `tessera serve` with a `check` token.
//
//   node examples/media-vue/server.mjs   (after build.mjs; see README.md)

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import express from 'express';
import { tesseraRoutes } from '@tessera/node/express';

import { COLLECTIONS, ORG, PLATFORMS, ROMS, USERS } from './data.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The demo user named by the `user` cookie, or undefined (the kiosk visitor). */
function loggedIn(req) {
  const match = /(?:^|;\s*)user=([a-z]+)/.exec(req.headers.cookie ?? '');
  return match && USERS[match[1]] ? match[1] : undefined;
}

/**
 * The app on `port` (0: a free one). `pollSeconds` goes to the page's
 * session. Resolves `{ url, close }`.
 */
export function startApp({ host, token, port = 0, pollSeconds = 60 }) {
  const app = express();
  // Signed out is the kiosk visitor: `null` is the anonymous principal.
  app.use('/tessera', tesseraRoutes({ host, token, org: () => ORG, principal: (req) => loggedIn(req) ?? null, anonymous: true }));
  app.get('/login/:user', (req, res) => {
    if (!USERS[req.params.user]) return res.status(404).send('no such demo user');
    res.cookie('user', req.params.user, { httpOnly: true, sameSite: 'lax' }).redirect('/');
  });
  app.get('/logout', (req, res) => res.clearCookie('user').redirect('/'));
  app.get('/api/library', (req, res) => {
    const user = loggedIn(req);
    res.json({ platforms: PLATFORMS, roms: ROMS, collections: COLLECTIONS, user: user ? { id: user, name: USERS[user] } : null });
  });
  app.use(express.static(path.join(here, 'dist'), { index: false }));
  const page = readFileSync(path.join(here, 'index.html'), 'utf8').replace(
    '<!--config-->',
    `<script>window.MEDIA_CONFIG = ${JSON.stringify({ pollSeconds })};</script>`,
  );
  // Every other path is the single-page app; its router decides.
  app.use((req, res) => res.type('html').send(page));
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
    console.error('set TESSERA_HOST (the host URL) and TESSERA_TOKEN (a check token)');
    process.exit(2);
  }
  const { url } = await startApp({ host, token, port: Number(port) });
  console.log(`media-vue on ${url} (log in at ${url}/login/viv or ed; signed out is the kiosk)`);
}
