//! A report as a PDF in Japanese (A4): the title, each section's figures,
//! chart and ledger, then the verification page (how to verify, the signed
//! checkpoints, the query behind every figure). Laid out first into pages
//! of drawing operations — pure, and tested on its own — then painted with
//! krilla, which embeds a subset of the font. The font is the caller's (a
//! Japanese TrueType/OpenType font such as IPAexGothic); the same model and
//! the same font give the same bytes.

use std::sync::Arc;

use krilla::{
    Document,
    color::rgb,
    geom::{PathBuilder, Point, Rect, Transform},
    metadata::Metadata,
    num::NormalizedF32,
    page::PageSettings,
    paint::{Fill, Stroke},
    text::{Font, TextDirection},
};
use skrifa::{FontRef, MetadataProvider, instance::LocationRef, instance::Size};

use crate::{
    RenderError,
    model::{Chart, ChartKind, Ledger, Report, Section},
};

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 48.0;
const BOTTOM: f32 = PAGE_H - MARGIN - 16.0;
const WIDTH: f32 = PAGE_W - 2.0 * MARGIN;
/// Ledger rows printed; the rest are in the Excel and CSV forms.
const MAX_LEDGER_ROWS: usize = 400;

const BLACK: (u8, u8, u8) = (0, 0, 0);
const GREY: (u8, u8, u8) = (110, 110, 110);
const RULE: (u8, u8, u8) = (190, 190, 190);
const SHADE: (u8, u8, u8) = (236, 240, 245);
const PALETTE: [(u8, u8, u8); 4] = [(47, 95, 152), (214, 118, 44), (78, 154, 92), (160, 70, 120)];

/// One drawing operation, in points from the page's top left.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        color: (u8, u8, u8),
        text: String,
        /// Degrees clockwise about the start (0: level).
        rotate: f32,
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        color: (u8, u8, u8),
    },
    Line {
        points: Vec<(f32, f32)>,
        width: f32,
        color: (u8, u8, u8),
    },
}

/// Widths of text in the font, for laying it out.
pub struct Metrics<'a> {
    font: FontRef<'a>,
}

impl<'a> Metrics<'a> {
    pub fn new(bytes: &'a [u8]) -> Result<Self, RenderError> {
        let font = FontRef::from_index(bytes, 0)
            .map_err(|_| RenderError::Font("not a TrueType or OpenType font"))?;
        // A Japanese report needs kana and kanji; a Latin-only font would
        // print empty boxes.
        if "安全管理あア"
            .chars()
            .any(|c| font.charmap().map(c).is_none())
        {
            return Err(RenderError::Font("it has no Japanese characters"));
        }
        Ok(Metrics { font })
    }

    /// Advance width of `text` at `size` points.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        let m = self
            .font
            .glyph_metrics(Size::new(size), LocationRef::default());
        let map = self.font.charmap();
        text.chars()
            .map(|c| map.map(c).and_then(|g| m.advance_width(g)).unwrap_or(size))
            .sum()
    }

    /// `text` broken into lines no wider than `max` (at spaces where a
    /// line has one, else between any two characters, as Japanese is set).
    pub fn wrap(&self, text: &str, size: f32, max: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for para in text.split('\n') {
            let mut line = String::new();
            for c in para.chars() {
                line.push(c);
                if self.width(&line, size) > max && line.chars().count() > 1 {
                    let cut = match line.rfind(' ') {
                        Some(i) if i > 0 && c != ' ' => i,
                        _ => line.len() - c.len_utf8(),
                    };
                    let rest = line.split_off(cut);
                    lines.push(std::mem::take(&mut line));
                    line = rest.trim_start().to_owned();
                }
            }
            lines.push(line);
        }
        lines
    }

    /// `text` cut with an ellipsis to fit `max`.
    fn fit(&self, text: &str, size: f32, max: f32) -> String {
        if self.width(text, size) <= max {
            return text.to_owned();
        }
        let mut s = String::new();
        for c in text.chars() {
            if self.width(&s, size) + self.width(&format!("{c}…"), size) > max {
                break;
            }
            s.push(c);
        }
        s.push('…');
        s
    }
}

