// Node entry: the module is loaded synchronously; `init()` is a no-op kept
// so that code written for the browser entry runs unchanged.
import { createRequire } from 'node:module';
import { makeApi } from './api.js';

const require = createRequire(import.meta.url);
const raw = require('./node/tessera_wasm.js');

export const { TesseraVerifier, Snapshot, Permission, TesseraError } = makeApi(raw);

export default async function init() {}
export { init };
