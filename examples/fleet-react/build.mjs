// Bundles the front end into dist/ with esbuild: app.js (React, the
// session, @tessera/react), the wasm module next to it, and the styles.

import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, 'dist');
mkdirSync(dist, { recursive: true });
await build({
  entryPoints: [path.join(here, 'src/main.jsx')],
  outfile: path.join(dist, 'app.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  jsx: 'automatic',
  minify: true,
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
});
copyFileSync(path.join(here, '../../wasm/pkg/web/tessera_wasm_bg.wasm'), path.join(dist, 'tessera_wasm_bg.wasm'));
copyFileSync(path.join(here, 'style.css'), path.join(dist, 'style.css'));
