//! A simulated month of a secure area, for the scenario tests and the
//! benchmark: synthetic operators (`op0001` …) each with a badge, a PC
//! account and a dedicated PC, working two sessions a day (door entry,
//! logon, a lock at the desk, reads, logoff, exit) on five days of seven —
//! as the outside files a door system and a Windows event export would
//! write (the door log in Shift_JIS with Japanese headers, the events as
//! JSON lines), plus the vault's facts. An honest month has no
//! discrepancy; `plant` adds exactly one of every class.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use crate::run::{Grant, Period, Read, Standing};

/// The month's shape.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub people: usize,
    pub days: i64,
    /// Reads per person per working day.
    pub reads_per_day: usize,
    pub seed: u64,
    /// Plant one discrepancy of every class.
    pub plant: bool,
    /// The first day's midnight (Unix seconds); `month_start()` when None.
    pub start: Option<i64>,
}

/// The files and facts of a month.
pub struct Month {
    pub period: Period,
    pub people_csv: Vec<u8>,
    pub hosts_csv: Vec<u8>,
    /// Shift_JIS, Japanese headers.
    pub rooms_csv: Vec<u8>,
    /// JSON lines, as `Get-WinEvent … | ConvertTo-Json -Compress` per event.
    pub logons_json: Vec<u8>,
    pub reads: Vec<Read>,
    pub grants: Vec<Grant>,
    pub standing: Vec<Standing>,
    /// Shifts: (login, Japan day).
    pub applications: Vec<(String, i64)>,
}

/// Where the simulated month starts: 2026-11-01 00:00 Japan time.
pub fn month_start() -> i64 {
    let d = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).expect("a valid date");
    mamori_core::jst::midnight(d)
}

struct Writer {
    rooms: String,
    logons: String,
    reads: Vec<Read>,
    seq: u64,
    next_logon: u64,
}

impl Writer {
    fn room(&mut self, at: i64, badge: &str, entry: bool) {
        let t = local(at);
        let dir = if entry { "入室" } else { "退室" };
        self.rooms
            .push_str(&format!("{t},A-1,{badge},{dir},許可\r\n"));
    }

    fn logon(&mut self, at: i64, id: u32, host: &str, user: &str, logon_id: u64, ty: Option<u32>) {
        let mut e = json!({
            "TimeCreated": mamori_core::jst::rfc3339(at),
            "Id": id,
            "MachineName": host,
            "TargetUserName": user,
            "TargetDomainName": "CORP",
            "TargetLogonId": format!("0x{logon_id:x}"),
        });
        if let Some(ty) = ty {
            e["LogonType"] = json!(ty);
        }
        self.logons.push_str(&e.to_string());
        self.logons.push('\n');
    }

    fn read(&mut self, at: i64, login: &str, tenant: &str, client: &str, grant: Option<&str>) {
        self.seq += 1;
        self.reads.push(Read {
            log: format!("tenant/{tenant}"),
            seq: self.seq,
            at,
            login: login.to_owned(),
            tenant: tenant.to_owned(),
            purpose: if grant.is_some() {
                "billing"
            } else {
                "support"
            }
            .to_owned(),
            case_id: grant.map(|_| "INC-2001".to_owned()),
            client: Some(client.to_owned()),
            grants: grant.map(|g| vec![g.to_owned()]).unwrap_or_default(),
            standing_records: usize::from(grant.is_none()),
            records: 1,
        });
    }

    fn new_logon_id(&mut self) -> u64 {
        self.next_logon += 1;
        0x10000 + self.next_logon
    }
}

