-- Twelfth migration of `vault.db`: reconciliation runs and their
-- discrepancies (issue 25, D3). A run is kept with its report (staff
-- identifiers, counts and audit positions, no customer value) under the
-- report's SHA-256; a discrepancy's id is stable across runs of one month,
-- so its disposition survives a second run.
CREATE TABLE reconciliations (
    id          TEXT PRIMARY KEY,
    period_from INTEGER NOT NULL,
    period_to   INTEGER NOT NULL,
    run_by      TEXT NOT NULL,
    run_at      INTEGER NOT NULL,
    report      BLOB NOT NULL
);
CREATE TABLE discrepancies (
    id          TEXT PRIMARY KEY,
    class       TEXT NOT NULL,
    person      TEXT NOT NULL,
    day         TEXT NOT NULL,
    kind        TEXT,
    count       INTEGER NOT NULL,
    run         TEXT NOT NULL,
    -- The disposition: all four set, or none.
    outcome     TEXT,
    disposed_by TEXT,
    disposed_at INTEGER,
    note        BLOB
);
CREATE INDEX discrepancies_order ON discrepancies(day, class, person);