/// Pages of operations, filled top to bottom.
struct Layout<'m> {
    m: &'m Metrics<'m>,
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl<'m> Layout<'m> {
    fn new(m: &'m Metrics<'m>) -> Self {
        Layout {
            m,
            pages: vec![Vec::new()],
            y: MARGIN,
        }
    }

    fn ops(&mut self) -> &mut Vec<Op> {
        self.pages.last_mut().expect("a page")
    }

    /// Room for `h` more points, on a new page if needed.
    fn room(&mut self, h: f32) {
        if self.y + h > BOTTOM {
            self.pages.push(Vec::new());
            self.y = MARGIN;
        }
    }

    fn text(&mut self, x: f32, size: f32, color: (u8, u8, u8), text: &str) {
        let (y, text) = (self.y + size, text.to_owned());
        self.ops().push(Op::Text {
            x,
            y,
            size,
            color,
            text,
            rotate: 0.0,
        });
    }

    /// A wrapped paragraph.
    fn para(&mut self, x: f32, size: f32, color: (u8, u8, u8), text: &str) {
        for line in self.m.wrap(text, size, WIDTH - (x - MARGIN)) {
            self.room(size * 1.5);
            self.text(x, size, color, &line);
            self.y += size * 1.5;
        }
    }

    fn rule(&mut self) {
        let y = self.y;
        self.ops().push(Op::Line {
            points: vec![(MARGIN, y), (MARGIN + WIDTH, y)],
            width: 0.5,
            color: RULE,
        });
    }
}

/// The pages a report lays out into (no footer yet).
pub fn layout(report: &Report, m: &Metrics) -> Vec<Vec<Op>> {
    let mut l = Layout::new(m);
    l.text(MARGIN, 18.0, BLACK, &report.title.ja);
    l.y += 26.0;
    l.text(MARGIN, 11.0, GREY, &report.title.en);
    l.y += 18.0;
    l.para(
        MARGIN,
        10.0,
        BLACK,
        &format!("対象 Subject: {}", report.subject),
    );
    l.para(
        MARGIN,
        10.0,
        BLACK,
        &format!("基準時点 As of: {}", report.as_of),
    );
    l.y += 6.0;
    for s in &report.sections {
        section(&mut l, s);
    }
    verification(&mut l, report);
    l.pages
}

fn section(l: &mut Layout, s: &Section) {
    l.room(60.0);
    l.y += 8.0;
    l.rule();
    l.y += 6.0;
    l.para(MARGIN, 13.0, BLACK, &format!("{} {}", s.id, s.title.ja));
    l.para(MARGIN, 8.0, GREY, &s.title.en);
    l.y += 4.0;
    for f in &s.figures {
        figure(l, &f.label.ja, &f.label.en, &f.value.display());
    }
    if let Some(c) = &s.chart {
        chart(l, c);
    }
    if let Some(t) = &s.ledger {
        ledger(l, t);
    }
}

/// A figure: the label (Japanese, the English under it) and the value at
/// the right; a value too long for the line goes on lines of its own.
fn figure(l: &mut Layout, ja: &str, en: &str, value: &str) {
    let vw = l.m.width(value, 10.0);
    let inline = vw <= WIDTH * 0.4;
    let label_w = if inline {
        WIDTH - vw - 16.0
    } else {
        WIDTH - 6.0
    };
    let labels = l.m.wrap(ja, 10.0, label_w);
    let values = if inline {
        vec![value.to_owned()]
    } else {
        l.m.wrap(value, 10.0, WIDTH - 40.0)
    };
    let extra = if inline {
        0.0
    } else {
        values.len() as f32 * 14.0
    };
    let h = labels.len() as f32 * 14.0 + 12.0 + extra;
    l.room(h);
    let top = l.y;
    for line in &labels {
        l.text(MARGIN + 6.0, 10.0, BLACK, line);
        l.y += 14.0;
    }
    let en = l.m.fit(en, 7.0, label_w);
    l.text(MARGIN + 6.0, 7.0, GREY, &en);
    let mut y = if inline { top } else { l.y + 10.0 };
    for v in values {
        let w = l.m.width(&v, 10.0);
        l.ops().push(Op::Text {
            x: MARGIN + WIDTH - w,
            y: y + 10.0,
            size: 10.0,
            color: BLACK,
            text: v,
            rotate: 0.0,
        });
        y += 14.0;
    }
    l.y = top + h;
}

/// The largest tick: `max` rounded up to 1, 2 or 5 times a power of ten.
fn nice(max: f64) -> f64 {
    let p = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|v| *v >= max)
        .unwrap_or(max)
}

fn tick(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{}", v as u64)
    } else {
        format!("{v:.1}")
    }
}

