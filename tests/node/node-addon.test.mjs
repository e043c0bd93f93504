// @tessera/node (the napi addon) against the conformance vectors, and its
// parity with @tessera/web: the same exports, and identical answers to the
// same queries on the same snapshots.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';

import * as addon from '../../bindings-node/pkg/node.js';
import * as web from '../../wasm/pkg/node.js';
import { answer, loadVectors, runAll } from './vector-runner.mjs';

const vectors = loadVectors();

test('every vector file passes through @tessera/node', () => {
  const counts = runAll(addon, vectors);
  const total = counts.reduce((sum, [, count]) => sum + count, 0);
  console.log(`node total: ${total} queries in ${counts.length} files`);
  assert.ok(total >= 150);
});

// Both packages run the same api.js over their own raw module (the napi
// addon, the wasm-bindgen module): the public names are equal by
// construction, so what can differ, and is checked, is the copy of the
// public files and the raw surface api.js calls.
test('both packages ship the same public files', () => {
  for (const name of ['api.js', 'index.d.ts']) {
    const text = (dir) => readFileSync(new URL(`../../${dir}/pkg/${name}`, import.meta.url), 'utf8');
    assert.equal(text('bindings-node'), text('wasm'), `bindings-node/pkg/${name} is not wasm/pkg's`);
  }
  assert.deepEqual(Object.keys(addon).sort(), Object.keys(web).sort());
});

