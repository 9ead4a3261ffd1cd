-- Every bump of the governance revision is announced as it commits, so a
-- server can keep who owns which token in memory until the next one
-- (watch.rs). Tokens bump it too: a revoked token is such a change.
CREATE OR REPLACE FUNCTION bump_governance_rev() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE governance_rev SET rev = rev + 1 WHERE id = 1;
    PERFORM pg_notify('mamori_governance', TG_TABLE_SCHEMA);
    RETURN NULL;
END $$;
CREATE TRIGGER rev_api_tokens AFTER INSERT OR UPDATE OR DELETE ON api_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION bump_governance_rev();
