// The page of benches/frontend/run.mjs (bundled there with esbuild, React's
// production build). Two roots, side by side:
//
// - Tessera: 1,000 of @tessera/react's own <Can>, one per miner
//   (miner:blink_led at the miner's path), under a TesseraProvider whose
//   session fetches through a stub: `window.FIXTURE.snapshots[label]`.
// - CASL: 1,000 `CaslCan`, the <Can> of @casl/react written out here
//   (@casl/react is not installed): a component that subscribes to
//   `ability.on('updated')` and force-updates on every update, then renders
//   its children when `ability.can(action, subject)`; this is what
//   @casl/react's <Can> does (a PureComponent calling `this.forceUpdate()`
//   from its 'updated' handler), so every instance re-renders at each update.
//
// `window.bench.tessera(label)` swaps in snapshot `label` (refresh through
// the stub) and `window.bench.casl(label)` updates the ability to rules
// `label`; each resolves `{total, source, react}` in ms: the whole swap, the
// part until the change is announced (the session's first listener; CASL's
// first 'updated' handler), and the rest: the listeners (for Tessera, the
// hooks' getSnapshot asking the new snapshot each question once, memo
// misses into the module), React's render and commit. Each starts after a
// frame, so the last swap's style and layout are not in it. Both end once
// React has committed: the session's hooks update through
// useSyncExternalStore (a synchronous render, in the microtask after the
// session's emit) and a flushSync() after that flushes anything left;
// CASL's update runs inside flushSync, so its forced updates are
// synchronous too.

import { Component } from 'react';
import { flushSync } from 'react-dom';
import { createRoot } from 'react-dom/client';
import { createMongoAbility, subject } from '@casl/ability';
import { createTessera } from '@tessera/web/session';
import { Can, TesseraProvider } from '@tessera/react';

const { keys, snapshots, rules, miners } = window.FIXTURE;

// ---------------------------------------------------------------- Tessera

let served = 'a';
async function stubFetch(url) {
  const { pathname } = new URL(url);
  if (pathname === '/tessera/keys') return Response.json(keys);
  return new Response(snapshots[served], { headers: { 'content-type': 'text/plain' } });
}
const session = createTessera({
  snapshotUrl: 'https://stub.invalid/tessera/snapshot',
  keysUrl: 'https://stub.invalid/tessera/keys',
  fetch: stubFetch,
  pollSeconds: 3600,
});
// Subscribed before React's listeners: called first at each swap.
let sessionEmittedAt = 0;
session.subscribe(() => {
  sessionEmittedAt = performance.now();
});

function TesseraList() {
  return (
    <ul>
      {miners.map((miner) => (
        <li key={miner.id}>
          <Can permission="miner:blink_led" path={miner.path} fallback={<span data-denied="" />}>
            <button type="button" data-allowed="">blink {miner.id}</button>
          </Can>
        </li>
      ))}
    </ul>
  );
}

// ---------------------------------------------------------------- CASL

const ability = createMongoAbility(rules.a);
let caslUpdatedAt = 0;
let caslRenders = 0;
const caslSubjects = miners.map((miner) => subject('Miner', { id: miner.id, site: miner.site }));

/** @casl/react's <Can>, written out: subscribe to 'updated', force an update on each, render when allowed. */
class CaslCan extends Component {
  componentDidMount() {
    this.unsubscribe = this.props.ability.on('updated', () => this.forceUpdate());
  }

  componentWillUnmount() {
    this.unsubscribe?.();
  }

  render() {
    caslRenders += 1;
    const { ability: held, I, this: thing, children, fallback = null } = this.props;
    return held.can(I, thing) ? children : fallback;
  }
}

function CaslList() {
  return (
    <ul>
      {caslSubjects.map((thing) => (
        <li key={thing.id}>
          <CaslCan ability={ability} I="blink_led" this={thing} fallback={<span data-denied="" />}>
            <button type="button" data-allowed="">blink {thing.id}</button>
          </CaslCan>
        </li>
      ))}
    </ul>
  );
}

// ---------------------------------------------------------------- the bench

const tesseraRoot = document.getElementById('tessera');
const caslRoot = document.getElementById('casl');
createRoot(tesseraRoot).render(
  <TesseraProvider session={session}>
    <TesseraList />
  </TesseraProvider>,
);
createRoot(caslRoot).render(<CaslList />);

const allowed = (root) => root.querySelectorAll('[data-allowed]').length;
/** After the next frame (style, layout, paint of the last swap): a swap's timing starts settled. */
const settled = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));

window.bench = {
  ready: async () => {
    await session.ready;
    // The first commit after the first snapshot.
    await new Promise((resolve) => setTimeout(resolve, 0));
    flushSync(() => {});
    // CASL calls its handlers newest first: subscribed after the 1,000, this one runs first.
    ability.on('updated', () => {
      caslUpdatedAt = performance.now();
    });
    return { tessera: allowed(tesseraRoot), casl: allowed(caslRoot), status: session.status };
  },
  async tessera(label) {
    await settled();
    served = label;
    const start = performance.now();
    await session.refresh();
    flushSync(() => {});
    const end = performance.now();
    return { total: end - start, source: sessionEmittedAt - start, react: end - sessionEmittedAt, allowed: allowed(tesseraRoot) };
  },
  /**
   * Where the session's share goes, on the current snapshot (diagnostics,
   * not a swap): 1,000 `snapshot.check` into the module (what a swap's
   * memo misses cost), then 1,000 `session.decision` answered by the memo.
   */
  costs() {
    const { snapshot } = session;
    let start = performance.now();
    for (const miner of miners) snapshot.check('miner:blink_led', miner.path);
    const check = performance.now() - start;
    start = performance.now();
    for (const miner of miners) session.decision('miner:blink_led', miner.path, undefined);
    const memo = performance.now() - start;
    start = performance.now();
    for (const thing of caslSubjects) ability.can('blink_led', thing);
    const casl = performance.now() - start;
    return { check, memo, casl };
  },
  async casl(label) {
    await settled();
    const rendered = caslRenders;
    const start = performance.now();
    flushSync(() => ability.update(rules[label]));
    const end = performance.now();
    return { total: end - start, source: caslUpdatedAt - start, react: end - caslUpdatedAt, allowed: allowed(caslRoot), rendered: caslRenders - rendered };
  },
};
