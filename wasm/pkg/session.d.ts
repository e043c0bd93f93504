// @tessera/web/session: a live permission session (docs/frontend.md §8.2).
// `K` is the app's permission keys (`tessera codegen ts` writes the union):
// with it, a misspelt key is a compile error.

import type { Effect, Explanation, GuardResult, Path, Snapshot, TesseraError } from './index.js';

export type Status = 'loading' | 'ready' | 'stale' | 'expired' | 'error';

/** `check`'s answer, or `'loading'` before the first snapshot. */
export type SessionDecision = Effect | 'loading';

/** `guard`'s answer; `'loading'` before the first snapshot, `'unavailable'` without one (error, expired). */
export type SessionGuard = GuardResult | { decision: 'loading' } | { decision: 'unavailable' };

export interface TesseraOptions {
  /** The relay's snapshot route (the app backend's `GET …/snapshot`). */
  snapshotUrl: string | URL;
  /** The relay's key route (`GET …/keys`). */
  keysUrl?: string | URL;
  /** The relay's revision events (`GET …/events`); without it the session polls. */
  eventsUrl?: string | URL;
  /** A `tss1.` text the server rendered into the page: no snapshot fetch at start. */
  initial?: string;
  /** The JWKS, rendered into the page: no key fetch at start. */
  keys?: string | { keys: object[] };
  /** Every request goes through it (default: the global `fetch`). */
  fetch?: typeof fetch;
  /** Refresh at this fraction of the snapshot's lifetime (default 0.8). */
  refreshAt?: number;
  /** Poll this often when there is no event stream, or it failed (default 60). */
  pollSeconds?: number;
  /** The clock in unix seconds (default: `Date.now() / 1000`). */
  now?: () => number;
}

export interface Session<K extends string = string> {
  readonly status: Status;
  /** The current snapshot, or `null`; replaced (and the old one freed) at each refresh. */
  readonly snapshot: Snapshot | null;
  /** Why the last fetch failed (`status` `'error'` or `'stale'`), else `null`. */
  readonly error: TesseraError | null;
  /** The revision the snapshot is known current at: its own, or a later one a `304` confirmed (0 without one). */
  readonly revision: number;
  /** Resolves once the first fetch is done (`ready` or `error`); never rejects. */
  readonly ready: Promise<Session<K>>;
  /** Calls `listener` after every change of status or snapshot; returns the unsubscribe. */
  subscribe(listener: (session: Session<K>) => void): () => void;
  /** Fetches now (shared with a fetch already running); `minRevision` for read-your-writes. */
  refresh(options?: { minRevision?: number }): Promise<void>;
  /** Stops every timer and stream and frees the snapshot. */
  close(): void;

  check(permission: K, path?: Path, owner?: string | null): Effect;
  decision(permission: K, path?: Path, owner?: string | null): SessionDecision;
  canAnywhere(permission: K): boolean;
  effective(path?: Path, owner?: string | null): readonly string[];
  filter<T>(permission: K, items: readonly T[], pathOf: (item: T) => Path, ownerOf?: (item: T) => string | null | undefined): T[];
  guard(route: string): SessionGuard;
  nav(): readonly string[];
  claims(): readonly string[];
  explain(permission: K, path?: Path, owner?: string | null): Explanation | null;
}

export function createTessera<K extends string = string>(options: TesseraOptions): Session<K>;
