-- SCIM provisioning. The resources an
-- identity provider manages (Users, each provisioning one person, kept as
-- a tombstone when deleted; Groups with their members), and the
-- provider's bearer tokens, stored as SHA-256 hashes.
CREATE TABLE scim_resources (
    id TEXT COLLATE "C" PRIMARY KEY,
    kind TEXT COLLATE "C" NOT NULL CHECK (kind IN ('User', 'Group')),
    login TEXT COLLATE "C" UNIQUE REFERENCES users(login),
    name_key TEXT COLLATE "C" NOT NULL,
    external_id TEXT COLLATE "C",
    doc TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT,
    CHECK ((kind = 'User') = (login IS NOT NULL))
);
CREATE UNIQUE INDEX scim_user_names ON scim_resources(name_key)
    WHERE kind = 'User' AND deleted_at IS NULL;
CREATE INDEX scim_names ON scim_resources(kind, name_key);
CREATE INDEX scim_external_ids ON scim_resources(kind, external_id);
CREATE TABLE scim_members (
    group_id TEXT COLLATE "C" NOT NULL REFERENCES scim_resources(id),
    user_id TEXT COLLATE "C" NOT NULL REFERENCES scim_resources(id),
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX scim_members_user ON scim_members(user_id);
CREATE TABLE scim_tokens (
    hash BYTEA PRIMARY KEY,
    label TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE UNIQUE INDEX scim_token_labels ON scim_tokens(label) WHERE revoked_at IS NULL;
