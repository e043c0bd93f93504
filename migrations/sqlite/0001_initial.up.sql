-- Tessera's store (DESIGN §1, §5). Flags are INTEGER 0/1 in both
-- dialects: sqlx's Any driver reads integers the same way from both.
-- Every org-scoped table carries org_id and
-- refers to other org-scoped rows through composite keys (id, org_id), so a
-- row can never point into another org: tenant isolation is the schema's,
-- not only the code's.
--
-- ON DELETE, on purpose:
--   CASCADE  from an org to everything in it; from a membership to the
--            member's group memberships and assignments (removing a member
--            removes them in the same statement); from a role to its
--            permission rows; from a group to its own membership rows.
--   NO ACTION (checked at the end of the statement; RESTRICT would be
--            checked row by row, so even dropping a table of nested nodes
--            would fail) everywhere policy would otherwise vanish as a side
--            effect:
--            nodes under nodes, nodes carrying assignments, hidden entries
--            or caps (NODE_IN_USE); groups referenced by assignments,
--            selectors or another group's membership (GROUP_IN_USE); roles
--            with assignments (ROLE_IN_USE); catalog keys used by roles.

CREATE TABLE orgs (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    revision   BIGINT NOT NULL DEFAULT 1,
    kiosk      INTEGER NOT NULL DEFAULT 0 CHECK (kiosk IN (0, 1)),
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id        TEXT PRIMARY KEY CHECK (id <> 'anonymous'),
    name      TEXT NOT NULL,
    superuser INTEGER NOT NULL DEFAULT 0 CHECK (superuser IN (0, 1)),
    active    INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1))
);

CREATE TABLE members (
    org_id  TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (org_id, user_id)
);

-- Names are unique per org ignoring case and surrounding whitespace:
-- name_key is lower(trim(name)), written by the store.
CREATE TABLE groups (
    org_id     TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    id         TEXT NOT NULL,
    name       TEXT NOT NULL,
    name_key   TEXT NOT NULL,
    is_default INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, name_key),
    -- The reserved `admin` group (members: exactly the superusers) is never a default group.
    CHECK (id <> 'admin' OR is_default = 0)
);

CREATE TABLE group_members (
    org_id       TEXT NOT NULL,
    group_id     TEXT NOT NULL,
    member_user  TEXT,
    member_group TEXT,
    CHECK ((member_user IS NULL) <> (member_group IS NULL)),
    CHECK (group_id <> 'admin'),
    FOREIGN KEY (org_id, group_id) REFERENCES groups (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, member_user) REFERENCES members (org_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, member_group) REFERENCES groups (org_id, id) ON DELETE NO ACTION,
    UNIQUE (org_id, group_id, member_user),
    UNIQUE (org_id, group_id, member_group)
);
CREATE INDEX group_members_by_user ON group_members (org_id, member_user);
CREATE INDEX group_members_by_group ON group_members (org_id, member_group);

CREATE TABLE nodes (
    org_id      TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    type        TEXT NOT NULL,
    id          TEXT NOT NULL,
    parent_type TEXT,
    parent_id   TEXT,
    PRIMARY KEY (org_id, type, id),
    CHECK ((parent_type IS NULL) = (parent_id IS NULL)),
    FOREIGN KEY (org_id, parent_type, parent_id) REFERENCES nodes (org_id, type, id) ON DELETE NO ACTION
);
CREATE INDEX nodes_by_parent ON nodes (org_id, parent_type, parent_id);

-- The catalog is global (one manifest per deployment), in canonical order.
CREATE TABLE catalog (
    key         TEXT PRIMARY KEY,
    position    INTEGER NOT NULL,
    requires    TEXT NOT NULL,
    description TEXT,
    deprecated  INTEGER NOT NULL DEFAULT 0 CHECK (deprecated IN (0, 1))
);

CREATE TABLE roles (
    org_id   TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    id       TEXT NOT NULL,
    name     TEXT NOT NULL,
    name_key TEXT NOT NULL,
    builtin  TEXT,
    mode     TEXT NOT NULL CHECK (mode IN ('custom', 'immutable', 'editable')),
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, name_key),
    UNIQUE (org_id, builtin),
    CHECK ((builtin IS NULL) = (mode = 'custom'))
);

