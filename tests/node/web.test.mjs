// @tessera/web (the wasm module, Node build) against the conformance
// vectors, and every way a snapshot can be refused: each gives its stable
// code as a TesseraError, never a crash.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as web from '../../wasm/pkg/node.js';
import { loadVectors, runAll } from './vector-runner.mjs';

const vectors = loadVectors();
const someSnapshot = vectors.files[0].cases[0].snapshot;

test('every vector file passes through @tessera/web', () => {
  const counts = runAll(web, vectors);
  let total = 0;
  for (const [name, count] of counts) {
    console.log(`web ${name}: ${count} queries`);
    total += count;
  }
  console.log(`web total: ${total} queries`);
  assert.ok(total >= 150);
});

function bytesOf(text) {
  return new Uint8Array(Buffer.from(text.slice('tss1.'.length), 'base64url'));
}

function refusal(fn) {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof web.TesseraError, `not a TesseraError: ${err}`);
    assert.equal(typeof err.message, 'string');
    return err.code;
  }
  assert.fail('expected a refusal');
}

test('refusals carry stable codes', () => {
  const verifier = web.TesseraVerifier.fromJwks(vectors.jwks);
  const bytes = bytesOf(someSnapshot);
  const now = vectors.now;

  const tampered = bytes.slice();
  tampered[40] ^= 1;
  assert.equal(refusal(() => verifier.open(tampered, now)), 'BAD_SIGNATURE');

  const otherKey = { keys: [{ ...vectors.jwks.keys[0], x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' }] };
  assert.equal(refusal(() => web.TesseraVerifier.fromJwks(otherKey).open(bytes, now)), 'BAD_SIGNATURE');
  const renamed = { keys: [{ ...vectors.jwks.keys[0], kid: 'someone-else' }] };
  assert.equal(refusal(() => web.TesseraVerifier.fromJwks(renamed).open(bytes, now)), 'UNKNOWN_KEY');

  assert.equal(refusal(() => verifier.open(bytes, vectors.expires_at)), 'EXPIRED');
  assert.equal(refusal(() => verifier.open(someSnapshot)), 'EXPIRED', 'an omitted now is the current time');
  assert.equal(refusal(() => verifier.open(bytes, now, { org: 'another-org' })), 'WRONG_ORG');
  assert.equal(refusal(() => verifier.open(bytes, now, { principal: 'mallory' })), 'WRONG_PRINCIPAL');

  for (const cut of [0, 1, 5, bytes.length - 1]) {
    assert.equal(refusal(() => verifier.open(bytes.slice(0, cut), now)), 'BAD_ENCODING', `cut at ${cut}`);
  }
  let seed = 7;
  for (let i = 0; i < 200; i++) {
    const random = new Uint8Array(1 + (i % 300)).map(() => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff);
    const code = refusal(() => verifier.open(random, now));
    assert.ok(['BAD_ENCODING', 'UNKNOWN_KEY', 'BAD_SIGNATURE'].includes(code), code);
  }
  assert.equal(refusal(() => verifier.open(new Uint8Array((1 << 20) + 1), now)), 'TOO_LARGE');
  assert.equal(refusal(() => verifier.open('tss1.' + 'A'.repeat(1_400_000), now)), 'TOO_LARGE');
  assert.equal(refusal(() => verifier.open('tss2.AAAA', now)), 'BAD_ENCODING');
  assert.equal(refusal(() => verifier.open(bytes, Number.NaN)), 'BAD_ARGUMENT');
  assert.equal(refusal(() => verifier.open(bytes, -1)), 'BAD_ARGUMENT');
  assert.equal(refusal(() => verifier.open(bytes, null)), 'BAD_ARGUMENT', 'null is not "skip expiry"');
  assert.equal(refusal(() => verifier.open(42, now)), 'BAD_ARGUMENT');

  assert.equal(refusal(() => web.TesseraVerifier.fromJwks('not json')), 'BAD_KEY_SET');
  assert.equal(refusal(() => web.TesseraVerifier.fromJwks({ keys: [{ kid: 'k', kty: 'RSA', crv: 'x', x: 'AA' }] })), 'BAD_KEY_SET');
  assert.equal(refusal(() => web.TesseraVerifier.fromJwks({ keys: [{ kid: 'k' }] })), 'BAD_KEY_SET');
});

test('malformed query arguments are errors or denials, never crashes', () => {
  const snapshot = web.TesseraVerifier.fromJwks(vectors.jwks).open(someSnapshot, vectors.now);
  assert.equal(snapshot.check('no:such', []), 'deny');
  assert.equal(snapshot.check('fleet:read', ['site:1,rack:1']), 'deny', 'a comma inside one segment is not two segments');
  assert.equal(snapshot.check('fleet:read', ['']), 'deny');
  assert.deepEqual(snapshot.checkMany([{ permission: 'fleet:read', path: ['site:1', ''] }])[0].diagnostic, 'INVALID_PATH');
  assert.equal(refusal(() => snapshot.check('fleet:read', 'site:1')), 'BAD_ARGUMENT');
  assert.equal(refusal(() => snapshot.check(7, [])), 'BAD_ARGUMENT');
  assert.equal(refusal(() => snapshot.filter('fleet:read', [1], null)), 'BAD_ARGUMENT');
  assert.deepEqual(snapshot.guard('no-leading-slash'), { decision: 'no_route' });
  assert.equal(typeof snapshot.org, 'string');
  assert.equal(snapshot.expiresAt, vectors.expires_at);
  snapshot.free();
});
