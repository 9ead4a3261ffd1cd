-- Ranges of events moved to archive files (`mamori audit archive`). Their
-- hashes stay as level-0 rows of audit_nodes, so the tree remains provable.
CREATE TABLE audit_archives (
    log TEXT NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    file TEXT NOT NULL,
    sha256 BLOB NOT NULL,
    note TEXT NOT NULL,
    archived_at INTEGER NOT NULL,
    PRIMARY KEY (log, start)
);
CREATE TRIGGER audit_archives_no_update BEFORE UPDATE ON audit_archives
BEGIN SELECT RAISE(ABORT, 'audit archives are append-only'); END;
CREATE TRIGGER audit_archives_no_delete BEFORE DELETE ON audit_archives
BEGIN SELECT RAISE(ABORT, 'audit archives are append-only'); END;
