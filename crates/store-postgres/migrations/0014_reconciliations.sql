-- Reconciliation runs and their discrepancies (issue 25, D3). A run is kept with its report (staff
-- identifiers, counts and audit positions, no customer value) under the
-- report's SHA-256; a discrepancy's id is stable across runs of one month,
-- so its disposition survives a second run.
CREATE TABLE reconciliations (
    id          TEXT COLLATE "C" PRIMARY KEY,
    period_from BIGINT NOT NULL,
    period_to   BIGINT NOT NULL,
    run_by      TEXT COLLATE "C" NOT NULL,
    run_at      BIGINT NOT NULL,
    report      BYTEA NOT NULL
);
CREATE TABLE discrepancies (
    id          TEXT COLLATE "C" PRIMARY KEY,
    class       TEXT COLLATE "C" NOT NULL,
    person      TEXT COLLATE "C" NOT NULL,
    day         TEXT COLLATE "C" NOT NULL,
    kind        TEXT COLLATE "C",
    count       BIGINT NOT NULL,
    run         TEXT COLLATE "C" NOT NULL,
    -- The disposition: all four set, or none.
    outcome     TEXT COLLATE "C",
    disposed_by TEXT COLLATE "C",
    disposed_at BIGINT,
    note        BYTEA
);
CREATE INDEX discrepancies_order ON discrepancies(day, class, person);
