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

/// A lifetime as typed: `90d`, `12h`, `30m`, or `never`; None for never.
pub fn parse_lifetime(s: &str) -> Result<Option<i64>> {
    if s == "never" {
        return Ok(None);
    }
    let (n, unit) = s.split_at(s.len().saturating_sub(1));
    let n: i64 = n
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .with_context(|| format!("'{s}' is not a lifetime (e.g. 90d, 12h, 30m, never)"))?;
    let per = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        _ => bail!("'{s}' is not a lifetime (e.g. 90d, 12h, 30m, never)"),
    };
    Ok(Some(n.saturating_mul(per)))
}

#[cfg(test)]
mod tests {
    use super::parse_lifetime;

    #[test]
    fn lifetimes_as_typed() {
        assert_eq!(parse_lifetime("90d").unwrap(), Some(90 * 86_400));
        assert_eq!(parse_lifetime("12h").unwrap(), Some(12 * 3_600));
        assert_eq!(parse_lifetime("never").unwrap(), None);
        for bad in ["", "d", "0d", "-1d", "90", "90y", "1.5h"] {
            assert!(parse_lifetime(bad).is_err(), "{bad}");
        }
    }
}
