-- The deployment's own secrets (the household, console-session and sign-in
-- keys), random and wrapped by the root key's provider like the tenant keys.
CREATE TABLE deployment_keys (
    name TEXT COLLATE "C" PRIMARY KEY,
    wrapped BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
