// Must NOT compile (tests/node/types.test.mjs runs `tsc -p tests/types/tsconfig.misspelt.json`
// and expects exactly one error per line that names 'miner:rebot', the
// misspelling of 'miner:reboot', and no other error): good.ts's calls with
// the generated PermissionKey, one key misspelt in each of the four places
// a typed app passes a key.

import { createTessera } from '@tessera/web/session';
import { useCan as useReactCan } from '@tessera/react';
import { useCan as useVueCan } from '@tessera/vue';

import type { PermissionKey } from '../../examples/fleet/tessera';

const miner = ['site:1', 'rack:11', 'miner:111'];
const session = createTessera<PermissionKey>({ snapshotUrl: '/tessera/snapshot', keysUrl: '/tessera/keys' });

export const effect = session.check('miner:rebot', miner);
export const decision = session.decision('miner:rebot', miner);

export function reactButton(): boolean {
  return useReactCan<PermissionKey>('miner:rebot', miner).allowed;
}

export function vueButton(): boolean {
  return useVueCan<PermissionKey>('miner:rebot', miner).value;
}
