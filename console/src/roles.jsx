// Roles (docs/console.md §10.5): every role of the org with its mode, and
// the permission matrix (catalog keys grouped by resource × roles). One
// role at a time is edited in its column: ticking a key ticks what it
// requires (GET /v1/catalog says what, from the core); unticking a key
// another held key requires asks first, naming what else goes. The host
// answers every rule (immutable built-ins, read pairing, escalation) with
// its code, in a preview or on save.

import { useState } from 'react';

import { api } from './api.js';
import { SaveOrPreview } from './preview.jsx';
import { Refusal, model, useRead } from './ui.jsx';

/** A role's kind in words: no meaning rests on colour. */
const modeOf = (role) => `${role.builtin ? `built-in, ${role.mode}` : 'custom'}${role.guarded ? ', guarded' : ''}`;

/** Catalog keys grouped by resource, in catalog order. */
function byResource(catalog) {
  const groups = new Map();
  for (const entry of catalog) {
    const resource = entry.key.split(':')[0];
    if (!groups.has(resource)) groups.set(resource, []);
    groups.get(resource).push(entry);
  }
  return [...groups.entries()];
}

export function Roles({ org }) {
  const read = useRead(async () => {
    const [roles, { catalog }] = await Promise.all([api(model(org, 'roles')), api('/v1/catalog')]);
    return { roles, catalog };
  }, org);
  const [editing, setEditing] = useState(null);
  if (read.error) return <Refusal error={read.error} />;
  if (!read.value) return <p role="status">Loading the roles…</p>;
  const { roles, catalog } = read.value;
  const load = read.reload;
  const saved = () => {
    setEditing(null);
    load();
  };
  return (
    <section data-page="roles" aria-labelledby="roles-title">
      <h2 id="roles-title">Roles</h2>
      <RoleList org={org} roles={roles} onEdit={(role) => setEditing(edit(role))} onChanged={load} />
      <button type="button" data-action="new-role" onClick={() => setEditing({ id: null, name: '', keys: new Set(), mode: 'custom' })}>
        New role
      </button>
      {editing ? <Editor org={org} catalog={catalog} editing={editing} setEditing={setEditing} onSaved={saved} /> : null}
      <Matrix catalog={catalog} roles={roles} editing={editing} setEditing={setEditing} />
    </section>
  );
}

const edit = (role) => ({ id: role.id, name: role.name, keys: new Set(role.permissions), mode: role.mode, builtin: role.builtin });

