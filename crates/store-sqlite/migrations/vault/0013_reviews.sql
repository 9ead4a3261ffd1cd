-- Thirteenth migration of `vault.db`: access review campaigns (issue 25,
-- D4). An item is one entitlement (a segment assignment, standing full
-- access, a privileged role) with its reviewer and the vault's evidence as
-- it stood when the campaign opened (counts and dates, no customer value).
CREATE TABLE review_campaigns (
    id            TEXT PRIMARY KEY,
    title         TEXT NOT NULL,
    scope         TEXT NOT NULL,
    fallback      TEXT,
    opened_by     TEXT NOT NULL,
    opened_at     INTEGER NOT NULL,
    deadline      INTEGER NOT NULL,
    notice_days   INTEGER NOT NULL,
    on_no_answer  TEXT NOT NULL,
    every_months  INTEGER NOT NULL,
    evidence_days INTEGER NOT NULL,
    noticed_at    INTEGER,
    closed_at     INTEGER,
    closed_by     TEXT,
    -- The campaign a recurring one was followed by (set once).
    successor     TEXT
);
CREATE TABLE review_items (
    id         TEXT PRIMARY KEY,
    campaign   TEXT NOT NULL REFERENCES review_campaigns(id),
    kind       TEXT NOT NULL,
    login      TEXT NOT NULL,
    tenant     TEXT,
    target     TEXT NOT NULL,
    reviewer   TEXT NOT NULL,
    grantor    TEXT,
    evidence   TEXT NOT NULL,
    shown_at   INTEGER,
    -- The decision: all four set, or none.
    outcome    TEXT,
    decided_by TEXT,
    decided_at INTEGER,
    note       BLOB,
    applied    TEXT
);
CREATE INDEX review_items_campaign ON review_items(campaign, login, kind, tenant, target);
CREATE INDEX review_items_reviewer ON review_items(reviewer, campaign);
-- Each Japan day's use per person, summarised once from the audit log (a
-- cache of what the log says, for review evidence; record ids only).
CREATE TABLE usage_days (
    day     INTEGER PRIMARY KEY,
    done_at INTEGER NOT NULL
);
CREATE TABLE usage (
    day     INTEGER NOT NULL REFERENCES usage_days(day),
    login   TEXT NOT NULL,
    tenant  TEXT NOT NULL,
    segment TEXT NOT NULL,
    reads   INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    records BLOB NOT NULL,
    PRIMARY KEY (login, tenant, segment, day)
);
