-- Each log's RFC 6962 Merkle tree: the perfect subtrees of level >= 1,
-- written as appends complete them (level 0 is audit_events.hash), so any
-- inclusion or consistency proof is O(log n) lookups.
CREATE TABLE audit_nodes (
    log TEXT NOT NULL,
    level INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (log, level, idx)
) WITHOUT ROWID;
-- Signed checkpoints (C2SP signed notes): size and root of a log, signed
-- with the vault's audit key at least every second while it grows.
CREATE TABLE audit_checkpoints (
    log TEXT NOT NULL,
    size INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    note TEXT NOT NULL,
    PRIMARY KEY (log, size)
);
CREATE TRIGGER audit_nodes_no_update BEFORE UPDATE ON audit_nodes
BEGIN SELECT RAISE(ABORT, 'audit tree nodes are append-only'); END;
CREATE TRIGGER audit_nodes_no_delete BEFORE DELETE ON audit_nodes
BEGIN SELECT RAISE(ABORT, 'audit tree nodes are append-only'); END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
