// @tessera/react: a Tessera session (@tessera/web/session) in React
// (docs/frontend.md §8.3). Every answer is the session's; a hook subscribes
// with useSyncExternalStore to a primitive (or a per-snapshot object), so
// only the components whose answer changed re-render after a swap.

import { createContext, createElement, useContext, useMemo, useRef, useSyncExternalStore } from 'react';

const Context = createContext(null);

/** Makes `session` the one the hooks below read. */
export function TesseraProvider({ session, children }) {
  return createElement(Context.Provider, { value: session }, children);
}

/** The session of the nearest `<TesseraProvider>`. */
export function useTessera() {
  const session = useContext(Context);
  if (!session) throw new Error('@tessera/react: wrap the tree in <TesseraProvider session={…}>');
  return session;
}

/** Subscribes to `read(session)`, which must give a primitive or a per-snapshot value. */
function useAnswer(read) {
  const session = useTessera();
  const get = () => read(session);
  return useSyncExternalStore(session.subscribe, get, get);
}

/** The session's status: `loading`, `ready`, `stale`, `expired` or `error`. */
export function useStatus() {
  return useAnswer((s) => s.status);
}

/** The items `permission` allows (`session.filter`), recomputed when the snapshot or the items change. */
export function useFilter(permission, items, pathOf, ownerOf) {
  const session = useTessera();
  const snapshot = useAnswer((s) => s.snapshot);
  return useMemo(() => session.filter(permission, items, pathOf, ownerOf), [session, snapshot, permission, items]);
}

/** `{allowed, decision, status}` for `permission` at `path`. */
export function useCan(permission, path, options) {
  const owner = options?.owner;
  // One subscription: the status and the decision as one string.
  const both = useAnswer((s) => `${s.status} ${s.decision(permission, path, owner)}`);
  const [status, decision] = both.split(' ');
  return { allowed: decision === 'allow', decision, status };
}

export function useCanAnywhere(permission) {
  return useAnswer((s) => s.canAnywhere(permission));
}

/** The nav items; the same array while they stay the same. */
export function useNav() {
  const last = useRef(null);
  return useAnswer((s) => {
    const items = s.nav();
    const held = last.current;
    if (held && held.length === items.length && held.every((item, at) => item === items[at])) return held;
    last.current = items;
    return items;
  });
}

/** The manifest's answer for `route` (`loading` before the first snapshot). */
export function useGuard(route) {
  return useAnswer((s) => s.guard(route));
}

/** Renders `children` when allowed, `loading` before the first snapshot, else `fallback`. */
export function Can({ permission, path, owner, fallback = null, loading = null, children }) {
  const { decision } = useCan(permission, path, { owner });
  if (decision === 'loading') return loading;
  return decision === 'allow' ? children : fallback;
}

/**
 * A React Router (data router) `loader` that waits for the first snapshot,
 * then redirects to the manifest's fallback (a 404 when the fallback
 * itself redirects: no loops), throws a 404 response on
 * `not_found`/`no_route` (and a 503 without a snapshot), or runs `loader`
 * (when given) and lets the route load.
 */
export function requireRoute(session, loader) {
  return async (args) => {
    await session.ready;
    const { pathname } = new URL(args.request.url);
    const result = session.guard(pathname);
    // A fallback that is not itself open would send the user round in circles.
    if (result.decision === 'redirect' && session.guard(result.fallback).decision !== 'redirect') {
      throw new Response(null, { status: 302, headers: { Location: result.fallback } });
    }
    if (result.decision === 'not_found' || result.decision === 'no_route' || result.decision === 'redirect') {
      throw new Response('Not Found', { status: 404, statusText: 'Not Found' });
    }
    if (result.decision !== 'allow') {
      throw new Response('Permissions unavailable', { status: 503, statusText: 'Permissions unavailable' });
    }
    return loader ? loader(args) : null;
  };
}
