//! Oversight reports (requirement G3): one model, [`Report`], rendered as
//! CSV, an Excel ledger (点検記録) with native charts, or a PDF in
//! Japanese with charts. Rendering is a pure function of the model (and,
//! for the PDF, the font's bytes): the same model gives the same bytes, so
//! a report regenerated from the same records can be compared byte for
//! byte. Nothing here reads a clock; the only time in a report is the
//! model's `as_of`, the signed checkpoint it was computed from.
//!
//! Every figure carries the query behind it, and the report carries the
//! signed checkpoints of the audit logs it was computed from, so an auditor
//! can re-derive each figure and check the log has not changed since.

pub mod csv;
pub mod model;
pub mod pdf;
pub mod xlsx;

pub use model::{Chart, ChartKind, Figure, Ledger, Report, Section, Series, Signed, Text, Value};

/// Debian's Japanese fonts (packages fonts-ipaexfont-gothic,
/// fonts-ipafont-gothic, fonts-noto-cjk), in the order they are tried.
pub const DEFAULT_FONTS: [&str; 3] = [
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
];

/// The first of [`DEFAULT_FONTS`] installed here.
pub fn default_font() -> Option<Vec<u8>> {
    DEFAULT_FONTS.iter().find_map(|p| std::fs::read(p).ok())
}

/// The SKIPPED banner the PDF tests print when no Japanese font is
/// installed (`.ci/run` installs one and fails on any SKIPPED).
pub const NO_FONT_BANNER: &str = "\n********\n* SKIPPED: PDF reports (no Japanese font; apt-get install fonts-ipaexfont-gothic). CI always installs it.\n********";

/// A report that could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("the font cannot be used for the PDF: {0}")]
    Font(&'static str),
    #[error("the Excel writer failed: {0}")]
    Xlsx(String),
    #[error("the PDF writer failed: {0}")]
    Pdf(String),
}
