//! The secure area's door log and what it says of presence: when each
//! person was inside, and where the log contradicts itself (two entries in
//! a row, an exit without an entry — 共連れ or a badge not held to the
//! reader —, an entry never closed).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{Error, mapping::RoomColumns, table::Table, time};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Entry,
    Exit,
}

/// One badge event at a door.
#[derive(Clone, Debug)]
pub struct RoomEvent {
    pub line: usize,
    pub at: i64,
    /// The badge, when the log names people by badge.
    pub badge: Option<String>,
    /// The vault login, when the log names people directly.
    pub login: Option<String>,
    pub direction: Direction,
    /// False for a refused badge (it moves no one).
    pub ok: bool,
}

/// Reads a door log through the mapping.
pub fn read(bytes: &[u8], c: &RoomColumns) -> Result<Vec<RoomEvent>, Error> {
    let t = Table::read("rooms", bytes, c.encoding)?;
    let at = t.require("time", &c.time)?;
    let date = t.column(&c.date);
    let badge = t.column(&c.badge);
    let person = t.column(&c.person);
    if badge.is_none() && person.is_none() {
        t.require("badge", &c.badge)?;
    }
    let direction = t.require("direction", &c.direction)?;
    let result = t.column(&c.result);
    let is = |set: &[String], v: &str| set.iter().any(|s| s.eq_ignore_ascii_case(v));
    let mut out = Vec::with_capacity(t.rows.len());
    for row in &t.rows {
        let when = match row.opt(date) {
            "" => row.get(at).to_owned(),
            d => format!("{d} {}", row.get(at)),
        };
        let at = time::parse(&when, c.time_format.as_deref())
            .ok_or_else(|| Error::at("rooms", row.line, "the time is not a time"))?;
        let d = row.get(direction);
        let direction = if is(&c.entry, d) {
            Direction::Entry
        } else if is(&c.exit, d) {
            Direction::Exit
        } else {
            return Err(Error::at(
                "rooms",
                row.line,
                "the direction is neither an entry nor an exit value of the mapping",
            ));
        };
        let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        let (badge, login) = (nonempty(row.opt(badge)), nonempty(row.opt(person)));
        if badge.is_none() && login.is_none() {
            return Err(Error::at(
                "rooms",
                row.line,
                "the row names no badge or person",
            ));
        }
        let ok = result.is_none_or(|r| is(&c.success, row.get(r)));
        out.push(RoomEvent {
            line: row.line,
            at,
            badge,
            login,
            direction,
            ok,
        });
    }
    Ok(out)
}

/// What is wrong with a sequence of door events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Contradiction {
    /// An entry while already inside (the exit was not recorded).
    DoubleEntry,
    /// An exit without an entry (tailgating in, or no badge at the reader).
    ExitWithoutEntry,
    /// Inside longer than the longest plausible stay, with no exit.
    EntryWithoutExit,
}

/// When one person was inside: closed intervals, sorted, and the
/// contradictions met on the way (with the door-log line of each).
#[derive(Debug, Default)]
pub struct Presence {
    pub inside: Vec<(i64, i64)>,
    pub contradictions: Vec<(Contradiction, i64, usize)>,
    /// Lines and times of the day's first entries, by Japan day.
    pub entries: BTreeMap<i64, (i64, usize)>,
}

impl Presence {
    /// Whether the person was inside at `at`, give or take `skew` seconds.
    pub fn contains(&self, at: i64, skew: i64) -> bool {
        // The intervals are sorted by start and do not overlap.
        let i = self
            .inside
            .partition_point(|&(start, _)| start - skew <= at);
        i > 0 && at <= self.inside[i - 1].1 + skew
    }
}

