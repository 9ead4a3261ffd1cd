CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    schema TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'shredded')),
    current_key_version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    shredded_at INTEGER
);
CREATE TABLE tenant_keys (
    tenant TEXT NOT NULL REFERENCES tenants(id),
    version INTEGER NOT NULL,
    wrapped_data BLOB NOT NULL,
    wrapped_index BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, version)
);
-- One row per customer. `sealed` holds every field encrypted on its own;
-- `index_tokens` lists the record's blind-index entries so that they can be
-- replaced without decrypting anything. `rid` is internal: appends stay at the
-- end of the table and index entries point at 8 bytes instead of 16.
CREATE TABLE records (
    rid INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL REFERENCES tenants(id),
    id BLOB NOT NULL,
    segment TEXT NOT NULL,
    key_version INTEGER NOT NULL,
    key_token BLOB NOT NULL,
    sealed BLOB NOT NULL,
    index_tokens BLOB NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (tenant, id),
    UNIQUE (tenant, key_token)
);
-- Each (tenant, search key) gets a small number, so that the blind index,
-- the largest structure of the vault, repeats neither name per entry.
CREATE TABLE search_keys (
    ix INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL REFERENCES tenants(id),
    skey TEXT NOT NULL,
    UNIQUE (tenant, skey)
);
CREATE TABLE blind_index (
    ix INTEGER NOT NULL,
    token BLOB NOT NULL,
    rid INTEGER NOT NULL,
    PRIMARY KEY (ix, token, rid)
) WITHOUT ROWID;
CREATE TABLE users (
    login TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    department TEXT,
    vendor TEXT,
    created_at INTEGER NOT NULL
);
CREATE TABLE api_tokens (
    hash BLOB PRIMARY KEY,
    login TEXT NOT NULL REFERENCES users(login),
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX api_tokens_login ON api_tokens(login);
CREATE TABLE assignments (
    login TEXT NOT NULL REFERENCES users(login),
    tenant TEXT NOT NULL REFERENCES tenants(id),
    segment TEXT NOT NULL,
    PRIMARY KEY (login, tenant, segment)
);
