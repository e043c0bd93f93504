// The node tree (docs/console.md §10.5): the org's registered nodes,
// parents first, and for the org root or a chosen node its assignments
// (subject, role, owner-only), hidden entries and caps, each added or
// removed with a preview first if asked; nodes registered and deleted;
// the org's kiosk setting. Each list is read with its own admin key: one
// the user lacks shows its refusal, the others still work.

import { useState } from 'react';

import { api } from './api.js';
import { SaveOrPreview } from './preview.jsx';
import { Refusal, at, model, useRead } from './ui.jsx';

/** A role's name when the roles could be read, else its id. */
const roleName = (roles, id) => roles.value?.find((role) => role.id === id)?.name ?? id;

/** Reads every list the screen shows; a refused one keeps its error. */
async function readAll(org) {
  const read = (path) => api(model(org, ...path)).then((value) => ({ value }), (error) => ({ error }));
  const [nodes, assignments, hidden, caps, roles, settings] = await Promise.all([
    read(['nodes']),
    read(['assignments']),
    read(['hidden']),
    read(['caps']),
    read(['roles']),
    read(['settings']),
  ]);
  return { nodes, assignments, hidden, caps, roles, settings };
}

export function Nodes({ org }) {
  const { value: data, reload: load } = useRead(() => readAll(org), org);
  const [selected, setSelected] = useState(null);
  if (!data) return <p role="status">Loading the node tree…</p>;
  if (data.nodes.error) return <Refusal error={data.nodes.error} />;
  const nodes = data.nodes.value;
  const children = (parent) => nodes.filter((node) => node.parent === parent);
  return (
    <section data-page="nodes" aria-labelledby="nodes-title">
      <h2 id="nodes-title">Node tree</h2>
      <div className="split">
        <ul className="tree" aria-label="Registered nodes">
          <li data-node="root">
            <button type="button" onClick={() => setSelected(null)} aria-current={selected === null ? 'true' : undefined}>
              The org root
            </button>
            <Children parent={null} children={children} selected={selected} onSelect={setSelected} />
          </li>
        </ul>
        <NodePanel key={selected ?? 'root'} org={org} node={selected} data={data} onChanged={load} />
      </div>
      <Kiosk org={org} settings={data.settings} onChanged={load} />
    </section>
  );
}

function Children({ parent, children, selected, onSelect }) {
  const list = children(parent);
  if (!list.length) return null;
  return (
    <ul>
      {list.map(({ node }) => (
        <li key={node} data-node={node}>
          <button type="button" onClick={() => onSelect(node)} aria-current={selected === node ? 'true' : undefined}>
            {node}
          </button>
          <Children parent={node} children={children} selected={selected} onSelect={onSelect} />
        </li>
      ))}
    </ul>
  );
}

/** What is attached to one place: assignments, hidden entries, caps. */
function NodePanel({ org, node, data, onChanged }) {
  const scope = (item) => (item.scope ?? null) === node;
  return (
    <section aria-labelledby="node-title" data-panel={node ?? 'root'}>
      <h3 id="node-title">{node ? <code>{node}</code> : 'The org root'}</h3>
      <h4>Assignments here</h4>
      {data.assignments.error ? (
        <Refusal error={data.assignments.error} />
      ) : (
        <Rows
          rows={data.assignments.value.filter(scope)}
          empty="No assignment here."
          text={(a) => `${roleName(data.roles, a.role)} for ${a.subject}${a.owner_only ? ' (owner only)' : ''}`}
          remove={(a) => ['assignments', a.id]}
          org={org}
          onChanged={onChanged}
          kind="assignment"
        />
      )}
      <AddAssignment org={org} node={node} roles={data.roles} onSaved={onChanged} />
      {node ? (
        <>
          <h4>Hidden here</h4>
          {data.hidden.error ? (
            <Refusal error={data.hidden.error} />
          ) : (
            <Rows
              rows={data.hidden.value.filter((h) => h.node === node)}
              empty="Hidden from nobody."
              text={(h) => `hidden from ${h.selector}`}
              remove={(h) => ['hidden', h.id]}
              org={org}
              onChanged={onChanged}
              kind="hidden"
            />
          )}
          <AddSelector org={org} what="hidden" label="Hide from (selector)" body={(selector) => ({ selector, node })} onSaved={onChanged} />
        </>
      ) : null}
      <h4>Caps here</h4>
      {data.caps.error ? (
        <Refusal error={data.caps.error} />
      ) : (
        <Rows
          rows={data.caps.value.filter(scope)}
          empty="No cap here."
          text={(c) => `${c.selector} may use at most: ${c.allow.length ? c.allow.join(', ') : 'nothing'}`}
          remove={(c) => ['caps', c.id]}
          org={org}
          onChanged={onChanged}
          kind="cap"
        />
      )}
      <AddCap org={org} node={node} onSaved={onChanged} />
      <h4>{node ? 'Nodes under it' : 'Nodes at the top'}</h4>
      <Register org={org} parent={node} onSaved={onChanged} />
      {node ? (
        <SaveOrPreview org={org} name="delete-node" label={`Delete ${node}`} write={() => ({ method: 'DELETE', path: ['nodes', ...node.split(':')] })} onSaved={onChanged} />
      ) : null}
    </section>
  );
}

