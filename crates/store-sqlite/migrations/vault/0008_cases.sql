-- Eighth migration of `vault.db`: the call system's case feed.
CREATE TABLE cases (
    tenant TEXT NOT NULL REFERENCES tenants(id),
    case_id TEXT NOT NULL,
    tokens BLOB NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, case_id)
) WITHOUT ROWID;
CREATE TRIGGER rev_cases_i AFTER INSERT ON cases BEGIN UPDATE governance_rev SET rev = rev + 1; END;
