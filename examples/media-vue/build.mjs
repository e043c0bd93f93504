// Bundles the front end into dist/ with esbuild: app.js (Vue, vue-router, the
// session, @tessera/vue), the wasm module next to it, and the styles.

import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { bundle } from '../../scripts/bundle.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, 'dist');
await bundle({
  entry: path.join(here, 'src/main.js'),
  outfile: path.join(dist, 'app.js'),
  define: { __VUE_OPTIONS_API__: 'false', __VUE_PROD_DEVTOOLS__: 'false', __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false' },
});
copyFileSync(path.join(here, 'style.css'), path.join(dist, 'style.css'));
