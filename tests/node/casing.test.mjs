// JS objects are camelCase in and out (index.d.ts): the one converter both
// packages and the host client use, on the shapes the core and the host
// answer with.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { camelKeys } from '../../wasm/pkg/api.js';

test('snake_case keys become camelCase, deeply; values are left alone', () => {
  const trace = {
    decision: 'not_found',
    hidden_node: 'miner:9',
    decisive_node: null,
    assignments: [{ subject: 'user:carol', scope: 'site:1', owner_only: false, grants_permission: true }],
    removed_by_caps: [{ id: 'c-1', scope: null }],
    removed_by_token_scopes: false,
    missing_requirement: 'miner:read',
  };
  assert.deepEqual(camelKeys(trace), {
    decision: 'not_found',
    hiddenNode: 'miner:9',
    decisiveNode: null,
    assignments: [{ subject: 'user:carol', scope: 'site:1', ownerOnly: false, grantsPermission: true }],
    removedByCaps: [{ id: 'c-1', scope: null }],
    removedByTokenScopes: false,
    missingRequirement: 'miner:read',
  });
  assert.deepEqual(camelKeys([1, 'owner_only', null]), [1, 'owner_only', null]);
});

test('a key named __proto__ stays a key and changes no prototype', () => {
  const converted = camelKeys(JSON.parse('{"__proto__": {"is_admin": true}}'));
  assert.equal(Object.getPrototypeOf(converted), Object.prototype);
  assert.equal(converted.isAdmin, undefined);
  assert.deepEqual(Object.keys(converted).length, 1);
});
