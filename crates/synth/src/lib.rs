//! Synthetic Japanese customers (V7: development and tests never use real
//! personal data). Names are consistent in kanji, kana and romaji; addresses
//! use real prefectures and municipalities with plausible postal codes; phone
//! numbers come in the messy formats people actually type. The same seed
//! always gives the same people, so tests and benchmarks are repeatable.

mod tables;

use std::io::{self, Write};

use rand::{Rng, SeedableRng, seq::IndexedRandom};
use rand_chacha::ChaCha8Rng;
use tables::*;

/// One synthetic customer, as a legacy system would export it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub customer_no: String,
    pub name: String,
    pub name_kana: String,
    pub birth_date: String,
    pub gender: String,
    pub postal_code: String,
    pub address: String,
    pub phone: String,
    pub mobile: String,
    pub email: String,
    pub plan: String,
    pub segment: String,
}

/// Column headers as Japanese legacy exports write them; the importer maps them.
pub const HEADER: [&str; 12] = [
    "お客さま番号",
    "氏名",
    "氏名カナ",
    "生年月日",
    "性別",
    "郵便番号",
    "住所",
    "電話番号",
    "携帯電話番号",
    "メールアドレス",
    "契約プラン",
    "セグメント",
];

/// The schema field each column of [`HEADER`] holds.
pub const HEADER_FIELDS: [&str; 12] = [
    "customer_no",
    "name",
    "name_kana",
    "birth_date",
    "gender",
    "postal_code",
    "address",
    "phone",
    "mobile",
    "email",
    "plan",
    "segment",
];

impl Person {
    pub fn columns(&self) -> [&str; 12] {
        [
            &self.customer_no,
            &self.name,
            &self.name_kana,
            &self.birth_date,
            &self.gender,
            &self.postal_code,
            &self.address,
            &self.phone,
            &self.mobile,
            &self.email,
            &self.plan,
            &self.segment,
        ]
    }
}

/// An endless, deterministic stream of people.
pub struct Generator {
    rng: ChaCha8Rng,
    seed: u64,
    next: u64,
}

impl Generator {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
            seed,
            next: 0,
        }
    }

    /// A phone subscriber number unique per index (a bijection on 0..10^8),
    /// so that searches by phone in tests find exactly one person.
    fn unique_digits(&self, index: u64, salt: u64) -> u64 {
        const SPACE: u64 = 100_000_000;
        (index
            .wrapping_add(self.seed.wrapping_mul(7919))
            .wrapping_add(salt)
            % SPACE
            * 48_271
            + 12_345)
            % SPACE
    }

    pub fn person(&mut self) -> Person {
        let i = self.next;
        self.next += 1;
        let r = &mut self.rng;
        let surname = SURNAMES.choose(r).expect("non-empty");
        let female = r.random_bool(0.5);
        let given = if female {
            FEMALE.choose(r)
        } else {
            MALE.choose(r)
        }
        .expect("non-empty");
        let place = PLACES.choose(r).expect("non-empty");
        let town = TOWNS.choose(r).expect("non-empty");
        let (chome, ban, go) = (
            r.random_range(1..=5),
            r.random_range(1..=30),
            r.random_range(1..=20),
        );
        let building = if r.random_bool(0.3) {
            format!(
                " {}{}",
                BUILDINGS.choose(r).expect("non-empty"),
                r.random_range(101..=1205)
            )
        } else {
            String::new()
        };
        let address = format!(
            "{}{}{}{}丁目{}番{}号{}",
            place.pref, place.city, town, chome, ban, go, building
        );
        let postal = format!("{}{:04}", place.postal3, r.random_range(0..10_000));
        let postal_code = if r.random_bool(0.8) {
            format!("{}-{}", &postal[..3], &postal[3..])
        } else {
            postal
        };
        let mobile_prefix = ["090", "080", "070"][r.random_range(0..3)];
        let m = self.unique_digits(i, 0);
        let mobile = messy_phone(
            &mut self.rng,
            mobile_prefix,
            &format!("{:04}", m / 10_000),
            &format!("{:04}", m % 10_000),
        );
        let l = self.unique_digits(i, 31) % 10_000;
        let r = &mut self.rng;
        // A landline has 10 digits: area code, exchange, 4-digit subscriber number.
        let width = 6 - place.area.len();
        let exchange = format!(
            "{:0width$}",
            r.random_range(10u32.pow(width as u32 - 1)..10u32.pow(width as u32))
        );
        let phone = messy_phone(r, place.area, &exchange, &format!("{l:04}"));
        let year = r.random_range(1940..=2006);
        let birth = format!(
            "{year}-{:02}-{:02}",
            r.random_range(1..=12),
            r.random_range(1..=28)
        );
        let birth_date = match r.random_range(0..4) {
            0 => birth.replace('-', "/"),
            _ => birth,
        };
        let email = format!(
            "{}.{}{}@{}",
            given.romaji,
            surname.romaji,
            i % 1000,
            DOMAINS.choose(r).expect("non-empty")
        );
        // Kana as legacy systems hold it: mostly full-width, some half-width, some without space.
        let kana_full = format!("{} {}", surname.kana, given.kana);
        let name_kana = match r.random_range(0..10) {
            0 => to_halfwidth_kana(&kana_full),
            1 => kana_full.replace(' ', ""),
            _ => kana_full,
        };
        Person {
            customer_no: format!("C{:02}{:08}", self.seed % 100, i + 1),
            name: format!("{} {}", surname.kanji, given.kanji),
            name_kana,
            birth_date,
            gender: if female { "女性" } else { "男性" }.to_owned(),
            postal_code,
            address,
            phone,
            mobile,
            email,
            plan: PLANS.choose(r).expect("non-empty").to_string(),
            segment: if r.random_bool(0.8) { "own" } else { "collab" }.to_owned(),
        }
    }
}

