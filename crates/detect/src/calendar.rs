//! Japanese time and working hours. Detection runs on Japan Standard Time
//! (UTC+9, no daylight saving) whatever the server's zone: an "hour", a
//! "day" and a "shift" are what the people being watched live by.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use serde::{Deserialize, Serialize};

use mamori_core::jst;

/// Days since 1970-01-01 in Japan.
pub fn jst_day(at: DateTime<Utc>) -> i32 {
    jst::day(at.timestamp()) as i32
}

/// Hours since the epoch in Japan (hour windows line up with JST hours).
pub fn jst_hour_index(at: DateTime<Utc>) -> i64 {
    jst::hour_index(at.timestamp())
}

/// Hour of the day in Japan, 0..24.
pub fn jst_hour(at: DateTime<Utc>) -> usize {
    jst::hour_of_day(at.timestamp())
}

/// Start (Unix seconds) of the JST hour holding `at`.
pub fn hour_start(at: i64) -> i64 {
    jst::hour_start(at)
}

/// Start (Unix seconds) of the JST day holding `at`.
pub fn day_start(at: i64) -> i64 {
    jst::day_start(jst::day(at))
}

pub fn jst_date(day: i32) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(day + 719_163).unwrap_or(NaiveDate::MIN)
}

/// Public holidays from 2000 to 2099 and the company's own days off, as one
/// set: a lookup per check instead of computing the calendar per event.
pub fn days_off(company: &[NaiveDate]) -> HashSet<NaiveDate> {
    let mut off: HashSet<NaiveDate> = company.iter().copied().collect();
    let (Some(mut d), Some(end)) = (
        NaiveDate::from_ymd_opt(2000, 1, 1),
        NaiveDate::from_ymd_opt(2100, 1, 1),
    ) else {
        return off;
    };
    while d < end {
        if mamori_core::holiday::is_holiday(d) {
            off.insert(d);
        }
        d = d.succ_opt().unwrap_or(end);
    }
    off
}

/// A span of working time in minutes from the start of its day; `end` may
/// pass 1440 for a shift that runs past midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start: u32,
    pub end: u32,
}

/// A weekly working pattern, written like `mon-fri 09:00-18:00; sat 09:00-13:00`.
/// The day token `hol` (or `holidays`) makes a window apply on public holidays
/// and company days off, which are otherwise off.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shift {
    weekly: [Vec<Window>; 7],
    holidays: Vec<Window>,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn day_index(s: &str) -> Option<usize> {
    DAYS.iter().position(|d| *d == s)
}

fn minutes(s: &str) -> Result<u32, String> {
    let (h, m) = s
        .split_once(':')
        .ok_or_else(|| format!("'{s}' is not HH:MM"))?;
    let (h, m): (u32, u32) = match (h.parse(), m.parse()) {
        (Ok(hh), Ok(mm)) if hh <= 24 && mm < 60 && m.len() == 2 && h.len() <= 2 => (hh, mm),
        _ => return Err(format!("'{s}' is not HH:MM")),
    };
    Ok(h * 60 + m)
}

/// `HH:MM-HH:MM`; an end at or before the start runs past midnight.
pub fn window(s: &str) -> Result<Window, String> {
    let (a, b) = s
        .split_once('-')
        .ok_or_else(|| format!("'{s}' is not HH:MM-HH:MM"))?;
    let (start, mut end) = (minutes(a)?, minutes(b)?);
    if start >= 1440 || end > 1440 {
        return Err(format!("'{s}': times run from 00:00 to 24:00"));
    }
    if end <= start {
        end += 1440; // runs past midnight
    }
    Ok(Window { start, end })
}

impl Shift {
    pub fn parse(spec: &str) -> Result<Shift, String> {
        let mut shift = Shift::default();
        for part in spec.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (days, times) = part
                .split_once(char::is_whitespace)
                .ok_or_else(|| format!("'{part}' needs days and a time range"))?;
            let w = window(times.trim())?;
            for token in days.split(',') {
                shift.add(token.trim(), w)?;
            }
        }
        if shift.weekly.iter().all(Vec::is_empty) && shift.holidays.is_empty() {
            return Err("a shift needs at least one window".into());
        }
        Ok(shift)
    }

    fn add(&mut self, token: &str, w: Window) -> Result<(), String> {
        if token == "hol" || token == "holidays" {
            self.holidays.push(w);
            return Ok(());
        }
        let (a, b) = token.split_once('-').unwrap_or((token, token));
        let unknown = || format!("unknown day '{token}' (mon..sun, ranges like mon-fri, or hol)");
        let (a, b) = (
            day_index(a).ok_or_else(unknown)?,
            day_index(b).ok_or_else(unknown)?,
        );
        let mut d = a;
        loop {
            self.weekly[d].push(w);
            if d == b {
                return Ok(());
            }
            d = (d + 1) % 7;
        }
    }

    fn windows(&self, date: NaiveDate, off: &dyn Fn(NaiveDate) -> bool) -> &[Window] {
        if off(date) {
            &self.holidays
        } else {
            &self.weekly[date.weekday().num_days_from_monday() as usize]
        }
    }
}

