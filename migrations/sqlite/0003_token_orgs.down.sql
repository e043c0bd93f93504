-- Without this table a token has no org binding, which would widen every
-- bound token to every org: revoke the bound tokens instead (fail closed).
DELETE FROM api_tokens WHERE id IN (SELECT token_id FROM api_token_orgs);
DROP TABLE api_token_orgs;
