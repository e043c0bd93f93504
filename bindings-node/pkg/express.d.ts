// @tessera/node/express: Express middleware over @tessera/node. Typed without
// a dependency on Express's own types: any Express (4 or 5) request works.

import type { Path, Snapshot } from './index.js';

/** What the middleware reads from a request (Express's `Request` has it). */
export interface TesseraRequest {
  headers: Record<string, string | string[] | undefined>;
  path?: string;
  tessera?: { snapshot: Snapshot };
}

/** A middleware: `(req, res, next)`; never rejects, answers errors itself. */
export type TesseraMiddleware = (req: any, res: any, next: (err?: unknown) => void) => Promise<void>;

/**
 * Error codes in `{"error": {"code", "message", "details"?}}` bodies: 401 with
 * UNAUTHENTICATED (no snapshot, or no principal to bind it to), TOO_LARGE or a
 * `TesseraError` code of `open` (BAD_ENCODING, UNKNOWN_KEY, BAD_SIGNATURE,
 * EXPIRED, WRONG_FORMAT_VERSION, WRONG_ORG, WRONG_PRINCIPAL, …); 403
 * FORBIDDEN; 404 NOT_FOUND; 503 KEYS_UNAVAILABLE (the key set could not be
 * fetched).
 */
export interface TesseraErrorBody {
  error: { code: string; message: string; details?: { fallback: string } };
}

export interface TesseraOptions {
  /** A static key set (`{"keys": [{kid, kty: "OKP", crv: "Ed25519", x}]}`), trusted as given. */
  jwks?: string | { keys: object[] };
  /**
   * The host's `GET /v1/keys`: fetched the first time a `kid` is unknown,
   * then on an unknown `kid` at most once per 30 s (the open is retried once).
   */
  keysUrl?: string | URL;
  /**
   * Token sent with every fetch of `keysUrl` as `Authorization: Bearer`, for
   * keys behind a proxy that wants one (the host's own `/v1/keys` is public).
   * A function is called at each fetch.
   */
  keysToken?: string | (() => string | Promise<string>);
  /** Request header holding the `tss1.` text. Default `tessera-snapshot`. */
  header?: string;
  /** Cookie holding the `tss1.` text, read when the header is absent. */
  cookie?: string;
  /** Largest accepted snapshot text in bytes, refused (401 TOO_LARGE) unparsed. Default 16384. */
  maxBytes?: number;
  /** Unix seconds for expiry checks, or a function giving them. Default: the clock. */
  now?: number | (() => number);
}

export interface Binding<Req> {
  /** The request's org: the snapshot must be for it (else 401 WRONG_ORG). */
  org: (req: Req) => string;
  /** The authenticated user: when given, the snapshot must be theirs (else 401 WRONG_PRINCIPAL). */
  principal?: (req: Req) => string | null | undefined;
}

export interface PermissionOptions<Req> extends Binding<Req> {
  /** The resource's path, e.g. `['site:1', 'rack:2', 'miner:21']`. */
  path: (req: Req) => Path;
  /** The resource's owner, for owner-only grants. */
  owner?: (req: Req) => string | null | undefined;
}

export interface RouteGuardOptions<Req> extends Binding<Req> {
  /** The manifest route to guard. Default `req.path` (relative to the mount point). */
  route?: (req: Req) => string;
}

export interface Tessera {
  /**
   * 401 / 403 (deny) / 404 (not_found) or `next()` with
   * `req.tessera = { snapshot }`. A throwing `path`/`owner`/`org` function
   * answers 403, never 500.
   */
  requirePermission<Req extends TesseraRequest = any>(permission: string, options: PermissionOptions<Req>): TesseraMiddleware;
  /**
   * Applies the manifest's routes with `snapshot.guard`: allow → `next()`;
   * redirect → 403 FORBIDDEN with `details.fallback`; not_found and no_route → 404.
   */
  routeGuard<Req extends TesseraRequest = any>(options: RouteGuardOptions<Req>): TesseraMiddleware;
  /**
   * The request's verified snapshot bound to `org` (and `principal`); opened
   * once per request. Rejects with a `TesseraError` (the codes above).
   */
  snapshotOf(req: TesseraRequest, expect: { org: string; principal?: string }): Promise<Snapshot>;
}

export function createTessera(options?: TesseraOptions): Tessera;

declare global {
  namespace Express {
    interface Request {
      /** Set by @tessera/node/express once the snapshot is verified and the request allowed. */
      tessera?: { snapshot: Snapshot };
    }
  }
}

export interface RelayOptions<Req> {
  /** The host's base URL, e.g. `http://127.0.0.1:7700`. */
  host: string | URL;
  /** A `check` (or `admin`) API token; a function is called at each request. */
  token: string | (() => string | Promise<string>);
  /** The org the logged-in user acts in. */
  org: (req: Req) => string;
  /** The logged-in user, from the app's session (never from the request); `null` is anonymous with `anonymous: true`. */
  principal: (req: Req) => string | null | undefined;
  /** Whether `principal` returning `null` means the anonymous visitor (default false: 401). */
  anonymous?: boolean;
  /** The fetch used to reach the host. */
  fetch?: typeof fetch;
}

/**
 * The relay for the app's pages (docs/frontend.md §8.1): `GET /snapshot`
 * (the user's `tss1.` text, `Cache-Control: no-store`, `If-None-Match` and
 * `?min_revision=` passed on), `GET /keys`, `GET /events` (the org's
 * revision events, relayed). Mount it under a prefix:
 * `app.use('/tessera', tesseraRoutes({...}))`.
 */
export function tesseraRoutes<Req = any>(options: RelayOptions<Req>): TesseraMiddleware;