/// Builds one person's presence from their successful door events, sorted
/// by time. `max_stay` bounds an entry without an exit; `end` is where the
/// period stops (an entry still open there is not a contradiction).
pub fn presence(events: &[&RoomEvent], max_stay: i64, end: i64) -> Presence {
    let mut p = Presence::default();
    let mut since: Option<(i64, usize)> = None;
    let mut last_exit = i64::MIN;
    for e in events.iter().filter(|e| e.ok) {
        if let Some((start, line)) = since
            && e.at - start > max_stay
        {
            p.inside.push((start, start + max_stay));
            p.contradictions
                .push((Contradiction::EntryWithoutExit, start, line));
            last_exit = start + max_stay;
            since = None;
        }
        match (e.direction, since) {
            (Direction::Entry, Some((start, _))) => {
                p.contradictions
                    .push((Contradiction::DoubleEntry, e.at, e.line));
                p.inside.push((start, e.at));
                since = Some((e.at, e.line));
            }
            (Direction::Entry, None) => since = Some((e.at, e.line)),
            (Direction::Exit, Some((start, _))) => {
                p.inside.push((start, e.at));
                last_exit = e.at;
                since = None;
            }
            (Direction::Exit, None) => {
                p.contradictions
                    .push((Contradiction::ExitWithoutEntry, e.at, e.line));
                // Whoever left was inside; since their last exit or the
                // start of the day, whichever is later.
                let day_start = mamori_core::jst::day_start(mamori_core::jst::day(e.at));
                p.inside.push((last_exit.max(day_start), e.at));
                last_exit = e.at;
            }
        }
        if e.direction == Direction::Entry {
            p.entries
                .entry(mamori_core::jst::day(e.at))
                .or_insert((e.at, e.line));
        }
    }
    if let Some((start, line)) = since {
        if end - start > max_stay {
            p.inside.push((start, start + max_stay));
            p.contradictions
                .push((Contradiction::EntryWithoutExit, start, line));
        } else {
            p.inside.push((start, end));
        }
    }
    p.inside.sort_unstable();
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(at: i64, direction: Direction) -> RoomEvent {
        RoomEvent {
            line: at as usize,
            at,
            badge: Some("B".into()),
            login: None,
            direction,
            ok: true,
        }
    }

    #[test]
    fn presence_from_a_clean_day_and_a_contradictory_one() {
        use Direction::*;
        let day = mamori_core::jst::day_start(20_000);
        let evs = [
            ev(day + 100, Entry),
            ev(day + 200, Exit),
            ev(day + 300, Entry),
            ev(day + 400, Entry),
            ev(day + 500, Exit),
            ev(day + 600, Exit),
        ];
        let refs: Vec<&RoomEvent> = evs.iter().collect();
        let p = presence(&refs, 3600, day + 86_400);
        assert_eq!(
            p.inside,
            vec![
                (day + 100, day + 200),
                (day + 300, day + 400),
                (day + 400, day + 500),
                (day + 500, day + 600)
            ]
        );
        let kinds: Vec<Contradiction> = p.contradictions.iter().map(|c| c.0).collect();
        assert_eq!(
            kinds,
            vec![Contradiction::DoubleEntry, Contradiction::ExitWithoutEntry]
        );
        assert!(p.contains(day + 150, 0));
        assert!(!p.contains(day + 250, 0));
        assert!(p.contains(day + 250, 60), "within the skew of an exit");
        assert!(!p.contains(day + 50, 0) && p.contains(day + 50, 60));
    }

    #[test]
    fn an_entry_left_open_is_bounded() {
        let day = mamori_core::jst::day_start(20_000);
        let evs = [
            ev(day, Direction::Entry),
            ev(day + 50_000, Direction::Entry),
        ];
        let refs: Vec<&RoomEvent> = evs.iter().collect();
        let p = presence(&refs, 3600, day + 86_400 * 2);
        assert_eq!(
            p.inside,
            vec![(day, day + 3600), (day + 50_000, day + 50_000 + 3600)]
        );
        assert_eq!(p.contradictions.len(), 2);
        assert!(
            p.contradictions
                .iter()
                .all(|c| c.0 == Contradiction::EntryWithoutExit)
        );
        // Open at the period's end and within the longest stay: no contradiction.
        let p = presence(&refs[..1], 3600, day + 1000);
        assert_eq!(p.inside, vec![(day, day + 1000)]);
        assert!(p.contradictions.is_empty());
    }

    #[test]
    fn a_door_log_is_read_through_the_mapping() {
        let csv = "日付,時刻,扉,カード番号,区分,結果\n2026/11/02,08:55:01,A-1,00123,入室,許可\n2026/11/02,08:56:00,A-1,00999,入室,拒否\n";
        let evs = read(csv.as_bytes(), &RoomColumns::default()).unwrap();
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0].badge.as_deref(), Some("00123"));
        assert!(evs[0].ok && !evs[1].ok);
        assert_eq!(evs[0].direction, Direction::Entry);
        let bad = "日時,カード番号,区分\n2026/11/02 08:55,00123,通過\n";
        let e = read(bad.as_bytes(), &RoomColumns::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "rooms, line 2: the direction is neither an entry nor an exit value of the mapping"
        );
    }
}
