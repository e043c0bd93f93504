// A real `tessera serve` (target/debug/tessera) for the JS tests and the
// example apps' tests: a temporary SQLite data directory (or, with
// `postgres: true`, a database with a random name on the Postgres server
// of TESSERA_TEST_POSTGRES, default 127.0.0.1:5432, dropped at the end), a
// free port read back from its first line, the bootstrap token from its
// second, and `stop()` that kills it and removes what it made.

import { randomBytes } from 'node:crypto';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = path.join(root, 'target/debug/tessera');
const START_TIMEOUT_MS = 60_000;

const POSTGRES = process.env.TESSERA_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Runs one statement on the Postgres server's admin database. */
const psql = (statement) => promisify(execFile)('psql', [POSTGRES, '-q', '-c', statement]);

/**
 * Starts the host with `manifest` (relative to the repository root) and
 * extra `args` (`['--snapshot-ttl', '5']`), on SQLite, or on a fresh
 * Postgres database with `postgres: true`. Resolves `{base, token, stop,
 * createToken(kind)}`.
 */
export async function startHost({ manifest = 'examples/fleet/manifest.toml', args = [], postgres = false } = {}) {
  if (!existsSync(BIN)) {
    throw new Error(`${BIN} is missing: build it with \`cargo build -p tessera-host --bin tessera\``);
  }
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tessera-host-'));
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('TESSERA_') || key === 'DATABASE_URL') delete env[key];
  Object.assign(env, { TESSERA_DATA_DIR: dataDir, TESSERA_LISTEN: '127.0.0.1:0', TESSERA_MANIFEST: path.join(root, manifest) });
  const database = postgres ? `tessera_js_${randomBytes(8).toString('hex')}` : null;
  if (database) {
    await psql(`CREATE DATABASE ${database}`);
    env.DATABASE_URL = `${POSTGRES.slice(0, POSTGRES.lastIndexOf('/'))}/${database}`;
  }
  const child = spawn(BIN, ['serve', ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text) => (stderr += text));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const { base, token } = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`tessera serve printed no address within ${START_TIMEOUT_MS} ms:\n${stderr}`)), START_TIMEOUT_MS);
    child.on('error', reject);
    exited.then(({ code, signal }) => reject(new Error(`tessera serve exited (${code ?? signal}) before listening:\n${stderr}`)));
    child.stdout.setEncoding('utf8').on('data', (text) => {
      out += text;
      const address = /^tessera listening on (http:\/\/\S+)$/m.exec(out);
      const bootstrap = /^bootstrap token: (\S+)$/m.exec(out);
      if (address && bootstrap) {
        clearTimeout(timer);
        resolve({ base: address[1], token: bootstrap[1] });
      }
    });
  });
  return {
    base,
    token,
    /** A new API token of `kind` (`check` or `admin`) on the same store. */
    async createToken(kind = 'check') {
      const { stdout } = await promisify(execFile)(BIN, ['token', 'create', '--kind', kind], { cwd: root, env });
      return stdout.trim();
    },
    async stop() {
      child.kill('SIGKILL');
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
      if (database) await psql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    },
  };
}
