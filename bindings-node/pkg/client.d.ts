// @tessera/node/client: a typed client for the host's HTTP API (docs/http.md §6),
// over Node's built-in fetch.

import type { Decision, Explanation, FilterPlan, GuardResult, Path } from './index.js';
import { TesseraError } from './index.js';

export { TesseraError };

declare module './index.js' {
  interface TesseraError {
    /**
     * Set on errors from `TesseraClient`: the HTTP status of the answer
     * (0 when the host could not be reached or timed out).
     */
    readonly status?: number;
    /** Set on errors from `TesseraClient`: the server's `error.details` (`{}` when none). */
    readonly details?: Record<string, unknown>;
  }
}

/** Host error codes of docs/admin.md §5, plus the client's own. Any other string may come from a newer host. */
export type HostErrorCode =
  | 'BAD_REQUEST'
  | 'UNKNOWN_PERMISSION'
  | 'READ_PAIRING_VIOLATION'
  | 'RESERVED_ROLE_NAME'
  | 'NOT_HIDEABLE'
  | 'GROUP_CYCLE'
  | 'UNSUPPORTED'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'ESCALATION_DENIED'
  | 'BUILTIN_ROLE_IMMUTABLE'
  | 'BUILTIN_ROLE_NON_DELETABLE'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'NAME_TAKEN'
  | 'ROLE_IN_USE'
  | 'GROUP_IN_USE'
  | 'NODE_IN_USE'
  | 'RESERVED_GROUP'
  | 'LAST_SUPERUSER'
  | 'LAST_GUARDED_ASSIGNMENT'
  | 'LAST_DEFAULT_GROUP'
  | 'STALE'
  | 'PAYLOAD_TOO_LARGE'
  | 'SNAPSHOT_TOO_LARGE'
  | 'INTERNAL'
  /** The host could not be reached or did not answer in time (status 0). */
  | 'UNAVAILABLE'
  /** A 2xx answer whose body is not the expected JSON. */
  | 'BAD_RESPONSE'
  /** Rejected before any request: a bad argument. */
  | 'BAD_ARGUMENT'
  /** A non-2xx answer without the API's error shape (e.g. from a proxy). */
  | `HTTP_${number}`;

export interface TesseraClientOptions {
  /** The host, e.g. `http://127.0.0.1:7700`; a path prefix is kept. */
  baseUrl: string | URL;
  /** An API token: `admin`, or `check` (decisions, snapshots and keys only). */
  token: string;
  /** The acting user of admin calls (`Tessera-Actor`); without it they act as the trusted backend. */
  actor?: string | null;
  /** A fetch implementation. Default: the global `fetch`. */
  fetch?: typeof fetch;
  /** Per-request time limit in ms (then `UNAVAILABLE`); 0: none. Default 30000. */
  timeoutMs?: number;
}

/** The last argument of every method. */
export interface CallOptions {
  /** Overrides the client's `Tessera-Actor` for this call; `null`: none (the trusted backend). */
  actor?: string | null;
  /** Aborts the request; the fetch's `AbortError` is rethrown as is. */
  signal?: AbortSignal;
}

/** Who a question is about, and how fresh its answer must be. */
export interface Who {
  org: string;
  /** A user id, or `anonymous`. */
  principal: string;
  /** Narrow the answer to these catalog keys (sent as `token_scopes`). */
  tokenScopes?: readonly string[] | null;
  /** Refuse (409 `STALE`) to answer from an older org revision (sent as `min_revision`). */
  minRevision?: number | null;
}

export interface CheckArgs extends Who {
  permission: string;
  /** The thing's path from the top, `type:id` segments; default `[]` (the org). */
  path?: Path;
  /** The thing's owner, for owner-only grants. */
  owner?: string | null;
}

/** Every decision answer carries the org revision it used. */
export interface Revisioned {
  revision: number;
}

export type CheckAnswer = Decision & Revisioned;

export interface BatchArgs extends Who {
  checks: readonly { permission: string; path?: Path; owner?: string | null }[];
}

export interface BatchAnswer extends Revisioned {
  decisions: Decision[];
}

export interface ExplainAnswer extends Revisioned {
  decision: Decision['decision'];
  trace: Explanation;
}

