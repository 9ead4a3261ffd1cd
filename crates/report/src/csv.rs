//! A report as one CSV (RFC 4180, UTF-8 with a byte-order mark so that
//! Excel opens Japanese text correctly): one value per line, every line
//! the same seven columns — `record` says what the line is (report,
//! figure, chart, ledger, checkpoint) — so that a spreadsheet's filter or
//! a script's group-by takes it apart without knowing the report.

use crate::model::Report;

const HEADER: [&str; 7] = [
    "record", "section", "id", "label_ja", "label_en", "value", "query",
];

/// The CSV's bytes.
pub fn render(report: &Report) -> Vec<u8> {
    let mut out = Lines(String::from("\u{feff}"));
    out.line(HEADER);
    let r = report;
    for (id, value) in [
        ("kind", r.kind.as_str()),
        ("title", r.title.ja.as_str()),
        ("subject", r.subject.as_str()),
        ("as_of", r.as_of.as_str()),
    ] {
        out.line(["report", "", id, "", "", value, ""]);
    }
    for s in &r.sections {
        for f in &s.figures {
            let v = f.value.plain();
            out.line([
                "figure",
                &s.id,
                &f.id,
                &f.label.ja,
                &f.label.en,
                &v,
                &f.query,
            ]);
        }
        if let Some(c) = &s.chart {
            for series in &c.series {
                for (cat, v) in c.categories.iter().zip(&series.values) {
                    let v = v.to_string();
                    let (ja, en) = (&series.name.ja, &series.name.en);
                    out.line(["chart", &s.id, cat, ja, en, &v, ""]);
                }
            }
        }
        if let Some(l) = &s.ledger {
            for (n, row) in l.rows.iter().enumerate() {
                let n = (n + 1).to_string();
                for (col, cell) in l.columns.iter().zip(row) {
                    out.line(["ledger", &s.id, &n, &col.ja, &col.en, cell, &l.query]);
                }
            }
        }
    }
    for c in &r.checkpoints {
        let size = c.size.to_string();
        out.line(["checkpoint", "", &c.log, &size, "", &c.note, ""]);
    }
    out.0.into_bytes()
}

struct Lines(String);

impl Lines {
    fn line<const N: usize>(&mut self, fields: [&str; N]) {
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                self.0.push(',');
            }
            self.0.push('"');
            // A cell a spreadsheet would run as a formula is written as text
            // (OWASP's CSV injection advice); numbers are left alone.
            if f.starts_with(['=', '+', '-', '@', '\t', '\r']) && f.parse::<f64>().is_err() {
                self.0.push('\'');
            }
            self.0.push_str(&f.replace('"', "\"\""));
            self.0.push('"');
        }
        self.0.push_str("\r\n");
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::*;

    pub(crate) fn sample() -> Report {
        Report {
            kind: "monthly".into(),
            title: Text::new("安全管理措置の実施状況", "Safeguards evidence"),
            subject: "2026-11".into(),
            as_of: "2026-12-01T09:00:00+09:00".into(),
            sections: vec![Section {
                id: "10-3".into(),
                title: Text::new("組織的安全管理措置", "Organisational"),
                figures: vec![
                    Figure {
                        id: "reads".into(),
                        label: Text::new("閲覧件数", "Reads"),
                        value: Value::Count(1234),
                        query: "GET /v1/audit/events?action=record.read".into(),
                    },
                    Figure {
                        id: "note".into(),
                        label: Text::new("申告", "Declared"),
                        value: Value::Text("=HYPERLINK(\"x\")".into()),
                        query: String::new(),
                    },
                ],
                chart: Some(Chart {
                    title: Text::new("日別閲覧件数", "Reads per day"),
                    kind: ChartKind::Column,
                    categories: vec!["11-01".into(), "11-02".into()],
                    series: vec![Series {
                        name: Text::new("閲覧", "Reads"),
                        values: vec![10.0, 20.0],
                    }],
                }),
                ledger: Some(Ledger {
                    title: Text::new("点検記録", "Inspection record"),
                    columns: vec![Text::new("項目", "Item"), Text::new("結果", "Result")],
                    rows: vec![vec!["full_access".into(), "verified".into()]],
                    query: "GET /v1/inspections".into(),
                }),
            }],
            checkpoints: vec![Signed {
                log: "system".into(),
                size: 42,
                note: "mamori/x/system\n42\nAAAA\n\n— k sig\n".into(),
            }],
            verify: Text::new("mamori report verify", "mamori report verify"),
        }
    }

    #[test]
    fn one_value_per_line_in_seven_quoted_columns() {
        let bytes = render(&sample());
        assert_eq!(bytes, render(&sample()), "same model, same bytes");
        let text = String::from_utf8(bytes).unwrap();
        let text = text.strip_prefix('\u{feff}').expect("a byte-order mark");
        let mut rdr = ::csv::ReaderBuilder::new().from_reader(text.as_bytes());
        let rows: Vec<::csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
        assert!(rows.iter().all(|r| r.len() == 7));
        let figure = rows.iter().find(|r| &r[0] == "figure").unwrap();
        assert_eq!((&figure[2], &figure[5]), ("reads", "1234"));
        let formula = rows.iter().find(|r| &r[2] == "note").unwrap();
        assert!(formula[5].starts_with("'="), "a formula is defused");
        let cp = rows.iter().find(|r| &r[0] == "checkpoint").unwrap();
        assert!(cp[5].contains('\n'), "the note keeps its lines");
        assert_eq!(rows.iter().filter(|r| &r[0] == "ledger").count(), 2);
        assert_eq!(rows.iter().filter(|r| &r[0] == "chart").count(), 2);
    }
}
