// The React page of tests/browser/renders.test.mjs: one probe per question
// (probes.mjs) under a TesseraProvider, each counting its renders. A probe
// calling useCan/useCanAnywhere counts in its body; a <Can> (the package's
// own component) is counted by a <Profiler> around it, whose onRender runs
// at each commit of that <Can> (a development build, where Profiler reports).

import { Profiler, useState } from 'react';
import { flushSync } from 'react-dom';
import { createRoot } from 'react-dom/client';
import { Can, TesseraProvider, useCan, useCanAnywhere } from '@tessera/react';

import { PROBES } from './probes.mjs';
import { count, session } from './shared.mjs';

function UseCanProbe({ name, permission, path }) {
  count(name);
  const { decision } = useCan(permission, path);
  return <li data-probe={name}>{decision}</li>;
}

function AnywhereProbe({ name, permission }) {
  count(name);
  const anywhere = useCanAnywhere(permission);
  return <li data-probe={name}>{String(anywhere)}</li>;
}

function CanProbe({ name, permission, path }) {
  return (
    <Profiler id={name} onRender={() => count(name)}>
      <li data-probe={name}>
        <Can permission={permission} path={path} fallback="fallback" loading="loading">children</Can>
      </li>
    </Profiler>
  );
}

const KINDS = { useCan: UseCanProbe, can: CanProbe, anywhere: AnywhereProbe };

function App() {
  const [tick, setTick] = useState(0);
  // Re-renders every probe (none is memoized) with the same questions.
  window.rerender = () => flushSync(() => setTick((n) => n + 1));
  return (
    <ul data-tick={tick}>
      {PROBES.map(({ name, kind, permission, path }) => {
        const Probe = KINDS[kind];
        return <Probe key={name} name={name} permission={permission} path={path} />;
      })}
    </ul>
  );
}

createRoot(document.getElementById('root')).render(
  <TesseraProvider session={session}>
    <App />
  </TesseraProvider>,
);
