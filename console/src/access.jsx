// The access tools (docs/console.md §10.4): why a user is allowed or
// denied something (POST …/users/{id}/explain, told as a sentence), who
// can do something at a node (POST /v1/who-can), and what one user can do
// where (GET …/users/{id}/access), and what one user sees (view as: POST
// …/users/{id}/view, from their compiled snapshot). Every answer is the
// host's; refusals are shown with their code.

import { useState } from 'react';

import { api } from './api.js';
import { Refusal, at, model, pathOf } from './ui.jsx';

export function Access({ org }) {
  return (
    <section data-page="access-tools">
      <h2>Access</h2>
      <CheckWhy org={org} />
      <WhoCan org={org} />
      <WhatCan org={org} />
      <ViewAs org={org} />
    </section>
  );
}

function WhoCan({ org }) {
  const [permission, setPermission] = useState('');
  const [path, setPath] = useState('');
  const [pages, setPages] = useState(null);
  const [error, setError] = useState(null);
  const ask = async (after) => {
    setError(null);
    try {
      const body = { org, permission: permission.trim(), path: pathOf(path) };
      if (after) body.after = after;
      const page = await api('/v1/who-can', { method: 'POST', body });
      setPages((earlier) => (after ? [...earlier, page] : [page]));
    } catch (err) {
      setPages(null);
      setError(err);
    }
  };
  const principals = (pages ?? []).flatMap((page) => page.principals);
  const last = pages?.[pages.length - 1];
  return (
    <section aria-labelledby="who-can-title">
      <h3 id="who-can-title">Who can</h3>
      <form
        className="filters"
        onSubmit={(event) => {
          event.preventDefault();
          ask(null);
        }}
      >
        <label>
          Permission <input value={permission} onChange={(e) => setPermission(e.target.value)} data-field="permission" required />
        </label>
        <label>
          <span>
            At (path, <code>type:id</code> from the top, commas between)
          </span>{' '}
          <input value={path} onChange={(e) => setPath(e.target.value)} data-field="path" />
        </label>
        <button type="submit" data-action="who-can">
          Ask
        </button>
      </form>
      <Refusal error={error} />
      {last?.diagnostic ? (
        <p role="alert" data-diagnostic={last.diagnostic}>
          Nobody: the question is wrong (<code>{last.diagnostic}</code>).
        </p>
      ) : null}
      {pages && !last?.diagnostic ? (
        <>
          <p role="status" data-anonymous={String(last.anonymous)}>
            {principals.length} {principals.length === 1 ? 'user' : 'users'} allowed
            {last.next ? ' so far' : ''}; anonymous visitors {last.anonymous ? 'are' : 'are not'} allowed.
          </p>
          <table>
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Name</th>
                <th scope="col">Allowed by</th>
              </tr>
            </thead>
            <tbody>
              {principals.map((user) => (
                <tr key={user.id} data-allowed-user={user.id}>
                  <td>
                    <code>{user.id}</code>
                  </td>
                  <td>{user.name}</td>
                  <td>
                    {user.via.length === 0
                      ? 'superuser'
                      : user.via.map((via) => `${via.role} for ${via.subject} at ${via.scope ?? 'the org root'}`).join('; ')}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {last.next ? (
            <button type="button" onClick={() => ask(last.next)} data-action="more">
              More
            </button>
          ) : null}
        </>
      ) : null}
    </section>
  );
}

function WhatCan({ org }) {
  const [user, setUser] = useState('');
  const [answer, setAnswer] = useState(null);
  const [error, setError] = useState(null);
  const ask = async () => {
    setError(null);
    const id = user.trim();
    try {
      const [map, nodes] = await Promise.all([api(model(org, 'users', id, 'access')), api(model(org, 'nodes'))]);
      setAnswer({ user: id, map, nodes });
    } catch (err) {
      setAnswer(null);
      setError(err);
    }
  };
  return (
    <section aria-labelledby="what-can-title">
      <h3 id="what-can-title">What can a user do</h3>
      <form
        className="filters"
        onSubmit={(event) => {
          event.preventDefault();
          ask();
        }}
      >
        <label>
          User id <input value={user} onChange={(e) => setUser(e.target.value)} data-field="user" required />
        </label>
        <button type="submit" data-action="what-can">
          Show
        </button>
      </form>
      <Refusal error={error} />
      {answer ? <AccessTree {...answer} /> : null}
    </section>
  );
}

const keysText = (list) => (list.length ? list.join(', ') : 'nothing');

/**
 * The access map drawn on the node tree: the keys at the org root, then
 * every node, with its keys where they differ from its parent's, "as
 * above" where they do not, and "hidden" for a subtree hidden from them.
 */
function AccessTree({ user, map, nodes }) {
  const differs = new Map(map.nodes.map((entry) => [entry.node, entry.permissions]));
  const hidden = new Set(map.hidden);
  const children = (parent) => nodes.filter((entry) => entry.parent === parent);
  const branch = (parent) => {
    const list = children(parent);
    if (!list.length) return null;
    return (
      <ul>
        {list.map(({ node }) => (
          <li key={node}>
            <code>{node}</code>:{' '}
            {hidden.has(node) ? (
              <span data-hidden-node={node}>hidden from {user}, with everything under it</span>
            ) : (
              <>
                <span data-node={differs.has(node) ? node : undefined}>{differs.has(node) ? keysText(differs.get(node)) : 'as above'}</span>
                {branch(node)}
              </>
            )}
          </li>
        ))}
      </ul>
    );
  };
  return (
    <div data-map={user}>
      <p>
        At the org root: <span data-root>{keysText(map.root)}</span>
      </p>
      <div className="tree">{branch(null)}</div>
      <p data-hidden>{map.hidden.length ? `Hidden from ${user}: ${map.hidden.join(', ')}` : `Nothing is hidden from ${user}.`}</p>
    </div>
  );
}

/** The explanation of a check, as a sentence (docs/console.md §10.4). */
export function sentence(user, permission, trace) {
  if (trace.decision === 'not_found') {
    return `Not found: ${trace.hidden_node ?? 'the thing'} is hidden from ${user}, so every check there answers not_found.`;
  }
  if (trace.diagnostic) return `Denied: the question itself is wrong (${trace.diagnostic}).`;
  const granting = trace.assignments.filter((a) => a.grants_permission);
  const by = granting.map((a) => `${a.role} for ${a.subject} at ${at(a.scope)}${a.owner_only ? ' (owner only)' : ''}`);
  if (trace.decision === 'allow') {
    return by.length
      ? `Allowed: ${by.join('; ')} grants ${permission} (decided at ${at(trace.decisive_node)}).`
      : `Allowed: ${user} is a superuser.`;
  }
  const reasons = [];
  if (trace.removed_by_caps.length) {
    reasons.push(`withheld by ${trace.removed_by_caps.map((cap) => `the cap ${cap.id} at ${at(cap.scope)}`).join(' and ')}`);
  }
  if (trace.missing_requirement) reasons.push(`it requires ${trace.missing_requirement}, which ${user} lacks there`);
  if (trace.removed_by_token_scopes) reasons.push('the token scopes leave it out');
  if (by.length) return `Denied: ${by.join('; ')} would grant ${permission}, but ${reasons.join(', and ')}.`;
  return `Denied: no assignment of ${user} at or above ${at(trace.decisive_node)} grants ${permission}${reasons.length ? `, and ${reasons.join(', and ')}` : ''}.`;
}

function CheckWhy({ org }) {
  const [user, setUser] = useState('');
  const [permission, setPermission] = useState('');
  const [path, setPath] = useState('');
  const [answer, setAnswer] = useState(null);
  const [error, setError] = useState(null);
  const ask = async () => {
    setError(null);
    try {
      const body = { permission: permission.trim(), path: pathOf(path) };
      const why = await api(`/v1/orgs/${encodeURIComponent(org)}/users/${encodeURIComponent(user.trim())}/explain`, { method: 'POST', body });
      setAnswer({ user: user.trim(), permission: body.permission, why });
    } catch (err) {
      setAnswer(null);
      setError(err);
    }
  };
  return (
    <section aria-labelledby="why-title">
      <h3 id="why-title">Check and why</h3>
      <form
        className="filters"
        onSubmit={(event) => {
          event.preventDefault();
          ask();
        }}
      >
        <label>
          User id <input value={user} onChange={(e) => setUser(e.target.value)} data-field="why-user" required />
        </label>
        <label>
          Permission <input value={permission} onChange={(e) => setPermission(e.target.value)} data-field="why-permission" required />
        </label>
        <label>
          At (path) <input value={path} onChange={(e) => setPath(e.target.value)} data-field="why-path" />
        </label>
        <button type="submit" data-action="why">
          Check
        </button>
      </form>
      <Refusal error={error} />
      {answer ? (
        <p role="status" data-why={answer.why.decision}>
          {sentence(answer.user, answer.permission, answer.why.trace)}
        </p>
      ) : null}
    </section>
  );
}

/** Every node's path from the top, from the node listing (parents first). */
function paths(nodes) {
  const found = new Map();
  for (const { node, parent } of nodes) found.set(node, parent === null ? [node] : [...(found.get(parent) ?? []), node]);
  return found;
}

/**
 * View as: what one user sees, from the snapshot the host compiles for
 * them (POST …/users/{id}/view): their nav, a route's guard, the nodes
 * they can see and the subtrees hidden from them.
 */
function ViewAs({ org }) {
  const [user, setUser] = useState('');
  const [route, setRoute] = useState('');
  const [view, setView] = useState(null);
  const [error, setError] = useState(null);
  const open = async () => {
    setError(null);
    const id = user.trim();
    const routes = route.trim() ? [route.trim()] : [];
    try {
      const [seen, nodes] = await Promise.all([api(model(org, 'users', id, 'view'), { method: 'POST', body: { routes } }), api(model(org, 'nodes'))]);
      setView({ user: id, seen, paths: paths(nodes) });
    } catch (err) {
      setView(null);
      setError(err);
    }
  };
  return (
    <section aria-labelledby="view-as-title">
      <h3 id="view-as-title">View as</h3>
      <form
        className="filters"
        onSubmit={(event) => {
          event.preventDefault();
          open();
        }}
      >
        <label>
          User id <input value={user} onChange={(e) => setUser(e.target.value)} data-field="view-user" required />
        </label>
        <label>
          <span>
            Route, optional (a path of the app, <code>/sites/1</code>)
          </span>{' '}
          <input value={route} onChange={(e) => setRoute(e.target.value)} data-field="view-route" />
        </label>
        <button type="submit" data-action="view-as">
          View
        </button>
      </form>
      <Refusal error={error} />
      {view ? <Seen {...view} /> : null}
    </section>
  );
}

function Seen({ user, seen, paths }) {
  return (
    <div data-view-as={user}>
      <h4>{user}'s navigation</h4>
      <ul data-nav>
        {seen.nav.map((path) => (
          <li key={path}>
            <code>{path}</code>
          </li>
        ))}
        {seen.nav.length === 0 ? <li>Nothing: no route is open to {user}.</li> : null}
      </ul>
      {seen.routes.map(({ route, decision, fallback }) => (
        <p key={route} data-guard={decision}>
          {user} opening <code>{route}</code>: {decision}
          {fallback ? `, sent to ${fallback}` : ''}
        </p>
      ))}
      <h4>The nodes {user} can see</h4>
      <ul data-seen>
        {seen.visible.map((node) => (
          <li key={node} data-seen-node={node}>
            <code>{(paths.get(node) ?? [node]).join(' / ')}</code>
          </li>
        ))}
      </ul>
      <p>{seen.hidden.length === 0 ? 'Nothing is hidden from them.' : `Hidden from them, with everything under it: ${seen.hidden.join(', ')}.`}</p>
    </div>
  );
}