test('both raw modules have every method api.js calls', () => {
  const require = createRequire(import.meta.url);
  const raws = {
    addon: require('../../bindings-node/pkg/raw/tessera-node.node'),
    wasm: require('../../wasm/pkg/node/tessera_wasm.js'),
  };
  const api = readFileSync(new URL('../../wasm/pkg/api.js', import.meta.url), 'utf8');
  const called = (pattern) => [...new Set([...api.matchAll(pattern)].map((match) => match[1]))];
  // The addon's fast handle check (a free `checkHandle` and
  // `RawSnapshot.permissionId`) is used only where the raw module has it.
  const fast = ['permissionId'];
  const onSnapshot = called(/this\._raw\.(\w+)\(/g).filter((name) => ![...fast, 'openText', 'openBytes'].includes(name));
  const onVerifier = ['openText', 'openBytes'];
  const statics = called(/raw\.RawVerifier\.(\w+)\(/g);
  assert.ok(onSnapshot.length >= 13 && statics.length >= 1, `${onSnapshot} ${statics}`);
  for (const [name, raw] of Object.entries(raws)) {
    for (const method of onSnapshot) {
      assert.equal(typeof raw.RawSnapshot.prototype[method], 'function', `${name}: RawSnapshot.${method}`);
    }
    for (const method of onVerifier) {
      assert.equal(typeof raw.RawVerifier.prototype[method], 'function', `${name}: RawVerifier.${method}`);
    }
    for (const method of statics) {
      assert.equal(typeof raw.RawVerifier[method], 'function', `${name}: RawVerifier.${method}`);
    }
  }
  assert.equal(typeof raws.addon.checkHandle, 'function', 'the addon keeps its fast check');
  for (const method of fast) {
    assert.equal(typeof raws.addon.RawSnapshot.prototype[method], 'function', `addon: RawSnapshot.${method}`);
  }
});

test('the addon and the wasm module answer identically', () => {
  const verifiers = [addon, web].map((api) => api.TesseraVerifier.fromJwks(vectors.jwks));
  let compared = 0;
  for (const file of vectors.files) {
    const byText = new Map();
    for (const vector of file.cases) {
      if (!byText.has(vector.snapshot)) {
        byText.set(vector.snapshot, verifiers.map((v) => v.open(vector.snapshot, vectors.now)));
      }
      const [fromAddon, fromWeb] = byText.get(vector.snapshot);
      assert.deepEqual(answer(fromAddon, vector.query), answer(fromWeb, vector.query), vector.description);
      compared += 1;
    }
  }
  console.log(`addon/wasm parity: ${compared} identical answers`);
});

test('refusals carry the same codes as in @tessera/web', () => {
  const text = vectors.files[0].cases[0].snapshot;
  const bytes = new Uint8Array(Buffer.from(text.slice(5), 'base64url'));
  const tampered = bytes.slice();
  tampered[40] ^= 1;
  const inputs = [
    [tampered, vectors.now],
    [bytes, vectors.expires_at],
    [bytes.slice(0, 10), vectors.now],
    [bytes, Number.NaN],
    ['tss2.AAAA', vectors.now],
    [new Uint8Array((1 << 20) + 1), vectors.now],
  ];
  for (const [input, now] of inputs) {
    const codes = [addon, web].map((api) => {
      try {
        api.TesseraVerifier.fromJwks(vectors.jwks).open(input, now);
        return 'opened';
      } catch (err) {
        assert.ok(err instanceof api.TesseraError);
        return err.code;
      }
    });
    assert.notEqual(codes[0], 'opened');
    assert.equal(codes[0], codes[1]);
  }
});

test('a now that is not a number is BAD_ARGUMENT in both packages, never "skip expiry"', () => {
  const expired = vectors.files[0].cases[0].snapshot;
  for (const now of [null, '1000', true, {}, [1000], 1000n]) {
    for (const api of [addon, web]) {
      const verifier = api.TesseraVerifier.fromJwks(vectors.jwks);
      assert.throws(
        () => verifier.open(expired, now),
        (err) => err instanceof api.TesseraError && err.code === 'BAD_ARGUMENT',
        `${typeof now} ${String(now)}`,
      );
    }
  }
});

test('handles used across snapshots answer as in @tessera/web (fast path included)', () => {
  const verifiers = [addon, web].map((api) => api.TesseraVerifier.fromJwks(vectors.jwks));
  const texts = [...new Set(vectors.files.flatMap((file) => file.cases.map((c) => c.snapshot)))].slice(0, 12);
  const checks = vectors.files
    .flatMap((file) => file.cases.map((c) => c.query.check))
    .filter(Boolean)
    .slice(0, 40);
  const opened = verifiers.map((v) => texts.map((text) => v.open(text, vectors.now)));
  // The addon's handles go through its fast `checkHandle` function.
  assert.equal(typeof opened[0][0]._id, 'number');
  let compared = 0;
  for (let from = 0; from < texts.length; from += 1) {
    for (let on = 0; on < texts.length; on += 1) {
      for (const args of checks) {
        const answers = opened.map((snaps) => {
          const handle = snaps[from].permission(args.permission);
          return handle ? snaps[on].check(handle, args.path, args.owner) : 'no handle';
        });
        assert.equal(answers[0], answers[1], `${args.permission} from ${from} on ${on}`);
        compared += 1;
      }
    }
  }
  console.log(`cross-snapshot handle checks: ${compared} identical answers`);
});

test('paths longer than the fast path buffer, and non-ASCII ones, answer as in @tessera/web', () => {
  const verifiers = [addon, web].map((api) => api.TesseraVerifier.fromJwks(vectors.jwks));
  const text = vectors.files[0].cases[0].snapshot;
  const check = vectors.files.flatMap((file) => file.cases.map((c) => c.query.check)).find(Boolean);
  const snaps = verifiers.map((v) => v.open(text, vectors.now));
  const handles = snaps.map((snap) => snap.permission(check.permission));
  assert.ok(handles[0] && handles[1]);
  const long = [...check.path, `miner:${'x'.repeat(300)}`];
  const wide = [...check.path, `miner:${'é'.repeat(200)}`];
  for (const path of [check.path, long, wide, [`site:${'ü'.repeat(1000)}`]]) {
    const answers = snaps.map((snap, at) => snap.check(handles[at], path, check.owner));
    assert.equal(answers[0], answers[1], `${path.join('/').length} chars`);
  }
});
