//! Watermarks of export packages, so that a leaked file can be traced back
//! to the one export (and so the one recipient) it came from:
//!
//! - **keyed formatting**: every phone number, postal code and date is written
//!   in one of two equally ordinary forms (`09012345678` / `090-1234-5678`,
//!   `1500001` / `150-0001`, `1985-04-12` / `1985/04/12`), chosen by a keyed
//!   MAC of the value under the export's own key. A leaked file's forms match
//!   its export's choices everywhere and any other export's about half the
//!   time; a few dozen values are enough to tell them apart.
//! - **canary rows**: a few synthetic customers, derived from the same key,
//!   mixed in at keyed positions. One canary found in a leak names the export.
//!
//! The keys are derived from the tenant's index key (HMAC-SHA256 through
//! `IndexKey::token`, in namespaces no blind index uses), so nothing extra is
//! stored and nobody without the tenant's keys can compute or strip them.

use std::collections::{BTreeMap, HashSet};

use mamori_core::{FieldType, Schema, normalize, schema::KEY_FIELD};
use mamori_crypto::IndexKey;
use mamori_synth::{Generator, HEADER_FIELDS};

/// The kinds of value whose form carries a watermark bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Phone,
    Postal,
    Date,
}

impl Kind {
    fn of(ty: FieldType) -> Option<Self> {
        match ty {
            FieldType::Phone => Some(Kind::Phone),
            FieldType::PostalCode => Some(Kind::Postal),
            FieldType::Date => Some(Kind::Date),
            _ => None,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Phone => "phone",
            Kind::Postal => "postal",
            Kind::Date => "date",
        }
    }
}

/// The watermark of one export.
pub(crate) struct Marker<'k> {
    index: &'k IndexKey,
    namespace: String,
}

impl<'k> Marker<'k> {
    pub(crate) fn new(index: &'k IndexKey, export_id: &str) -> Self {
        Self {
            index,
            namespace: format!("watermark/{export_id}"),
        }
    }

    fn bit(&self, kind: Kind, canonical: &str) -> bool {
        let t = self
            .index
            .token(&self.namespace, &format!("{}:{canonical}", kind.label()));
        t[0] & 1 == 1
    }

    /// The form of a stored (canonical) value to write into the package.
    pub(crate) fn render(&self, ty: FieldType, canonical: &str) -> String {
        let Some(kind) = Kind::of(ty) else {
            return canonical.to_owned();
        };
        let alt = self.bit(kind, canonical);
        match kind {
            Kind::Phone if alt => hyphenate_phone(canonical),
            Kind::Postal if alt && canonical.len() == 7 => {
                format!("{}-{}", &canonical[..3], &canonical[3..])
            }
            Kind::Date if alt => canonical.replace('-', "/"),
            _ => canonical.to_owned(),
        }
    }

    /// Seed of the export's canary customers.
    fn canary_seed(&self) -> u64 {
        let t = self.index.token(&self.namespace, "canary-seed");
        u64::from_be_bytes(t[..8].try_into().expect("16-byte token"))
    }

    /// Canary `i`'s customer number: the generated one's shape with keyed
    /// digits. The generator numbers its people 1, 2, 3…, as many tenants
    /// number their customers, so its own numbers would often be a real
    /// customer's — and such a canary is left out of the export.
    fn canary_number(&self, i: usize, generated: &str) -> String {
        let digits = generated
            .bytes()
            .rev()
            .take_while(u8::is_ascii_digit)
            .count();
        let prefix = &generated[..generated.len() - digits];
        let t = self
            .index
            .token(&self.namespace, &format!("canary-number:{i}"));
        let n = u64::from_be_bytes(t[..8].try_into().expect("16-byte token"));
        let width = digits.clamp(1, 18);
        format!("{prefix}{:0width$}", n % 10u64.pow(width as u32))
    }

    /// Where canary `i` goes among `rows` real rows (0 = before the first).
    pub(crate) fn canary_position(&self, i: usize, rows: usize) -> usize {
        let t = self
            .index
            .token(&self.namespace, &format!("canary-position:{i}"));
        (u64::from_be_bytes(t[..8].try_into().expect("16-byte token")) % (rows as u64 + 1)) as usize
    }

