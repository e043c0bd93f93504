// Bundles the console into console/dist/: app.js (React, @tessera/react,
// @tessera/web/session, the screens) and the wasm module next to it. The
// host embeds dist/ when it is built after this (host-rust/build.rs);
// ./scripts/build-console runs this after ./scripts/build-wasm.

import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { bundle } from '../scripts/bundle.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
await bundle({ entry: path.join(here, 'src/main.jsx'), outfile: path.join(here, 'dist/app.js') });
