-- Second migration of `vault.db`. The triggers at the end bump
-- `governance_rev` on every change, so no write path can forget to.
ALTER TABLE users ADD COLUMN manager TEXT REFERENCES users(login);
ALTER TABLE tenants ADD COLUMN full_access_cap INTEGER;
CREATE TABLE vendors (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    contract_start INTEGER NOT NULL,
    contract_end INTEGER NOT NULL,
    clauses TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE training (
    login TEXT NOT NULL REFERENCES users(login),
    course TEXT NOT NULL,
    completed_at INTEGER NOT NULL,
    score INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    recorded_by TEXT NOT NULL,
    PRIMARY KEY (login, course, completed_at)
);
CREATE TABLE compliance (
    login TEXT NOT NULL REFERENCES users(login),
    confirmed_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    recorded_by TEXT NOT NULL,
    PRIMARY KEY (login, confirmed_at)
);
-- A request and, once approved, the grant it became. Rows are never deleted:
-- the history of a grant stays queryable after it ends.
CREATE TABLE access_requests (
    id BLOB PRIMARY KEY,
    tenant TEXT NOT NULL REFERENCES tenants(id),
    requester TEXT NOT NULL REFERENCES users(login),
    segment TEXT NOT NULL,
    fields TEXT NOT NULL,
    purpose TEXT NOT NULL,
    case_id TEXT NOT NULL,
    justification BLOB NOT NULL,
    key_version INTEGER NOT NULL,
    record_budget INTEGER NOT NULL,
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'revoked')),
    origin TEXT NOT NULL CHECK (origin IN ('requested', 'issued')),
    created_at INTEGER NOT NULL,
    decided_by TEXT,
    decided_at INTEGER,
    revoked_by TEXT,
    revoked_at INTEGER
);
CREATE INDEX access_requests_requester ON access_requests(requester, ends_at);
CREATE INDEX access_requests_tenant ON access_requests(tenant, created_at);
CREATE TABLE access_request_history (
    request BLOB NOT NULL REFERENCES access_requests(id),
    step INTEGER NOT NULL,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    comment BLOB,
    PRIMARY KEY (request, step)
);
CREATE TABLE governance_rev (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    rev INTEGER NOT NULL
);
INSERT INTO governance_rev (id, rev) VALUES (1, 0);
CREATE TRIGGER rev_users_i AFTER INSERT ON users BEGIN UPDATE governance_rev SET rev = rev + 1; END;
CREATE TRIGGER rev_users_u AFTER UPDATE ON users BEGIN UPDATE governance_rev SET rev = rev + 1; END;
CREATE TRIGGER rev_assign_i AFTER INSERT ON assignments BEGIN UPDATE governance_rev SET rev = rev + 1; END;
CREATE TRIGGER rev_assign_d AFTER DELETE ON assignments BEGIN UPDATE governance_rev SET rev = rev + 1; END;
CREATE TRIGGER rev_vendors_i AFTER INSERT ON vendors BEGIN UPDATE governance_rev SET rev = rev + 1; END;
CREATE TRIGGER rev_vendors_u AFTER UPDATE ON vendors BEGIN UPDATE governance_rev SET rev = rev + 1; END;
CREATE TRIGGER rev_training_i AFTER INSERT ON training BEGIN UPDATE governance_rev SET rev = rev + 1; END;
CREATE TRIGGER rev_compliance_i AFTER INSERT ON compliance BEGIN UPDATE governance_rev SET rev = rev + 1; END;
CREATE TRIGGER rev_requests_i AFTER INSERT ON access_requests BEGIN UPDATE governance_rev SET rev = rev + 1; END;
CREATE TRIGGER rev_requests_u AFTER UPDATE ON access_requests BEGIN UPDATE governance_rev SET rev = rev + 1; END;
CREATE TRIGGER rev_tenants_u AFTER UPDATE ON tenants BEGIN UPDATE governance_rev SET rev = rev + 1; END;
