// Must compile (tests/node/types.test.mjs runs `tsc -p tests/types/tsconfig.good.json`):
// the session, @tessera/react and @tessera/vue typed with the fleet
// example's generated keys (examples/fleet/tessera.ts, `tessera codegen ts`),
// every key spelt right. misspelt.ts is the same calls with one key wrong.

import { createTessera } from '@tessera/web/session';
import type { Session, SessionDecision, SessionGuard, Status } from '@tessera/web/session';
import type { Effect, Path } from '@tessera/web';
import * as React from '@tessera/react';
import * as Vue from '@tessera/vue';
import type { ComputedRef } from 'vue';

import { permissionKeys } from '../../examples/fleet/tessera';
import type { NodeKey, PermissionKey, RoutePath } from '../../examples/fleet/tessera';

const miner: Path = ['site:1', 'rack:11', 'miner:111'] satisfies NodeKey[];

// --- @tessera/web/session
const session: Session<PermissionKey> = createTessera<PermissionKey>({
  snapshotUrl: '/tessera/snapshot',
  keysUrl: new URL('https://app.example/tessera/keys'),
  eventsUrl: '/tessera/events',
  fetch: globalThis.fetch,
  refreshAt: 0.8,
  pollSeconds: 60,
  now: () => Date.now() / 1000,
});
const effect: Effect = session.check('miner:reboot', miner);
const decision: SessionDecision = session.decision('miner:reboot', miner, null);
const anywhere: boolean = session.canAnywhere('rack:manage');
const route: RoutePath = '/sites/1/racks';
const guard: SessionGuard = session.guard(route);
const kept: { id: string }[] = session.filter('miner:read', [{ id: '111' }], (item) => ['site:1', 'rack:11', `miner:${item.id}`]);
const explained = session.explain('miner:blink_led', miner)?.decisiveNode;
for (const key of permissionKeys) session.check(key);
const unsubscribe: () => void = session.subscribe((s: Session<PermissionKey>) => void s.status);
const refreshed: Promise<void> = session.refresh({ minRevision: 3 });

// --- @tessera/react (hooks typed alone: calling them is for components, this only checks types)
function ReactToolbar(): boolean {
  const can: React.CanAnswer = React.useCan<PermissionKey>('miner:reboot', miner, { owner: 'user:bob' });
  const status: Status = React.useStatus();
  const racks: boolean = React.useCanAnywhere<PermissionKey>('rack:read');
  const own: Session<PermissionKey> = React.useTessera<PermissionKey>();
  const visible: { id: string }[] = React.useFilter<{ id: string }, PermissionKey>('miner:read', [{ id: '1' }], () => miner);
  const props: React.CanProps<PermissionKey> = { permission: 'miner:blink_led', path: miner, fallback: 'no' };
  return can.allowed && status === 'ready' && racks && own === session && visible.length > 0 && props.permission !== 'fleet:read';
}

// --- @tessera/vue (composables: refs or getters of keys)
function vueToolbar(): boolean {
  const can: ComputedRef<boolean> = Vue.useCan<PermissionKey>('miner:reboot', () => miner);
  const decided: ComputedRef<SessionDecision> = Vue.useDecision<PermissionKey>(() => 'miner:download_logs', miner, { owner: null });
  const racks: ComputedRef<boolean> = Vue.useCanAnywhere<PermissionKey>('rack:read');
  const own: Session<PermissionKey> = Vue.useTessera<PermissionKey>();
  return can.value && decided.value === 'allow' && racks.value && own === session;
}

export const used = [effect, decision, anywhere, guard, kept, explained, unsubscribe, refreshed, ReactToolbar, vueToolbar];
