//! Outside logs as tables: a CSV file (UTF-8, with or without a byte-order
//! mark, or Shift_JIS as Japanese door systems and Excel write it) or JSON
//! (an array of objects, or one object per line, nested objects flattened
//! to dotted names), read into rows of text cells with their line numbers.
//! Errors name the source, the line and the column, never a value.

use std::collections::HashMap;

use serde::Deserialize;

use crate::Error;

/// How a file's bytes are text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// UTF-8 when the bytes are valid UTF-8, else Shift_JIS (CP932).
    #[default]
    Auto,
    Utf8,
    ShiftJis,
}

/// One row: its line in the file (1 = the first line) and one cell per
/// header, held as one string and where each cell ends (a door log or an
/// event export has hundreds of thousands of rows: two allocations a row,
/// not one per cell).
#[derive(Debug)]
pub struct Row {
    pub line: usize,
    text: String,
    ends: Vec<u32>,
}

impl Row {
    /// A row of `cells` by column index (missing columns empty).
    fn of<'c>(line: usize, width: usize, cells: impl IntoIterator<Item = (usize, &'c str)>) -> Row {
        let mut by_col: Vec<(usize, &str)> = cells.into_iter().collect();
        by_col.sort_by_key(|c| c.0);
        let width = width.max(by_col.last().map_or(0, |c| c.0 + 1));
        let mut text = String::with_capacity(by_col.iter().map(|c| c.1.len()).sum());
        let mut ends = Vec::with_capacity(width);
        let mut next = by_col.into_iter().peekable();
        for col in 0..width {
            if let Some((_, cell)) = next.next_if(|c| c.0 == col) {
                text.push_str(cell.trim());
            }
            ends.push(text.len() as u32);
        }
        Row { line, text, ends }
    }
}

/// A table read from one file.
#[derive(Debug)]
pub struct Table {
    /// What the file is, for errors (`rooms`, `logons`, `people` …).
    pub source: &'static str,
    headers: Vec<String>,
    pub rows: Vec<Row>,
}

/// A column found in a table's headers.
#[derive(Clone, Copy, Debug)]
pub struct Col(usize);

impl Table {
    /// Reads CSV or JSON, whichever the bytes hold (JSON starts with `[` or `{`).
    pub fn read(source: &'static str, bytes: &[u8], encoding: Encoding) -> Result<Table, Error> {
        let text = decode(source, bytes, encoding)?;
        let body = text.trim_start_matches('\u{feff}');
        match body.trim_start().as_bytes().first() {
            Some(b'[' | b'{') => Self::json(source, body),
            _ => Self::csv(source, body),
        }
    }

    fn csv(source: &'static str, text: &str) -> Result<Table, Error> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(text.as_bytes());
        let headers: Vec<String> = reader
            .headers()
            .map_err(|_| Error::at(source, 1, "the header row is not valid CSV"))?
            .iter()
            .map(|h| h.trim().to_owned())
            .collect();
        // csv's positions point where it began reading a record, before the
        // line breaks and blank lines ahead of it: count lines from the first
        // byte after them.
        let bytes = text.as_bytes();
        let newlines: Vec<usize> = bytes
            .iter()
            .enumerate()
            .filter_map(|(i, b)| (*b == b'\n').then_some(i))
            .collect();
        let line_at = |byte: u64| {
            let b = (byte as usize).min(bytes.len());
            let start = bytes[b..]
                .iter()
                .position(|c| *c != b'\r' && *c != b'\n')
                .map_or(b, |k| b + k);
            newlines.partition_point(|&n| n < start) + 1
        };
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| {
                let line = e.position().map_or(0, |p| line_at(p.byte()));
                Error::at(source, line, "the row is not valid CSV")
            })?;
            let line = record.position().map_or(0, |p| line_at(p.byte()));
            if record.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            rows.push(Row::of(line, headers.len(), record.iter().enumerate()));
        }
        Ok(Table {
            source,
            headers,
            rows,
        })
    }

    fn json(source: &'static str, text: &str) -> Result<Table, Error> {
        let mut headers: Vec<String> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut rows = Vec::new();
        let mut add = |line: usize, value: serde_json::Value| -> Result<(), Error> {
            if !value.is_object() {
                return Err(Error::at(source, line, "not a JSON object"));
            }
            let mut flat = Vec::new();
            flatten("", &value, &mut flat);
            let mut cells = Vec::with_capacity(flat.len());
            for (key, cell) in &flat {
                let i = match index.get(key) {
                    Some(i) => *i,
                    None => {
                        index.insert(key.clone(), headers.len());
                        headers.push(key.clone());
                        headers.len() - 1
                    }
                };
                cells.push((i, cell.as_str()));
            }
            rows.push(Row::of(line, 0, cells));
            Ok(())
        };
        if text.trim_start().starts_with('[') {
            // An array (PowerShell's ConvertTo-Json) is read element by
            // element, never built whole. Elements have no lines of their
            // own: they are numbered.
            let mut n = 0;
            let mut failed = None;
            let mut each = |v: serde_json::Value| {
                n += 1;
                add(n, v).map_err(|e| failed = Some(e)).is_ok()
            };
            let mut de = serde_json::Deserializer::from_str(text);
            let read = serde::de::DeserializeSeed::deserialize(Elements(&mut each), &mut de)
                .and_then(|()| de.end());
            if let Some(e) = failed {
                return Err(e);
            }
            read.map_err(|e| Error::at(source, e.line(), "not a JSON array of objects"))?;
        } else {
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let v = serde_json::from_str(line)
                    .map_err(|_| Error::at(source, i + 1, "not a JSON object"))?;
                add(i + 1, v)?;
            }
        }
        Ok(Table {
            source,
            headers,
            rows,
        })
    }

    /// The first of `names` the headers hold (case-insensitive; a JSON
    /// member also matches by its last dotted part, `winlog.event_id` as
    /// `event_id`).
    pub fn column(&self, names: &[String]) -> Option<Col> {
        names.iter().find_map(|name| {
            self.headers
                .iter()
                .position(|h| {
                    h.eq_ignore_ascii_case(name)
                        || h.rsplit_once('.')
                            .is_some_and(|(_, last)| last.eq_ignore_ascii_case(name))
                })
                .map(Col)
        })
    }

    /// Like [`Table::column`], but an error naming the first of `names` when absent.
    pub fn require(&self, what: &str, names: &[String]) -> Result<Col, Error> {
        self.column(names).ok_or_else(|| {
            Error::at(
                self.source,
                1,
                format!(
                    "no {what} column (looked for: {})",
                    names
                        .iter()
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
    }
}

impl Row {
    /// The cell of `col`, trimmed ("" when the row is short).
    pub fn get(&self, col: Col) -> &str {
        let Some(&end) = self.ends.get(col.0) else {
            return "";
        };
        let start = if col.0 == 0 { 0 } else { self.ends[col.0 - 1] };
        &self.text[start as usize..end as usize]
    }

    /// The cell of an optional column.
    pub fn opt(&self, col: Option<Col>) -> &str {
        col.map_or("", |c| self.get(c))
    }
}

fn flatten(prefix: &str, value: &serde_json::Value, out: &mut Vec<(String, String)>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        serde_json::Value::String(s) => out.push((prefix.to_owned(), s.clone())),
        serde_json::Value::Null => out.push((prefix.to_owned(), String::new())),
        // Arrays (e.g. a raw event's Properties) are kept as their JSON text.
        other => out.push((prefix.to_owned(), other.to_string())),
    }
}

/// An array's elements, each handed to a closure as it is parsed (false
/// from the closure stops the read).
struct Elements<'f>(&'f mut dyn FnMut(serde_json::Value) -> bool);

impl<'de> serde::de::DeserializeSeed<'de> for Elements<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Elements<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of objects")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(v) = seq.next_element::<serde_json::Value>()? {
            if !(self.0)(v) {
                return Err(serde::de::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

fn decode<'b>(
    source: &'static str,
    bytes: &'b [u8],
    encoding: Encoding,
) -> Result<std::borrow::Cow<'b, str>, Error> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let utf8 = || {
        std::str::from_utf8(bytes)
            .map(std::borrow::Cow::Borrowed)
            .map_err(|e| Error::at(source, line_of(bytes, e.valid_up_to()), "not UTF-8"))
    };
    match encoding {
        Encoding::Utf8 => utf8(),
        Encoding::ShiftJis => shift_jis(source, bytes).map(std::borrow::Cow::Owned),
        Encoding::Auto => utf8().or_else(|_| shift_jis(source, bytes).map(std::borrow::Cow::Owned)),
    }
}