fn local(at: i64) -> String {
    chrono::DateTime::from_timestamp(at, 0)
        .map(|t| {
            t.with_timezone(&mamori_core::jst::zone())
                .format("%Y/%m/%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default()
}

pub fn login(p: usize) -> String {
    format!("op{:04}", p + 1)
}

fn badge(p: usize) -> String {
    format!("B{:05}", p + 1)
}

fn host(p: usize) -> String {
    format!("PC-{:04}", p + 1)
}

pub fn address(p: usize) -> String {
    format!("10.1.{}.{}", p / 250, p % 250 + 1)
}

fn works(p: usize, day: i64) -> bool {
    (day + p as i64) % 7 < 5
}

/// Generates a month.
pub fn month(shape: Shape) -> Month {
    let start = shape.start.unwrap_or_else(month_start);
    let period = Period {
        from: start,
        to: start + shape.days * 86_400,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(shape.seed);
    let mut w = Writer {
        rooms: "日時,扉,カード番号,区分,結果\r\n".to_owned(),
        logons: String::new(),
        reads: Vec::new(),
        seq: 0,
        next_logon: 0,
    };
    let mut people_csv = "login,badge,pc_account\n".to_owned();
    let mut hosts_csv = "host,address\n".to_owned();
    let mut standing = Vec::new();
    let mut applications = Vec::new();
    for p in 0..shape.people {
        people_csv.push_str(&format!("{},{},CORP\\{}\n", login(p), badge(p), login(p)));
        hosts_csv.push_str(&format!("{},{}\n", host(p), address(p)));
        standing.push(Standing {
            login: login(p),
            tenant: "acme".into(),
            from: start - 86_400,
            to: None,
        });
    }
    for day in 0..shape.days {
        let midnight = start + day * 86_400;
        for p in 0..shape.people {
            if !works(p, day) {
                continue;
            }
            applications.push((login(p), mamori_core::jst::day(midnight)));
            for (from_h, to_h, share) in [(9, 12, 0.4), (13, 18, 0.6)] {
                let enter = midnight + from_h * 3600 + rng.random_range(0..1200);
                let leave = midnight + to_h * 3600 - rng.random_range(0..1200);
                let reads = (shape.reads_per_day as f64 * share).round() as usize;
                session(&mut w, &mut rng, p, enter, leave, reads);
            }
        }
    }
    let mut grants = Vec::new();
    if shape.plant {
        plant(&mut w, &mut grants, start, shape);
    }
    w.reads.sort_by_key(|r| (r.at, r.seq));
    let (rooms_csv, _, _) = encoding_rs::SHIFT_JIS.encode(&w.rooms);
    Month {
        period,
        people_csv: people_csv.into_bytes(),
        hosts_csv: hosts_csv.into_bytes(),
        rooms_csv: rooms_csv.into_owned(),
        logons_json: w.logons.into_bytes(),
        reads: w.reads,
        grants,
        standing,
        applications,
    }
}

/// One stretch at the desk: entry, logon, a short lock, reads, logoff, exit.
fn session(w: &mut Writer, rng: &mut ChaCha8Rng, p: usize, enter: i64, leave: i64, reads: usize) {
    let (b, h, l) = (badge(p), host(p), login(p));
    let id = w.new_logon_id();
    let on = enter + 60 + rng.random_range(0..120);
    let off = leave - 60 - rng.random_range(0..120);
    w.room(enter, &b, true);
    w.logon(on, 4624, &h, &l, id, Some(2));
    w.logon(on + 600, 4800, &h, &l, id, None);
    w.logon(on + 900, 4801, &h, &l, id, None);
    for _ in 0..reads {
        let at = rng.random_range(on + 1000..off - 30);
        w.read(at, &l, "acme", &address(p), None);
    }
    w.logon(off, 4647, &h, &l, id, None);
    w.logon(off + 1, 4634, &h, &l, id, None);
    w.room(leave, &b, false);
}

/// Exactly one discrepancy of every class, each on its own person and day
/// so that none causes another.
fn plant(w: &mut Writer, grants: &mut Vec<Grant>, start: i64, shape: Shape) {
    assert!(
        shape.people >= 12 && shape.days >= 14,
        "planting needs 12 people and two weeks"
    );
    // A working day of person p in the second week, at hour h.
    let at = |p: usize, h: i64| {
        let day = (7..14).find(|d| works(p, *d)).expect("five days of seven");
        start + day * 86_400 + h * 3600
    };
    // 1. A read under no assignment (tenant globex), in the morning session.
    w.read(at(0, 11), &login(0), "globex", &address(0), None);
    // 2. A read from their own, still logged-on PC after leaving the room
    //    (the logon lasts past the exit): a session of its own that evening.
    {
        let (b, h, l) = (badge(1), host(1), login(1));
        let id = w.new_logon_id();
        let t = at(1, 19);
        w.room(t, &b, true);
        w.logon(t + 60, 4624, &h, &l, id, Some(2));
        w.room(t + 600, &b, false);
        w.read(t + 900, &l, "acme", &address(1), None);
        w.logon(t + 1200, 4647, &h, &l, id, None);
    }
    // 3. A read from a machine that is no dedicated PC.
    w.read(at(2, 11), &login(2), "acme", "192.168.99.1", None);
    // 4. Inside, from their own PC, but after logging off: an evening stay.
    {
        let (b, h, l) = (badge(3), host(3), login(3));
        let id = w.new_logon_id();
        let t = at(3, 19);
        w.room(t, &b, true);
        w.logon(t + 60, 4624, &h, &l, id, Some(2));
        w.logon(t + 600, 4647, &h, &l, id, None);
        w.read(t + 900, &l, "acme", &address(3), None);
        w.room(t + 1800, &b, false);
    }
    // 5. Inside, from a colleague's PC while the colleague is logged on —
    //    at an hour both are at their desks.
    {
        let day = (7..14)
            .find(|d| works(4, *d) && works(5, *d))
            .expect("a shared day");
        let t = start + day * 86_400 + 16 * 3600;
        w.read(t, &login(4), "acme", &address(5), None);
    }
    // 6. A remote logon on a day off, no one at the door.
    {
        let day = (7..14).find(|d| !works(6, *d)).expect("a day off");
        let t = start + day * 86_400 + 21 * 3600;
        let id = w.new_logon_id();
        w.logon(t, 4624, &host(6), &login(6), id, Some(10));
        w.logon(t + 300, 4647, &host(6), &login(6), id, None);
    }
    // 7. An entry on a day off (no shift, no grant).
    {
        let day = (7..14).find(|d| !works(7, *d)).expect("a day off");
        let t = start + day * 86_400 + 10 * 3600;
        w.room(t, &badge(7), true);
        w.room(t + 600, &badge(7), false);
    }
    // 8. An exit with no entry before it (a tailgated entry): the morning
    //    entry of a working day removed.
    {
        let t = at(8, 9);
        let morning = local(t);
        let day_prefix = &morning[..10];
        let line = w
            .rooms
            .lines()
            .find(|l| l.starts_with(day_prefix) && l.contains(&badge(8)) && l.contains("入室"))
            .map(str::to_owned)
            .expect("a morning entry");
        w.rooms = w.rooms.replacen(&format!("{line}\r\n"), "", 1);
    }
    // 9. A grant approved and never used.
    grants.push(Grant {
        id: "grant-unused".into(),
        login: login(9),
        tenant: "acme".into(),
        purpose: "billing".into(),
        case_id: "INC-2001".into(),
        from: at(9, 14),
        to: at(9, 16),
    });
    // And one that is used (no discrepancy).
    grants.push(Grant {
        id: "grant-used".into(),
        login: login(10),
        tenant: "acme".into(),
        purpose: "billing".into(),
        case_id: "INC-2001".into(),
        from: at(10, 14),
        to: at(10, 16),
    });
    w.read(
        at(10, 15),
        &login(10),
        "acme",
        &address(10),
        Some("grant-used"),
    );
    // 10. A badge the person map does not name, entering and leaving.
    let t = at(11, 10);
    w.room(t, "B99999", true);
    w.room(t + 300, "B99999", false);
}
