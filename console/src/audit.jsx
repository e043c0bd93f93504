// The audit screen (docs/console.md §10.3): the org's audit rows, newest
// first, filtered by actor, action and time; each row's change shown as
// the fields it changed, before and after; a row about one user at one
// place answers "check this now": what that user holds there today.

import { useEffect, useMemo, useState } from 'react';

import { api } from './api.js';
import { at, model } from './ui.jsx';

/** The backend acts without a user: its rows have no actor. */
const BACKEND = '(the app backend)';

/** Reads every page of the org's audit (500 rows each, oldest first). */
async function readAudit(org) {
  const rows = [];
  for (let after = 0; ; ) {
    const page = await api(`/v1/orgs/${encodeURIComponent(org)}/audit?after=${after}`);
    rows.push(...page);
    if (page.length < 500) return rows.reverse();
    after = page[page.length - 1].id;
  }
}

/** `datetime-local`'s text as unix seconds, or null when empty. */
const seconds = (text) => (text ? Math.floor(new Date(text).getTime() / 1000) : null);

export function Audit({ org }) {
  const [rows, setRows] = useState(null);
  const [error, setError] = useState(null);
  const [actor, setActor] = useState('');
  const [action, setAction] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  useEffect(() => {
    readAudit(org).then(setRows, setError);
  }, [org]);
  const actors = useMemo(() => [...new Set((rows ?? []).map((row) => row.actor ?? BACKEND))].sort(), [rows]);
  const actions = useMemo(() => [...new Set((rows ?? []).map((row) => row.action))].sort(), [rows]);
  if (error) return <p role="alert">The audit could not be read: {error.code} {error.message}</p>;
  if (!rows) return <p role="status">Reading the audit…</p>;
  const after = seconds(from);
  const before = seconds(to);
  const shown = rows.filter(
    (row) =>
      (!actor || (row.actor ?? BACKEND) === actor) &&
      (!action || row.action === action) &&
      (after === null || row.at >= after) &&
      (before === null || row.at <= before),
  );
  return (
    <section data-page="audit">
      <h2>Audit</h2>
      <form className="filters" onSubmit={(event) => event.preventDefault()}>
        <label>
          Actor{' '}
          <select value={actor} onChange={(e) => setActor(e.target.value)} data-filter="actor">
            <option value="">Anyone</option>
            {actors.map((name) => (
              <option key={name}>{name}</option>
            ))}
          </select>
        </label>
        <label>
          Action{' '}
          <select value={action} onChange={(e) => setAction(e.target.value)} data-filter="action">
            <option value="">Any</option>
            {actions.map((name) => (
              <option key={name}>{name}</option>
            ))}
          </select>
        </label>
        <label>
          From <input type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} data-filter="from" />
        </label>
        <label>
          To <input type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} data-filter="to" />
        </label>
      </form>
      <p role="status" data-count={shown.length}>
        {shown.length} of {rows.length} entries
      </p>
      <table>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Actor</th>
            <th scope="col">Action</th>
            <th scope="col">Target</th>
            <th scope="col">Revision</th>
            <th scope="col">Change</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((row) => (
            <AuditRow key={row.id} org={org} row={row} />
          ))}
        </tbody>
      </table>
    </section>
  );
}

function AuditRow({ org, row }) {
  const [open, setOpen] = useState(false);
  const [now, setNow] = useState(null);
  const changes = diff(row.before, row.after);
  const about = subjectOf(row);
  const checkNow = async () => {
    try {
      setNow({ text: await holdsNow(org, about) });
    } catch (error) {
      setNow({ text: `${error.code}: ${error.message}`, error: error.code });
    }
  };
  return (
    <>
      <tr data-audit={row.id} data-action={row.action}>
        <td>
          <time dateTime={new Date(row.at * 1000).toISOString()}>{new Date(row.at * 1000).toLocaleString()}</time>
        </td>
        <td>{row.actor ?? BACKEND}</td>
        <td>
          <code>{row.action}</code>
        </td>
        <td>
          <code>{row.target}</code>
        </td>
        <td>{row.revision ?? '—'}</td>
        <td>
          <button
            type="button"
            aria-expanded={open}
            aria-controls={`change-${row.id}`}
            onClick={() => setOpen(!open)}
            data-toggle={row.id}
          >
            {open ? 'Hide' : 'Show'} change
          </button>
          {about ? (
            <>
              {' '}
              <button type="button" onClick={checkNow} data-check-now={row.id} aria-label={`Check ${about.user} at ${at(about.node)} now`}>
                Check this now
              </button>
            </>
          ) : null}
        </td>
      </tr>
      {now ? (
        <tr>
          <td colSpan={6}>
            <span role="status" data-now={row.id} data-error={now.error}>
              {now.text}
            </span>
          </td>
        </tr>
      ) : null}
      {open ? (
        <tr id={`change-${row.id}`}>
          <td colSpan={6}>
            <ul className="diff" data-diff={row.id}>
              {changes.length === 0 ? <li>No field changed.</li> : null}
              {changes.map(({ field, was, now }) => (
                <li key={field}>
                  <code>{field}</code>: {was === undefined ? 'added' : <>was <code>{show(was)}</code></>}
                  {now === undefined ? ', removed' : <>, now <code>{show(now)}</code></>}
                </li>
              ))}
            </ul>
          </td>
        </tr>
      ) : null}
    </>
  );
}

const show = (value) => JSON.stringify(value);

/** The fields whose values differ between `before` and `after` (either may be null). */
export function diff(before, after) {
  const was = before && typeof before === 'object' && !Array.isArray(before) ? before : { value: before ?? undefined };
  const now = after && typeof after === 'object' && !Array.isArray(after) ? after : { value: after ?? undefined };
  const fields = [...new Set([...Object.keys(was), ...Object.keys(now)])].sort();
  return fields
    .filter((field) => JSON.stringify(was[field]) !== JSON.stringify(now[field]))
    .map((field) => ({ field, was: was[field], now: now[field] }));
}

/** The one user and the place a row is about (its subject, selector, member or target), or null. */
export function subjectOf(row) {
  const fields = { ...(row.before ?? {}), ...(row.after ?? {}) };
  const named = [fields.subject, fields.selector, fields.member, row.target].find((text) => typeof text === 'string' && text.startsWith('user:'));
  if (!named) return null;
  return { user: named.slice('user:'.length), node: fields.scope ?? fields.node ?? null };
}

/**
 * What `user` holds at `node` now, in words: from their access map (the
 * keys where they differ from the parent's) walked up the node's parents.
 */
async function holdsNow(org, { user, node }) {
  const [map, nodes] = await Promise.all([api(model(org, 'users', user, 'access')), api(model(org, 'nodes'))]);
  const parents = new Map(nodes.map((entry) => [entry.node, entry.parent]));
  if (node !== null && !parents.has(node)) return `${node} is no longer registered.`;
  const differs = new Map(map.nodes.map((entry) => [entry.node, entry.permissions]));
  const hidden = new Set(map.hidden);
  let keys = null;
  for (let place = node; place !== null; place = parents.get(place) ?? null) {
    if (hidden.has(place)) return `Now ${at(node)} is hidden from ${user}.`;
    if (keys === null && differs.has(place)) keys = differs.get(place);
  }
  keys ??= map.root;
  return `Now ${user} holds at ${at(node)}: ${keys.length ? keys.join(', ') : 'nothing'}.`;
}
