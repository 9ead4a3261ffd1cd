//! A report as an Excel workbook: a summary sheet of every figure with its
//! query, a sheet per section that has a chart or a ledger (the chart's
//! data beside a native Excel chart drawn from it, then the ledger —
//! 点検記録 — as a table), and a verification sheet with the signed
//! checkpoints. The document's creation time is the report's `as_of` and
//! the zip entries carry the format's fixed date, so the same model gives
//! the same bytes.

use rust_xlsxwriter::{
    Chart, ChartType, DocProperties, Format, FormatAlign, Workbook, Worksheet, XlsxError,
};

use crate::{
    RenderError,
    model::{ChartKind, Ledger, Report, Section, Value},
};

/// The workbook's bytes.
pub fn render(report: &Report) -> Result<Vec<u8>, RenderError> {
    build(report).map_err(|e| RenderError::Xlsx(e.to_string()))
}

fn build(report: &Report) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let created = chrono::DateTime::parse_from_rfc3339(&report.as_of)
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_default();
    book.set_properties(
        &DocProperties::new()
            .set_title(&report.title.ja)
            .set_subject(&report.subject)
            .set_author("mamori")
            .set_creation_datetime(&created),
    );
    let bold = Format::new().set_bold();
    let wrap = Format::new().set_text_wrap().set_align(FormatAlign::Top);
    summary(book.add_worksheet(), report, &bold)?;
    for s in &report.sections {
        if s.chart.is_some() || s.ledger.is_some() {
            section(book.add_worksheet(), s, &bold)?;
        }
    }
    verification(book.add_worksheet(), report, &bold, &wrap)?;
    book.save_to_buffer()
}

fn summary(ws: &mut Worksheet, r: &Report, bold: &Format) -> Result<(), XlsxError> {
    ws.set_name("概要 Summary")?;
    ws.write_string_with_format(0, 0, &r.title.ja, bold)?;
    ws.write_string(1, 0, &r.title.en)?;
    ws.write_string(2, 0, format!("対象 Subject: {}", r.subject))?;
    ws.write_string(3, 0, format!("基準時点 As of: {}", r.as_of))?;
    let heads = [
        "節 Section",
        "項目",
        "Item",
        "値 Value",
        "数値 Number",
        "クエリ Query",
    ];
    for (c, h) in heads.iter().enumerate() {
        ws.write_string_with_format(5, c as u16, *h, bold)?;
    }
    let mut row = 6;
    for s in &r.sections {
        for f in &s.figures {
            ws.write_string(row, 0, format!("{} {}", s.id, s.title.ja))?;
            ws.write_string(row, 1, &f.label.ja)?;
            ws.write_string(row, 2, &f.label.en)?;
            ws.write_string(row, 3, f.value.display())?;
            match f.value {
                Value::Count(n) => {
                    ws.write_number(row, 4, n as f64)?;
                }
                Value::Share { part, whole } if whole > 0 => {
                    ws.write_number(row, 4, part as f64 / whole as f64)?;
                }
                _ => {}
            }
            ws.write_string(row, 5, &f.query)?;
            row += 1;
        }
    }
    for (c, w) in [22.0, 36.0, 36.0, 22.0, 12.0, 80.0].into_iter().enumerate() {
        ws.set_column_width(c as u16, w)?;
    }
    Ok(())
}

/// Sheet names: at most 31 characters, none of `[]:*?/\`.
fn sheet_name(s: &Section) -> String {
    let name: String = format!("{} {}", s.id, s.title.ja)
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .take(31)
        .collect();
    name
}