function Rows({ rows, empty, text, remove, org, onChanged, kind }) {
  if (!rows.length) return <p>{empty}</p>;
  return (
    <ul>
      {rows.map((row) => (
        <li key={row.id} data-row={`${kind}:${row.id}`}>
          {text(row)}{' '}
          <SaveOrPreview org={org} name={`remove-${row.id}`} label="Remove" about={text(row)} write={() => ({ method: 'DELETE', path: remove(row) })} onSaved={onChanged} />
        </li>
      ))}
    </ul>
  );
}

function AddAssignment({ org, node, roles, onSaved }) {
  const [subject, setSubject] = useState('');
  const [role, setRole] = useState('');
  const [ownerOnly, setOwnerOnly] = useState(false);
  return (
    <form className="filters" onSubmit={(event) => event.preventDefault()} aria-label={`Assign a role at ${at(node)}`}>
      <label>
        <span>
          Subject (<code>user:ID</code>, <code>group:ID</code>, <code>@members</code>…)
        </span>
        <input value={subject} onChange={(event) => setSubject(event.target.value)} data-field="subject" />
      </label>
      <label>
        Role{' '}
        {roles.error ? (
          <input value={role} onChange={(event) => setRole(event.target.value)} data-field="role" />
        ) : (
          <select value={role} onChange={(event) => setRole(event.target.value)} data-field="role">
            <option value="">(choose a role)</option>
            {roles.value.map((r) => (
              <option key={r.id} value={r.id}>
                {r.name}
              </option>
            ))}
          </select>
        )}
      </label>
      <label>
        <input type="checkbox" checked={ownerOnly} onChange={(event) => setOwnerOnly(event.target.checked)} /> Owner only
      </label>
      <SaveOrPreview
        org={org}
        name="assign"
        label="Assign"
        write={() => ({ method: 'POST', path: ['assignments'], body: { subject: subject.trim(), role, scope: node, owner_only: ownerOnly } })}
        onSaved={onSaved}
      />
    </form>
  );
}

function AddSelector({ org, what, label, body, onSaved }) {
  const [selector, setSelector] = useState('');
  return (
    <form className="filters" onSubmit={(event) => event.preventDefault()} aria-label={label}>
      <label>
        <span>
          {label} (<code>user:ID</code>, <code>group:ID</code>, <code>everyone</code>…)
        </span>
        <input value={selector} onChange={(event) => setSelector(event.target.value)} data-field={`${what}-selector`} />
      </label>
      <SaveOrPreview org={org} name={`add-${what}`} label="Add" write={() => ({ method: 'POST', path: [what], body: body(selector.trim()) })} onSaved={onSaved} />
    </form>
  );
}

function AddCap({ org, node, onSaved }) {
  const [selector, setSelector] = useState('');
  const [allow, setAllow] = useState('');
  const keys = () =>
    allow
      .split(',')
      .map((key) => key.trim())
      .filter(Boolean);
  return (
    <form className="filters" onSubmit={(event) => event.preventDefault()} aria-label={`Cap at ${at(node)}`}>
      <label>
        Cap whom (selector) <input value={selector} onChange={(event) => setSelector(event.target.value)} data-field="cap-selector" />
      </label>
      <label>
        To at most these keys (commas between) <input value={allow} onChange={(event) => setAllow(event.target.value)} data-field="cap-allow" />
      </label>
      <SaveOrPreview org={org} name="add-cap" label="Add cap" write={() => ({ method: 'POST', path: ['caps'], body: { selector: selector.trim(), scope: node, allow: keys() } })} onSaved={onSaved} />
    </form>
  );
}

function Register({ org, parent, onSaved }) {
  const [child, setChild] = useState('');
  const write = () => {
    const [type, id, more] = child.trim().split(':');
    if (!type || !id || more !== undefined) throw { code: 'BAD_REQUEST', message: 'a node is written type:id (site:7)' };
    return { method: 'PUT', path: ['nodes', type, id], body: { parent } };
  };
  return (
    <form className="filters" onSubmit={(event) => event.preventDefault()} aria-label={`Register a node under ${at(parent)}`}>
      <label>
        <span>
          Register a node (<code>type:id</code>)
        </span>{' '}
        <input value={child} onChange={(event) => setChild(event.target.value)} data-field="register" />
      </label>
      <SaveOrPreview org={org} name="register" label="Register" write={write} onSaved={onSaved} />
    </form>
  );
}

function Kiosk({ org, settings, onChanged }) {
  const [kiosk, setKiosk] = useState(settings.value?.kiosk ?? false);
  if (settings.error) return <Refusal error={settings.error} />;
  return (
    <form onSubmit={(event) => event.preventDefault()} aria-labelledby="settings-title">
      <h3 id="settings-title">Settings</h3>
      <label>
        <input type="checkbox" checked={kiosk} onChange={(event) => setKiosk(event.target.checked)} data-field="kiosk" /> Kiosk mode (anonymous
        visitors may use <code>read</code> keys only)
      </label>
      <SaveOrPreview org={org} name="settings" write={() => ({ method: 'PUT', path: ['settings'], body: { kiosk } })} onSaved={onChanged} />
    </form>
  );
}
