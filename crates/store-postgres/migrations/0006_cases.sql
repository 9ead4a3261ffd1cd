-- The call system's case feed.
CREATE TABLE cases (
    tenant TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
    case_id TEXT COLLATE "C" NOT NULL,
    tokens BYTEA NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant, case_id)
);
CREATE TRIGGER rev_cases AFTER INSERT OR UPDATE ON cases
    FOR EACH STATEMENT EXECUTE FUNCTION bump_governance_rev();
