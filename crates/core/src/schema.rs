//! Tenant schemas: the fields a customer record holds, the purposes (利用目的)
//! for which they may be read and with which masks, and the segments that
//! split a tenant's customers into separately entitled groups.
//!
//! Schemas are TOML files written by people, so every error names the line.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::Role;

/// The default contact-centre schema shipped with mamori.
pub const CONTACT_CENTRE_SCHEMA: &str = include_str!("../schemas/contact_centre.toml");

/// Every schema has this field; records are upserted by it.
pub const KEY_FIELD: &str = "customer_no";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    Kana,
    Phone,
    Email,
    PostalCode,
    Address,
    Date,
    Number,
    MyNumber,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldClass {
    Personal,
    /// 要配慮個人情報 and other high-risk data (My Number, bank details).
    Sensitive,
    NonPersonal,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Searchable {
    Exact,
    #[default]
    No,
}

/// How a value is shown. Applied server-side; the unmasked value never leaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskKind {
    /// The value as stored.
    Full,
    /// An address cut to its prefecture (東京都＊＊＊).
    Prefecture,
    /// All but the last four characters replaced (＊＊＊＊＊＊＊5678).
    Last4,
    /// The first character, the rest replaced (山＊＊＊).
    Initial,
    /// A date cut to its year (1985-＊＊-＊＊).
    Year,
    /// An e-mail's local part replaced (＊＊＊@example.jp).
    Domain,
    /// Nothing of the value (＊＊＊).
    Redact,
}

/// A purpose's mask for a field: an explicit mask or the field's default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MaskSpec {
    Kind(MaskKind),
    Default(DefaultMarker),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DefaultMarker {
    Default,
}

#[derive(Clone, Debug, Serialize)]
pub struct FieldDef {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: FieldType,
    pub class: FieldClass,
    pub searchable: Searchable,
    pub mask: MaskKind,
    pub label_ja: String,
    pub label_en: String,
    /// Which part of the customer's identity the field holds, if declared:
    /// what self- and relative-lookup detection compares with the staff's own.
    pub identity: Option<Identity>,
}

/// Parts of a customer's identity that a household is recognised by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Identity {
    /// Full name in kanji or as written (family name first).
    Name,
    /// Full name in kana (family name first).
    NameKana,
    /// Home address.
    Address,
}

