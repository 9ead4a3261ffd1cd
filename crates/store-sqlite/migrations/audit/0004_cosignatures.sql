-- Witnesses' cosignatures (C2SP tlog-cosignature lines) on the log's
-- checkpoints: with them a checkpoint proves itself to anyone who trusts
-- the witness, offline.
CREATE TABLE audit_cosignatures (
    log TEXT NOT NULL,
    size INTEGER NOT NULL,
    witness TEXT NOT NULL,
    line TEXT NOT NULL,
    PRIMARY KEY (log, size, witness)
);
CREATE TRIGGER audit_cosignatures_no_update BEFORE UPDATE ON audit_cosignatures
BEGIN SELECT RAISE(ABORT, 'audit cosignatures are append-only'); END;
CREATE TRIGGER audit_cosignatures_no_delete BEFORE DELETE ON audit_cosignatures
BEGIN SELECT RAISE(ABORT, 'audit cosignatures are append-only'); END;