fn section(ws: &mut Worksheet, s: &Section, bold: &Format) -> Result<(), XlsxError> {
    let name = sheet_name(s);
    ws.set_name(&name)?;
    ws.write_string_with_format(
        0,
        0,
        format!("{} {} / {}", s.id, s.title.ja, s.title.en),
        bold,
    )?;
    let mut next = 2;
    if let Some(c) = &s.chart {
        let top = 2;
        ws.write_string_with_format(top, 0, "区分 Category", bold)?;
        for (i, cat) in c.categories.iter().enumerate() {
            ws.write_string(top + 1 + i as u32, 0, cat)?;
        }
        let mut chart = Chart::new(match c.kind {
            ChartKind::Column => ChartType::Column,
            ChartKind::Line => ChartType::Line,
        });
        chart
            .title()
            .set_name(&format!("{} / {}", c.title.ja, c.title.en));
        let last = top + c.categories.len() as u32;
        for (j, series) in c.series.iter().enumerate() {
            let col = 1 + j as u16;
            ws.write_string_with_format(top, col, &series.name.ja, bold)?;
            for (i, v) in series.values.iter().enumerate() {
                ws.write_number(top + 1 + i as u32, col, *v)?;
            }
            chart
                .add_series()
                .set_name((name.as_str(), top, col))
                .set_categories((name.as_str(), top + 1, 0, last.max(top + 1), 0))
                .set_values((name.as_str(), top + 1, col, last.max(top + 1), col));
        }
        chart.set_width(640).set_height(320);
        ws.insert_chart(top, 2 + c.series.len() as u16, &chart)?;
        next = last.max(top + 17) + 2;
    }
    if let Some(l) = &s.ledger {
        ledger(ws, l, next, bold)?;
    }
    ws.set_column_width(0, 18.0)?;
    Ok(())
}

fn ledger(ws: &mut Worksheet, l: &Ledger, top: u32, bold: &Format) -> Result<(), XlsxError> {
    ws.write_string_with_format(top, 0, format!("{} / {}", l.title.ja, l.title.en), bold)?;
    ws.write_string(top + 1, 0, format!("クエリ Query: {}", l.query))?;
    for (c, h) in l.columns.iter().enumerate() {
        ws.write_string_with_format(top + 2, c as u16, format!("{} {}", h.ja, h.en), bold)?;
    }
    for (i, row) in l.rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let r = top + 3 + i as u32;
            match cell.parse::<u64>() {
                Ok(n) if !cell.starts_with('0') || cell == "0" => {
                    ws.write_number(r, c as u16, n as f64)?
                }
                _ => ws.write_string(r, c as u16, cell)?,
            };
        }
    }
    Ok(())
}

fn verification(
    ws: &mut Worksheet,
    r: &Report,
    bold: &Format,
    wrap: &Format,
) -> Result<(), XlsxError> {
    ws.set_name("検証 Verify")?;
    ws.write_string_with_format(0, 0, "検証方法 How to verify", bold)?;
    ws.write_string_with_format(1, 0, &r.verify.ja, wrap)?;
    ws.write_string_with_format(2, 0, &r.verify.en, wrap)?;
    for (c, h) in [
        "ログ Log",
        "サイズ Size",
        "署名付きチェックポイント Signed checkpoint",
    ]
    .iter()
    .enumerate()
    {
        ws.write_string_with_format(4, c as u16, *h, bold)?;
    }
    for (i, c) in r.checkpoints.iter().enumerate() {
        let row = 5 + i as u32;
        ws.write_string(row, 0, &c.log)?;
        ws.write_number(row, 1, c.size as f64)?;
        ws.write_string_with_format(row, 2, &c.note, wrap)?;
    }
    ws.set_column_width(0, 40.0)?;
    ws.set_column_width(1, 12.0)?;
    ws.set_column_width(2, 100.0)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_model_same_bytes_with_a_native_chart() {
        let r = crate::csv::tests::sample();
        let a = render(&r).unwrap();
        assert_eq!(a, render(&r).unwrap(), "regenerated byte for byte");
        assert_eq!(&a[..2], b"PK", "a zip package");
        let has = |needle: &[u8]| a.windows(needle.len()).any(|w| w == needle);
        assert!(has(b"xl/charts/chart1.xml"), "a native chart part");
        let mut later = r.clone();
        later.as_of = "2026-12-02T09:00:00+09:00".into();
        assert_ne!(
            a,
            render(&later).unwrap(),
            "the creation time is the model's"
        );
    }
}
