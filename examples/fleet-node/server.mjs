// The fleet demo's API guarded by @tessera/node/express: every request
// carries the caller's signed snapshot (header `tessera-snapshot` or cookie
// `tessera`), verified here offline and bound to the org `acme`. No
// permission rule lives in this file: the snapshot answers.
//
// Run from the repository root (see README.md):
//   node examples/fleet-node/server.mjs

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import express from 'express';

import { createTessera } from '../../bindings-node/pkg/express.js';
import { TesseraError } from '../../bindings-node/pkg/node.js';

const dataDir = fileURLToPath(new URL('../fleet-web/data/', import.meta.url));
const ORG = 'acme'; // one tenant here; a multi-tenant app reads it from the request

// Demo fleet data (what the app's database would hold).
const MINERS = [
  { id: '11', site: '1', rack: '1' },
  { id: '21', site: '2', rack: '2' },
];
const minerPath = (m) => [`site:${m.site}`, `rack:${m.rack}`, `miner:${m.id}`];

// Keys: the host's public `GET /v1/keys` (TESSERA_KEYS_URL; TESSERA_TOKEN is
// sent as a bearer token when set, for a proxy that wants one), else the
// demo key set.
const tessera = process.env.TESSERA_KEYS_URL
  ? createTessera({ keysUrl: process.env.TESSERA_KEYS_URL, keysToken: process.env.TESSERA_TOKEN, cookie: 'tessera' })
  : createTessera({ jwks: readFileSync(`${dataDir}/jwks.json`, 'utf8'), cookie: 'tessera' });

export const app = express();

// One permission at one path: 401 / 403 / 404 answered by the middleware.
app.post(
  '/api/sites/:site/racks/:rack/miners/:miner/reboot',
  tessera.requirePermission('miner:reboot', {
    path: (req) => [`site:${req.params.site}`, `rack:${req.params.rack}`, `miner:${req.params.miner}`],
    org: () => ORG,
  }),
  (req, res) => res.json({ rebooting: `miner:${req.params.miner}`, by: req.tessera.snapshot.principal }),
);

// A list: the snapshot filters it (hidden and unreadable miners drop out).
app.get('/api/miners', async (req, res) => {
  try {
    const snapshot = await tessera.snapshotOf(req, { org: ORG });
    res.json(snapshot.filter('miner:read', MINERS, minerPath));
  } catch (err) {
    const code = err instanceof TesseraError ? err.code : 'UNAUTHENTICATED';
    res.status(code === 'KEYS_UNAVAILABLE' ? 503 : 401).json({ error: { code, message: err.message } });
  }
});

// The manifest's routes (/miners, /sites/:site/racks, /settings/users),
// mounted under /app: allowed → the handler; redirect → 403 with
// `error.details.fallback`; unknown or hidden → 404.
app.use('/app', tessera.routeGuard({ org: () => ORG }), (req, res) => res.json({ page: req.path }));

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const port = Number(process.env.PORT ?? 3000);
  app.listen(port, '127.0.0.1', () => console.log(`fleet-node on http://127.0.0.1:${port}`));
}
