DROP TABLE api_token_orgs;