export interface FilterArgs extends Who {
  permission: string;
  /** Node type → column name: asks for a SQL fragment too. */
  columns?: Record<string, string> | Map<string, string>;
  /** The owner column, for owner-only rules. */
  ownerColumn?: string;
  /** Default `postgres`. */
  dialect?: 'postgres' | 'sqlite';
}

export interface FilterAnswer extends Revisioned {
  plan: FilterPlan;
  /** With `columns`: a parameterised `WHERE` fragment ($1… for postgres, ?1… for sqlite). */
  sql?: { sql: string; params: string[] };
}

export interface PermissionArgs extends Who {
  permission: string;
}

export interface AnywhereAnswer extends Revisioned {
  allowed: boolean;
}

export interface GuardArgs extends Who {
  /** A concrete route path, e.g. `/sites/7/racks`. */
  route: string;
}

export type GuardAnswer = GuardResult & Revisioned;

export interface EffectiveArgs extends Who {
  /** Default: the org itself. */
  path?: Path;
  owner?: string | null;
}

export interface SnapshotArgs extends Who {
  /** Subtree roots (`site:7`): a subtree snapshot. */
  under?: readonly string[] | null;
  /** The `tss1.` text form instead of the binary envelope. */
  text?: boolean;
}

export interface ConditionalSnapshotArgs extends SnapshotArgs {
  /** The `ETag` of the copy held, from an earlier answer. */
  etag?: string | null;
}

/** A conditional snapshot request's answer: a new snapshot, or "the copy you hold is still good". */
export type ConditionalSnapshot<S> =
  | { changed: true; snapshot: S; etag: string; revision: number }
  | { changed: false; etag: string; revision: number };

export interface Jwks {
  keys: { kid: string; kty: 'OKP'; crv: 'Ed25519'; x: string; [field: string]: unknown }[];
}

export interface Org {
  id: string;
  name: string;
}

export interface User {
  id: string;
  name: string;
  superuser: boolean;
  active: boolean;
}

export interface Group {
  id: string;
  name: string;
  default: boolean;
}

/** A group as `listGroups` answers it: with its direct members. */
export interface GroupListing extends Group {
  /** `user:<id>` and `group:<id>`, sorted; none for `admin` (its members are the superusers). */
  members: string[];
}

/** A catalog key, with what it requires and what requires it (both transitive). */
export interface CatalogKey {
  key: string;
  description: string | null;
  requires: string[];
  requiredBy: string[];
}

export interface Role {
  id: string;
  name: string;
  /** The manifest key of a built-in; `null` for a custom role. */
  builtin: string | null;
  mode: 'custom' | 'immutable' | 'editable';
  /** A guarded built-in (an org keeps an active direct holder at its root). */
  guarded: boolean;
  permissions: string[];
}

export interface Assignment {
  id: string;
  /** `user:<id>`, `group:<id>`, `@everyone`, `@authenticated` or `@members`. */
  subject: string;
  role: string;
  /** A node key; `null`: the org root. */
  scope: string | null;
  ownerOnly: boolean;
}

export interface HiddenEntry {
  id: string;
  selector: string;
  node: string;
}

export interface Cap {
  id: string;
  selector: string;
  scope: string | null;
  allow: string[];
}

export interface AuditEntry {
  id: number;
  /** `null`: the trusted backend or reconcile. */
  actor: string | null;
  action: string;
  target: string;
  before: unknown;
  after: unknown;
  revision: number | null;
  /** Unix seconds. */
  at: number;
}

/**
 * A client of one Tessera host. Every non-2xx answer rejects with a
 * `TesseraError` (the class `@tessera/node` exports) whose `code` is the
 * server's, with `status` and `details`; an unreachable host rejects with
 * `UNAVAILABLE` (status 0). Path parameters are percent-encoded.
 */
export class TesseraClient {
  constructor(options: TesseraClientOptions);
  /** The base URL requests go to (without a trailing slash). */
  readonly baseUrl: string;
  /** The client's default acting user. */
  readonly actor: string | undefined;
  /** A client like this one acting for `actor` (`null`: the trusted backend). */
  withActor(actor: string | null): TesseraClient;

