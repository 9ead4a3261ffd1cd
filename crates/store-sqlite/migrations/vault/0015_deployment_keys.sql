-- Fifteenth migration of `vault.db`: the deployment's own secrets (the
-- household, console-session and sign-in keys), random and wrapped by the
-- root key's provider like the tenant keys.
CREATE TABLE deployment_keys (
    name TEXT PRIMARY KEY,
    wrapped BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