    /// Candidate canary customers of this export, as canonical values by
    /// field name (only fields the schema has). The caller skips any whose
    /// customer number exists in the tenant; tracing checks all of them.
    pub(crate) fn canaries(
        &self,
        schema: &Schema,
        count: usize,
        email_domain: &str,
    ) -> Vec<BTreeMap<String, String>> {
        let mut generator = Generator::new(self.canary_seed());
        (0..count)
            .map(|i| {
                let person = generator.person();
                let mut out = BTreeMap::new();
                for (field, raw) in HEADER_FIELDS.iter().zip(person.columns()) {
                    let Some(def) = schema.field(field) else {
                        continue;
                    };
                    let raw = match (*field, raw.split_once('@')) {
                        ("email", Some((local, _))) => format!("{local}@{email_domain}"),
                        (KEY_FIELD, _) => self.canary_number(i, raw),
                        _ => raw.to_owned(),
                    };
                    if let Ok(v) = normalize::canonical(def.ty, &raw) {
                        out.insert((*field).to_owned(), v);
                    }
                }
                out
            })
            .collect()
    }
}

/// A Japanese phone number with hyphens where people put them: mobiles and
/// IP phones 3-4-4, toll-free 4-3-3, Tokyo and Osaka 2-4-4, other landlines 3-3-4.
fn hyphenate_phone(d: &str) -> String {
    let cut = |a: usize, b: usize| format!("{}-{}-{}", &d[..a], &d[a..a + b], &d[a + b..]);
    if !d.is_ascii() {
        return d.to_owned();
    }
    match d.len() {
        11 if d.starts_with("0800") => cut(4, 3),
        11 => cut(3, 4),
        10 if d.starts_with("0120") => cut(4, 3),
        10 if d.starts_with("03") || d.starts_with("06") => cut(2, 4),
        10 => cut(3, 3),
        _ => d.to_owned(),
    }
}

/// What one cell of a leaked file says: its kind, canonical value, and form.
fn observe(cell: &str) -> Option<(Kind, String, bool)> {
    let c = cell.trim();
    let digits: String = c.chars().filter(char::is_ascii_digit).collect();
    let only = |allowed: &str| {
        c.chars()
            .all(|ch| ch.is_ascii_digit() || allowed.contains(ch))
    };
    if !only("-/") {
        return None;
    }
    let bytes = c.as_bytes();
    if c.len() == 10 && digits.len() == 8 && bytes[4] == bytes[7] && matches!(bytes[4], b'-' | b'/')
    {
        return Some((Kind::Date, c.replace('/', "-"), bytes[4] == b'/'));
    }
    if !only("-") {
        return None;
    }
    let hyphens = c.contains('-');
    if digits.len() == 7 && (c.len() == 7 || (c.len() == 8 && bytes[3] == b'-')) {
        return Some((Kind::Postal, digits, hyphens));
    }
    if digits.starts_with('0') && (10..=11).contains(&digits.len()) {
        return Some((Kind::Phone, digits, hyphens));
    }
    None
}

/// Everything in a leaked file that tracing looks at.
pub(crate) struct Evidence {
    marks: Vec<(Kind, String, bool)>,
    values: HashSet<String>,
    pub(crate) cells: usize,
}

impl Evidence {
    /// Reads a CSV (or any comma/tab separated text) cell by cell.
    pub(crate) fn from_text(text: &str) -> Self {
        let mut marks = Vec::new();
        let mut values = HashSet::new();
        let mut cells = 0;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        for record in reader.records().flatten() {
            for cell in record.iter().flat_map(|c| c.split('\t')) {
                cells += 1;
                let cell = cell.trim();
                if let Some(m) = observe(cell) {
                    values.insert(m.1.clone());
                    marks.push(m);
                }
                values.insert(cell.to_lowercase());
            }
        }
        marks.sort_by(|a, b| (a.0.label(), &a.1).cmp(&(b.0.label(), &b.1)));
        marks.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        Self {
            marks,
            values,
            cells,
        }
    }

    /// (values observed, values in this export's form).
    pub(crate) fn formatting(&self, marker: &Marker<'_>) -> (usize, usize) {
        let agree = self
            .marks
            .iter()
            .filter(|(kind, canonical, alt)| marker.bit(*kind, canonical) == *alt)
            .count();
        (self.marks.len(), agree)
    }

