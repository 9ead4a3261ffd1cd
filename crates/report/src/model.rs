//! What a report says, independent of its format.

use serde::{Deserialize, Serialize};

/// A text in Japanese (shown first) and English.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Text {
    pub ja: String,
    pub en: String,
}

impl Text {
    pub fn new(ja: impl Into<String>, en: impl Into<String>) -> Text {
        Text {
            ja: ja.into(),
            en: en.into(),
        }
    }
}

/// One report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// `monthly`, `review`, `reconciliation` or `vendor_audit`.
    pub kind: String,
    pub title: Text,
    /// What it covers: a period, a campaign, a run, an audit.
    pub subject: String,
    /// When the records it was computed from end: the time of the newest
    /// signed checkpoint (RFC 3339, Japan time). The only time it prints.
    pub as_of: String,
    pub sections: Vec<Section>,
    /// The signed checkpoints of the audit logs it was computed from.
    pub checkpoints: Vec<Signed>,
    /// How to verify it, in both languages.
    pub verify: Text,
}

/// A signed checkpoint: a log's size and root, signed (C2SP signed note).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Signed {
    pub log: String,
    pub size: u64,
    pub note: String,
}

/// A part of a report: figures, at most one ledger and one chart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Section {
    /// Stable id (e.g. `10-3`), used in CSV lines and sheet names.
    pub id: String,
    pub title: Text,
    pub figures: Vec<Figure>,
    pub chart: Option<Chart>,
    pub ledger: Option<Ledger>,
}

/// One figure and the query it comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// Stable within the report (e.g. `reads`); `section.id/figure.id` is unique.
    pub id: String,
    pub label: Text,
    pub value: Value,
    /// The query behind it: the API call (and its CLI twin) with its
    /// arguments, bounded by the report's checkpoints.
    pub query: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    Count(u64),
    /// `part` out of `whole`.
    Share {
        part: u64,
        whole: u64,
    },
    /// A status or a short statement (`verified`, `declared`, a name).
    Text(String),
}

impl Value {
    /// As printed: counts with thousands separators, shares as a percentage
    /// with the counts behind them.
    pub fn display(&self) -> String {
        match self {
            Value::Count(n) => grouped(*n),
            Value::Share { part, whole } => {
                let pct = if *whole == 0 {
                    0.0
                } else {
                    *part as f64 * 100.0 / *whole as f64
                };
                format!("{pct:.1}% ({}/{})", grouped(*part), grouped(*whole))
            }
            Value::Text(s) => s.clone(),
        }
    }

    /// A plain value for machines (CSV, Excel cells).
    pub fn plain(&self) -> String {
        match self {
            Value::Count(n) => n.to_string(),
            Value::Share { part, whole } => format!("{part}/{whole}"),
            Value::Text(s) => s.clone(),
        }
    }
}

fn grouped(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A ledger (点検記録): rows under column headings, and the query that lists them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    pub title: Text,
    pub columns: Vec<Text>,
    pub rows: Vec<Vec<String>>,
    pub query: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    Column,
    Line,
}

/// A chart: series of numbers over categories.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Chart {
    pub title: Text,
    pub kind: ChartKind,
    pub categories: Vec<String>,
    pub series: Vec<Series>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub name: Text,
    pub values: Vec<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_print_with_separators_and_shares() {
        assert_eq!(Value::Count(1_234_567).display(), "1,234,567");
        assert_eq!(Value::Count(999).display(), "999");
        assert_eq!(
            Value::Share {
                part: 13,
                whole: 100
            }
            .display(),
            "13.0% (13/100)"
        );
        assert_eq!(Value::Share { part: 0, whole: 0 }.display(), "0.0% (0/0)");
        assert_eq!(Value::Share { part: 1, whole: 3 }.plain(), "1/3");
    }
}
