// The fleet app's front end (React, React Router): the nav built from
// nav(), route loaders guarded by the manifest's routes (requireRoute),
// the lists filtered to what the user may see, action buttons by <Can>,
// and a "nothing in scope" page for a user with no grants. Every answer
// comes from the live session: a revocation removes a button while the
// page is open.

import { createRoot } from 'react-dom/client';
import {
  Link,
  Navigate,
  Outlet,
  RouterProvider,
  createBrowserRouter,
  isRouteErrorResponse,
  useParams,
  useRouteError,
  useRouteLoaderData,
} from 'react-router';
import { createTessera } from '@tessera/web/session';
import {
  Can,
  TesseraProvider,
  requireRoute,
  useCan,
  useCanAnywhere,
  useFilter,
  useNav,
  useStatus,
  useTessera,
} from '@tessera/react';

const config = window.FLEET_CONFIG ?? {};

/** @type {import('@tessera/web/session').Session<import('../../fleet/tessera').PermissionKey>} */
const session = createTessera({
  snapshotUrl: '/tessera/snapshot',
  keysUrl: '/tessera/keys',
  eventsUrl: '/tessera/events',
  pollSeconds: config.pollSeconds ?? 60,
});

const minerPath = (miner) => [`site:${miner.site}`, `rack:${miner.rack}`, `miner:${miner.id}`];
const rackPath = (rack) => [`site:${rack.site}`, `rack:${rack.id}`];

/** The app's own data, from its own backend. */
let fleetData;
async function fleet() {
  fleetData ??= fetch('/api/fleet').then((response) => {
    if (!response.ok) throw new Response('Sign in', { status: 401 });
    return response.json();
  });
  return fleetData;
}

/** The nav: one entry per parameter-free manifest route the user may open. */
const NAV = {
  '/miners': ['Miners', '/miners'],
  '/settings/users': ['Users', '/settings/users'],
};

function Nav() {
  const items = useNav();
  return (
    <nav aria-label="main">
      <ul>
        {items
          .filter((item) => NAV[item])
          .map((item) => (
            <li key={item}>
              <Link to={NAV[item][1]} data-nav={item}>
                {NAV[item][0]}
              </Link>
            </li>
          ))}
      </ul>
    </nav>
  );
}

/** What the session is doing, when it is not simply ready. */
function SessionState() {
  const status = useStatus();
  const { error } = useTessera();
  if (status === 'loading') return <p className="loading" data-state="loading">Loading your permissions…</p>;
  if (status === 'error') {
    return (
      <p role="alert" data-state="error">
        Your permissions could not be verified ({error?.code}). Reload the page or sign in again.
      </p>
    );
  }
  if (status === 'expired') return <p role="alert" data-state="expired">Your permissions expired and could not be renewed.</p>;
  if (status === 'stale') return <p data-state="stale">Offline: permissions may be out of date.</p>;
  return null;
}

function Layout() {
  const { user } = useRouteLoaderData('root');
  return (
    <>
      <header>
        <strong>
          <Link to="/">Fleet</Link>
        </strong>
        <Nav />
        <span data-user={user.id}>{user.name}</span>
      </header>
      <main>
        <SessionState />
        <Outlet />
      </main>
    </>
  );
}

