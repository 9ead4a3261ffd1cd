//! Zip archives, opened in memory and inspected entry by entry (nested ones
//! too), within limits that a zip bomb cannot talk its way past.
//!
//! Japanese PCs hold zips made by Windows with entry names in CP932 and no
//! UTF-8 flag (readers that assume CP437 turn 顧客名簿.csv into mojibake), and
//! password-protected zips (PPAP) that nobody can inspect: those are a finding
//! of their own — a file that may hold anything and says nothing.

use std::io::{Cursor, Read};

/// Limits on what one archive may make the scanner read, after Apache POI's
/// `ZipSecureFile` and Sonar RSPEC-5042: entries, depth, total bytes, and the
/// expansion of each entry over its compressed size.
#[derive(Clone, Copy, Debug)]
pub struct ArchiveLimits {
    pub max_depth: u32,
    pub max_entries: usize,
    pub max_total_bytes: u64,
    /// Above 1 MiB an entry may expand at most this many times its
    /// compressed size.
    pub max_ratio: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits {
            max_depth: 5,
            max_entries: 100_000,
            max_total_bytes: 2 << 30,
            max_ratio: 100,
        }
    }
}

/// An entry of an archive, as the scanner sees it.
pub enum Entry {
    /// A file's bytes, and its name inside the archive.
    File { name: String, bytes: Vec<u8> },
    /// An entry that could not be read: encrypted, beyond the limits, or
    /// damaged.
    Uninspectable { name: String, why: Why },
}

/// Why an archive or an entry was not inspected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Why {
    /// Password-protected: could hold anything.
    Encrypted,
    /// Expands beyond the limits (a zip bomb, or simply too big).
    TooLarge,
    /// Nested deeper than the limit.
    TooDeep,
    /// Not a readable archive (or file of its format).
    Damaged,
    /// A binary Office file older than Office 97 (Word 6/95), not read.
    OldVersion,
}

/// Whether `bytes` start like a zip archive.
pub fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

/// A zip's entry names and, when it has one, the content of its `mimetype`
/// entry (OpenDocument's, stored uncompressed and tiny: read only up to 256
/// bytes); `None` when the bytes are no readable zip.
pub fn names_and_mimetype(bytes: &[u8]) -> Option<(Vec<String>, Option<Vec<u8>>)> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let names: Vec<String> = (0..zip.len())
        .filter_map(|i| zip.by_index_raw(i).ok().map(|f| entry_name(f.name_raw())))
        .collect();
    let mimetype = zip.by_name("mimetype").ok().and_then(|f| {
        let mut out = Vec::new();
        f.take(256).read_to_end(&mut out).ok().map(|_| out)
    });
    Some((names, mimetype))
}

/// The entries of a zip archive. `spent` carries the bytes read so far
/// across nested archives, so that the total limit holds for the whole tree.
pub fn entries(
    bytes: &[u8],
    limits: &ArchiveLimits,
    spent: &mut u64,
    each: impl FnMut(Entry),
) -> Result<(), Why> {
    entries_where(bytes, limits, spent, |_| true, each)
}

/// The entries of a zip archive whose names `want` takes; the others are
/// not inflated at all (an Office file's images, a workbook's styles).
pub fn entries_where(
    bytes: &[u8],
    limits: &ArchiveLimits,
    spent: &mut u64,
    want: impl Fn(&str) -> bool,
    mut each: impl FnMut(Entry),
) -> Result<(), Why> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| Why::Damaged)?;
    if zip.len() > limits.max_entries {
        return Err(Why::TooLarge);
    }
    for i in 0..zip.len() {
        let (name, encrypted, size, compressed, dir) = match zip.by_index_raw(i) {
            Ok(f) => (
                entry_name(f.name_raw()),
                f.encrypted(),
                f.size(),
                f.compressed_size(),
                f.is_dir(),
            ),
            Err(_) => return Err(Why::Damaged),
        };
        if dir || !want(&name) {
            continue;
        }
        if encrypted {
            each(Entry::Uninspectable {
                name,
                why: Why::Encrypted,
            });
            continue;
        }
        // The sizes in the directory are what the archive claims; the read
        // below is capped at them, so a lying header cannot expand further.
        let too_big = *spent + size > limits.max_total_bytes
            || (size > 1 << 20 && size > compressed.max(1).saturating_mul(limits.max_ratio));
        if too_big {
            each(Entry::Uninspectable {
                name,
                why: Why::TooLarge,
            });
            continue;
        }
        let mut out = Vec::with_capacity(size.min(64 << 20) as usize);
        let read = zip.by_index(i).map_err(|_| Why::Damaged).and_then(|f| {
            f.take(size + 1)
                .read_to_end(&mut out)
                .map_err(|_| Why::Damaged)
        });
        match read {
            Ok(n) if n as u64 <= size => {
                *spent += n as u64;
                each(Entry::File { name, bytes: out });
            }
            Ok(_) => each(Entry::Uninspectable {
                name,
                why: Why::TooLarge,
            }),
            Err(why) => each(Entry::Uninspectable { name, why }),
        }
    }
    Ok(())
}