fn chart(l: &mut Layout, c: &Chart) {
    const H: f32 = 150.0;
    l.room(H + 60.0);
    l.y += 6.0;
    l.para(
        MARGIN,
        9.0,
        BLACK,
        &format!("{} / {}", c.title.ja, c.title.en),
    );
    let (x0, top) = (MARGIN + 40.0, l.y + 4.0);
    let (w, base) = (WIDTH - 50.0, top + H);
    let max = nice(
        (c.series.iter())
            .flat_map(|s| s.values.iter().copied())
            .fold(0.0_f64, f64::max)
            .max(1.0),
    );
    let n = c.categories.len().max(1);
    let slot = w / n as f32;
    let m = l.m;
    let ops = l.ops();
    ops.push(Op::Line {
        points: vec![(x0, top), (x0, base), (x0 + w, base)],
        width: 0.7,
        color: GREY,
    });
    for (label, y) in [(max, top), (max / 2.0, top + H / 2.0), (0.0, base)] {
        let t = tick(label);
        ops.push(Op::Text {
            x: x0 - 4.0 - m.width(&t, 7.0),
            y: y + 3.0,
            size: 7.0,
            color: GREY,
            text: t,
            rotate: 0.0,
        });
    }
    let k = c.series.len().max(1) as f32;
    for (j, s) in c.series.iter().enumerate() {
        let color = PALETTE[j % PALETTE.len()];
        let pt = |i: usize, v: f64| {
            let h = (v / max) as f32 * H;
            (x0 + slot * i as f32, base - h)
        };
        match c.kind {
            ChartKind::Column => {
                let bw = (slot * 0.8 / k).max(0.5);
                for (i, v) in s.values.iter().enumerate() {
                    let (x, y) = pt(i, *v);
                    let x = x + slot * 0.1 + bw * j as f32;
                    if base - y > 0.0 {
                        ops.push(Op::Rect {
                            x,
                            y,
                            w: bw,
                            h: base - y,
                            color,
                        });
                    }
                }
            }
            ChartKind::Line => {
                let points = (s.values.iter().enumerate())
                    .map(|(i, v)| {
                        let (x, y) = pt(i, *v);
                        (x + slot / 2.0, y)
                    })
                    .collect();
                ops.push(Op::Line {
                    points,
                    width: 1.2,
                    color,
                });
            }
        }
    }
    // Category labels: level when they fit, slanted when a few do not,
    // thinned when there are too many for either.
    let widest = (c.categories.iter())
        .map(|t| m.width(t, 7.0))
        .fold(0.0, f32::max);
    let slant = widest + 4.0 > slot && slot >= 9.0;
    let every = if slant {
        1
    } else {
        ((widest + 4.0) / slot).ceil().max(1.0) as usize
    };
    for (i, t) in c.categories.iter().enumerate().step_by(every) {
        let centre = x0 + slot * i as f32 + slot / 2.0;
        ops.push(Op::Text {
            x: if slant {
                centre - 2.0
            } else {
                centre - m.width(t, 7.0) / 2.0
            },
            y: base + 10.0,
            size: 7.0,
            color: GREY,
            text: t.clone(),
            rotate: if slant { 40.0 } else { 0.0 },
        });
    }
    l.y = base + 16.0 + if slant { widest * 0.65 } else { 0.0 };
    // The legend.
    let mut x = x0;
    for (j, s) in c.series.iter().enumerate() {
        let name = format!("{} {}", s.name.ja, s.name.en);
        let y = l.y;
        let w = m.width(&name, 8.0);
        l.ops().push(Op::Rect {
            x,
            y: y + 1.0,
            w: 8.0,
            h: 8.0,
            color: PALETTE[j % PALETTE.len()],
        });
        l.ops().push(Op::Text {
            x: x + 11.0,
            y: y + 8.0,
            size: 8.0,
            color: BLACK,
            text: name,
            rotate: 0.0,
        });
        x += w + 24.0;
    }
    l.y += 16.0;
}