CREATE TABLE role_permissions (
    org_id     TEXT NOT NULL,
    role_id    TEXT NOT NULL,
    permission TEXT NOT NULL REFERENCES catalog (key) ON DELETE NO ACTION,
    PRIMARY KEY (org_id, role_id, permission),
    FOREIGN KEY (org_id, role_id) REFERENCES roles (org_id, id) ON DELETE CASCADE
);

-- subject is the textual form (`user:alice`, `group:g`, `@everyone`, ...);
-- subject_user / subject_group repeat the id for the foreign keys.
-- scope_key is '' for the org root, so uniqueness is NULL-safe.
CREATE TABLE assignments (
    org_id        TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    id            TEXT NOT NULL,
    subject       TEXT NOT NULL,
    subject_user  TEXT,
    subject_group TEXT,
    role_id       TEXT NOT NULL,
    scope_type    TEXT,
    scope_id      TEXT,
    scope_key     TEXT NOT NULL,
    owner_only    INTEGER NOT NULL DEFAULT 0 CHECK (owner_only IN (0, 1)),
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (org_id, id),
    CHECK ((scope_type IS NULL) = (scope_id IS NULL)),
    CHECK (subject_user IS NULL OR subject_group IS NULL),
    FOREIGN KEY (org_id, subject_user) REFERENCES members (org_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, subject_group) REFERENCES groups (org_id, id) ON DELETE NO ACTION,
    FOREIGN KEY (org_id, role_id) REFERENCES roles (org_id, id) ON DELETE NO ACTION,
    FOREIGN KEY (org_id, scope_type, scope_id) REFERENCES nodes (org_id, type, id) ON DELETE NO ACTION,
    UNIQUE (org_id, subject, role_id, scope_key, owner_only)
);
CREATE INDEX assignments_by_user ON assignments (org_id, subject_user);
CREATE INDEX assignments_by_group ON assignments (org_id, subject_group);
CREATE INDEX assignments_by_role ON assignments (org_id, role_id);
CREATE INDEX assignments_by_scope ON assignments (org_id, scope_type, scope_id);

-- selector is the textual form (DESIGN §1.10); selector_user may name a
-- signed-in non-member, so it refers to users, not members.
CREATE TABLE hidden (
    org_id         TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    id             TEXT NOT NULL,
    selector       TEXT NOT NULL,
    selector_user  TEXT REFERENCES users (id) ON DELETE CASCADE,
    selector_group TEXT,
    node_type      TEXT NOT NULL,
    node_id        TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, selector_group) REFERENCES groups (org_id, id) ON DELETE NO ACTION,
    FOREIGN KEY (org_id, node_type, node_id) REFERENCES nodes (org_id, type, id) ON DELETE NO ACTION,
    UNIQUE (org_id, selector, node_type, node_id)
);
CREATE INDEX hidden_by_node ON hidden (org_id, node_type, node_id);

CREATE TABLE caps (
    org_id         TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    id             TEXT NOT NULL,
    selector       TEXT NOT NULL,
    selector_user  TEXT REFERENCES users (id) ON DELETE CASCADE,
    selector_group TEXT,
    scope_type     TEXT,
    scope_id       TEXT,
    allow          TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    CHECK ((scope_type IS NULL) = (scope_id IS NULL)),
    FOREIGN KEY (org_id, selector_group) REFERENCES groups (org_id, id) ON DELETE NO ACTION,
    FOREIGN KEY (org_id, scope_type, scope_id) REFERENCES nodes (org_id, type, id) ON DELETE NO ACTION
);
CREATE INDEX caps_by_scope ON caps (org_id, scope_type, scope_id);

-- Append-only; no foreign keys, so the trail outlives what it describes.
CREATE TABLE audit (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id   TEXT,
    actor    TEXT,
    action   TEXT NOT NULL,
    target   TEXT NOT NULL,
    before   TEXT,
    after    TEXT,
    revision BIGINT,
    at       BIGINT NOT NULL
);
CREATE INDEX audit_by_org ON audit (org_id, id);

CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    public_key  BLOB NOT NULL,
    private_key BLOB NOT NULL,
    created_at  BIGINT NOT NULL,
    retired_at  BIGINT
);

CREATE TABLE api_tokens (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('admin', 'check')),
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

-- Deployment-wide values: the catalog hash of the last reconcile.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
