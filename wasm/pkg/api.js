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

/**
 * JS objects are camelCase, in and out: the core's and the host's JSON
 * answers use snake_case keys (`decisive_node`, `owner_only`), which this
 * renames (deeply; values are left alone). Both packages and the host
 * client use it, so the rule lives in one place.
 */
export function camelKeys(value) {
  if (Array.isArray(value)) return value.map(camelKeys);
  if (value === null || typeof value !== 'object') return value;
  const out = {};
  for (const [key, inner] of Object.entries(value)) {
    // defineProperty, not assignment: a `__proto__` key stays a key.
    Object.defineProperty(out, key.replace(/_([a-z0-9])/g, (_, letter) => letter.toUpperCase()), {
      value: camelKeys(inner),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
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
    // The module throws `Error("CODE: message")` with a stable upper-case code.
    const text = err && typeof err.message === 'string' ? err.message : String(err);
    const match = /^([A-Z][A-Z_]*): (.*)$/s.exec(text);
    if (match) throw new TesseraError(match[1], match[2]);
    throw new TesseraError('INTERNAL', text);
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

/** A path as an array of strings (for the calls that take one). */
function pathArray(path) {
  if (path === undefined || path === null) return [];
  if (!Array.isArray(path)) throw badArgument('path must be an array of "type:id" strings');
  return path.map(String);
}

function ownerArg(owner) {
  if (owner === undefined || owner === null) return undefined;
  if (typeof owner !== 'string') throw badArgument('owner must be a string');
  return owner;
}

/**
 * `undefined` is the current time; anything else must be a number (core
 * refuses fractions, negatives and unsafe values). `null` is refused rather
 * than read as 0, which would skip the expiry check.
 */
function nowArg(nowSeconds) {
  if (nowSeconds === undefined) return Math.floor(Date.now() / 1000);
  if (typeof nowSeconds !== 'number') throw badArgument('nowSeconds must be a number of seconds or undefined');
  return nowSeconds;
}

export function makeApi(raw) {
  // The napi addon has a fast handle check: a free function taking the
  // snapshot and the handle by number and the path as one string. The wasm
  // module has none; it answers through `RawSnapshot.checkHandle`.
  const fastCheck = typeof raw.checkHandle === 'function' ? raw.checkHandle : undefined;

  /** A permission key resolved once; valid only for snapshots with the same catalog. */
  class Permission {
    constructor(key, handle, id) {
      this.key = key;
      this._handle = handle;
      this._id = id;
    }
  }

  class Snapshot {
    constructor(inner) {
      this._raw = inner;
      this._info = JSON.parse(guarded(() => inner.header()));
      this._id = fastCheck ? inner.fastId() : undefined;
    }

    get org() { return this._info.org; }
    get principal() { return this._info.principal; }
    get principalName() { return this._info.principal_name; }
    /** Active, flagged and not narrowed by token scopes; for display only: `check` decides. */
    get superuser() { return this._info.superuser; }
    get active() { return this._info.active; }
    get tokenScopes() { return this._info.token_scopes; }
    get anonymous() { return this._info.anonymous; }
    get issuedAt() { return this._info.issued_at; }
    get expiresAt() { return this._info.expires_at; }
    get revision() { return this._info.revision; }
    get catalogHash() { return this._info.catalog_hash; }
    get kid() { return this._info.kid; }
    get subtrees() { return this._info.subtrees; }

    /** Resolves a key to a handle once; `undefined` for unknown keys. */
    permission(key) {
      const handle = this._raw.permission(String(key));
      if (handle === undefined || handle === null) return undefined;
      const id = fastCheck ? this._raw.permissionId(String(key)) : undefined;
      return new Permission(String(key), handle, id);
    }

    /** `'allow' | 'deny' | 'not_found'`. */
    check(permission, path, owner) {
      const text = pathText(path);
      const who = ownerArg(owner);
      if (permission instanceof Permission) {
        if (permission._id !== undefined && this._id !== undefined) {
          return EFFECTS[fastCheck(this._id, permission._id, text, who)];
        }
        return EFFECTS[this._raw.checkHandle(permission._handle, text, who)];
      }
      if (typeof permission !== 'string') throw badArgument('permission must be a string or a Permission');
      return EFFECTS[this._raw.checkText(permission, text, who)];
    }

    /** `[{decision, diagnostic?}]` for `[{permission, path?, owner?}]`, in order. */
    checkMany(checks) {
      if (!Array.isArray(checks)) throw badArgument('checks must be an array');
      const permissions = [];
      const paths = [];
      const owners = [];
      for (const c of checks) {
        if (!c || typeof c !== 'object') throw badArgument('each check must be {permission, path?, owner?}');
        permissions.push(c.permission instanceof Permission ? c.permission.key : String(c.permission));
        paths.push(pathText(c.path));
        owners.push(ownerArg(c.owner) ?? '');
      }
      return JSON.parse(guarded(() => this._raw.checkMany(permissions, paths, owners)));
    }

    canAnywhere(permission) {
      const key = permission instanceof Permission ? permission.key : String(permission);
      return this._raw.canAnywhere(key);
    }

    effective(path, owner) {
      return guarded(() => this._raw.effective(pathArray(path), ownerArg(owner)));
    }

    /** The items `check(permission, pathOf(item), ownerOf?.(item))` allows, in order. */
    filter(permission, items, pathOf, ownerOf) {
      if (!Array.isArray(items)) throw badArgument('items must be an array');
      if (typeof pathOf !== 'function') throw badArgument('pathOf must be a function');
      const paths = items.map((item) => pathText(pathOf(item)));
      const owners = items.map((item) => (ownerOf ? ownerArg(ownerOf(item)) ?? '' : ''));
      const kept = guarded(() => this._raw.filterTexts(String(permission), paths, owners));
      return Array.from(kept, (at) => items[at]);
    }

    filterPlan(permission) {
      return JSON.parse(guarded(() => this._raw.filterPlan(String(permission))));
    }

    /** `{decision: 'allow' | 'not_found' | 'no_route'}` or `{decision: 'redirect', fallback}`. */
    guard(route) {
      return JSON.parse(guarded(() => this._raw.guard(String(route))));
    }

    nav() {
      return guarded(() => this._raw.nav());
    }

    claims() {
      return guarded(() => this._raw.claims());
    }

    explain(permission, path, owner) {
      const key = permission instanceof Permission ? permission.key : String(permission);
      return camelKeys(JSON.parse(guarded(() => this._raw.explain(key, pathArray(path), ownerArg(owner)))));
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
      let doc = jwks;
      if (typeof jwks === 'string') {
        try {
          doc = JSON.parse(jwks);
        } catch (err) {
          throw new TesseraError('BAD_KEY_SET', `key set is not JSON: ${err.message}`);
        }
      }
      const keys = doc && Array.isArray(doc.keys) ? doc.keys : null;
      if (!keys || !keys.every((key) => key && typeof key === 'object')) {
        throw new TesseraError('BAD_KEY_SET', 'key set must be {"keys": [{kid, kty, crv, x}, ...]}');
      }
      const field = (name) =>
        keys.map((key) => {
          if (typeof key[name] !== 'string') throw new TesseraError('BAD_KEY_SET', `every key needs a string "${name}"`);
          return key[name];
        });
      const [kids, ktys, crvs, xs] = ['kid', 'kty', 'crv', 'x'].map(field);
      return new TesseraVerifier(guarded(() => raw.RawVerifier.fromKeys(kids, ktys, crvs, xs)));
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