/// Whether a moment is inside working time: the user's dated calendar for
/// that day if one was imported, else their weekly shift; `grace` minutes
/// either side are tolerated.
pub struct WorkingTime<'a> {
    pub shift: &'a Shift,
    pub dated: Option<&'a BTreeMap<NaiveDate, Vec<Window>>>,
    pub days_off: &'a HashSet<NaiveDate>,
    pub grace: u32,
}

impl WorkingTime<'_> {
    /// `days_off` holds the public holidays too (see [`days_off`]).
    pub fn is_off(&self, date: NaiveDate) -> bool {
        self.days_off.contains(&date)
    }

    fn windows(&self, date: NaiveDate) -> Vec<Window> {
        if let Some(w) = self.dated.and_then(|d| d.get(&date)) {
            return w.clone();
        }
        self.shift.windows(date, &|d| self.is_off(d)).to_vec()
    }

    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&jst::zone()).naive_local();
        let date = local.date();
        let t = local.hour() * 60 + local.minute();
        let g = self.grace;
        let inside = |w: &Window, t: i64| {
            t >= i64::from(w.start) - i64::from(g) && t <= i64::from(w.end) + i64::from(g)
        };
        let t = i64::from(t);
        let today = self.windows(date).iter().any(|w| inside(w, t));
        let from_yesterday = date
            .pred_opt()
            .is_some_and(|d| self.windows(d).iter().any(|w| inside(w, t + 1440)));
        let into_tomorrow = date
            .succ_opt()
            .is_some_and(|d| self.windows(d).iter().any(|w| inside(w, t - 1440)));
        today || from_yesterday || into_tomorrow
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    /// A moment given in Japanese local time.
    fn jst(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap() - Duration::hours(9)
    }

    #[test]
    fn jst_days_and_hours() {
        let t = jst(2026, 11, 24, 0, 30);
        assert_eq!(jst_hour(t), 0);
        assert_eq!(
            jst_date(jst_day(t)),
            NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
        );
        assert_eq!(jst_day(t) - jst_day(jst(2026, 11, 23, 23, 59)), 1);
    }

    #[test]
    fn parses_and_refuses() {
        let s = Shift::parse("mon-fri 09:00-18:00; sat,hol 10:00-14:00").unwrap();
        assert_eq!(
            s.weekly[0],
            vec![Window {
                start: 540,
                end: 1080
            }]
        );
        assert_eq!(
            s.weekly[5],
            vec![Window {
                start: 600,
                end: 840
            }]
        );
        assert!(s.weekly[6].is_empty());
        assert_eq!(s.holidays.len(), 1);
        let night = Shift::parse("fri-mon 22:00-06:00").unwrap();
        assert_eq!(
            night.weekly[6],
            vec![Window {
                start: 1320,
                end: 1800
            }]
        );
        assert!(night.weekly[2].is_empty());
        for bad in [
            "",
            "mon-fri",
            "funday 09:00-10:00",
            "mon 9-10",
            "mon 25:00-26:00",
            "mon 09:60-10:00",
        ] {
            assert!(Shift::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn working_time_with_grace_holidays_and_night_shifts() {
        let off = days_off(&[NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()]);
        let day = Shift::parse("mon-fri 09:00-18:00").unwrap();
        let w = WorkingTime {
            shift: &day,
            dated: None,
            days_off: &off,
            grace: 30,
        };
        assert!(w.contains(jst(2026, 11, 24, 10, 0)));
        assert!(w.contains(jst(2026, 11, 24, 8, 31)));
        assert!(!w.contains(jst(2026, 11, 24, 8, 29)));
        assert!(!w.contains(jst(2026, 11, 24, 22, 0)));
        // 勤労感謝の日 and a company day off.
        assert!(!w.contains(jst(2026, 11, 23, 10, 0)));
        assert!(!w.contains(jst(2026, 11, 27, 10, 0)));
        assert!(!w.contains(jst(2026, 11, 28, 10, 0)));

        let night = Shift::parse("mon-fri 22:00-06:00").unwrap();
        let n = WorkingTime { shift: &night, ..w };
        assert!(n.contains(jst(2026, 11, 24, 23, 0)));
        assert!(n.contains(jst(2026, 11, 25, 5, 0)));
        assert!(!n.contains(jst(2026, 11, 25, 12, 0)));

        let dated = BTreeMap::from([(
            NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
            vec![Window {
                start: 600,
                end: 720,
            }],
        )]);
        let d = WorkingTime {
            dated: Some(&dated),
            ..w
        };
        assert!(d.contains(jst(2026, 11, 23, 11, 0)));
        assert!(!d.contains(jst(2026, 11, 23, 15, 0)));
    }
}