fn ledger(l: &mut Layout, t: &Ledger) {
    const SIZE: f32 = 7.5;
    const ROW: f32 = 12.0;
    l.room(60.0);
    l.y += 6.0;
    l.para(
        MARGIN,
        9.0,
        BLACK,
        &format!("{} / {}", t.title.ja, t.title.en),
    );
    l.para(MARGIN, 7.0, GREY, &format!("クエリ Query: {}", t.query));
    // Columns as wide as their widest cell, scaled down to the page.
    let n = t.columns.len().max(1);
    let mut widths: Vec<f32> = (0..n)
        .map(|c| {
            let head = t.columns.get(c).map_or(0.0, |h| l.m.width(&h.ja, SIZE));
            (t.rows.iter().take(MAX_LEDGER_ROWS))
                .filter_map(|r| r.get(c))
                .map(|cell| l.m.width(cell, SIZE))
                .fold(head, f32::max)
                + 8.0
        })
        .collect();
    let total: f32 = widths.iter().sum();
    if total > WIDTH {
        widths.iter_mut().for_each(|w| *w *= WIDTH / total);
    }
    let header: Vec<String> = t.columns.iter().map(|c| c.ja.clone()).collect();
    let row = |l: &mut Layout, cells: &[String], shade: bool| {
        l.room(ROW);
        let y = l.y;
        if shade {
            l.ops().push(Op::Rect {
                x: MARGIN,
                y,
                w: WIDTH,
                h: ROW,
                color: SHADE,
            });
        }
        let mut x = MARGIN;
        for (cell, w) in cells.iter().zip(&widths) {
            let text = l.m.fit(cell, SIZE, w - 6.0);
            l.ops().push(Op::Text {
                x: x + 3.0,
                y: y + 9.0,
                size: SIZE,
                color: BLACK,
                text,
                rotate: 0.0,
            });
            x += w;
        }
        l.y += ROW;
    };
    row(l, &header, true);
    for cells in t.rows.iter().take(MAX_LEDGER_ROWS) {
        row(l, cells, false);
    }
    if t.rows.len() > MAX_LEDGER_ROWS {
        let more = t.rows.len() - MAX_LEDGER_ROWS;
        l.para(
            MARGIN,
            8.0,
            GREY,
            &format!(
                "ほか {more} 行は Excel・CSV 版に記載 ({more} more rows in the Excel and CSV forms)"
            ),
        );
    }
    l.y += 6.0;
}

fn verification(l: &mut Layout, r: &Report) {
    l.pages.push(Vec::new());
    l.y = MARGIN;
    l.para(MARGIN, 13.0, BLACK, "検証情報 Verification");
    l.y += 4.0;
    l.para(MARGIN, 9.0, BLACK, &r.verify.ja);
    l.para(MARGIN, 8.0, GREY, &r.verify.en);
    l.y += 6.0;
    l.para(
        MARGIN,
        10.0,
        BLACK,
        "署名付きチェックポイント Signed checkpoints",
    );
    for c in &r.checkpoints {
        l.room(40.0);
        l.para(MARGIN + 6.0, 7.0, BLACK, c.note.trim_end());
        l.y += 4.0;
    }
    l.y += 6.0;
    l.para(
        MARGIN,
        10.0,
        BLACK,
        "各数値のクエリ Queries behind each figure",
    );
    for s in &r.sections {
        for f in &s.figures {
            l.para(MARGIN + 6.0, 7.0, GREY, &format!("{}/{}", s.id, f.id));
            l.para(MARGIN + 16.0, 7.0, BLACK, &f.query);
        }
    }
}

