// Small pieces every screen shares: a refusal shown with its code, a path
// typed as text, a scope in words, the org's model URL, and a read the
// screen repeats after each write.

import { useEffect, useState } from 'react';

/** `site:1, rack:2` as a path. */
export const pathOf = (text) =>
  text
    .split(',')
    .map((segment) => segment.trim())
    .filter(Boolean);

/** A scope as words. */
export const at = (scope) => (scope ? scope : 'the org root');

/** A model route of the org: `model(org, 'roles', id)` → `/v1/orgs/ORG/roles/ID`. */
export const model = (org, ...segments) =>
  ['/v1/orgs', org, ...segments].map((segment, i) => (i === 0 ? segment : encodeURIComponent(segment))).join('/');

/** A host refusal: its code and message (`role="alert"`, read out when it appears). */
export function Refusal({ error }) {
  if (!error) return null;
  return (
    <p role="alert" data-error={error.code}>
      <code>{error.code}</code>: {error.message}
    </p>
  );
}

/**
 * `read()` once per `key` (an org), and again on `reload()`: `{value,
 * error, reload}`, `value` undefined until the first answer.
 */
export function useRead(read, key) {
  const [state, setState] = useState({ value: undefined, error: null });
  const reload = () =>
    read().then(
      (value) => setState({ value, error: null }),
      (error) => setState({ value: undefined, error }),
    );
  useEffect(() => {
    reload();
  }, [key]);
  return { ...state, reload };
}
