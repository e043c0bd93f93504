// The console page: who is signed in, and signing out. The session cookie
// is HttpOnly: this script never sees it; it reads the session through
// GET /v1/console-sessions/current and sends the session's CSRF value
// with every write (docs/console.md §10.1).
const who = document.getElementById('who');
const signOut = document.getElementById('sign-out');
const signedOut = document.getElementById('signed-out');

async function show() {
  const response = await fetch('/v1/console-sessions/current', { credentials: 'same-origin' });
  if (!response.ok) {
    who.textContent = 'Not signed in.';
    signedOut.hidden = false;
    return;
  }
  const session = await response.json();
  who.textContent = session.org
    ? `Signed in as ${session.actor}, in the org ${session.org}.`
    : `Signed in as ${session.actor}.`;
  signOut.hidden = false;
  signOut.onclick = async () => {
    await fetch('/v1/console-sessions/current', {
      method: 'DELETE',
      credentials: 'same-origin',
      headers: { 'Tessera-Csrf': session.csrf },
    });
    signOut.hidden = true;
    who.textContent = 'Signed out.';
    signedOut.hidden = false;
  };
}

show().catch(() => {
  who.textContent = 'The host could not be reached.';
});
