-- Credentials with an expiry, a kind (an API token, or a console session)
-- and a tenant scope; people's identities at identity providers; sign-ins
-- waiting for the provider's answer.
ALTER TABLE api_tokens ADD COLUMN kind TEXT COLLATE "C" NOT NULL DEFAULT 'api'
    CHECK (kind IN ('api', 'session'));
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
ALTER TABLE api_tokens ADD COLUMN tenants TEXT COLLATE "C";
ALTER TABLE api_tokens ADD COLUMN auth TEXT COLLATE "C";
CREATE TABLE identities (
    issuer TEXT COLLATE "C" NOT NULL,
    subject TEXT COLLATE "C" NOT NULL,
    login TEXT COLLATE "C" NOT NULL REFERENCES users(login),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX identities_login ON identities(login);
-- A person's identities decide who they are: a change is a governance change.
CREATE TRIGGER rev_identities AFTER INSERT OR UPDATE OR DELETE ON identities
    FOR EACH STATEMENT EXECUTE FUNCTION bump_governance_rev();
CREATE TABLE sign_ins (
    state BYTEA PRIMARY KEY,
    provider TEXT COLLATE "C" NOT NULL,
    sealed BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