fn shift_jis(source: &'static str, bytes: &[u8]) -> Result<String, Error> {
    let (text, had_errors) = encoding_rs::SHIFT_JIS.decode_without_bom_handling(bytes);
    if had_errors {
        let at = text.find('\u{fffd}').unwrap_or(0);
        let line = text[..at].matches('\n').count() + 1;
        return Err(Error::at(source, line, "neither UTF-8 nor Shift_JIS"));
    }
    Ok(text.into_owned())
}

fn line_of(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn shift_jis_csv_with_japanese_headers() {
        let text = "日時,扉,カード番号\r\n2026/11/02 08:55:01,A-1,00123\r\n\r\n2026/11/02 18:01:00,A-1,00123\r\n";
        let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(text);
        let t = Table::read("rooms", &bytes, Encoding::Auto).unwrap();
        let c = t.column(&names(&["time", "日時"])).unwrap();
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0].get(c), "2026/11/02 08:55:01");
        assert_eq!(t.rows[1].line, 4, "lines count the blank line skipped");
    }

    #[test]
    fn json_lines_and_arrays_are_flattened() {
        let lines = "{\"winlog\":{\"event_id\":4624,\"event_data\":{\"TargetUserName\":\"sato\"}}}\n\n{\"winlog\":{\"event_id\":4634}}\n";
        let t = Table::read("logons", lines.as_bytes(), Encoding::Auto).unwrap();
        let id = t.column(&names(&["EventID", "event_id"])).unwrap();
        let user = t.column(&names(&["TargetUserName"])).unwrap();
        assert_eq!(t.rows[0].get(id), "4624");
        assert_eq!(t.rows[0].get(user), "sato");
        assert_eq!(t.rows[1].get(user), "");
        assert_eq!(t.rows[1].line, 3);
        let arr = "[{\"Id\":4624,\"MachineName\":\"PC-01\"},{\"Id\":4647}]";
        let t = Table::read("logons", arr.as_bytes(), Encoding::Auto).unwrap();
        assert_eq!(t.rows.len(), 2);
    }

    #[test]
    fn errors_name_the_line_never_the_value() {
        let e =
            Table::read("logons", b"{\"Id\":1}\nsecret-value-123\n", Encoding::Auto).unwrap_err();
        assert_eq!(e.to_string(), "logons, line 2: not a JSON object");
        let e = Table::read("rooms", b"a,b\n\xff\xfe\xfd\n", Encoding::Utf8).unwrap_err();
        assert!(e.to_string().starts_with("rooms, line 2"), "{e}");
        let t = Table::read("rooms", b"a,b\n1,2\n", Encoding::Auto).unwrap();
        let e = t.require("door", &names(&["door", "扉"])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "rooms, line 1: no door column (looked for: door, 扉)"
        );
    }
}
