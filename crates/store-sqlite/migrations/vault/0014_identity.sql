-- Fourteenth migration of `vault.db`: credentials with an expiry, a kind
-- (an API token, or a console session) and a tenant scope; people's
-- identities at identity providers; sign-ins waiting for the provider's
-- answer.
ALTER TABLE api_tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'api'
    CHECK (kind IN ('api', 'session'));
ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER;
-- JSON array of tenant ids the credential may act on; NULL: any.
ALTER TABLE api_tokens ADD COLUMN tenants TEXT;
-- JSON: how a session's person signed in (method, provider, acr, amr, auth_time).
ALTER TABLE api_tokens ADD COLUMN auth TEXT;
CREATE TABLE identities (
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    login TEXT NOT NULL REFERENCES users(login),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX identities_login ON identities(login);
-- A sign-in sent to the provider: keyed by the hash of its state, its
-- nonce and PKCE verifier sealed; taken once.
CREATE TABLE sign_ins (
    state BLOB PRIMARY KEY,
    provider TEXT NOT NULL,
    sealed BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
