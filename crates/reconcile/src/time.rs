//! Times as outside logs write them: RFC 3339 with an offset, PowerShell's
//! `/Date(ms)/`, or a local clock reading, which is Japan's (door systems
//! and Windows exports in Japan print local time without a zone).

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone};
use mamori_core::jst;

/// Local formats tried in order when the mapping names none.
const LOCAL: [&str; 8] = [
    "%Y/%m/%d %H:%M:%S%.f",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
];

/// Unix seconds of `text`, read with `format` (a chrono format of a local
/// Japan time) when given. None when it is no time.
pub fn parse(text: &str, format: Option<&str>) -> Option<i64> {
    let text = text.trim();
    if let Some(f) = format {
        return NaiveDateTime::parse_from_str(text, f).ok().and_then(local);
    }
    if let Some(ms) = text
        .strip_prefix("/Date(")
        .and_then(|r| r.strip_suffix(")/"))
    {
        // `/Date(1700000000000)/`, possibly with an offset suffix (`+0900`),
        // which does not change the instant.
        let digits = ms.split(['+', '-']).next().filter(|d| !d.is_empty())?;
        return digits.parse::<i64>().ok().map(|ms| ms.div_euclid(1000));
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp());
    }
    LOCAL
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .and_then(local)
}

/// A date (`2026-11-02`, `2026/11/02`, `2026年11月2日`) as its Japan day number.
pub fn day(text: &str) -> Option<i64> {
    let text = text.trim();
    ["%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(text, f).ok())
        .map(|d| jst::day(jst::midnight(d)))
}

fn local(t: NaiveDateTime) -> Option<i64> {
    jst::zone()
        .from_local_datetime(&t)
        .single()
        .map(|t| t.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_reads_as_the_same_instant() {
        let at = parse("2026-11-02T00:00:00Z", None).unwrap();
        assert_eq!(parse("2026/11/02 09:00:00", None), Some(at));
        assert_eq!(parse("2026/11/02 09:00", None), Some(at));
        assert_eq!(parse("2026-11-02 09:00:00.250", None), Some(at));
        assert_eq!(parse("2026年11月02日 09:00:00", None), Some(at));
        assert_eq!(parse("2026-11-02T09:00:00+09:00", None), Some(at));
        assert_eq!(parse(&format!("/Date({})/", at * 1000), None), Some(at));
        assert_eq!(
            parse(&format!("/Date({}+0900)/", at * 1000 + 999), None),
            Some(at)
        );
        assert_eq!(parse("02.11.2026 09:00", Some("%d.%m.%Y %H:%M")), Some(at));
        assert_eq!(parse("yesterday", None), None);
        assert_eq!(parse("/Date()/", None), None);
        assert_eq!(day("2026/11/02"), Some(jst::day(at)));
        assert_eq!(day("2026年11月2日"), Some(jst::day(at)));
    }
}
