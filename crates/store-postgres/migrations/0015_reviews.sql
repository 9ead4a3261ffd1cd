-- Access review campaigns (issue 25, D4). An item is one entitlement (a
-- segment assignment, standing full access, a privileged role) with its
-- reviewer and the vault's evidence as it stood when the campaign opened (counts and dates, no customer value).
CREATE TABLE review_campaigns (
    id            TEXT COLLATE "C" PRIMARY KEY,
    title         TEXT COLLATE "C" NOT NULL,
    scope         TEXT COLLATE "C" NOT NULL,
    fallback      TEXT COLLATE "C",
    opened_by     TEXT COLLATE "C" NOT NULL,
    opened_at     BIGINT NOT NULL,
    deadline      BIGINT NOT NULL,
    notice_days   BIGINT NOT NULL,
    on_no_answer  TEXT COLLATE "C" NOT NULL,
    every_months  BIGINT NOT NULL,
    evidence_days BIGINT NOT NULL,
    noticed_at    BIGINT,
    closed_at     BIGINT,
    closed_by     TEXT COLLATE "C",
    -- The campaign a recurring one was followed by (set once).
    successor     TEXT COLLATE "C"
);
CREATE TABLE review_items (
    id         TEXT COLLATE "C" PRIMARY KEY,
    campaign   TEXT COLLATE "C" NOT NULL REFERENCES review_campaigns(id),
    kind       TEXT COLLATE "C" NOT NULL,
    login      TEXT COLLATE "C" NOT NULL,
    tenant     TEXT COLLATE "C",
    target     TEXT COLLATE "C" NOT NULL,
    reviewer   TEXT COLLATE "C" NOT NULL,
    grantor    TEXT COLLATE "C",
    evidence   TEXT COLLATE "C" NOT NULL,
    shown_at   BIGINT,
    -- The decision: all four set, or none.
    outcome    TEXT COLLATE "C",
    decided_by TEXT COLLATE "C",
    decided_at BIGINT,
    note       BYTEA,
    applied    TEXT COLLATE "C"
);
CREATE INDEX review_items_campaign ON review_items(campaign, login, kind, tenant, target);
CREATE INDEX review_items_reviewer ON review_items(reviewer, campaign);
-- Each Japan day's use per person, summarised once from the audit log (a
-- cache of what the log says, for review evidence; record ids only).
CREATE TABLE usage_days (
    day     BIGINT PRIMARY KEY,
    done_at BIGINT NOT NULL
);
CREATE TABLE usage (
    day     BIGINT NOT NULL REFERENCES usage_days(day),
    login   TEXT COLLATE "C" NOT NULL,
    tenant  TEXT COLLATE "C" NOT NULL,
    segment TEXT COLLATE "C" NOT NULL,
    reads   BIGINT NOT NULL,
    last_at BIGINT NOT NULL,
    records BYTEA NOT NULL,
    PRIMARY KEY (login, tenant, segment, day)
);
