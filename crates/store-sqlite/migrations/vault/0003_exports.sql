-- Third migration of `vault.db`.
CREATE TABLE exports (
    id BLOB PRIMARY KEY,
    tenant TEXT NOT NULL REFERENCES tenants(id),
    requester TEXT NOT NULL REFERENCES users(login),
    segment TEXT NOT NULL,
    fields TEXT NOT NULL,
    purpose TEXT NOT NULL,
    case_id TEXT NOT NULL,
    sealed BLOB NOT NULL,
    key_version INTEGER NOT NULL,
    recipient_key TEXT NOT NULL,
    rows_at_request INTEGER NOT NULL,
    approvals_required INTEGER NOT NULL CHECK (approvals_required >= 1),
    state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'revoked', 'downloaded')),
    created_at INTEGER NOT NULL,
    approve_by INTEGER NOT NULL,
    package_rows INTEGER,
    package_canaries INTEGER,
    package_bytes INTEGER,
    package_sha256 BLOB,
    package_at INTEGER,
    download_until INTEGER,
    closed_by TEXT,
    closed_at INTEGER
);
CREATE INDEX exports_tenant ON exports(tenant, created_at);
-- Distinct approvers are a property of the data, not only of the code.
CREATE TABLE export_approvals (
    export BLOB NOT NULL REFERENCES exports(id),
    approver TEXT NOT NULL REFERENCES users(login),
    role TEXT NOT NULL,
    at INTEGER NOT NULL,
    comment BLOB,
    UNIQUE (export, approver)
);
CREATE TABLE export_history (
    export BLOB NOT NULL REFERENCES exports(id),
    step INTEGER NOT NULL,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    comment BLOB,
    PRIMARY KEY (export, step)
);
-- Ciphertext only (age, to the recipient's key). With secure_delete on, a
-- deleted package is overwritten in the file.
CREATE TABLE export_packages (
    export BLOB PRIMARY KEY REFERENCES exports(id),
    bytes BLOB NOT NULL
);
