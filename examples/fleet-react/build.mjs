// Bundles the front end into dist/ with esbuild: app.js (React, the
// session, @tessera/react), the wasm module next to it, and the styles.

import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { bundle } from '../../scripts/bundle.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, 'dist');
await bundle({ entry: path.join(here, 'src/main.jsx'), outfile: path.join(dist, 'app.js') });
copyFileSync(path.join(here, 'style.css'), path.join(dist, 'style.css'));