function RoleList({ org, roles, onEdit, onChanged }) {
  return (
    <table>
      <caption>Every role of the org</caption>
      <thead>
        <tr>
          <th scope="col">Role</th>
          <th scope="col">Kind</th>
          <th scope="col">Keys</th>
          <th scope="col">Actions</th>
        </tr>
      </thead>
      <tbody>
        {roles.map((role) => (
          <tr key={role.id} data-role={role.id}>
            <th scope="row">{role.name}</th>
            <td data-mode={role.mode}>{modeOf(role)}</td>
            <td>{role.permissions.length}</td>
            <td>
              <button type="button" data-action="edit-role" onClick={() => onEdit(role)} aria-label={`Edit ${role.name}`}>
                Edit
              </button>
              <SaveOrPreview org={org} name={`delete-${role.id}`} label={`Delete ${role.name}`} write={() => ({ method: 'DELETE', path: ['roles', role.id] })} onSaved={onChanged} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The role being edited: its name, the pending untick, Preview and Save. */
function Editor({ org, catalog, editing, setEditing, onSaved }) {
  const write = () => {
    const permissions = catalog.map((entry) => entry.key).filter((key) => editing.keys.has(key));
    if (editing.id === null) return { method: 'POST', path: ['roles'], body: { name: editing.name, permissions } };
    const body = editing.builtin ? { permissions } : { name: editing.name, permissions };
    return { method: 'PATCH', path: ['roles', editing.id], body };
  };
  return (
    <form className="editor" data-editor={editing.id ?? 'new'} onSubmit={(event) => event.preventDefault()} aria-labelledby="editor-title">
      <h3 id="editor-title">{editing.id === null ? 'New role' : `Editing ${editing.name}`}</h3>
      {editing.mode === 'immutable' ? <p>This built-in is immutable: the manifest fixes its keys, and the host refuses any edit.</p> : null}
      <label>
        Name{' '}
        <input
          value={editing.name}
          disabled={Boolean(editing.builtin)}
          onChange={(event) => setEditing({ ...editing, name: event.target.value })}
          data-field="role-name"
          required
        />
      </label>
      <p>Tick the keys in the matrix below, in this role's column.</p>
      <Untick editing={editing} setEditing={setEditing} />
      <SaveOrPreview org={org} name="role" write={write} onSaved={onSaved} />
      <button type="button" onClick={() => setEditing(null)} data-action="close-editor">
        Close without saving
      </button>
    </form>
  );
}

/** An untick another held key depends on: what else goes, and a choice. */
function Untick({ editing, setEditing }) {
  const pending = editing.untick;
  if (!pending) return null;
  const drop = (keys) => {
    const next = new Set(editing.keys);
    keys.forEach((key) => next.delete(key));
    setEditing({ ...editing, keys: next, untick: null });
  };
  return (
    <div role="alert" data-untick={pending.key}>
      <p>
        <code>{pending.key}</code> is required by {pending.dependents.map((key) => <code key={key}>{key} </code>)}
        which this role holds: without it they take no effect, so they go too.
      </p>
      <button type="button" onClick={() => drop([pending.key, ...pending.dependents])} data-action="untick-all">
        Untick all {pending.dependents.length + 1}
      </button>{' '}
      <button type="button" onClick={() => drop([pending.key])} data-action="untick-one">
        Untick {pending.key} only
      </button>{' '}
      <button type="button" onClick={() => setEditing({ ...editing, untick: null })} data-action="untick-keep">
        Keep it
      </button>
    </div>
  );
}

function Matrix({ catalog, roles, editing, setEditing }) {
  const columns = editing && editing.id === null ? [...roles, { id: null, name: editing.name || 'New role' }] : roles;
  const toggle = (entry) => {
    const keys = new Set(editing.keys);
    if (keys.has(entry.key)) {
      const dependents = entry.required_by.filter((key) => keys.has(key));
      if (dependents.length) {
        setEditing({ ...editing, untick: { key: entry.key, dependents } });
        return;
      }
      keys.delete(entry.key);
    } else {
      keys.add(entry.key);
      entry.requires.forEach((key) => keys.add(key));
    }
    setEditing({ ...editing, keys, untick: null });
  };
  return (
    <table className="matrix">
      <caption>Permissions by role (the role being edited has tick boxes)</caption>
      <thead>
        <tr>
          <th scope="col">Permission</th>
          {columns.map((role) => (
            <th scope="col" key={role.id ?? 'new'}>
              {role.name}
            </th>
          ))}
        </tr>
      </thead>
      {byResource(catalog).map(([resource, entries]) => (
        <tbody key={resource}>
          <tr>
            <th scope="rowgroup" colSpan={columns.length + 1}>
              {resource}
            </th>
          </tr>
          {entries.map((entry) => (
            <tr key={entry.key} data-key={entry.key}>
              <th scope="row">
                <code>{entry.key}</code>
                {entry.description ? <span className="reason"> {entry.description}</span> : null}
              </th>
              {columns.map((role) => {
                const edited = editing && editing.id === role.id;
                const held = edited ? editing.keys.has(entry.key) : role.permissions.includes(entry.key);
                return (
                  <td key={role.id ?? 'new'} data-cell={`${role.id ?? 'new'}|${entry.key}`}>
                    {edited ? (
                      <input type="checkbox" checked={held} onChange={() => toggle(entry)} aria-label={`${entry.key} in ${editing.name || 'the new role'}`} />
                    ) : held ? (
                      'yes'
                    ) : (
                      <span className="reason">no</span>
                    )}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      ))}
    </table>
  );
}
