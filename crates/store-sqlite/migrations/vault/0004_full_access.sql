-- Fourth migration of `vault.db`.
CREATE TABLE full_access (
    id BLOB PRIMARY KEY,
    tenant TEXT NOT NULL REFERENCES tenants(id),
    login TEXT NOT NULL REFERENCES users(login),
    state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'revoked')),
    nominated_by TEXT NOT NULL,
    nominated_at INTEGER NOT NULL,
    decided_by TEXT,
    decided_at INTEGER,
    revoked_by TEXT,
    revoked_at INTEGER
);
-- One live nomination or holding per person and tenant.
CREATE UNIQUE INDEX full_access_live ON full_access(tenant, login)
    WHERE state IN ('pending', 'approved');
CREATE TABLE full_access_history (
    nomination BLOB NOT NULL REFERENCES full_access(id),
    step INTEGER NOT NULL,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    comment BLOB,
    PRIMARY KEY (nomination, step)
);
-- Whole-tenant assignments made before approval was required stay, recorded
-- as approved by the migration (visible as such in the history).
INSERT INTO full_access (id, tenant, login, state, nominated_by, nominated_at, decided_by, decided_at)
    SELECT randomblob(16), tenant, login, 'approved', 'migration', unixepoch(), 'migration', unixepoch()
    FROM assignments WHERE segment = '*';
INSERT INTO full_access_history (nomination, step, at, actor, action)
    SELECT id, 1, nominated_at, 'migration', 'approved' FROM full_access;
CREATE TRIGGER rev_full_access_i AFTER INSERT ON full_access BEGIN UPDATE governance_rev SET rev = rev + 1; END;
CREATE TRIGGER rev_full_access_u AFTER UPDATE ON full_access BEGIN UPDATE governance_rev SET rev = rev + 1; END;