    /// How many of the canaries appear (by e-mail or phone number).
    pub(crate) fn canary_hits(&self, canaries: &[BTreeMap<String, String>]) -> usize {
        canaries
            .iter()
            .filter(|c| {
                ["email", "mobile", "phone"]
                    .iter()
                    .filter_map(|f| c.get(*f))
                    .any(|v| self.values.contains(&v.to_lowercase()))
            })
            .count()
    }
}

/// The chance that at least `agree` of `n` fair coin flips come up heads:
/// how likely an unrelated export's formatting agrees this well by accident.
pub(crate) fn chance_by_accident(n: usize, agree: usize) -> f64 {
    if agree == 0 {
        return 1.0;
    }
    // Sum C(n, i) / 2^n for i ≥ agree, in log space to survive large n.
    let ln2n = n as f64 * std::f64::consts::LN_2;
    let mut ln_c = 0.0_f64; // ln C(n, 0)
    let mut total = 0.0_f64;
    for i in 0..=n {
        if i > 0 {
            ln_c += ((n - i + 1) as f64).ln() - (i as f64).ln();
        }
        if i >= agree {
            total += (ln_c - ln2n).exp();
        }
    }
    total.min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mamori_crypto::{RootKey, TenantKeySet};

    #[test]
    fn forms_round_trip_through_observation() {
        let root = RootKey::generate().unwrap();
        let (keys, ..) = TenantKeySet::generate(&root, "acme", 1).unwrap();
        let a = Marker::new(&keys.index, "export-a");
        let b = Marker::new(&keys.index, "export-b");
        let values = [
            (FieldType::Phone, "09012345678"),
            (FieldType::Phone, "0312345678"),
            (FieldType::Phone, "0451234567"),
            (FieldType::PostalCode, "1500001"),
            (FieldType::Date, "1985-04-12"),
        ];
        for (ty, v) in values {
            let shown = a.render(ty, v);
            let (kind, canonical, alt) = observe(&shown).expect("recognised");
            assert_eq!(canonical, v);
            assert_eq!(a.bit(kind, &canonical), alt, "{shown}");
        }
        assert_eq!(hyphenate_phone("09012345678"), "090-1234-5678");
        assert_eq!(hyphenate_phone("0312345678"), "03-1234-5678");
        assert_eq!(hyphenate_phone("0120123456"), "0120-123-456");
        // Over many values the two exports choose differently about half the time.
        let phones: Vec<String> = (0..400).map(|i| format!("090{:08}", i * 7919)).collect();
        let text: String = phones
            .iter()
            .map(|p| a.render(FieldType::Phone, p) + "\n")
            .collect();
        let ev = Evidence::from_text(&text);
        let (n, agree_a) = ev.formatting(&a);
        let (_, agree_b) = ev.formatting(&b);
        assert_eq!((n, agree_a), (400, 400));
        assert!((150..250).contains(&agree_b), "{agree_b}");
        assert!(chance_by_accident(n, agree_a) < 1e-100);
        assert!(chance_by_accident(n, agree_b) > 1e-4);
    }

    #[test]
    fn canary_numbers_are_keyed_not_the_generators_one_two_three() {
        let root = RootKey::generate().unwrap();
        let (keys, ..) = TenantKeySet::generate(&root, "acme", 1).unwrap();
        let schema = Schema::contact_centre();
        let numbers = |m: &Marker| -> Vec<String> {
            m.canaries(&schema, 3, "example.jp")
                .iter()
                .map(|c| c[KEY_FIELD].clone())
                .collect()
        };
        let a = numbers(&Marker::new(&keys.index, "export-a"));
        assert_eq!(
            a,
            numbers(&Marker::new(&keys.index, "export-a")),
            "reproducible"
        );
        assert_ne!(a, numbers(&Marker::new(&keys.index, "export-b")));
        for n in &a {
            assert_eq!(n.len(), "C0900000001".len(), "{n}");
            let digits: u64 = n[3..].parse().unwrap();
            assert!(digits > 1_000, "{n} looks like a generated sequence number");
        }
    }

    #[test]
    fn other_cells_are_not_marks() {
        for cell in [
            "山田太郎",
            "C0001234",
            "12345",
            "2024-1-5",
            "abc-defg",
            "",
            "1985-04/12",
        ] {
            assert!(observe(cell).is_none(), "{cell}");
        }
        assert!((chance_by_accident(10, 5) - 0.623046875).abs() < 1e-9);
    }
}
