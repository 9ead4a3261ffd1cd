-- Staff households, as keyed tokens only (see `UserStore::set_household`).
CREATE TABLE households (
    login TEXT COLLATE "C" PRIMARY KEY REFERENCES users(login),
    tokens BYTEA NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TRIGGER rev_households AFTER INSERT OR UPDATE OR DELETE ON households
    FOR EACH STATEMENT EXECUTE FUNCTION bump_governance_rev();
