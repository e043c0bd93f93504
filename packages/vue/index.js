// @tessera/vue: a Tessera session (@tessera/web/session) in Vue 3
// (docs/frontend.md §8.4). Every answer is the session's; a computed reads
// it and re-runs when the session changes, and Vue re-renders only what
// depends on an answer that changed.

import { computed, defineComponent, inject, shallowRef, toValue } from 'vue';

const KEY = Symbol('tessera');

/** A path segment decoded once (the router encodes params again); as is when malformed. */
function decoded(segment) {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The plugin: `app.use(createTesseraPlugin(session))`. */
export function createTesseraPlugin(session) {
  // One subscription per app: a counter the computeds below depend on.
  const version = shallowRef(0);
  session.subscribe(() => {
    version.value += 1;
  });
  const bound = { session, version };
  return {
    install(app) {
      app.provide(KEY, bound);
      app.config.globalProperties.$tessera = session;
    },
  };
}

function bound() {
  const found = inject(KEY, null);
  if (!found) throw new Error('@tessera/vue: install createTesseraPlugin(session) first');
  return found;
}

/** A computed over the session, re-read at each change. */
function answer(read) {
  const { session, version } = bound();
  return computed(() => {
    version.value;
    return read(session);
  });
}

/** The session the plugin holds. */
export function useTessera() {
  return bound().session;
}

/** The session's status, as a computed. */
export function useStatus() {
  return answer((s) => s.status);
}

/** `ComputedRef<'allow' | 'deny' | 'not_found' | 'loading'>`; arguments may be refs or getters. */
export function useDecision(permission, path, options) {
  return answer((s) => s.decision(toValue(permission), toValue(path), toValue(options)?.owner));
}

/** `ComputedRef<boolean>`: allowed. */
export function useCan(permission, path, options) {
  const decision = useDecision(permission, path, options);
  return computed(() => decision.value === 'allow');
}

/** The items `permission` allows (`session.filter`); `items` may be a ref or a getter. */
export function useFilter(permission, items, pathOf, ownerOf) {
  // The same array while neither the snapshot nor the items change, so a
  // status change alone re-renders nothing.
  let last = [];
  return answer((s) => {
    const kept = s.filter(toValue(permission), toValue(items) ?? [], pathOf, ownerOf);
    if (kept.length !== last.length || kept.some((item, at) => item !== last[at])) last = kept;
    return last;
  });
}

export function useCanAnywhere(permission) {
  return answer((s) => s.canAnywhere(toValue(permission)));
}

export function useNav() {
  return answer((s) => s.nav());
}

export function useGuard(route) {
  return answer((s) => s.guard(toValue(route)));
}

/** `<Can permission path? owner?>`: the default slot when allowed, else `#fallback`; `#loading` first. */
export const Can = defineComponent({
  name: 'Can',
  props: {
    permission: { type: String, required: true },
    path: { type: Array, default: undefined },
    owner: { type: String, default: undefined },
  },
  setup(props, { slots }) {
    const decision = useDecision(() => props.permission, () => props.path, () => ({ owner: props.owner }));
    return () => {
      if (decision.value === 'loading') return slots.loading?.();
      return decision.value === 'allow' ? slots.default?.() : slots.fallback?.();
    };
  },
});

/**
 * Guards vue-router navigation with the manifest's routes: waits for the
 * first snapshot, lets `allow` through, redirects to the fallback, and
 * shows `not_found`/`no_route` (and a missing snapshot) as the route named
 * `notFound` (a catch-all `/:pathMatch(.*)*`) at the same URL. Routes with
 * `meta: { tessera: false }` (a home page, a sign-in page) and the
 * not-found route itself are not guarded.
 */
export function installRouterGuard(router, session, { notFound }) {
  if (typeof notFound !== 'string') throw new TypeError('installRouterGuard needs the name of the not-found route');
  return router.beforeEach(async (to) => {
    if (to.name === notFound || to.meta?.tessera === false) return true;
    await session.ready;
    const result = session.guard(to.path);
    if (result.decision === 'allow') return true;
    // A fallback that is not itself open would send the user round in circles.
    if (result.decision === 'redirect' && session.guard(result.fallback).decision !== 'redirect') return result.fallback;
    return {
      name: notFound,
      params: { pathMatch: to.path.slice(1).split('/').map(decoded) },
      query: to.query,
      hash: to.hash,
      replace: true,
    };
  });
}
