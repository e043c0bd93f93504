// The public API of @tessera/web (and, with the same names, @tessera/node),
// built over the raw wasm-bindgen classes. No permission rule lives here:
// every answer comes from tessera-core; this file only converts arguments
// and results between JS values and the core's text/JSON forms.

const EFFECTS = ['allow', 'deny', 'not_found'];

/** An error with a stable `code` (the core's codes, or BAD_ARGUMENT). */
export class TesseraError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'TesseraError';
    this.code = code;
  }
}

function badArgument(message) {
  return new TesseraError('BAD_ARGUMENT', message);
}

/** Rethrows anything the raw module throws as a TesseraError with a code. */
function guarded(fn) {
  try {
    return fn();
  } catch (err) {
    if (err instanceof TesseraError) throw err;
    const code = err && typeof err.code === 'string' ? err.code : 'INTERNAL';
    throw new TesseraError(code, err && err.message ? err.message : String(err));
  }
}

/**
 * A path as the core's text form: `type:id` joined by `,`. An element that
 * is not a non-empty string without `,` can never be a valid node key, so
 * the whole path is replaced by one that is invalid in the same way
 * (INVALID_PATH), never by a shorter valid one.
 */
function pathText(path) {
  if (path === undefined || path === null) return '';
  if (!Array.isArray(path)) throw badArgument('path must be an array of "type:id" strings');
  for (const segment of path) {
    if (typeof segment !== 'string' || segment === '' || segment.includes(',')) return '\u0000';
  }
  return path.join(',');
}

function ownerArg(owner) {
  if (owner === undefined || owner === null) return undefined;
  if (typeof owner !== 'string') throw badArgument('owner must be a string');
  return owner;
}

function nowArg(nowSeconds) {
  if (nowSeconds === undefined) return Math.floor(Date.now() / 1000);
  return nowSeconds;
}

export function makeApi(raw) {
  /** A permission key resolved once; valid only for snapshots with the same catalog. */
  class Permission {
    constructor(key, handle) {
      this.key = key;
      this._handle = handle;
    }
  }

  class Snapshot {
    constructor(inner) {
      this._raw = inner;
      this._info = JSON.parse(guarded(() => inner.header()));
    }

    get org() { return this._info.org; }
    get principal() { return this._info.principal; }
    get principalName() { return this._info.principal_name; }
    get superuser() { return this._info.superuser; }
    get anonymous() { return this._info.anonymous; }
    get issuedAt() { return this._info.issued_at; }
    get expiresAt() { return this._info.expires_at; }
    get revision() { return this._info.revision; }
    get catalogHash() { return this._info.catalog_hash; }
    get kid() { return this._info.kid; }
    get subtrees() { return this._info.subtrees; }

    _answer(query) {
      return JSON.parse(guarded(() => this._raw.answer(JSON.stringify(query))));
    }

    /** Resolves a key to a handle once; `undefined` for unknown keys. */
    permission(key) {
      const handle = this._raw.permission(String(key));
      return handle === undefined ? undefined : new Permission(String(key), handle);
    }

    /** `'allow' | 'deny' | 'not_found'`. */
    check(permission, path, owner) {
      const text = pathText(path);
      const who = ownerArg(owner);
      if (permission instanceof Permission) {
        return EFFECTS[this._raw.checkHandle(permission._handle, text, who)];
      }
      if (typeof permission !== 'string') throw badArgument('permission must be a string or a Permission');
      return EFFECTS[this._raw.checkText(permission, text, who)];
    }

    /** `[{decision, diagnostic?}]` for `[{permission, path?, owner?}]`, in order. */
    checkMany(checks) {
      if (!Array.isArray(checks)) throw badArgument('checks must be an array');
      const list = checks.map((c) => ({
        permission: c && c.permission instanceof Permission ? c.permission.key : String(c && c.permission),
        path: c && c.path ? [...c.path].map(String) : [],
        owner: c ? ownerArg(c.owner) ?? null : null,
      }));
      return this._answer({ check_many: { checks: list } });
    }

    canAnywhere(permission) {
      const key = permission instanceof Permission ? permission.key : String(permission);
      return this._raw.canAnywhere(key);
    }

    effective(path, owner) {
      return this._answer({ effective: { path: path ? [...path].map(String) : [], owner: ownerArg(owner) ?? null } });
    }

    /** The items `check(permission, pathOf(item), ownerOf?.(item))` allows, in order. */
    filter(permission, items, pathOf, ownerOf) {
      if (!Array.isArray(items)) throw badArgument('items must be an array');
      if (typeof pathOf !== 'function') throw badArgument('pathOf must be a function');
      const listed = items.map((item, index) => ({
        id: String(index),
        path: [...pathOf(item)].map(String),
        owner: ownerOf ? ownerArg(ownerOf(item)) ?? null : null,
      }));
      const kept = this._answer({ filter: { permission: String(permission), items: listed } });
      return kept.map((id) => items[Number(id)]);
    }

    filterPlan(permission) {
      return this._answer({ filter_plan: { permission: String(permission) } });
    }

    /** `{decision: 'allow' | 'not_found' | 'no_route'}` or `{decision: 'redirect', fallback}`. */
    guard(route) {
      return this._answer({ guard: { route: String(route) } });
    }

    nav() {
      return this._answer({ nav: {} });
    }

    claims() {
      return this._answer({ claims: {} });
    }

    explain(permission, path, owner) {
      const key = permission instanceof Permission ? permission.key : String(permission);
      return this._answer({ explain: { permission: key, path: path ? [...path].map(String) : [], owner: ownerArg(owner) ?? null } });
    }

    /** Frees the wasm memory now rather than at garbage collection. */
    free() {
      this._raw.free();
    }
  }

  class TesseraVerifier {
    constructor(inner) {
      this._raw = inner;
    }

    /** A verifier trusting a JWKS (`{"keys": [{kid, kty: "OKP", crv: "Ed25519", x}]}`). */
    static fromJwks(jwks) {
      const text = typeof jwks === 'string' ? jwks : JSON.stringify(jwks);
      return new TesseraVerifier(guarded(() => raw.RawVerifier.fromJwks(text)));
    }

    /**
     * Verifies and opens a snapshot (`tss1.` text or binary bytes). An omitted
     * `nowSeconds` means the current time, never "skip expiry".
     */
    open(snapshot, nowSeconds, expect) {
      const now = nowArg(nowSeconds);
      const org = expect && expect.org !== undefined ? String(expect.org) : undefined;
      const principal = expect && expect.principal !== undefined ? String(expect.principal) : undefined;
      if (typeof snapshot === 'string') {
        return new Snapshot(guarded(() => this._raw.openText(snapshot, now, org, principal)));
      }
      if (snapshot instanceof Uint8Array) {
        return new Snapshot(guarded(() => this._raw.openBytes(snapshot, now, org, principal)));
      }
      throw badArgument('snapshot must be a tss1. string or a Uint8Array');
    }
  }

  return { TesseraVerifier, Snapshot, Permission, TesseraError };
}
