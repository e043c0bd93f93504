// @tessera/react (docs/frontend.md §8.3). `K` is the app's permission keys
// (`tessera codegen ts`): `useCan<PermissionKey>('miner:rebot')` does not compile.

import type { ReactNode } from 'react';
import type { Path } from '@tessera/web';
import type { Session, SessionDecision, SessionGuard, Status } from '@tessera/web/session';

export function TesseraProvider(props: { session: Session<any>; children?: ReactNode }): ReactNode;
export function useTessera<K extends string = string>(): Session<K>;

export interface CanAnswer {
  allowed: boolean;
  decision: SessionDecision;
  status: Status;
}

export function useCan<K extends string = string>(permission: K, path?: Path, options?: { owner?: string | null }): CanAnswer;
export function useStatus(): Status;
/** `session.filter`, recomputed when the snapshot or `items` change (keep `pathOf` stable or inline: it is read, not a dependency). */
export function useFilter<T, K extends string = string>(
  permission: K,
  items: readonly T[],
  pathOf: (item: T) => Path,
  ownerOf?: (item: T) => string | null | undefined,
): T[];
export function useCanAnywhere<K extends string = string>(permission: K): boolean;
export function useNav(): readonly string[];
export function useGuard(route: string): SessionGuard;

export interface CanProps<K extends string = string> {
  permission: K;
  path?: Path;
  owner?: string | null;
  /** Shown when denied (and without a snapshot). */
  fallback?: ReactNode;
  /** Shown before the first snapshot. */
  loading?: ReactNode;
  children?: ReactNode;
}
export function Can<K extends string = string>(props: CanProps<K>): ReactNode;

/** A React Router `loader` guarding its route with the manifest's routes. */
export function requireRoute<A extends { request: Request }, R = null>(
  session: Session<any>,
  loader?: (args: A) => R | Promise<R>,
): (args: A) => Promise<R | null>;
