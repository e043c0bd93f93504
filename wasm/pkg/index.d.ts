// Public API of @tessera/web and @tessera/node (the same names and
// signatures in both; the packages' tests check it).
//
// Casing: every JS object, in and out, is camelCase (`decisiveNode`,
// `ownerOnly`, `tokenScopes`), in both packages, the host client
// (`@tessera/node/client`) and the Express middleware. String values keep
// their wire form (`'not_found'`, `'owner_only'`, codes).

/** An error with a stable code: BAD_ENCODING, UNKNOWN_KEY, BAD_SIGNATURE,
 * EXPIRED, WRONG_FORMAT_VERSION, WRONG_ORG, WRONG_PRINCIPAL, TOO_LARGE,
 * BAD_KEY_SET or BAD_ARGUMENT. */
export class TesseraError extends Error {
  readonly code: string;
}

export type Effect = 'allow' | 'deny' | 'not_found';
export type Diagnostic = 'UNKNOWN_PERMISSION' | 'INVALID_PATH' | 'OUTSIDE_SNAPSHOT';

export interface Decision {
  decision: Effect;
  diagnostic?: Diagnostic;
}

/** A path: the thing's ancestors from the top, ending with the thing, as `type:id`. */
export type Path = readonly string[];

export interface CheckInput {
  permission: string | Permission;
  path?: Path;
  owner?: string | null;
}

export type Rule = 'allow' | 'owner_only' | 'deny' | 'hidden';

export interface FilterPlan {
  permission: string;
  principal: string | null;
  org: Rule;
  default: Rule;
  rules: { node: string; rule: Rule; exact: boolean }[];
}

export type GuardResult =
  | { decision: 'allow' }
  | { decision: 'redirect'; fallback: string }
  | { decision: 'not_found' }
  | { decision: 'no_route' };

export interface Explanation {
  decision: Effect;
  diagnostic?: Diagnostic;
  hiddenNode: string | null;
  decisiveNode: string | null;
  provenance: boolean;
  /** The assignments used at the decisive scope (empty without provenance). */
  assignments: { subject: string; scope: string | null; role: string; ownerOnly: boolean; grantsPermission: boolean }[];
  removedByCaps: { id: string; scope: string | null }[];
  removedByTokenScopes: boolean;
  missingRequirement: string | null;
}

/** A permission key resolved once, for checks in loops. */
export class Permission {
  readonly key: string;
}

export class Snapshot {
  readonly org: string;
  readonly principal: string;
  readonly principalName: string;
  /**
   * A superuser to every rule: flagged in the store, active, and not narrowed
   * by token scopes. For display only: `check` is the only authority.
   */
  readonly superuser: boolean;
  /** An inactive principal is denied everything. */
  readonly active: boolean;
  /** The keys the snapshot was narrowed to (catalog order), or null. */
  readonly tokenScopes: string[] | null;
  readonly anonymous: boolean;
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly revision: number;
  readonly catalogHash: string;
  readonly kid: string;
  readonly subtrees: string[] | null;
  permission(key: string): Permission | undefined;
  check(permission: string | Permission, path?: Path, owner?: string | null): Effect;
  checkMany(checks: readonly CheckInput[]): Decision[];
  canAnywhere(permission: string | Permission): boolean;
  effective(path?: Path, owner?: string | null): string[];
  filter<T>(permission: string, items: readonly T[], pathOf: (item: T) => Path, ownerOf?: (item: T) => string | null | undefined): T[];
  filterPlan(permission: string): FilterPlan;
  guard(route: string): GuardResult;
  nav(): string[];
  claims(): string[];
  explain(permission: string | Permission, path?: Path, owner?: string | null): Explanation;
  free(): void;
}

export class TesseraVerifier {
  static fromJwks(jwks: string | { keys: object[] }): TesseraVerifier;
  /** An omitted `nowSeconds` means the current time, never "skip expiry". */
  open(snapshot: string | Uint8Array, nowSeconds?: number, expect?: { org?: string; principal?: string }): Snapshot;
}

/** Loads the wasm module; required once in browsers, a no-op in Node. */
export function init(input?: unknown): Promise<void>;
export default init;
