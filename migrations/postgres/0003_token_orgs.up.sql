-- Tokens bound to orgs (issue 12): a token with rows here may act in
-- these orgs only (any other org answers 404, as an unknown one does); a
-- token without rows acts in every org. Org ids, not foreign keys: a token
-- bound to `acme` stays bound to that id if the org is deleted and
-- created again, and may be made before the org exists.
CREATE TABLE api_token_orgs (
    token_id TEXT NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    org_id   TEXT NOT NULL,
    PRIMARY KEY (token_id, org_id)
);
