-- A new credential (an API token issued, a console session opened) changes
-- nothing any node holds: a token is remembered only once it was found,
-- never as missing. Only its revocation (UPDATE) or removal must move the
-- governance revision and be announced, so that every node forgets it; a
-- sign-in no longer makes every node read every token again.
DROP TRIGGER rev_api_tokens ON api_tokens;
CREATE TRIGGER rev_api_tokens AFTER UPDATE OR DELETE ON api_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION bump_governance_rev();
