// Runs the exported conformance vectors (tests/out/vectors.json, written by
// `cargo run -p tessera-tests --bin export-vectors`) through a JS package's
// public API. Shared by the @tessera/web and @tessera/node runners, so both
// packages are held to the very same expectations as the Rust runners.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { camelKeys } from '../../wasm/pkg/api.js';

export const root = fileURLToPath(new URL('../..', import.meta.url));

export function loadVectors() {
  const path = `${root}/tests/out/vectors.json`;
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path} is missing: run \`cargo run -p tessera-tests --bin export-vectors -- tests/out/vectors.json\` (./scripts/test does): ${err.message}`);
  }
}

/** Answers one vector query through the public API, in the core's JSON shapes. */
export function answer(snapshot, query) {
  const [kind, args] = Object.entries(query)[0];
  switch (kind) {
    case 'check': {
      const [decision] = snapshot.checkMany([args]);
      // The plain `check` must agree with the batch's decision.
      assert.equal(snapshot.check(args.permission, args.path, args.owner), decision.decision);
      const handle = snapshot.permission(args.permission);
      if (handle) assert.equal(snapshot.check(handle, args.path, args.owner), decision.decision);
      return decision;
    }
    case 'check_many':
      return snapshot.checkMany(args.checks);
    case 'can_anywhere':
      return snapshot.canAnywhere(args.permission);
    case 'effective':
      return snapshot.effective(args.path, args.owner);
    case 'filter':
      return snapshot
        .filter(args.permission, args.items, (item) => item.path, (item) => item.owner)
        .map((item) => item.id);
    case 'filter_plan':
      return snapshot.filterPlan(args.permission);
    case 'guard':
      return snapshot.guard(args.route);
    case 'nav':
      return snapshot.nav();
    case 'claims':
      return snapshot.claims();
    case 'explain':
      return snapshot.explain(args.permission, args.path, args.owner);
    case 'header':
      return { superuser: snapshot.superuser, active: snapshot.active, token_scopes: snapshot.tokenScopes };
    default:
      throw new Error(`unknown query ${kind}`);
  }
}

/**
 * Exact equality, except `explain`, where only the expected fields count:
 * each must be in the answer (camelCase in JS) with that value.
 */
export function assertMatches(query, expected, actual, where) {
  if ('explain' in query) {
    for (const [key, value] of Object.entries(camelKeys(expected))) {
      assert.ok(Object.hasOwn(actual, key), `${where}: field ${key} is missing`);
      assert.deepEqual(actual[key], value, `${where}: field ${key}`);
    }
  } else {
    assert.deepEqual(actual, expected, where);
  }
}

/** Runs every file; returns `[name, count]` pairs. */
export function runAll(api, vectors) {
  const verifier = api.TesseraVerifier.fromJwks(vectors.jwks);
  const opened = new Map();
  const counts = [];
  for (const file of vectors.files) {
    for (const vector of file.cases) {
      let snapshot = opened.get(vector.snapshot);
      if (!snapshot) {
        snapshot = verifier.open(vector.snapshot, vectors.now);
        opened.set(vector.snapshot, snapshot);
      }
      const actual = answer(snapshot, vector.query);
      assertMatches(vector.query, vector.expect, actual, `${file.name}: ${vector.description}`);
    }
    counts.push([file.name, file.cases.length]);
  }
  for (const snapshot of opened.values()) snapshot.free();
  return counts;
}
