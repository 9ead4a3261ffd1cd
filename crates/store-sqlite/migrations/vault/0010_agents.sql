-- Tenth migration of `vault.db`: PC agents (issue 24, item 3).
-- A hunt asks agents to scan at their next contact; a report is one scan's
-- figures as the vault judged them (what was found per file is in the
-- report's audit event, never a file name or a value here).
CREATE TABLE scan_hunts (
    id          BLOB PRIMARY KEY,
    case_id     TEXT NOT NULL,
    started_by  TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    until       INTEGER NOT NULL,
    full_scan   INTEGER NOT NULL,
    machines    TEXT NOT NULL,
    -- The age key files found are put away to, when the hunt says so.
    quarantine_to TEXT
);
CREATE INDEX scan_hunts_started ON scan_hunts(started_at);
CREATE TABLE scan_reports (
    login            TEXT NOT NULL,
    scan             BLOB NOT NULL,
    received_at      INTEGER NOT NULL,
    hunt             BLOB,
    full_scan        INTEGER NOT NULL,
    verdict          TEXT NOT NULL,
    files_seen       INTEGER NOT NULL,
    with_findings    INTEGER NOT NULL,
    naming_customers INTEGER NOT NULL,
    uninspected      INTEGER NOT NULL,
    PRIMARY KEY (login, scan)
);
CREATE INDEX scan_reports_received ON scan_reports(login, received_at);
