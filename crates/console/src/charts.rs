//! Charts drawn on the server as SVG (no chart script): the geometry is
//! computed here, `templates/charts.html` draws it with the template
//! engine's escaping (labels are ids and logins, but nothing is trusted),
//! and the stylesheet colours it — no inline style, which the
//! Content-Security-Policy forbids. Every chart carries its figures as its
//! accessible name, so a screen reader reads the numbers, not a picture.

/// Width of the drawing, in SVG units (scaled to the page by CSS).
const WIDTH: u32 = 600;
/// Room left of the bars for their labels.
const LABEL: u32 = 220;
/// Room right of the longest bar for its value.
const VALUE: u32 = 60;
const ROW: u32 = 26;
const BAR: u32 = 18;

/// One row of a horizontal bar chart.
pub struct Bar {
    pub label: String,
    pub value: u64,
    /// Top of the row.
    pub y: u32,
    /// The bar's length.
    pub w: u32,
    /// The value's x (just right of the bar).
    pub value_x: u32,
    /// Where the row's limit falls (a tenant's cap), if it has one.
    pub limit_x: Option<u32>,
    /// A CSS class for the bar (a severity; `over` past the limit).
    pub class: String,
}

/// A horizontal bar chart: one labelled bar per row, optionally a limit
/// mark per row.
pub struct Bars {
    pub id: String,
    pub title: String,
    pub desc: String,
    pub width: u32,
    pub height: u32,
    pub label_x: u32,
    pub bar_x: u32,
    pub bar_h: u32,
    pub rows: Vec<Bar>,
}

/// A row to draw: label, value, limit, class.
pub struct Row {
    pub label: String,
    pub value: u64,
    pub limit: Option<u64>,
    pub class: String,
}

impl Row {
    pub fn new(label: impl Into<String>, value: u64) -> Row {
        Row {
            label: label.into(),
            value,
            limit: None,
            class: String::new(),
        }
    }

    pub fn class(mut self, class: impl Into<String>) -> Row {
        self.class = class.into();
        self
    }

    /// A limit mark; the bar is classed `over` when the value passes it.
    pub fn limit(mut self, limit: u64) -> Row {
        if self.value > limit {
            self.class = "over".into();
        }
        self.limit = Some(limit);
        self
    }
}

pub fn bars(id: &str, title: &str, rows: Vec<Row>) -> Bars {
    let scale = rows
        .iter()
        .flat_map(|r| [r.value, r.limit.unwrap_or(0)])
        .max()
        .unwrap_or(0)
        .max(1);
    let span = WIDTH - LABEL - VALUE;
    let x = |v: u64| (v.min(scale) * u64::from(span) / scale) as u32;
    let desc = figures(rows.iter().map(|r| (r.label.as_str(), r.value)));
    let rows: Vec<Bar> = rows
        .into_iter()
        .enumerate()
        .map(|(i, r)| Bar {
            y: i as u32 * ROW + 4,
            w: x(r.value),
            value_x: LABEL + x(r.value) + 6,
            limit_x: r.limit.map(|l| LABEL + x(l)),
            label: r.label,
            value: r.value,
            class: r.class,
        })
        .collect();
    Bars {
        id: id.to_owned(),
        title: title.to_owned(),
        desc,
        width: WIDTH,
        height: rows.len().max(1) as u32 * ROW + 8,
        label_x: LABEL - 8,
        bar_x: LABEL,
        bar_h: BAR,
        rows,
    }
}

/// One column of a column chart.
pub struct Column {
    pub x: u32,
    pub y: u32,
    pub h: u32,
    /// Where the label goes; None for columns whose label is skipped
    /// (every other one when there are many).
    pub label: Option<String>,
    pub label_x: u32,
    pub value: u64,
}

/// A column chart over a sequence (days), with the largest value marked.
pub struct Columns {
    pub id: String,
    pub title: String,
    pub desc: String,
    pub width: u32,
    pub height: u32,
    pub base: u32,
    pub col_w: u32,
    pub max: u64,
    pub columns: Vec<Column>,
}

const PLOT: u32 = 140;
const LEFT: u32 = 36;

pub fn columns(id: &str, title: &str, values: Vec<(String, u64)>) -> Columns {
    let max = values.iter().map(|v| v.1).max().unwrap_or(0);
    let scale = max.max(1);
    let n = values.len().max(1) as u32;
    let slot = (WIDTH - LEFT) / n;
    let col_w = (slot * 2 / 3).max(2);
    let base = PLOT + 10;
    let every = if n > 10 { 2 } else { 1 };
    let desc = figures(values.iter().map(|(l, v)| (l.as_str(), *v)));
    let columns = values
        .into_iter()
        .enumerate()
        .map(|(i, (label, value))| {
            let h = (value * u64::from(PLOT) / scale) as u32;
            let x = LEFT + i as u32 * slot + (slot - col_w) / 2;
            Column {
                x,
                y: base - h,
                h,
                label: (n as usize - 1 - i).is_multiple_of(every).then_some(label),
                label_x: x + col_w / 2,
                value,
            }
        })
        .collect();
    Columns {
        id: id.to_owned(),
        title: title.to_owned(),
        desc,
        width: WIDTH,
        height: base + 22,
        base,
        col_w,
        max,
        columns,
    }
}

/// "label value, label value…": the chart's figures as text.
fn figures<'a>(rows: impl Iterator<Item = (&'a str, u64)>) -> String {
    rows.map(|(l, v)| format!("{l} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_value_or_limit() {
        let c = bars(
            "x",
            "t",
            vec![
                Row::new("a", 10),
                Row::new("b", 5).limit(20),
                Row::new("c", 0),
            ],
        );
        let span = WIDTH - LABEL - VALUE;
        assert_eq!(c.rows[0].w, span / 2);
        assert_eq!(c.rows[1].limit_x, Some(LABEL + span));
        assert_eq!(c.rows[2].w, 0);
        assert_eq!(c.desc, "a 10, b 5, c 0");
        let over = bars("y", "t", vec![Row::new("a", 3).limit(2)]);
        assert_eq!(over.rows[0].class, "over");
    }

    #[test]
    fn columns_stand_on_one_base_and_label_the_last_day() {
        let days: Vec<(String, u64)> = (0..14).map(|i| (format!("d{i}"), i)).collect();
        let c = columns("z", "t", days);
        assert!(c.columns.iter().all(|col| col.y + col.h == c.base));
        assert_eq!(c.columns[13].h, PLOT);
        assert!(c.columns[13].label.is_some());
        assert!(c.columns[12].label.is_none());
        let empty = columns("e", "t", vec![("a".into(), 0)]);
        assert_eq!(empty.columns[0].h, 0);
    }
}
