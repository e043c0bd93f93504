// The access tools (docs/console.md §10.4): who can do something at a
// node (POST /v1/who-can), and what one user can do where
// (GET …/users/{id}/access). Every answer is the host's, from the users'
// compiled snapshots; refusals are shown with their code.

import { useState } from 'react';

import { api } from './api.js';

/** `site:1, rack:2` as a path. */
const pathOf = (text) =>
  text
    .split(',')
    .map((segment) => segment.trim())
    .filter(Boolean);

function Refusal({ error }) {
  if (!error) return null;
  return (
    <p role="alert" data-error={error.code}>
      <code>{error.code}</code>: {error.message}
    </p>
  );
}

export function Access({ org }) {
  return (
    <section data-page="access-tools">
      <h2>Access</h2>
      <WhoCan org={org} />
      <WhatCan org={org} />
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
          At (path, <code>type:id</code> from the top, commas between) <input value={path} onChange={(e) => setPath(e.target.value)} data-field="path" />
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
  const [map, setMap] = useState(null);
  const [error, setError] = useState(null);
  const ask = async () => {
    setError(null);
    try {
      setMap(await api(`/v1/orgs/${encodeURIComponent(org)}/users/${encodeURIComponent(user.trim())}/access`));
    } catch (err) {
      setMap(null);
      setError(err);
    }
  };
  const keys = (list) => (list.length ? list.join(', ') : 'nothing');
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
      {map ? (
        <dl data-map={user.trim()}>
          <dt>At the org root</dt>
          <dd data-root>{keys(map.root)}</dd>
          {map.nodes.map(({ node, permissions }) => (
            <div key={node}>
              <dt>
                At <code>{node}</code>
              </dt>
              <dd data-node={node}>{keys(permissions)}</dd>
            </div>
          ))}
          <dt>Hidden from them</dt>
          <dd data-hidden>{map.hidden.length ? map.hidden.join(', ') : 'nothing'}</dd>
        </dl>
      ) : null}
    </section>
  );
}
