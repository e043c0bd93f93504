// Browser / bundler entry: call `await init()` once before using the API.
import initRaw, * as raw from './web/tessera_wasm.js';
import { makeApi } from './api.js';

export const { TesseraVerifier, Snapshot, Permission, TesseraError } = makeApi(raw);

/** Loads the wasm module (optionally from a given URL or bytes). */
export default async function init(input) {
  await initRaw(input === undefined ? undefined : { module_or_path: input });
}
export { init };
