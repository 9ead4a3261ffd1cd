-- Seventh migration of `vault.db`: staff households, as keyed tokens only.
CREATE TABLE households (
    login TEXT PRIMARY KEY REFERENCES users(login),
    tokens BLOB NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TRIGGER rev_households_i AFTER INSERT ON households BEGIN UPDATE governance_rev SET rev = rev + 1; END;
CREATE TRIGGER rev_households_u AFTER UPDATE ON households BEGIN UPDATE governance_rev SET rev = rev + 1; END;
CREATE TRIGGER rev_households_d AFTER DELETE ON households BEGIN UPDATE governance_rev SET rev = rev + 1; END;
