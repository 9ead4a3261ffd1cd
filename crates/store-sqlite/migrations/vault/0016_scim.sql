-- Sixteenth migration of `vault.db`: SCIM provisioning. The resources an
-- identity provider manages (Users, each provisioning one person, kept as
-- a tombstone when deleted; Groups with their members), and the
-- provider's bearer tokens, stored as SHA-256 hashes.
CREATE TABLE scim_resources (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('User', 'Group')),
    login TEXT UNIQUE REFERENCES users(login),
    name_key TEXT NOT NULL,
    external_id TEXT,
    doc TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    deleted_at INTEGER,
    CHECK ((kind = 'User') = (login IS NOT NULL))
);
CREATE UNIQUE INDEX scim_user_names ON scim_resources(name_key)
    WHERE kind = 'User' AND deleted_at IS NULL;
CREATE INDEX scim_names ON scim_resources(kind, name_key);
CREATE INDEX scim_external_ids ON scim_resources(kind, external_id);
CREATE TABLE scim_members (
    group_id TEXT NOT NULL REFERENCES scim_resources(id),
    user_id TEXT NOT NULL REFERENCES scim_resources(id),
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX scim_members_user ON scim_members(user_id);
CREATE TABLE scim_tokens (
    hash BLOB PRIMARY KEY,
    label TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE UNIQUE INDEX scim_token_labels ON scim_tokens(label) WHERE revoked_at IS NULL;
