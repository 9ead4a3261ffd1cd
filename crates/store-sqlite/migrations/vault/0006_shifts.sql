-- Sixth migration of `vault.db`: shift calendars. Changes bump the
-- governance revision, so a running detector picks them up at once.
CREATE TABLE shift_calendar (
    login TEXT NOT NULL REFERENCES users(login),
    day TEXT NOT NULL,
    start_min INTEGER NOT NULL CHECK (start_min >= 0 AND start_min < 1440),
    end_min INTEGER NOT NULL CHECK (end_min >= start_min AND end_min <= 2880),
    PRIMARY KEY (login, day, start_min)
);
CREATE INDEX shift_calendar_day ON shift_calendar(day);
CREATE TABLE user_shifts (
    login TEXT PRIMARY KEY REFERENCES users(login),
    shift TEXT NOT NULL
);
CREATE TRIGGER rev_shift_cal_i AFTER INSERT ON shift_calendar BEGIN UPDATE governance_rev SET rev = rev + 1; END;
CREATE TRIGGER rev_shift_cal_d AFTER DELETE ON shift_calendar BEGIN UPDATE governance_rev SET rev = rev + 1; END;
CREATE TRIGGER rev_user_shift_i AFTER INSERT ON user_shifts BEGIN UPDATE governance_rev SET rev = rev + 1; END;
CREATE TRIGGER rev_user_shift_u AFTER UPDATE ON user_shifts BEGIN UPDATE governance_rev SET rev = rev + 1; END;
CREATE TRIGGER rev_user_shift_d AFTER DELETE ON user_shifts BEGIN UPDATE governance_rev SET rev = rev + 1; END;