  // Decisions (any token kind).
  check(args: CheckArgs, options?: CallOptions): Promise<CheckAnswer>;
  checkBatch(args: BatchArgs, options?: CallOptions): Promise<BatchAnswer>;
  explain(args: CheckArgs, options?: CallOptions): Promise<ExplainAnswer>;
  filter(args: FilterArgs, options?: CallOptions): Promise<FilterAnswer>;
  canAnywhere(args: PermissionArgs, options?: CallOptions): Promise<AnywhereAnswer>;
  guard(args: GuardArgs, options?: CallOptions): Promise<GuardAnswer>;
  effective(args: EffectiveArgs, options?: CallOptions): Promise<{ permissions: string[] } & Revisioned>;
  nav(args: Who, options?: CallOptions): Promise<{ nav: string[] } & Revisioned>;
  claims(args: Who, options?: CallOptions): Promise<{ claims: string[] } & Revisioned>;

  // Snapshots and keys (any token kind).
  snapshot(args: SnapshotArgs & { text: true }, options?: CallOptions): Promise<string>;
  snapshot(args: SnapshotArgs & { text?: false }, options?: CallOptions): Promise<Uint8Array>;
  snapshot(args: SnapshotArgs, options?: CallOptions): Promise<string | Uint8Array>;
  snapshotIfChanged(args: ConditionalSnapshotArgs & { text: true }, options?: CallOptions): Promise<ConditionalSnapshot<string>>;
  snapshotIfChanged(args: ConditionalSnapshotArgs & { text?: false }, options?: CallOptions): Promise<ConditionalSnapshot<Uint8Array>>;
  /** The org's revision events (`GET …/events`): the current revision, then one per move, until the host closes or `signal` aborts. */
  events(args: { org: string; lastEventId?: number }, options?: { signal?: AbortSignal }): AsyncIterableIterator<{ revision: number }>;
  keys(options?: CallOptions): Promise<Jwks>;

  // The model (admin tokens; acting for `actor`).
  createOrg(org: { id: string; name: string }, options?: CallOptions): Promise<Org>;
  renameOrg(org: string, fields: { name: string }, options?: CallOptions): Promise<Org>;
  deleteOrg(org: string, options?: CallOptions): Promise<void>;
  putUser(id: string, fields: { name?: string; superuser?: boolean; active?: boolean }, options?: CallOptions): Promise<User>;
  putMember(org: string, user: string, options?: CallOptions): Promise<void>;
  deleteMember(org: string, user: string, options?: CallOptions): Promise<void>;
  /** Members whose id or name contains `search` (ASCII letters in either case), by id. */
  searchMembers(org: string, query?: { search?: string; limit?: number }, options?: CallOptions): Promise<{ id: string; name: string }[]>;

  listGroups(org: string, options?: CallOptions): Promise<GroupListing[]>;
  createGroup(org: string, group: { id?: string; name: string; default?: boolean }, options?: CallOptions): Promise<Group>;
  updateGroup(org: string, id: string, fields: { name?: string; default?: boolean }, options?: CallOptions): Promise<Group>;
  deleteGroup(org: string, id: string, options?: CallOptions): Promise<void>;
  /** `member`: `user:<id>` or `group:<id>`. */
  putGroupMember(org: string, group: string, member: string, options?: CallOptions): Promise<void>;
  deleteGroupMember(org: string, group: string, member: string, options?: CallOptions): Promise<void>;

  /** The manifest's catalog, the same in every org. */
  catalog(options?: CallOptions): Promise<{ catalog: CatalogKey[] }>;
  listRoles(org: string, options?: CallOptions): Promise<Role[]>;
  createRole(org: string, role: { name: string; permissions?: readonly string[] }, options?: CallOptions): Promise<Role>;
  updateRole(org: string, id: string, fields: { name?: string; permissions?: readonly string[] }, options?: CallOptions): Promise<Role>;
  deleteRole(org: string, id: string, options?: CallOptions): Promise<void>;

  /** Every registered node with its parent (`null`: the org root), parents first. */
  listNodes(org: string, options?: CallOptions): Promise<{ node: string; parent: string | null }[]>;
  /** `node` and `parent` are node keys (`site:7`); no parent: the org root. */
  putNode(org: string, node: string, fields?: { parent?: string | null }, options?: CallOptions): Promise<void>;
  deleteNode(org: string, node: string, options?: CallOptions): Promise<void>;

