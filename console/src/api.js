// Calls of the host's API from the console: same-origin, the session
// cookie sent by the browser, the session's CSRF value on every write
// (`signedIn` keeps it), JSON in and out; a refusal rejects with the
// host's error `{code, message, details, status}`.

let csrf = null;

/** Keeps the signed-in session's CSRF value for every later write. */
export function signedIn(session) {
  csrf = session.csrf;
}

export async function api(path, { method = 'GET', body } = {}) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['tessera-csrf'] = csrf;
  const response = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const answer = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const error = answer?.error ?? { code: 'UNAVAILABLE', message: `the host answered ${response.status}` };
    throw Object.assign(new Error(error.message), { ...error, status: response.status });
  }
  return answer;
}