function Home() {
  const { sites } = useRouteLoaderData('root');
  const status = useStatus();
  const anything = useCanAnywhere('fleet:read');
  const visible = useFilter('rack:read', sites, (site) => [`site:${site.id}`]);
  if (status === 'loading' || status === 'error') return null;
  if (!anything && visible.length === 0) {
    return (
      <section data-page="nothing-in-scope">
        <h1>Nothing in scope</h1>
        <p>You have no access to any site yet. Ask a fleet admin to grant you a role.</p>
      </section>
    );
  }
  return (
    <section data-page="sites">
      <h1>Sites</h1>
      <ul>
        {visible.map((site) => (
          <li key={site.id} data-site={site.id}>
            <Link to={`/sites/${site.id}/racks`}>{site.name}</Link>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Miners() {
  const { miners } = useRouteLoaderData('root');
  const visible = useFilter('miner:read', miners, minerPath);
  return (
    <section data-page="miners">
      <h1>Miners</h1>
      <table>
        <tbody>
          {visible.map((miner) => (
            <tr key={miner.id} data-miner={miner.id}>
              <td>
                <Link to={`/miners/${miner.id}`}>{miner.name}</Link>
              </td>
              <td>
                <Can permission="miner:blink_led" path={minerPath(miner)}>
                  <button data-action="blink">Blink</button>
                </Can>
                <Can permission="miner:reboot" path={minerPath(miner)}>
                  <button data-action="reboot">Reboot</button>
                </Can>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** A miner's page: not a manifest route, so the page itself asks. */
function Miner() {
  const { miners } = useRouteLoaderData('root');
  const { miner: id } = useParams();
  const miner = miners.find((m) => m.id === id);
  const { decision } = useCan('miner:read', miner ? minerPath(miner) : ['miner:?']);
  if (decision === 'loading') return null;
  if (!miner || decision === 'not_found') return <NotFound />;
  if (decision !== 'allow') return <Navigate to="/miners" replace />;
  return (
    <section data-page="miner">
      <h1>{miner.name}</h1>
      <Can permission="miner:reboot" path={minerPath(miner)} fallback={<p>You may not reboot this miner.</p>}>
        <button data-action="reboot">Reboot</button>
      </Can>
    </section>
  );
}

function Racks() {
  const { racks, sites } = useRouteLoaderData('root');
  const { site } = useParams();
  const here = racks.filter((rack) => rack.site === site);
  const visible = useFilter('rack:read', here, rackPath);
  return (
    <section data-page="racks">
      <h1>Racks of {sites.find((s) => s.id === site)?.name ?? `site ${site}`}</h1>
      <ul>
        {visible.map((rack) => (
          <li key={rack.id} data-rack={rack.id}>
            {rack.name}
          </li>
        ))}
      </ul>
      <Can permission="rack:manage" path={[`site:${site}`]}>
        <button data-action="add-rack">Add rack</button>
      </Can>
    </section>
  );
}

function Users() {
  return (
    <section data-page="users">
      <h1>Users</h1>
      <p>The org's members.</p>
    </section>
  );
}

function NotFound() {
  return (
    <section data-page="not-found">
      <h1>Not found</h1>
      <p>
        There is nothing here. <Link to="/">Home</Link>
      </p>
    </section>
  );
}

function RouteError() {
  const error = useRouteError();
  if (isRouteErrorResponse(error) && error.status === 404) return <NotFound />;
  return (
    <p role="alert" data-state="error">
      This page is not available right now ({isRouteErrorResponse(error) ? error.status : String(error)}).
    </p>
  );
}

function SignIn() {
  return (
    <main data-page="sign-in">
      <h1>Sign in</h1>
      <ul>
        {['alice', 'bob', 'carol', 'dave'].map((user) => (
          <li key={user}>
            <a href={`/login/${user}`}>{user}</a>
          </li>
        ))}
      </ul>
    </main>
  );
}

const router = createBrowserRouter([
  {
    id: 'root',
    path: '/',
    loader: fleet,
    element: <Layout />,
    errorElement: <SignIn />,
    children: [
      {
        errorElement: <RouteError />,
        children: [
          { index: true, element: <Home /> },
          { path: 'miners', loader: requireRoute(session), element: <Miners /> },
          { path: 'miners/:miner', element: <Miner /> },
          { path: 'sites/:site/racks', loader: requireRoute(session), element: <Racks /> },
          { path: 'settings/users', loader: requireRoute(session), element: <Users /> },
          { path: '*', element: <NotFound /> },
        ],
      },
    ],
  },
]);

window.tessera = session;
createRoot(document.getElementById('root')).render(
  <TesseraProvider session={session}>
    <RouterProvider router={router} />
  </TesseraProvider>,
);
