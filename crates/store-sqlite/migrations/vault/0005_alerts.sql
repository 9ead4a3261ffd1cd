-- Fifth migration of `vault.db`.
ALTER TABLE users ADD COLUMN leaves_at INTEGER;
ALTER TABLE users ADD COLUMN suspended_at INTEGER;
CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    rule TEXT NOT NULL,
    variant TEXT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    login TEXT NOT NULL,
    tenant TEXT,
    at INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    value REAL NOT NULL,
    threshold REAL NOT NULL,
    indicator TEXT,
    evidence_log TEXT NOT NULL,
    evidence_seq INTEGER NOT NULL,
    risk REAL NOT NULL,
    raised_at INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved', 'false_positive')),
    assignee TEXT,
    note BLOB,
    updated_by TEXT,
    updated_at INTEGER NOT NULL
);
CREATE INDEX alerts_raised ON alerts(raised_at);
CREATE INDEX alerts_login ON alerts(login, raised_at);
-- The outbox: a row per alert and channel until delivered.
CREATE TABLE alert_deliveries (
    id INTEGER PRIMARY KEY,
    alert TEXT NOT NULL REFERENCES alerts(id),
    channel TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at INTEGER NOT NULL,
    last_error TEXT
);
CREATE INDEX alert_deliveries_due ON alert_deliveries(next_at);
CREATE TABLE honey_records (
    tenant TEXT NOT NULL REFERENCES tenants(id),
    record BLOB NOT NULL,
    planted_by TEXT NOT NULL,
    planted_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, record)
);
CREATE TABLE detect_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    cursors TEXT NOT NULL,
    state BLOB NOT NULL,
    saved_at INTEGER NOT NULL
);
