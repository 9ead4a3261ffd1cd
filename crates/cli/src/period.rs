//! Times and periods as people type them on the command line.

use anyhow::{Context, Result, bail};
use chrono::{DateTime, NaiveDate};

/// Parses `YYYY-MM-DD` (midnight, Japan time) or RFC 3339 into Unix seconds.
pub fn parse_time(s: &str) -> Result<i64> {
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(mamori_core::jst::midnight(d));
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp())
        .with_context(|| format!("'{s}' is not a date (YYYY-MM-DD) or an RFC 3339 time"))
}

/// A period given as `--month YYYY-MM`, or `--from` and `--to` dates (the
/// day after the last): Unix seconds of the Japan midnights.
pub fn month_or_range(
    month: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(i64, i64)> {
    let day = |s: &str| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").context("--from and --to are dates, YYYY-MM-DD")
    };
    match (month, from, to) {
        (Some(m), _, _) => mamori_core::jst::month_bounds(m).context("--month is YYYY-MM"),
        (None, Some(f), Some(t)) => Ok((
            mamori_core::jst::midnight(day(f)?),
            mamori_core::jst::midnight(day(t)?),
        )),
        _ => bail!("name the period: --month YYYY-MM, or --from and --to"),
    }
}