fn fill(color: (u8, u8, u8)) -> Fill {
    Fill {
        paint: rgb::Color::new(color.0, color.1, color.2).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

/// The PDF's bytes, with `font` (a Japanese TrueType/OpenType font's bytes) embedded as a subset.
pub fn render(report: &Report, font: &[u8]) -> Result<Vec<u8>, RenderError> {
    let m = Metrics::new(font)?;
    let mut pages = layout(report, &m);
    let total = pages.len();
    for (i, ops) in pages.iter_mut().enumerate() {
        let footer = format!("{} — {} / {}", report.title.ja, i + 1, total);
        ops.push(Op::Text {
            x: MARGIN,
            y: PAGE_H - MARGIN + 8.0,
            size: 7.0,
            color: GREY,
            text: footer,
            rotate: 0.0,
        });
    }
    let face = Font::new(Arc::new(font.to_vec()).into(), 0)
        .ok_or(RenderError::Font("the PDF writer cannot read it"))?;
    let mut doc = Document::new();
    doc.set_metadata(
        Metadata::new()
            .title(report.title.ja.clone())
            .language("ja".into())
            .document_id(format!(
                "{}/{}/{}",
                report.kind, report.subject, report.as_of
            )),
    );
    let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or(RenderError::Pdf("page".into()))?;
    for ops in &pages {
        let mut page = doc.start_page_with(settings.clone());
        let mut s = page.surface();
        for op in ops {
            paint(&mut s, &face, op);
        }
        s.finish();
        page.finish();
    }
    doc.finish().map_err(|e| RenderError::Pdf(format!("{e:?}")))
}

fn paint(s: &mut krilla::surface::Surface, face: &Font, op: &Op) {
    match op {
        Op::Text {
            x,
            y,
            size,
            color,
            text,
            rotate,
        } => {
            s.set_fill(Some(fill(*color)));
            s.set_stroke(None);
            let at = Point::from_xy(*x, *y);
            if *rotate != 0.0 {
                s.push_transform(&Transform::from_rotate_at(*rotate, *x, *y));
            }
            s.draw_text(
                at,
                face.clone(),
                *size,
                text,
                false,
                TextDirection::LeftToRight,
            );
            if *rotate != 0.0 {
                s.pop();
            }
        }
        Op::Rect { x, y, w, h, color } => {
            let Some(rect) = Rect::from_xywh(*x, *y, *w, *h) else {
                return;
            };
            let mut pb = PathBuilder::new();
            pb.push_rect(rect);
            if let Some(path) = pb.finish() {
                s.set_fill(Some(fill(*color)));
                s.set_stroke(None);
                s.draw_path(&path);
            }
        }
        Op::Line {
            points,
            width,
            color,
        } => {
            let mut pb = PathBuilder::new();
            for (i, (x, y)) in points.iter().enumerate() {
                if i == 0 {
                    pb.move_to(*x, *y);
                } else {
                    pb.line_to(*x, *y);
                }
            }
            if let Some(path) = pb.finish() {
                s.set_fill(None);
                s.set_stroke(Some(Stroke {
                    paint: rgb::Color::new(color.0, color.1, color.2).into(),
                    width: *width,
                    ..Default::default()
                }));
                s.draw_path(&path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Ledger, Text};

    /// A Japanese font from the machine (CI installs IPAexGothic).
    pub(crate) fn font() -> Option<Vec<u8>> {
        let font = crate::default_font();
        if font.is_none() {
            eprintln!("{}", crate::NO_FONT_BANNER);
        }
        font
    }

    #[test]
    fn same_model_same_font_same_bytes() {
        let Some(font) = font() else { return };
        let r = crate::csv::tests::sample();
        let a = render(&r, &font).unwrap();
        assert!(a.starts_with(b"%PDF-"));
        assert_eq!(a, render(&r, &font).unwrap(), "regenerated byte for byte");
        assert!(
            a.len() < 200_000,
            "the font is subset, not embedded whole: {}",
            a.len()
        );
        let mut other = r.clone();
        other.sections[0].figures[0].value = crate::Value::Count(1235);
        assert_ne!(a, render(&other, &font).unwrap());
    }

    #[test]
    fn a_font_without_japanese_is_refused() {
        let latin = std::fs::read("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf");
        if let Ok(latin) = latin {
            let e = render(&crate::csv::tests::sample(), &latin).unwrap_err();
            assert!(matches!(e, RenderError::Font(_)), "{e}");
        }
        let e = render(&crate::csv::tests::sample(), b"not a font").unwrap_err();
        assert!(matches!(e, RenderError::Font(_)));
    }

    #[test]
    fn long_ledgers_break_across_pages_and_text_wraps() {
        let Some(font) = font() else { return };
        let m = Metrics::new(&font).unwrap();
        let lines = m.wrap(&"個人データの取扱状況".repeat(20), 10.0, 200.0);
        assert!(lines.len() > 3);
        assert!(lines.iter().all(|l| m.width(l, 10.0) <= 200.0));
        let mut r = crate::csv::tests::sample();
        r.sections[0].ledger = Some(Ledger {
            title: Text::new("差異", "Discrepancies"),
            columns: vec![Text::new("番号", "No"), Text::new("内容", "What")],
            rows: (0..500)
                .map(|i| vec![i.to_string(), "入室記録なし".into()])
                .collect(),
            query: "q".into(),
        });
        let pages = layout(&r, &m);
        assert!(pages.len() > 5, "{} pages", pages.len());
        for ops in &pages {
            for op in ops {
                if let Op::Text { y, .. } = op {
                    assert!(*y <= BOTTOM + 12.0, "text below the bottom margin at {y}");
                }
            }
        }
        let printed = pages
            .iter()
            .flatten()
            .filter(|op| matches!(op, Op::Text { text, .. } if text == "入室記録なし"));
        assert_eq!(printed.count(), MAX_LEDGER_ROWS);
    }
}
