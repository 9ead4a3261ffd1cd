-- PC agents (issue 24, item 3). A hunt asks agents to scan at their next
-- contact; a report is one scan's figures as the vault judged them (what was
-- found per file is in the report's audit event, never a file name or a
-- value here).
CREATE TABLE scan_hunts (
    id BYTEA PRIMARY KEY,
    case_id TEXT COLLATE "C" NOT NULL,
    started_by TEXT COLLATE "C" NOT NULL,
    started_at BIGINT NOT NULL,
    until BIGINT NOT NULL,
    full_scan BIGINT NOT NULL,
    machines TEXT COLLATE "C" NOT NULL,
    quarantine_to TEXT COLLATE "C"
);
CREATE INDEX scan_hunts_started ON scan_hunts(started_at);
CREATE TABLE scan_reports (
    seq BIGSERIAL UNIQUE,
    login TEXT COLLATE "C" NOT NULL,
    scan BYTEA NOT NULL,
    received_at BIGINT NOT NULL,
    hunt BYTEA,
    full_scan BIGINT NOT NULL,
    verdict TEXT COLLATE "C" NOT NULL,
    files_seen BIGINT NOT NULL,
    with_findings BIGINT NOT NULL,
    naming_customers BIGINT NOT NULL,
    uninspected BIGINT NOT NULL,
    PRIMARY KEY (login, scan)
);
CREATE INDEX scan_reports_received ON scan_reports(login, received_at);
