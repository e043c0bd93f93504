// One way to bundle a browser app of this repository with esbuild: an ES
// module, minified, React's and Vue's production builds, and, unless told
// otherwise, @tessera/web's wasm module copied next to the bundle (its
// loader fetches it relative to the bundle's URL). The console, the
// example apps and the front-end benchmark build through it.

import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Bundles `entry` into `outfile`; `define` adds to the production flags. */
export async function bundle({ entry, outfile, define = {}, wasm = true }) {
  mkdirSync(path.dirname(outfile), { recursive: true });
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    jsx: 'automatic',
    minify: true,
    define: { 'process.env.NODE_ENV': '"production"', ...define },
    logLevel: 'warning',
  });
  if (wasm) {
    const name = 'tessera_wasm_bg.wasm';
    copyFileSync(path.join(root, 'wasm/pkg/web', name), path.join(path.dirname(outfile), name));
  }
}