/// An entry's name: UTF-8 when it is valid UTF-8 (the flag or not), else
/// CP932, as Japanese Windows writes it.
fn entry_name(raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        Ok(s) => s.to_owned(),
        Err(_) => encoding_rs::SHIFT_JIS
            .decode_without_bom_handling(raw)
            .0
            .into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use zip::write::SimpleFileOptions;

    use super::*;

    fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, bytes) in files {
            w.start_file(*name, SimpleFileOptions::default()).unwrap();
            w.write_all(bytes).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn names(bytes: &[u8]) -> Vec<(String, Option<Why>)> {
        let mut out = Vec::new();
        let mut spent = 0;
        entries(bytes, &ArchiveLimits::default(), &mut spent, |e| {
            out.push(match e {
                Entry::File { name, .. } => (name, None),
                Entry::Uninspectable { name, why } => (name, Some(why)),
            })
        })
        .unwrap();
        out
    }

    #[test]
    fn entries_come_out_with_their_names_and_bytes() {
        let z = zip_of(&[("a.csv", b"x,y\n"), ("名簿/b.txt", b"z")]);
        assert!(is_zip(&z));
        let (listed, mimetype) = names_and_mimetype(&z).unwrap();
        assert_eq!((listed.len(), mimetype), (2, None));
        assert_eq!(
            names(&z),
            [("a.csv".to_owned(), None), ("名簿/b.txt".to_owned(), None)]
        );
    }

    #[test]
    fn cp932_names_are_decoded() {
        // Write a placeholder name of the same byte length, then patch in
        // the CP932 bytes (in the local header and the central directory).
        let cp932 = encoding_rs::SHIFT_JIS.encode("顧客.csv").0.into_owned();
        let placeholder = "x".repeat(cp932.len());
        let mut z = zip_of(&[(placeholder.as_str(), b"1")]);
        let mut i = 0;
        while let Some(at) = z[i..]
            .windows(placeholder.len())
            .position(|w| w == placeholder.as_bytes())
        {
            z[i + at..i + at + cp932.len()].copy_from_slice(&cp932);
            i += at + cp932.len();
        }
        assert_eq!(names(&z), [("顧客.csv".to_owned(), None)]);
    }

    #[test]
    fn a_bomb_is_refused_before_it_expands() {
        let zeros = vec![0u8; 8 << 20];
        let z = zip_of(&[("bomb.txt", &zeros)]);
        assert!(z.len() < 64 << 10, "8 MiB of zeros deflate to little");
        assert_eq!(names(&z), [("bomb.txt".to_owned(), Some(Why::TooLarge))]);
    }

    #[test]
    fn a_password_protected_entry_is_a_finding_of_its_own() {
        use zip::unstable::write::FileOptionsExt;
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let locked = SimpleFileOptions::default()
            .with_deprecated_encryption(b"ppap")
            .unwrap();
        w.start_file("請求先.csv", locked).unwrap();
        w.write_all(b"090-1234-5678").unwrap();
        w.start_file("readme.txt", SimpleFileOptions::default())
            .unwrap();
        w.write_all(b"password follows by mail").unwrap();
        let z = w.finish().unwrap().into_inner();
        assert_eq!(
            names(&z),
            [
                ("請求先.csv".to_owned(), Some(Why::Encrypted)),
                ("readme.txt".to_owned(), None)
            ]
        );
    }

    #[test]
    fn damaged_archives_say_so() {
        let mut spent = 0;
        assert_eq!(
            entries(
                b"PK\x03\x04garbage",
                &ArchiveLimits::default(),
                &mut spent,
                |_| {}
            ),
            Err(Why::Damaged)
        );
    }
}
