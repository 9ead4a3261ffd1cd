-- Ninth migration of `vault.db`: a revision per person.
-- A server caches what the gate knows of each person (assignments, live
-- grants, training, compliance, household, vendor). Keyed by the global
-- `governance_rev`, every approval of anyone's request threw away everyone's
-- facts, and each person's next request reloaded all their grants: work that
-- grew with people × grants (issue 22's soak). `facts_rev` moves only when
-- something of this person's changes, and the cache is keyed by it.
ALTER TABLE users ADD COLUMN facts_rev INTEGER NOT NULL DEFAULT 0;
CREATE TRIGGER facts_assign_i AFTER INSERT ON assignments BEGIN
    UPDATE users SET facts_rev = facts_rev + 1 WHERE login = NEW.login; END;
CREATE TRIGGER facts_assign_d AFTER DELETE ON assignments BEGIN
    UPDATE users SET facts_rev = facts_rev + 1 WHERE login = OLD.login; END;
CREATE TRIGGER facts_requests_i AFTER INSERT ON access_requests BEGIN
    UPDATE users SET facts_rev = facts_rev + 1 WHERE login = NEW.requester; END;
CREATE TRIGGER facts_requests_u AFTER UPDATE ON access_requests BEGIN
    UPDATE users SET facts_rev = facts_rev + 1 WHERE login = NEW.requester; END;
CREATE TRIGGER facts_training_i AFTER INSERT ON training BEGIN
    UPDATE users SET facts_rev = facts_rev + 1 WHERE login = NEW.login; END;
CREATE TRIGGER facts_compliance_i AFTER INSERT ON compliance BEGIN
    UPDATE users SET facts_rev = facts_rev + 1 WHERE login = NEW.login; END;
CREATE TRIGGER facts_households_i AFTER INSERT ON households BEGIN
    UPDATE users SET facts_rev = facts_rev + 1 WHERE login = NEW.login; END;
CREATE TRIGGER facts_households_u AFTER UPDATE ON households BEGIN
    UPDATE users SET facts_rev = facts_rev + 1 WHERE login = NEW.login; END;
CREATE TRIGGER facts_households_d AFTER DELETE ON households BEGIN
    UPDATE users SET facts_rev = facts_rev + 1 WHERE login = OLD.login; END;
CREATE TRIGGER facts_vendors_i AFTER INSERT ON vendors BEGIN
    UPDATE users SET facts_rev = facts_rev + 1 WHERE vendor = NEW.id; END;
CREATE TRIGGER facts_vendors_u AFTER UPDATE ON vendors BEGIN
    UPDATE users SET facts_rev = facts_rev + 1 WHERE vendor = NEW.id; END;
