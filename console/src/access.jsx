// The access tools (docs/console.md §10.4): why a user is allowed or
// denied something (POST …/users/{id}/explain, told as a sentence), who
// can do something at a node (POST /v1/who-can), and what one user can do
// where (GET …/users/{id}/access). Every answer is the host's, from the users'
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
      <CheckWhy org={org} />
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

/** A scope as words. */
const at = (scope) => (scope ? scope : 'the org root');

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
