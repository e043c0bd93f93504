-- Console sign-in (docs/console.md §10.1): the app backend, for a user it
-- authenticated, asks for a one-time sign-in code; opening its URL turns
-- it into a browser session that acts as that user (in one org, when
-- given). Only SHA-256 digests of codes and sessions are stored, as for
-- API tokens. A deleted user takes its codes and sessions with it.
CREATE TABLE console_codes (
    code_hash  TEXT PRIMARY KEY,
    actor      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    org_id     TEXT,
    expires_at BIGINT NOT NULL
);

CREATE TABLE console_sessions (
    session_hash TEXT PRIMARY KEY,
    actor        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    org_id       TEXT,
    csrf         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    seen_at      BIGINT NOT NULL
);