impl FieldDef {
    /// The blind-index namespace: every phone-typed field shares "phone", so a
    /// caller's number finds the record whether it was stored as phone or mobile.
    pub fn search_key(&self) -> &str {
        match self.ty {
            FieldType::Phone => "phone",
            _ => &self.name,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Segment {
    pub id: String,
    pub label_ja: String,
    pub label_en: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Purpose {
    pub id: String,
    pub label_ja: String,
    pub label_en: String,
    pub roles: BTreeSet<Role>,
    /// Field name → mask; fields not listed are not returned for this purpose.
    pub fields: BTreeMap<String, MaskKind>,
    /// Per-role replacements of `fields` masks.
    pub by_role: BTreeMap<Role, BTreeMap<String, MaskKind>>,
}

impl Purpose {
    /// The fields this purpose lets `role` see, each with its mask.
    pub fn view_for(&self, role: Role) -> BTreeMap<String, MaskKind> {
        let mut view = self.fields.clone();
        if let Some(over) = self.by_role.get(&role) {
            for (f, m) in over {
                view.insert(f.clone(), *m);
            }
        }
        view
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Schema {
    pub fields: Vec<FieldDef>,
    pub purposes: Vec<Purpose>,
    pub segments: Vec<Segment>,
    /// The shape of this tenant's case ids, matched against the whole id
    /// (on top of the checks every tenant shares, `crate::case_id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_id_pattern: Option<CaseIdPattern>,
    /// Where the tenant reports a breach, and to whom its list of affected
    /// people goes (`[breach]`).
    pub breach: BreachSettings,
    /// What a sensitive act on this tenant's data needs of the sign-in
    /// (`[step_up]`); None: no more than any sign-in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_up: Option<StepUpRule>,
}

/// A tenant's rule for sensitive acts (approving access or an export,
/// downloading an export, changing full access, and — unless `unmask` is
/// false — reading a sensitive field shown in full): a sign-in at most
/// `max_age_s` old that meets the tenant's MFA rule — an `acr` in `acr`, an
/// Entra authentication context of `acrs` in the token's `acrs`, or a method
/// of `amr` in its `amr`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepUpRule {
    #[serde(default)]
    pub acr: Vec<String>,
    #[serde(default)]
    pub acrs: Vec<String>,
    #[serde(default = "StepUpRule::default_amr")]
    pub amr: Vec<String>,
    #[serde(default = "StepUpRule::default_max_age")]
    pub max_age_s: i64,
    /// Whether a read that shows a sensitive field (a My Number, an account
    /// number) in full needs the step-up too. Default true; false leaves
    /// such reads to the purposes' views and the grants alone (for a tenant
    /// whose machines read them with API tokens).
    #[serde(default = "StepUpRule::default_unmask")]
    pub unmask: bool,
}

impl StepUpRule {
    fn default_amr() -> Vec<String> {
        vec!["mfa".into(), "otp".into(), "hwk".into()]
    }

    fn default_max_age() -> i64 {
        600
    }

    fn default_unmask() -> bool {
        true
    }

    /// Whether a sign-in with these facts, `now`, meets the rule.
    pub fn met(
        &self,
        acr: Option<&str>,
        acrs: &[String],
        amr: &[String],
        auth_time: Option<i64>,
        now: i64,
    ) -> bool {
        let recent = auth_time.is_some_and(|t| now - t <= self.max_age_s && t <= now + 60);
        let strong = acr.is_some_and(|a| self.acr.iter().any(|x| x == a))
            || acrs.iter().any(|c| self.acrs.contains(c))
            || amr.iter().any(|m| self.amr.contains(m));
        recent && strong
    }
}

/// Who receives a tenant's breach report: the 個人情報保護委員会 by
/// default; the 総務省 (総合通信局) for telecom carriers, to whom the PPC's
/// authority is delegated; a municipality's own route as 行政機関等.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportTo {
    #[default]
    Ppc,
    Soumu,
    Municipal,
}

/// A tenant's breach settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BreachSettings {
    pub report_to: ReportTo,
    /// The tenant's (委託元's) age public key: the list of affected people
    /// for 本人通知 is encrypted to it and to nothing else. Set with the
    /// schema (by whoever administers tenants), never chosen by the person
    /// who asks for the list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_recipient: Option<String>,
}

/// A tenant's case-id pattern, compiled once and anchored at both ends.
#[derive(Clone, Debug)]
pub struct CaseIdPattern {
    source: String,
    anchored: regex::Regex,
}

impl CaseIdPattern {
    /// Longest pattern accepted, in bytes.
    const MAX_LEN: usize = 200;

    pub fn new(source: &str) -> Result<Self, String> {
        if source.len() > Self::MAX_LEN {
            return Err(format!(
                "case_id_pattern is longer than {} bytes",
                Self::MAX_LEN
            ));
        }
        let anchored = regex::RegexBuilder::new(&format!("^(?:{source})$"))
            .size_limit(1 << 20)
            .build()
            .map_err(|e| format!("case_id_pattern is not a valid regular expression: {e}"))?;
        Ok(Self {
            source: source.to_owned(),
            anchored,
        })
    }

    pub fn matches(&self, case_id: &str) -> bool {
        self.anchored.is_match(case_id)
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl Serialize for CaseIdPattern {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

/// A schema problem with the 1-based line (and column) where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("schema line {line}, column {column}: {message}")]
pub struct SchemaError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// The shape of an age X25519 public key (Bech32, `age1` and 58 more
/// characters); the vault parses it in full before it encrypts anything.
fn age_public_key(s: &str) -> bool {
    s.len() == 62
        && s.starts_with("age1")
        && s[4..]
            .bytes()
            .all(|b| b"qpzry9x8gf2tvdw0s3jn54khce6mua7l".contains(&b))
}

// The raw, spanned form as written in the file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchema {
    #[serde(default)]
    fields: Vec<RawField>,
    #[serde(default)]
    purposes: Vec<RawPurpose>,
    #[serde(default)]
    segments: Vec<RawSegment>,
    #[serde(default)]
    case_id_pattern: Option<Spanned<String>>,
    #[serde(default)]
    breach: Option<RawBreach>,
    #[serde(default)]
    step_up: Option<Spanned<StepUpRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBreach {
    #[serde(default)]
    report_to: ReportTo,
    #[serde(default)]
    notify_recipient: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    name: Spanned<String>,
    #[serde(rename = "type")]
    ty: Spanned<FieldType>,
    class: FieldClass,
    #[serde(default)]
    searchable: Searchable,
    #[serde(default)]
    mask: Option<Spanned<MaskKind>>,
    #[serde(default)]
    label_ja: Option<String>,
    #[serde(default)]
    label_en: Option<String>,
    #[serde(default)]
    identity: Option<Spanned<Identity>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSegment {
    id: Spanned<String>,
    #[serde(default)]
    label_ja: Option<String>,
    #[serde(default)]
    label_en: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPurpose {
    id: Spanned<String>,
    label_ja: String,
    label_en: String,
    roles: Spanned<Vec<Role>>,
    fields: BTreeMap<Spanned<String>, Spanned<MaskSpec>>,
    #[serde(default)]
    by_role: BTreeMap<Spanned<Role>, BTreeMap<Spanned<String>, Spanned<MaskSpec>>>,
}

impl Schema {
    /// The schema every tenant gets unless it brings its own.
    pub fn contact_centre() -> Schema {
        Schema::parse(CONTACT_CENTRE_SCHEMA).expect("the shipped schema is valid")
    }

    pub fn parse(src: &str) -> Result<Schema, SchemaError> {
        let raw: RawSchema = toml::from_str(src).map_err(|e| {
            let (line, column) = e.span().map(|s| line_col(src, s.start)).unwrap_or((1, 1));
            SchemaError {
                line,
                column,
                message: e.message().to_owned(),
            }
        })?;
        Validator { src }.build(raw)
    }

    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }
    pub fn purpose(&self, id: &str) -> Option<&Purpose> {
        self.purposes.iter().find(|p| p.id == id)
    }
    pub fn segment(&self, id: &str) -> Option<&Segment> {
        self.segments.iter().find(|s| s.id == id)
    }
    /// The segment records go to when an import names none.
    pub fn default_segment(&self) -> &str {
        &self.segments[0].id
    }
    /// Fields declared to hold a part of the customer's identity.
    pub fn identity_fields(&self) -> impl Iterator<Item = (&str, Identity)> {
        self.fields
            .iter()
            .filter_map(|f| f.identity.map(|i| (f.name.as_str(), i)))
    }
    /// Search keys (blind-index namespaces) this schema offers.
    pub fn search_keys(&self) -> BTreeSet<&str> {
        self.fields
            .iter()
            .filter(|f| f.searchable == Searchable::Exact)
            .map(FieldDef::search_key)
            .collect()
    }
    /// The type behind a search key; every field sharing a key has the same type.
    pub fn search_key_type(&self, key: &str) -> Option<FieldType> {
        self.fields
            .iter()
            .find(|f| f.searchable == Searchable::Exact && f.search_key() == key)
            .map(|f| f.ty)
    }
}

fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let before = &src[..offset.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

struct Validator<'a> {
    src: &'a str,
}

impl Validator<'_> {
    fn err<T>(
        &self,
        span: std::ops::Range<usize>,
        message: impl Into<String>,
    ) -> Result<T, SchemaError> {
        let (line, column) = line_col(self.src, span.start);
        Err(SchemaError {
            line,
            column,
            message: message.into(),
        })
    }

    fn build(&self, raw: RawSchema) -> Result<Schema, SchemaError> {
        let fields = self.fields(raw.fields)?;
        let segments = self.segments(raw.segments)?;
        let mut purposes = Vec::new();
        let mut seen = BTreeSet::new();
        for p in raw.purposes {
            if !seen.insert(p.id.get_ref().clone()) {
                return self.err(
                    p.id.span(),
                    format!("purpose '{}' is defined twice", p.id.get_ref()),
                );
            }
            purposes.push(self.purpose(p, &fields)?);
        }
        if purposes.is_empty() {
            return self.err(0..0, "a schema needs at least one [[purposes]] entry");
        }
        let case_id_pattern = match raw.case_id_pattern {
            Some(p) => match CaseIdPattern::new(p.get_ref()) {
                Ok(pattern) => Some(pattern),
                Err(message) => return self.err(p.span(), message),
            },
            None => None,
        };
        let breach = match raw.breach {
            None => BreachSettings::default(),
            Some(b) => BreachSettings {
                report_to: b.report_to,
                notify_recipient: match b.notify_recipient {
                    Some(k) if !age_public_key(k.get_ref()) => {
                        return self.err(
                            k.span(),
                            "notify_recipient must be an age X25519 public key (age1…)",
                        );
                    }
                    k => k.map(|k| k.into_inner()),
                },
            },
        };
        let step_up = match raw.step_up {
            Some(r) if r.get_ref().max_age_s < 0 || r.get_ref().max_age_s > 86_400 => {
                return self.err(r.span(), "step_up.max_age_s must be 0 to 86400 seconds");
            }
            Some(r)
                if r.get_ref().acr.is_empty()
                    && r.get_ref().acrs.is_empty()
                    && r.get_ref().amr.is_empty() =>
            {
                return self.err(r.span(), "step_up needs at least one of acr, acrs and amr");
            }
            r => r.map(Spanned::into_inner),
        };
        Ok(Schema {
            fields,
            purposes,
            segments,
            case_id_pattern,
            breach,
            step_up,
        })
    }

    fn fields(&self, raw: Vec<RawField>) -> Result<Vec<FieldDef>, SchemaError> {
        let mut out: Vec<FieldDef> = Vec::new();
        for f in raw {
            let name = f.name.get_ref();
            if !is_identifier(name) {
                return self.err(
                    f.name.span(),
                    format!("field name '{name}' must be lower-case letters, digits and '_'"),
                );
            }
            if name == "segment" || name == "id" {
                return self.err(
                    f.name.span(),
                    format!("'{name}' is reserved for record metadata"),
                );
            }
            if out.iter().any(|o| &o.name == name) {
                return self.err(f.name.span(), format!("field '{name}' is defined twice"));
            }
            let ty = *f.ty.get_ref();
            let mask = match f.mask {
                Some(m) => {
                    self.check_mask(ty, *m.get_ref(), m.span(), name)?;
                    *m.get_ref()
                }
                None => MaskKind::Redact,
            };
            let identity = match f.identity {
                Some(i) if *i.get_ref() == Identity::NameKana && ty != FieldType::Kana => {
                    return self.err(
                        i.span(),
                        format!("field '{name}': identity \"name_kana\" needs type \"kana\""),
                    );
                }
                Some(i) => Some(*i.get_ref()),
                None => None,
            };
            out.push(FieldDef {
                name: name.clone(),
                ty,
                class: f.class,
                searchable: f.searchable,
                mask,
                label_ja: f.label_ja.unwrap_or_else(|| name.clone()),
                label_en: f.label_en.unwrap_or_else(|| name.clone()),
                identity,
            });
        }
        match out.iter().find(|f| f.name == KEY_FIELD) {
            Some(k) if k.searchable == Searchable::Exact => Ok(out),
            Some(_) => self.err(
                0..0,
                format!("field '{KEY_FIELD}' must be searchable = \"exact\""),
            ),
            None => self.err(
                0..0,
                format!("a schema needs a field named '{KEY_FIELD}' (records are upserted by it)"),
            ),
        }
    }

    fn segments(&self, raw: Vec<RawSegment>) -> Result<Vec<Segment>, SchemaError> {
        let mut out: Vec<Segment> = Vec::new();
        for s in raw {
            let id = s.id.get_ref();
            if !is_identifier(id) {
                return self.err(
                    s.id.span(),
                    format!("segment id '{id}' must be lower-case letters, digits and '_'"),
                );
            }
            if out.iter().any(|o| &o.id == id) {
                return self.err(s.id.span(), format!("segment '{id}' is defined twice"));
            }
            out.push(Segment {
                id: id.clone(),
                label_ja: s.label_ja.unwrap_or_else(|| id.clone()),
                label_en: s.label_en.unwrap_or_else(|| id.clone()),
            });
        }
        if out.is_empty() {
            return self.err(0..0, "a schema needs at least one [[segments]] entry");
        }
        Ok(out)
    }

    fn purpose(&self, p: RawPurpose, fields: &[FieldDef]) -> Result<Purpose, SchemaError> {
        if !is_identifier(p.id.get_ref()) {
            return self.err(
                p.id.span(),
                "purpose id must be lower-case letters, digits and '_'",
            );
        }
        if p.roles.get_ref().is_empty() {
            return self.err(
                p.roles.span(),
                format!("purpose '{}' names no roles", p.id.get_ref()),
            );
        }
        if p.label_ja.trim().is_empty() || p.label_en.trim().is_empty() {
            return self.err(p.id.span(), "purpose needs both label_ja and label_en");
        }
        let roles: BTreeSet<Role> = p.roles.get_ref().iter().copied().collect();
        let field_masks = self.masks(&p.fields, fields)?;
        if field_masks.is_empty() {
            return self.err(
                p.id.span(),
                format!("purpose '{}' lets no field be seen", p.id.get_ref()),
            );
        }
        let mut by_role = BTreeMap::new();
        for (role, masks) in &p.by_role {
            if !roles.contains(role.get_ref()) {
                return self.err(
                    role.span(),
                    format!(
                        "by_role names '{}', which is not in this purpose's roles",
                        role.get_ref()
                    ),
                );
            }
            by_role.insert(*role.get_ref(), self.masks(masks, fields)?);
        }
        Ok(Purpose {
            id: p.id.into_inner(),
            label_ja: p.label_ja,
            label_en: p.label_en,
            roles,
            fields: field_masks,
            by_role,
        })
    }

    fn masks(
        &self,
        raw: &BTreeMap<Spanned<String>, Spanned<MaskSpec>>,
        fields: &[FieldDef],
    ) -> Result<BTreeMap<String, MaskKind>, SchemaError> {
        let mut out = BTreeMap::new();
        for (name, spec) in raw {
            let Some(f) = fields.iter().find(|f| &f.name == name.get_ref()) else {
                return self.err(name.span(), format!("unknown field '{}'", name.get_ref()));
            };
            let kind = match spec.get_ref() {
                MaskSpec::Kind(k) => *k,
                MaskSpec::Default(_) => f.mask,
            };
            self.check_mask(f.ty, kind, spec.span(), &f.name)?;
            out.insert(f.name.clone(), kind);
        }
        Ok(out)
    }

    fn check_mask(
        &self,
        ty: FieldType,
        mask: MaskKind,
        span: std::ops::Range<usize>,
        field: &str,
    ) -> Result<(), SchemaError> {
        use FieldType as T;
        use MaskKind as M;
        let fits = match mask {
            M::Full | M::Redact => true,
            M::Prefecture => ty == T::Address,
            M::Year => ty == T::Date,
            M::Domain => ty == T::Email,
            M::Last4 => matches!(
                ty,
                T::Phone | T::Number | T::MyNumber | T::Text | T::PostalCode
            ),
            M::Initial => matches!(ty, T::Text | T::Kana),
        };
        if fits {
            Ok(())
        } else {
            self.err(
                span,
                format!("mask {mask:?} does not fit field '{field}' of type {ty:?}"),
            )
        }
    }
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_schema_is_valid_and_complete() {
        let s = Schema::contact_centre();
        let names: Vec<&str> = s.fields.iter().map(|f| f.name.as_str()).collect();
        for f in [
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
        ] {
            assert!(names.contains(&f), "{f}");
        }
        assert_eq!(
            s.search_keys(),
            ["customer_no", "email", "name_kana", "phone"]
                .into_iter()
                .collect()
        );
        assert_eq!(s.default_segment(), "own");
        let inquiry = s.purpose("inquiry").unwrap();
        assert_eq!(
            inquiry.view_for(Role::Operator)["address"],
            MaskKind::Prefecture
        );
        let change = s.purpose("contract_change").unwrap();
        assert_eq!(change.view_for(Role::Backyard)["address"], MaskKind::Full);
        assert_eq!(
            change.view_for(Role::Operator)["address"],
            MaskKind::Prefecture
        );
    }

    fn error_of(src: &str) -> SchemaError {
        Schema::parse(src).unwrap_err()
    }

    const MINIMAL: &str = r#"
[[fields]]
name = "customer_no"
type = "text"
class = "personal"
searchable = "exact"

[[segments]]
id = "own"

[[purposes]]
id = "inquiry"
label_ja = "問い合わせ"
label_en = "Inquiry"
roles = ["operator"]
fields = { customer_no = "full" }
"#;

    #[test]
    fn minimal_schema_parses() {
        let s = Schema::parse(MINIMAL).unwrap();
        assert_eq!(s.fields.len(), 1);
    }

    #[test]
    fn errors_name_the_line() {
        let bad_type = MINIMAL.replace("type = \"text\"", "type = \"textt\"");
        let e = error_of(&bad_type);
        assert_eq!(e.line, 4, "{e}");
        assert!(e.message.contains("textt"), "{e}");

        let unknown_field = MINIMAL.replace(
            "fields = { customer_no = \"full\" }",
            "fields = { customer_no = \"full\", shoe_size = \"full\" }",
        );
        let e = error_of(&unknown_field);
        assert_eq!(e.line, 16, "{e}");
        assert!(e.message.contains("unknown field 'shoe_size'"), "{e}");

        let bad_mask =
            MINIMAL.replace("customer_no = \"full\" }", "customer_no = \"prefecture\" }");
        let e = error_of(&bad_mask);
        assert_eq!(e.line, 16, "{e}");
        assert!(e.message.contains("does not fit"), "{e}");

        let bad_role = MINIMAL.replace("roles = [\"operator\"]", "roles = [\"janitor\"]");
        let e = error_of(&bad_role);
        assert_eq!(e.line, 15, "{e}");

        let e = error_of("[[fields]\nname=1");
        assert_eq!(e.line, 1, "{e}");
    }

    #[test]
    fn structural_errors() {
        let no_key = MINIMAL
            .replace("name = \"customer_no\"", "name = \"cust\"")
            .replace("customer_no = \"full\"", "cust = \"full\"");
        assert!(error_of(&no_key).message.contains("customer_no"));
        let dup = format!("{MINIMAL}\n[[segments]]\nid = \"own\"\n");
        assert!(error_of(&dup).message.contains("twice"));
        let reserved = MINIMAL.replace(
            "[[segments]]",
            "[[fields]]\nname = \"segment\"\ntype = \"text\"\nclass = \"personal\"\n\n[[segments]]",
        );
        assert!(error_of(&reserved).message.contains("reserved"));
        let stray = format!("colour = \"blue\"\n{MINIMAL}");
        assert!(error_of(&stray).message.contains("colour"));
    }

    #[test]
    fn a_step_up_rule_is_read_and_judged() {
        let s = Schema::parse(&format!(
            "{MINIMAL}\n[step_up]\nacr = [\"urn:mfa\"]\nacrs = [\"c1\"]\nmax_age_s = 300\n"
        ))
        .unwrap();
        let r = s.step_up.unwrap();
        assert_eq!(r.amr, ["mfa", "otp", "hwk"], "the default methods");
        let now = 10_000;
        assert!(r.met(Some("urn:mfa"), &[], &[], Some(now - 300), now));
        assert!(r.met(None, &["c1".into()], &[], Some(now), now));
        assert!(r.met(None, &[], &["pwd".into(), "otp".into()], Some(now), now));
        assert!(
            !r.met(Some("urn:pwd"), &[], &["pwd".into()], Some(now), now),
            "weak"
        );
        assert!(
            !r.met(Some("urn:mfa"), &[], &[], Some(now - 301), now),
            "old"
        );
        assert!(!r.met(Some("urn:mfa"), &[], &[], None, now), "no auth_time");
        assert!(Schema::parse(MINIMAL).unwrap().step_up.is_none());
        let none = format!("{MINIMAL}\n[step_up]\namr = []\n");
        assert!(error_of(&none).message.contains("at least one"));
        let long = format!("{MINIMAL}\n[step_up]\nmax_age_s = 100000\n");
        assert!(error_of(&long).message.contains("max_age_s"));
    }
}
