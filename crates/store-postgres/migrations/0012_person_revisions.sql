-- A revision per person. A server caches what the gate knows of each person
-- (assignments, live grants, training, compliance, household, vendor). Keyed
-- by the global governance revision, every approval of anyone's request threw
-- away everyone's facts, and each person's next request reloaded all their
-- grants: work that grew with people × grants (issue 22's soak). `facts_rev`
-- moves only when something of this person's changes, and the cache is keyed
-- by it.
ALTER TABLE users ADD COLUMN facts_rev BIGINT NOT NULL DEFAULT 0;
CREATE FUNCTION bump_facts_rev() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    IF TG_TABLE_NAME = 'access_requests' THEN
        UPDATE users SET facts_rev = facts_rev + 1 WHERE login = r.requester;
    ELSIF TG_TABLE_NAME = 'vendors' THEN
        UPDATE users SET facts_rev = facts_rev + 1 WHERE vendor = r.id;
    ELSE
        UPDATE users SET facts_rev = facts_rev + 1 WHERE login = r.login;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER facts_assignments AFTER INSERT OR UPDATE OR DELETE ON assignments
    FOR EACH ROW EXECUTE FUNCTION bump_facts_rev();
CREATE TRIGGER facts_requests AFTER INSERT OR UPDATE OR DELETE ON access_requests
    FOR EACH ROW EXECUTE FUNCTION bump_facts_rev();
CREATE TRIGGER facts_training AFTER INSERT OR UPDATE OR DELETE ON training
    FOR EACH ROW EXECUTE FUNCTION bump_facts_rev();
CREATE TRIGGER facts_compliance AFTER INSERT OR UPDATE OR DELETE ON compliance
    FOR EACH ROW EXECUTE FUNCTION bump_facts_rev();
CREATE TRIGGER facts_households AFTER INSERT OR UPDATE OR DELETE ON households
    FOR EACH ROW EXECUTE FUNCTION bump_facts_rev();
CREATE TRIGGER facts_vendors AFTER INSERT OR UPDATE OR DELETE ON vendors
    FOR EACH ROW EXECUTE FUNCTION bump_facts_rev();
