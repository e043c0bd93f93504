// Preview before save (docs/console.md §10.5): every edit form of the
// console sends its write to POST …/preview first when asked, and shows
// what it would change as sentences ("removes miner:reboot at site:1 from
// 3 users: carol, dave, erin") or the refusal the write would get, with
// its code, before anyone saves it. Saving sends the same write.

import { createContext, useContext, useId, useState } from 'react';

import { api } from './api.js';
import { Refusal, at, model } from './ui.jsx';

/**
 * Whether the signed-in user may preview: a preview reads everyone's
 * answers, so it needs the `manage_members` key besides the write's own.
 */
export const PreviewGate = createContext({ allowed: true, reason: null });

/** How many principals a sentence names before "and N more". */
const NAMED = 10;

/** The preview's changes as sentences, one per kind of change at one place. */
export function summarize(changes) {
  const groups = new Map();
  for (const change of changes) {
    const hiding = change.after === 'not_found' || change.before === 'not_found';
    const key = hiding
      ? `${change.after === 'not_found' ? 'hides' : 'shows'}|${change.node}`
      : `${change.after === 'allow' ? 'gives' : 'removes'}|${change.node}|${change.permission}`;
    if (!groups.has(key)) groups.set(key, { key, change, hiding, principals: new Set() });
    groups.get(key).principals.add(change.principal);
  }
  return [...groups.values()].map(({ key, change, hiding, principals }) => {
    const names = [...principals];
    const who = `${names.length} ${names.length === 1 ? 'principal' : 'principals'}: ${names.slice(0, NAMED).join(', ')}${names.length > NAMED ? ` and ${names.length - NAMED} more` : ''}`;
    let text;
    if (hiding) {
      text = `${change.after === 'not_found' ? 'hides' : 'shows'} ${at(change.node)} ${change.after === 'not_found' ? 'from' : 'to'} ${who}`;
    } else if (change.after === 'allow') {
      text = `gives ${change.permission} at ${at(change.node)} to ${who}`;
    } else {
      text = `removes ${change.permission} at ${at(change.node)} from ${who}`;
    }
    return { key, text };
  });
}

/** The write as text, to tell whether the form changed since its preview. */
function asText(write) {
  try {
    return JSON.stringify(write());
  } catch {
    return null;
  }
}

/**
 * The buttons of an edit form: Preview asks the host what the write would
 * change, Save makes it. `write()` returns `{method, path, body?}` (path
 * relative to the org: `['roles', id]`), or throws `{code, message}` to
 * refuse locally. `about` names the thing for a screen reader when the
 * label alone does not ("Remove" in a list). A preview is shown only
 * while the form still asks the write it previewed.
 */
export function SaveOrPreview({ org, write, onSaved, label = 'Save', name, about }) {
  const gate = useContext(PreviewGate);
  const why = useId();
  const [preview, setPreview] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const asked = asText(write);
  const shown = preview && preview.asked === asked ? preview.answer : null;
  const request = () => {
    const { method, path, body } = write();
    return { method, path: model(org, ...path), body };
  };
  const run = async (action) => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const ask = () =>
    run(async () => {
      setPreview(null);
      const { method, path, body } = request();
      const answer = await api(model(org, 'preview'), { method: 'POST', body: body === undefined ? { method, path } : { method, path, body } });
      setPreview({ answer, asked });
    });
  const save = () =>
    run(async () => {
      const { method, path, body } = request();
      const answer = await api(path, { method, body });
      setPreview(null);
      onSaved?.(answer);
    });
  return (
    <div className="save" data-save={name}>
      <button
        type="button"
        onClick={ask}
        disabled={busy || !gate.allowed}
        data-action="preview"
        aria-label={label === 'Save' && !about ? undefined : `Preview: ${label}${about ? ` ${about}` : ''}`}
        aria-describedby={gate.allowed ? undefined : why}
      >
        Preview
      </button>{' '}
      <button type="button" onClick={save} disabled={busy} data-action="save" aria-label={about ? `${label} ${about}` : undefined}>
        {label}
      </button>
      {gate.allowed ? null : (
        <span id={why} className="reason">
          {' '}
          {gate.reason}
        </span>
      )}
      <Refusal error={error} />
      {shown ? <PreviewAnswer preview={shown} onCancel={() => setPreview(null)} /> : null}
    </div>
  );
}

function PreviewAnswer({ preview, onCancel }) {
  const sentences = summarize(preview.changes);
  return (
    <div role="status" data-preview={preview.total_changes}>
      <p>
        {preview.total_changes === 0
          ? 'This changes no decision.'
          : `This changes ${preview.total_changes} ${preview.total_changes === 1 ? 'decision' : 'decisions'} of ${preview.principals_affected} ${preview.principals_affected === 1 ? 'principal' : 'principals'}${preview.truncated ? ' (the first 10,000 are listed)' : ''}:`}
      </p>
      {sentences.length ? (
        <ul>
          {sentences.map(({ key, text }) => (
            <li key={key}>This {text}.</li>
          ))}
        </ul>
      ) : null}
      <button type="button" onClick={onCancel} data-action="cancel">
        Cancel
      </button>
    </div>
  );
}
