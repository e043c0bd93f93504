// @tessera/node: the napi addon under the same public API as @tessera/web
// (`api.js` is that package's file, copied in by scripts/build-node).
import { createRequire } from 'node:module';
import { makeApi } from './api.js';

const require = createRequire(import.meta.url);
const raw = require('./raw/tessera-node.node');

export const { TesseraVerifier, Snapshot, Permission, TesseraError } = makeApi(raw);

/** Kept so code written for @tessera/web runs unchanged; the addon needs no init. */
export default async function init() {}
export { init };
