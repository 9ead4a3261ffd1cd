//! Japan Standard Time, the one home of UTC+9. A "day" of reading, a budget's
//! day, a detection hour or shift, a date shown to people: all are Japan's,
//! whatever the server's zone (Japan keeps no daylight saving time).

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone};

/// Seconds east of UTC.
pub const OFFSET_SECS: i64 = 9 * 3600;

const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;

/// The zone, for formatting and for reading local times.
pub fn zone() -> FixedOffset {
    FixedOffset::east_opt(OFFSET_SECS as i32).expect("UTC+9 is a valid offset")
}

/// Days since 1970-01-01 in Japan of the Unix time `at`.
pub fn day(at: i64) -> i64 {
    (at + OFFSET_SECS).div_euclid(DAY)
}

/// The Unix time at which Japan day `day` (as [`day`] counts) begins.
pub fn day_start(day: i64) -> i64 {
    day * DAY - OFFSET_SECS
}

/// Hours since the epoch, counted so that each hour is a Japan clock hour.
pub fn hour_index(at: i64) -> i64 {
    (at + OFFSET_SECS).div_euclid(HOUR)
}

/// The Unix time at which the Japan clock hour holding `at` begins.
pub fn hour_start(at: i64) -> i64 {
    hour_index(at) * HOUR - OFFSET_SECS
}

/// The hour of the day in Japan, 0..24.
pub fn hour_of_day(at: i64) -> usize {
    ((at + OFFSET_SECS).rem_euclid(DAY) / HOUR) as usize
}

/// The calendar date in Japan (None beyond chrono's range).
pub fn date(at: i64) -> Option<NaiveDate> {
    DateTime::from_timestamp(at, 0).map(|t| t.with_timezone(&zone()).date_naive())
}

/// The Unix time of midnight, Japan time, that begins `date`.
pub fn midnight(date: NaiveDate) -> i64 {
    let local = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    zone()
        .from_local_datetime(&local)
        .single()
        .expect("a fixed offset has one reading of every local time")
        .timestamp()
}

/// `[from, to)` of the month `YYYY-MM` in Japan: the Unix times of its
/// first midnight and of the next month's. None for anything else.
pub fn month_bounds(month: &str) -> Option<(i64, i64)> {
    let first = NaiveDate::parse_from_str(&format!("{}-01", month.trim()), "%Y-%m-%d").ok()?;
    let next = first.checked_add_months(chrono::Months::new(1))?;
    Some((midnight(first), midnight(next)))
}

/// `at` as RFC 3339 with the Japan offset, e.g. `2026-04-01T09:00:00+09:00`.
pub fn rfc3339(at: i64) -> String {
    DateTime::from_timestamp(at, 0)
        .unwrap_or_default()
        .with_timezone(&zone())
        .to_rfc3339()
}

/// The eras of the Japanese calendar (和暦) since 1926, each with the day
/// it began; a date before the first is not given one.
const ERAS: [(&str, i32, u32, u32); 3] = [
    ("令和", 2019, 5, 1),
    ("平成", 1989, 1, 8),
    ("昭和", 1926, 12, 25),
];

/// `date` in the Japanese calendar, as municipal and corporate paperwork
/// writes it: `令和8年12月7日`, the first year of an era as `元年`.
pub fn wareki(date: NaiveDate) -> Option<String> {
    use chrono::Datelike;
    let (name, start_year, _, _) = ERAS.iter().find(|(_, y, m, d)| {
        NaiveDate::from_ymd_opt(*y, *m, *d).is_some_and(|start| date >= start)
    })?;
    let year = date.year() - start_year + 1;
    let year = if year == 1 {
        "元".to_owned()
    } else {
        year.to_string()
    };
    Some(format!("{name}{year}年{}月{}日", date.month(), date.day()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_runs_from_its_first_midnight_to_the_next_months_in_japan() {
        let (from, to) = month_bounds("2026-12").unwrap();
        assert_eq!(rfc3339(from), "2026-12-01T00:00:00+09:00");
        assert_eq!(rfc3339(to), "2027-01-01T00:00:00+09:00");
        assert!(month_bounds("2026-13").is_none());
        assert!(month_bounds("december").is_none());
    }

    #[test]
    fn dates_in_the_japanese_calendar() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        assert_eq!(wareki(d(2026, 12, 7)).unwrap(), "令和8年12月7日");
        assert_eq!(wareki(d(2019, 5, 1)).unwrap(), "令和元年5月1日");
        assert_eq!(wareki(d(2019, 4, 30)).unwrap(), "平成31年4月30日");
        assert_eq!(wareki(d(1989, 1, 8)).unwrap(), "平成元年1月8日");
        assert_eq!(wareki(d(1989, 1, 7)).unwrap(), "昭和64年1月7日");
        assert_eq!(wareki(d(1926, 12, 24)), None);
    }

    /// 2026-04-01T00:00:00+09:00
    const APRIL_FIRST: i64 = 1_774_969_200;

    #[test]
    fn a_japan_day_begins_at_midnight_in_tokyo() {
        let d = NaiveDate::from_ymd_opt(2026, 4, 1).unwrap();
        assert_eq!(midnight(d), APRIL_FIRST);
        assert_eq!(day_start(day(APRIL_FIRST)), APRIL_FIRST);
        assert_eq!(day_start(day(APRIL_FIRST + 5_000)), APRIL_FIRST);
        assert_eq!(day(APRIL_FIRST), day(APRIL_FIRST + DAY - 1));
        assert_eq!(day(APRIL_FIRST - 1) + 1, day(APRIL_FIRST));
        assert_eq!(date(APRIL_FIRST), Some(d));
        assert_eq!(date(APRIL_FIRST - 1), d.pred_opt());
        assert_eq!(rfc3339(APRIL_FIRST), "2026-04-01T00:00:00+09:00");
    }

    #[test]
    fn hours_are_japan_clock_hours() {
        let nine_thirty = APRIL_FIRST + 9 * HOUR + 1_800;
        assert_eq!(hour_of_day(nine_thirty), 9);
        assert_eq!(hour_start(nine_thirty), APRIL_FIRST + 9 * HOUR);
        assert_eq!(hour_of_day(APRIL_FIRST - 1), 23);
        assert_eq!(hour_index(nine_thirty) - hour_index(APRIL_FIRST), 9);
    }
}
