// Groups (docs/console.md §10.5): the org's groups as a tree of nesting
// (a group under each group it is a member of), default groups marked in
// words, the reserved `admin` group read-only (its members are the
// superusers); members added by searching the org's members, groups
// nested, flags changed, each write previewable before it is saved.

import { useEffect, useState } from 'react';

import { api } from './api.js';
import { SaveOrPreview } from './preview.jsx';
import { Refusal, model, useRead } from './ui.jsx';

export function Groups({ org }) {
  const read = useRead(() => api(model(org, 'groups')), org);
  const [selected, setSelected] = useState(null);
  if (read.error) return <Refusal error={read.error} />;
  if (!read.value) return <p role="status">Loading the groups…</p>;
  const groups = read.value;
  const load = read.reload;
  const byId = new Map(groups.map((group) => [group.id, group]));
  const nested = new Set(groups.flatMap((group) => group.members.filter((m) => m.startsWith('group:')).map((m) => m.slice(6))));
  const roots = groups.filter((group) => !nested.has(group.id));
  const current = selected ? byId.get(selected) : null;
  return (
    <section data-page="groups" aria-labelledby="groups-title">
      <h2 id="groups-title">Groups</h2>
      <div className="split">
        <ul className="tree" aria-label="Groups and their nesting">
          {roots.map((group) => (
            <Branch key={group.id} group={group} byId={byId} selected={selected} onSelect={setSelected} seen={new Set()} />
          ))}
        </ul>
        <div>
          {current ? <GroupPanel key={current.id} org={org} group={current} groups={groups} onChanged={load} /> : <p>Choose a group to see its members.</p>}
          <NewGroup org={org} onSaved={load} />
        </div>
      </div>
    </section>
  );
}

/** A group and, under it, the groups nested in it (a cycle is drawn once). */
function Branch({ group, byId, selected, onSelect, seen }) {
  const children = group.members
    .filter((member) => member.startsWith('group:'))
    .map((member) => byId.get(member.slice(6)))
    .filter((child) => child && !seen.has(child.id));
  const inner = new Set(seen).add(group.id);
  return (
    <li data-group={group.id}>
      <button type="button" onClick={() => onSelect(group.id)} aria-current={selected === group.id ? 'true' : undefined}>
        {group.name}
      </button>
      {group.default ? <span className="tag"> (default)</span> : null}
      {group.id === 'admin' ? <span className="tag"> (reserved, read-only)</span> : null}
      {children.length ? (
        <ul>
          {children.map((child) => (
            <Branch key={child.id} group={child} byId={byId} selected={selected} onSelect={onSelect} seen={inner} />
          ))}
        </ul>
      ) : null}
    </li>
  );
}

function GroupPanel({ org, group, groups, onChanged }) {
  const [name, setName] = useState(group.name);
  const [isDefault, setDefault] = useState(group.default);
  const [nest, setNest] = useState('');
  if (group.id === 'admin') {
    return (
      <section aria-labelledby="group-title" data-panel="admin">
        <h3 id="group-title">admin</h3>
        <p>The reserved group: its members are exactly the superusers, and it cannot be edited here.</p>
      </section>
    );
  }
  const members = group.members.filter((member) => member.startsWith('user:'));
  const others = groups.filter((other) => other.id !== group.id && other.id !== 'admin' && !group.members.includes(`group:${other.id}`));
  return (
    <section aria-labelledby="group-title" data-panel={group.id}>
      <h3 id="group-title">{group.name}</h3>
      <form onSubmit={(event) => event.preventDefault()}>
        <label>
          Name <input value={name} onChange={(event) => setName(event.target.value)} data-field="group-name" />
        </label>{' '}
        <label>
          <input type="checkbox" checked={isDefault} onChange={(event) => setDefault(event.target.checked)} data-field="group-default" /> Default
          group (members without any group are in it)
        </label>
        <SaveOrPreview org={org} name="group" write={() => ({ method: 'PATCH', path: ['groups', group.id], body: { name, default: isDefault } })} onSaved={onChanged} />
      </form>
      <h4>Members</h4>
      <ul>
        {group.members.map((member) => (
          <li key={member} data-member={member}>
            <code>{member}</code>{' '}
            <SaveOrPreview
              org={org}
              name={`remove-${member}`}
              label="Remove"
              about={member}
              write={() => ({ method: 'DELETE', path: ['groups', group.id, 'members', ...member.split(':')] })}
              onSaved={onChanged}
            />
          </li>
        ))}
        {members.length === 0 ? <li>No user is a direct member.</li> : null}
      </ul>
      <AddMember org={org} group={group} onSaved={onChanged} />
      <form onSubmit={(event) => event.preventDefault()}>
        <label>
          Nest a group in it{' '}
          <select value={nest} onChange={(event) => setNest(event.target.value)} data-field="nest">
            <option value="">(choose a group)</option>
            {others.map((other) => (
              <option key={other.id} value={other.id}>
                {other.name}
              </option>
            ))}
          </select>
        </label>
        <SaveOrPreview
          org={org}
          name="nest"
          label="Nest"
          write={() => {
            if (!nest) throw { code: 'BAD_REQUEST', message: 'choose a group to nest' };
            return { method: 'PUT', path: ['groups', group.id, 'members', 'group', nest] };
          }}
          onSaved={onChanged}
        />
      </form>
      <SaveOrPreview org={org} name="delete-group" label={`Delete ${group.name}`} write={() => ({ method: 'DELETE', path: ['groups', group.id] })} onSaved={onChanged} />
    </section>
  );
}

/** A member found by typing part of an id or name (GET …/members?search=). */
function AddMember({ org, group, onSaved }) {
  const [search, setSearch] = useState('');
  const [found, setFound] = useState([]);
  const [error, setError] = useState(null);
  useEffect(() => {
    let live = true;
    api(`${model(org, 'members')}?search=${encodeURIComponent(search)}&limit=20`).then(
      (members) => live && (setFound(members), setError(null)),
      (err) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [org, search]);
  const list = `members-of-${group.id}`;
  return (
    <form onSubmit={(event) => event.preventDefault()}>
      <label>
        Add a member (search by id or name){' '}
        <input value={search} onChange={(event) => setSearch(event.target.value)} list={list} data-field="member-search" />
      </label>
      <datalist id={list}>
        {found.map((member) => (
          <option key={member.id} value={member.id}>
            {member.name}
          </option>
        ))}
      </datalist>
      <Refusal error={error} />
      <SaveOrPreview
        org={org}
        name="add-member"
        label="Add"
        write={() => {
          if (!search.trim()) throw { code: 'BAD_REQUEST', message: 'type the id of a member to add' };
          return { method: 'PUT', path: ['groups', group.id, 'members', 'user', search.trim()] };
        }}
        onSaved={onSaved}
      />
    </form>
  );
}

function NewGroup({ org, onSaved }) {
  const [name, setName] = useState('');
  const [isDefault, setDefault] = useState(false);
  return (
    <form onSubmit={(event) => event.preventDefault()} aria-labelledby="new-group-title">
      <h3 id="new-group-title">New group</h3>
      <label>
        Name <input value={name} onChange={(event) => setName(event.target.value)} data-field="new-group-name" />
      </label>{' '}
      <label>
        <input type="checkbox" checked={isDefault} onChange={(event) => setDefault(event.target.checked)} /> Default group
      </label>
      <SaveOrPreview org={org} name="new-group" label="Create" write={() => ({ method: 'POST', path: ['groups'], body: { name, default: isDefault } })} onSaved={() => (setName(''), onSaved())} />
    </form>
  );
}
