//! Japanese public holidays (国民の祝日), computed rather than listed so the
//! calendar never runs out: the Act on National Holidays as amended up to
//! 2020 (天皇誕生日 on 23 February, スポーツの日), the 2020 and 2021 Olympic
//! moves, substitute holidays (振替休日) and the sandwiched citizens' holiday
//! (国民の休日). The equinoxes use the usual astronomical approximation,
//! valid from 1980 to 2099; the Cabinet Office announces them each February
//! and has matched it so far. Dates before 2020 follow today's law, which is
//! enough for detection (it looks at recent activity); extra company days off
//! are configured separately.

use chrono::{Datelike, NaiveDate, Weekday};

/// The holiday's Japanese name, or `None` for a working day (weekends
/// themselves are not holidays).
pub fn name(date: NaiveDate) -> Option<&'static str> {
    if let Some(n) = statutory(date) {
        return Some(n);
    }
    if is_substitute(date) {
        return Some("休日");
    }
    // A day between two holidays is a holiday (国民の休日), unless it is a Sunday.
    let sandwiched = date.weekday() != Weekday::Sun
        && date.pred_opt().and_then(statutory).is_some()
        && date.succ_opt().and_then(statutory).is_some();
    sandwiched.then_some("国民の休日")
}

pub fn is_holiday(date: NaiveDate) -> bool {
    name(date).is_some()
}

/// A holiday on a Sunday moves to the next day that is not itself a holiday.
fn is_substitute(date: NaiveDate) -> bool {
    if statutory(date).is_some() {
        return false;
    }
    let mut d = date;
    loop {
        let Some(prev) = d.pred_opt() else {
            return false;
        };
        if statutory(prev).is_none() {
            return false;
        }
        if prev.weekday() == Weekday::Sun {
            return true;
        }
        d = prev;
    }
}

/// The n-th given weekday of a month (n from 1).
fn nth(year: i32, month: u32, weekday: Weekday, n: u8) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, n)
}

fn equinox_day(year: i32, base: f64) -> u32 {
    let y = f64::from(year - 1980);
    (base + 0.242194 * y - (y / 4.0).floor()).floor() as u32
}

/// The holidays named by law (and the Olympic moves), without substitutes.
fn statutory(date: NaiveDate) -> Option<&'static str> {
    let (y, m, d) = (date.year(), date.month(), date.day());
    let is = |other: Option<NaiveDate>| other == Some(date);
    let moved = |normal: Option<NaiveDate>, y2020: (u32, u32), y2021: (u32, u32)| match y {
        2020 => (m, d) == y2020,
        2021 => (m, d) == y2021,
        _ => normal == Some(date),
    };
    let n = match (m, d) {
        (1, 1) => "元日",
        (2, 11) => "建国記念の日",
        (2, 23) if y >= 2020 => "天皇誕生日",
        (4, 29) => "昭和の日",
        (5, 3) => "憲法記念日",
        (5, 4) => "みどりの日",
        (5, 5) => "こどもの日",
        (11, 3) => "文化の日",
        (11, 23) => "勤労感謝の日",
        (3, _) if d == equinox_day(y, 20.8431) => "春分の日",
        (9, _) if d == equinox_day(y, 23.2488) => "秋分の日",
        _ if is(nth(y, 1, Weekday::Mon, 2)) => "成人の日",
        _ if is(nth(y, 9, Weekday::Mon, 3)) => "敬老の日",
        _ if moved(nth(y, 7, Weekday::Mon, 3), (7, 23), (7, 22)) => "海の日",
        _ if moved(NaiveDate::from_ymd_opt(y, 8, 11), (8, 10), (8, 8)) => "山の日",
        _ if moved(nth(y, 10, Weekday::Mon, 2), (7, 24), (7, 23)) => "スポーツの日",
        _ => return None,
    };
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn holidays_of(year: i32) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        let mut d = ymd(year, 1, 1);
        while d.year() == year {
            if is_holiday(d) {
                out.push((d.month(), d.day()));
            }
            d = d.succ_opt().unwrap();
        }
        out
    }

    /// The Cabinet Office's published calendars (内閣府「国民の祝日について」).
    #[test]
    fn matches_the_published_calendars() {
        let y2026 = [
            (1, 1),
            (1, 12),
            (2, 11),
            (2, 23),
            (3, 20),
            (4, 29),
            (5, 3),
            (5, 4),
            (5, 5),
            (5, 6),
            (7, 20),
            (8, 11),
            (9, 21),
            (9, 22),
            (9, 23),
            (10, 12),
            (11, 3),
            (11, 23),
        ];
        assert_eq!(holidays_of(2026), y2026);
        let y2025 = [
            (1, 1),
            (1, 13),
            (2, 11),
            (2, 23),
            (2, 24),
            (3, 20),
            (4, 29),
            (5, 3),
            (5, 4),
            (5, 5),
            (5, 6),
            (7, 21),
            (8, 11),
            (9, 15),
            (9, 23),
            (10, 13),
            (11, 3),
            (11, 23),
            (11, 24),
        ];
        assert_eq!(holidays_of(2025), y2025);
        let y2021 = [
            (1, 1),
            (1, 11),
            (2, 11),
            (2, 23),
            (3, 20),
            (4, 29),
            (5, 3),
            (5, 4),
            (5, 5),
            (7, 22),
            (7, 23),
            (8, 8),
            (8, 9),
            (9, 20),
            (9, 23),
            (11, 3),
            (11, 23),
        ];
        assert_eq!(holidays_of(2021), y2021);
    }

    #[test]
    fn names_and_working_days() {
        assert_eq!(name(ymd(2026, 11, 23)), Some("勤労感謝の日"));
        assert_eq!(name(ymd(2026, 9, 22)), Some("国民の休日"));
        assert_eq!(name(ymd(2026, 5, 6)), Some("休日"));
        assert_eq!(name(ymd(2026, 11, 24)), None);
        // A weekend is not a holiday by itself.
        assert_eq!(name(ymd(2026, 11, 28)), None);
    }
}
