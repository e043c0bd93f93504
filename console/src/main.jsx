// The operator console (docs/console.md §10): signed in by a one-time URL
// (the session cookie is HttpOnly: this page never sees it), it reads its
// session, opens the signed-in user's own snapshot through
// @tessera/web/session and gates every control with it (@tessera/react),
// so a control the user may not use is disabled with the reason. Every
// call acts as that user; writes carry the session's CSRF value.

import { createRoot } from 'react-dom/client';
import { Component, useEffect, useMemo, useState } from 'react';
import { createTessera } from '@tessera/web/session';
import { TesseraProvider, useCan, useStatus, useTessera } from '@tessera/react';

import { Access } from './access.jsx';
import { Audit } from './audit.jsx';
import { Groups } from './groups.jsx';
import { Nodes } from './nodes.jsx';
import { PreviewGate } from './preview.jsx';
import { Roles } from './roles.jsx';
import { api, signedIn } from './api.js';

/** The console's screens, each gated by one of the manifest's `[admin]` keys. */
const SCREENS = [
  { id: 'access', title: 'Your access', gate: null },
  { id: 'roles', title: 'Roles', gate: 'manage_roles' },
  { id: 'groups', title: 'Groups', gate: 'manage_members' },
  { id: 'nodes', title: 'Node tree', gate: ['manage_members', 'manage_access'] },
  { id: 'tools', title: 'Access', gate: 'manage_members' },
  { id: 'audit', title: 'Audit', gate: 'manage_members' },
];

function App() {
  const [session, setSession] = useState(undefined);
  useEffect(() => {
    api('/v1/console-sessions/current').then(
      (session) => {
        signedIn(session);
        setSession(session);
      },
      () => setSession(null),
    );
  }, []);
  if (session === undefined) return <p role="status">Checking your session…</p>;
  if (session === null) return <SignedOut />;
  return <SignedIn session={session} onSignedOut={() => setSession(null)} />;
}

function SignedOut() {
  return (
    <main data-page="signed-out">
      <h1>Tessera console</h1>
      <p>
        You are not signed in. Ask your application for a console sign-in link, or, on the host's
        machine, run <code>tessera console --actor YOUR_ID</code>.
      </p>
    </main>
  );
}

function SignedIn({ session, onSignedOut }) {
  const [org, setOrg] = useState(session.org);
  const signOut = async () => {
    await api('/v1/console-sessions/current', { method: 'DELETE' });
    onSignedOut();
  };
  return (
    <>
      <header>
        <h1>Tessera console</h1>
        <p data-actor={session.actor}>
          Signed in as <strong>{session.actor}</strong>
          {org ? (
            <>
              {' '}
              in the org <strong>{org}</strong>
            </>
          ) : null}
          .
        </p>
        <button type="button" onClick={signOut} data-action="sign-out">
          Sign out
        </button>
      </header>
      {org ? <OrgConsole key={org} session={session} org={org} /> : <OrgPicker onPick={setOrg} />}
    </>
  );
}

function OrgPicker({ onPick }) {
  const [value, setValue] = useState('');
  return (
    <main>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (value.trim()) onPick(value.trim());
        }}
      >
        <label htmlFor="org">Org id</label> <input id="org" value={value} onChange={(e) => setValue(e.target.value)} />{' '}
        <button type="submit">Open</button>
      </form>
    </main>
  );
}

function OrgConsole({ session, org }) {
  const tessera = useMemo(
    () =>
      createTessera({
        snapshotUrl: `/v1/console-sessions/current/snapshot?org=${encodeURIComponent(org)}`,
        keysUrl: '/v1/keys',
      }),
    [org],
  );
  useEffect(() => () => tessera.close(), [tessera]);
  return (
    <TesseraProvider session={tessera}>
      <Screens session={session} org={org} />
    </TesseraProvider>
  );
}

/** The manifest's `[admin]` keys, by their part of the model. */
const ADMIN_KEYS = ['manage_roles', 'manage_members', 'manage_access'];

/**
 * Whether the signed-in user holds the `[admin]` key `gate` at the org
 * root (with a list, any of them), and why not, from their own snapshot.
 */