  listAssignments(org: string, options?: CallOptions): Promise<Assignment[]>;
  /** A one-time console sign-in URL (a path on the host, 60 s, once) for a user this backend authenticated (docs/console.md §10.1). */
  consoleSignIn(
    request: { actor: string; org?: string },
    options?: CallOptions,
  ): Promise<{ url: string; expiresAt: number }>;
  /** Every active user `check` allows, a page at a time (docs/http.md §6.11). */
  whoCan(
    args: { org: string; permission: string; path?: readonly string[]; owner?: string | null; limit?: number; after?: string | null },
    options?: CallOptions,
  ): Promise<{
    principals: { id: string; name: string; via: { subject: string; role: string; scope: string | null }[] }[];
    anonymous: boolean;
    next: string | null;
    diagnostic?: string;
    revision: number;
  }>;
  /** The org as a `tessera.org/1` document, its canonical JSON text (byte-equal for the same state). */
  exportOrg(org: string, options?: CallOptions): Promise<string>;
  /** The plan that makes the org what a `tessera.org/1` document says; applied in one transaction with `dryRun: false`. */
  applyOrg(
    org: string,
    request: { document: string | Record<string, unknown>; dryRun?: boolean },
    options?: CallOptions,
  ): Promise<{
    plan: { kind: string; op: 'create' | 'update' | 'delete'; target: string; pointer: string | null }[];
    counts: Record<string, { create: number; update: number; delete: number }>;
    principalsAffected: number | null;
    applied: boolean;
    revision: number;
  }>;
  /** What a model write would change, without making it; rejects with the write's own refusal. */
  preview(
    org: string,
    write: { method: 'POST' | 'PUT' | 'PATCH' | 'DELETE'; path: string; body?: unknown },
    options?: CallOptions,
  ): Promise<{
    changes: { principal: string; node: string | null; permission: string; before: string; after: string }[];
    truncated: boolean;
    totalChanges: number;
    principalsAffected: number;
    revision: number;
  }>;
  /** Why one user is allowed or denied something (`explain` for a person, behind the access map's gate). */
  userExplain(
    org: string,
    user: string,
    question: { permission: string; path?: string[]; owner?: string },
    options?: CallOptions,
  ): Promise<{ decision: 'allow' | 'deny' | 'not_found'; revision: number; trace: Record<string, unknown> }>;
  /** What one user may do where: the root's keys, nodes that differ from their parent, hidden subtrees. */
  userAccess(org: string, user: string, options?: CallOptions): Promise<{
    root: string[];
    nodes: { node: string; permissions: string[] }[];
    hidden: string[];
    revision: number;
  }>;
  /** What one user sees ("view as"): their nav, each route's guard, their visible nodes and hidden subtrees. */
  userView(
    org: string,
    user: string,
    request?: { routes?: readonly string[] },
    options?: CallOptions,
  ): Promise<{
    nav: string[];
    routes: ({ route: string } & GuardResult)[];
    visible: string[];
    hidden: string[];
    revision: number;
  }>;
  createAssignment(
    org: string,
    assignment: { subject: string; role: string; scope?: string | null; ownerOnly?: boolean },
    options?: CallOptions,
  ): Promise<Assignment>;
  deleteAssignment(org: string, id: string, options?: CallOptions): Promise<void>;

  listHidden(org: string, options?: CallOptions): Promise<HiddenEntry[]>;
  createHidden(org: string, entry: { selector: string; node: string }, options?: CallOptions): Promise<HiddenEntry>;
  deleteHidden(org: string, id: string, options?: CallOptions): Promise<void>;

  listCaps(org: string, options?: CallOptions): Promise<Cap[]>;
  createCap(org: string, cap: { selector: string; scope?: string | null; allow: readonly string[] }, options?: CallOptions): Promise<Cap>;
  deleteCap(org: string, id: string, options?: CallOptions): Promise<void>;

  getSettings(org: string, options?: CallOptions): Promise<{ kiosk: boolean }>;
  putSettings(org: string, settings: { kiosk: boolean }, options?: CallOptions): Promise<{ kiosk: boolean }>;
  /** One page of audit rows after id `after` (default 0), oldest first. */
  audit(org: string, query?: { after?: number }, options?: CallOptions): Promise<AuditEntry[]>;

  // Operations.
  health(options?: CallOptions): Promise<{ status: 'ok' }>;
  openapi(options?: CallOptions): Promise<Record<string, unknown>>;
}
