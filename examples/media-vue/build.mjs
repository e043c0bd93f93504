// Bundles the front end into dist/ with esbuild: app.js (Vue, vue-router, the
// session, @tessera/vue), the wasm module next to it, and the styles.

import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, 'dist');
mkdirSync(dist, { recursive: true });
await build({
  entryPoints: [path.join(here, 'src/main.js')],
  outfile: path.join(dist, 'app.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  minify: true,
  define: { 'process.env.NODE_ENV': '"production"', __VUE_OPTIONS_API__: 'false', __VUE_PROD_DEVTOOLS__: 'false', __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false' },
  logLevel: 'warning',
});
copyFileSync(path.join(here, '../../wasm/pkg/web/tessera_wasm_bg.wasm'), path.join(dist, 'tessera_wasm_bg.wasm'));
copyFileSync(path.join(here, 'style.css'), path.join(dist, 'style.css'));