impl Iterator for Generator {
    type Item = Person;
    fn next(&mut self) -> Option<Person> {
        Some(self.person())
    }
}

fn messy_phone(r: &mut ChaCha8Rng, a: &str, b: &str, c: &str) -> String {
    match r.random_range(0..10) {
        0..=3 => format!("{a}-{b}-{c}"),
        4 => format!("{a}{b}{c}"),
        5 => to_fullwidth(&format!("{a}－{b}－{c}")),
        6 => format!("+81-{}-{b}-{c}", &a[1..]),
        7 => format!("({a}){b}-{c}"),
        8 => format!("{a} {b} {c}"),
        _ => format!("{a}‐{b}‐{c}"),
    }
}

fn to_fullwidth(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_digit() {
                char::from_u32(c as u32 - 0x30 + 0xFF10).unwrap_or(c)
            } else {
                c
            }
        })
        .collect()
}

/// Full-width katakana to half-width (ｶﾀｶﾅ), as old mainframe exports hold names.
pub fn to_halfwidth_kana(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match HALF_KANA.iter().find(|(f, _)| *f == c) {
            Some((_, h)) => out.push_str(h),
            None => out.push(if c == ' ' { ' ' } else { c }),
        }
    }
    out
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    ShiftJis,
}

/// Writes `n` people as CSV (header included, CRLF line ends) in the given
/// encoding. The built-in tables stay within what Shift_JIS can represent.
pub fn write_csv(
    out: impl Write,
    seed: u64,
    n: u64,
    encoding: Encoding,
    mut progress: impl FnMut(u64),
) -> io::Result<()> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(EncodingWriter {
            inner: out,
            encoding,
            pending: Vec::new(),
        });
    w.write_record(HEADER)?;
    for (i, p) in Generator::new(seed).take(n as usize).enumerate() {
        w.write_record(p.columns())?;
        if i % 10_000 == 0 {
            progress(i as u64);
        }
    }
    w.flush()?;
    progress(n);
    Ok(())
}

/// Encodes UTF-8 output to Shift_JIS on the way out. The csv writer flushes
/// its buffer wherever it fills, so a character may arrive split: the
/// incomplete tail waits in `pending` for the next write.
struct EncodingWriter<W> {
    inner: W,
    encoding: Encoding,
    pending: Vec<u8>,
}

impl<W: Write> Write for EncodingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.encoding == Encoding::Utf8 {
            return self.inner.write(buf);
        }
        self.pending.extend_from_slice(buf);
        let valid = match std::str::from_utf8(&self.pending) {
            Ok(s) => s.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
        };
        let text = std::str::from_utf8(&self.pending[..valid]).expect("checked above");
        let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(text);
        if unmappable {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "a character has no Shift_JIS form",
            ));
        }
        self.inner.write_all(&bytes)?;
        self.pending.drain(..valid);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "output ends inside a character",
            ));
        }
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_unique() {
        let a: Vec<Person> = Generator::new(7).take(200).collect();
        let b: Vec<Person> = Generator::new(7).take(200).collect();
        assert_eq!(a, b);
        let c: Vec<Person> = Generator::new(8).take(200).collect();
        assert_ne!(a, c);
        let mut mobiles: Vec<String> = a
            .iter()
            .map(|p| {
                p.mobile
                    .chars()
                    .filter(|c| c.is_ascii_digit() || ('０'..='９').contains(c))
                    .collect()
            })
            .collect();
        mobiles.sort();
        mobiles.dedup();
        assert_eq!(mobiles.len(), 200);
    }

    #[test]
    fn shift_jis_output_round_trips() {
        let mut buf = Vec::new();
        write_csv(&mut buf, 1, 300, Encoding::ShiftJis, |_| {}).unwrap();
        let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&buf);
        assert!(!bad);
        assert!(text.starts_with("お客さま番号,氏名"));
        assert_eq!(text.lines().count(), 301);
    }
}