function useGate(session, gate) {
  const { snapshot } = useTessera();
  // One hook per key, in a fixed order, whatever the gate.
  const decisions = Object.fromEntries(ADMIN_KEYS.map((part) => [part, useCan(session.admin_keys?.[part] ?? 'superuser', []).decision]));
  const gates = gate === null ? [] : [gate].flat();
  if (gates.length === 0) return { allowed: true, reason: null };
  if (!session.admin_keys) {
    const superuser = snapshot?.superuser ?? false;
    return superuser ? { allowed: true, reason: null } : { allowed: false, reason: 'Only a superuser may do this (the manifest has no [admin] section).' };
  }
  if (gates.some((part) => decisions[part] === 'allow')) return { allowed: true, reason: null };
  if (gates.some((part) => decisions[part] === 'loading')) return { allowed: false, reason: 'Loading your permissions…' };
  return { allowed: false, reason: `You need ${gates.map((part) => session.admin_keys[part]).join(' or ')} at the org root.` };
}

function Screens({ session, org }) {
  const status = useStatus();
  const [screen, setScreen] = useState('access');
  const gates = Object.fromEntries(SCREENS.map(({ id, gate }) => [id, useGate(session, gate)]));
  gates.preview = useGate(session, 'manage_members');
  if (status === 'loading') return <p role="status">Loading your permissions…</p>;
  if (status === 'error' || status === 'expired') {
    return <p role="alert">Your permissions could not be read. Sign in again.</p>;
  }
  const current = gates[screen].allowed ? screen : 'access';
  return (
    <>
      <nav aria-label="Screens">
        <ul>
          {SCREENS.map(({ id, title }) => (
            <li key={id}>
              <button
                type="button"
                data-screen={id}
                aria-current={current === id ? 'page' : undefined}
                disabled={!gates[id].allowed}
                aria-describedby={gates[id].allowed ? undefined : `why-${id}`}
                onClick={() => setScreen(id)}
              >
                {title}
              </button>
              {gates[id].allowed ? null : (
                <span id={`why-${id}`} className="reason" data-reason={id}>
                  {gates[id].reason}
                </span>
              )}
            </li>
          ))}
        </ul>
      </nav>
      <main>
        <PreviewGate.Provider value={gates.preview}>
          <Failed key={current}>
            <Screen current={current} org={org} session={session} />
          </Failed>
        </PreviewGate.Provider>
      </main>
    </>
  );
}

/** One screen, by its id. */
function Screen({ current, org, session }) {
  return (
    <>
        {current === 'roles' ? <Roles org={org} /> : null}
        {current === 'groups' ? <Groups org={org} /> : null}
        {current === 'nodes' ? <Nodes org={org} /> : null}
        {current === 'audit' ? <Audit org={org} /> : null}
        {current === 'tools' ? <Access org={org} /> : null}
        {current === 'access' ? <YourAccess session={session} /> : null}
    </>
  );
}

/** A screen that threw (an answer of an unexpected shape) says so; the others still work. */
class Failed extends Component {
  state = { error: null };

  static getDerivedStateFromError(error) {
    return { error };
  }

  render() {
    if (this.state.error) return <p role="alert">This screen failed: {String(this.state.error.message ?? this.state.error)}. Reload the page.</p>;
    return this.props.children;
  }
}

/** What the signed-in user may manage here, from their own snapshot. */
function YourAccess({ session }) {
  const parts = [
    ['manage_roles', 'Roles'],
    ['manage_members', 'Members, groups and assignments'],
    ['manage_access', 'Nodes, hidden entries, caps and settings'],
  ];
  return (
    <section data-page="access">
      <h2>Your access</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">Part of the model</th>
            <th scope="col">Key</th>
            <th scope="col">You may manage it</th>
          </tr>
        </thead>
        <tbody>
          {parts.map(([gate, title]) => (
            <AccessRow key={gate} session={session} gate={gate} title={title} />
          ))}
        </tbody>
      </table>
    </section>
  );
}

function AccessRow({ session, gate, title }) {
  const { allowed, reason } = useGate(session, gate);
  return (
    <tr data-gate={gate}>
      <th scope="row">{title}</th>
      <td>
        <code>{session.admin_keys?.[gate] ?? 'superuser'}</code>
      </td>
      <td data-allowed={String(allowed)}>{allowed ? 'Yes' : `No: ${reason}`}</td>
    </tr>
  );
}

createRoot(document.getElementById('root')).render(<App />);
