// @tessera/vue (docs/frontend.md §8.4). `K` is the app's permission keys
// (`tessera codegen ts`): `useCan<PermissionKey>('miner:rebot')` does not compile.

import type { App, ComputedRef, DefineComponent, MaybeRefOrGetter } from 'vue';
import type { Router } from 'vue-router';
import type { Path } from '@tessera/web';
import type { Session, SessionDecision, SessionGuard, Status } from '@tessera/web/session';

export function createTesseraPlugin(session: Session<any>): { install(app: App): void };
export function useTessera<K extends string = string>(): Session<K>;
export function useStatus(): ComputedRef<Status>;
export function useDecision<K extends string = string>(
  permission: MaybeRefOrGetter<K>,
  path?: MaybeRefOrGetter<Path | undefined>,
  options?: MaybeRefOrGetter<{ owner?: string | null } | undefined>,
): ComputedRef<SessionDecision>;
export function useCan<K extends string = string>(
  permission: MaybeRefOrGetter<K>,
  path?: MaybeRefOrGetter<Path | undefined>,
  options?: MaybeRefOrGetter<{ owner?: string | null } | undefined>,
): ComputedRef<boolean>;
export function useFilter<T, K extends string = string>(
  permission: MaybeRefOrGetter<K>,
  items: MaybeRefOrGetter<readonly T[] | undefined>,
  pathOf: (item: T) => Path,
  ownerOf?: (item: T) => string | null | undefined,
): ComputedRef<T[]>;
export function useCanAnywhere<K extends string = string>(permission: MaybeRefOrGetter<K>): ComputedRef<boolean>;
export function useNav(): ComputedRef<readonly string[]>;
export function useGuard(route: MaybeRefOrGetter<string>): ComputedRef<SessionGuard>;

export const Can: DefineComponent<{ permission: string; path?: Path; owner?: string }>;

/**
 * `notFound` is the name of the app's catch-all route (`/:pathMatch(.*)*`);
 * routes with `meta: { tessera: false }` are not guarded. Returns the
 * guard's remover (`router.beforeEach`'s).
 */
export function installRouterGuard(router: Router, session: Session<any>, options: { notFound: string }): () => void;
