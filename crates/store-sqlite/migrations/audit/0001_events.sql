-- The audit log. Rows are only ever inserted; `body` holds the event's
-- canonical bytes and `hash` = SHA-256(0x00 || body), which chains through
-- the previous hash inside the body. The other columns exist for querying.
CREATE TABLE audit_events (
    log TEXT NOT NULL,
    seq INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    tenant TEXT,
    decision TEXT NOT NULL,
    body BLOB NOT NULL,
    hash BLOB NOT NULL,
    UNIQUE (log, seq)
);
CREATE INDEX audit_events_log ON audit_events(log);
CREATE INDEX audit_events_actor ON audit_events(actor, ts);
CREATE INDEX audit_events_tenant ON audit_events(tenant, ts);
CREATE INDEX audit_events_ts ON audit_events(ts);
-- Append-only inside SQLite too: updates and deletes abort.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
