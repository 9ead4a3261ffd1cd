//! The filters provisioning clients send (RFC 7644 §3.4.2.2), as far as
//! mamori answers them: equality on an attribute, clauses joined by `and`,
//! and a value path such as `members[value eq "…"]` (Entra asks whether a
//! user is in a group with `id eq "g" and members[value eq "u"]`). Any
//! other operator is refused with `invalidFilter`, never guessed at.

use super::ScimError;
use serde_json::Value;

/// The longest filter read.
const MAX_FILTER: usize = 1024;

/// `attr eq value` clauses that must all hold.
#[derive(Clone, Debug, PartialEq)]
pub struct Filter {
    pub clauses: Vec<Eq>,
}

/// One equality: the attribute folded to lower case (`username`,
/// `externalid`, `members.value`, an extension's full URN path), the value
/// as JSON (a string, a boolean or null).
#[derive(Clone, Debug, PartialEq)]
pub struct Eq {
    pub attr: String,
    pub value: Value,
}

impl Eq {
    /// The value as a string, for attributes that hold strings.
    pub fn text(&self) -> Option<&str> {
        self.value.as_str()
    }
}

impl Filter {
    pub fn parse(s: &str) -> Result<Filter, ScimError> {
        if s.len() > MAX_FILTER {
            return Err(ScimError::invalid_filter(format!(
                "a filter is at most {MAX_FILTER} bytes"
            )));
        }
        let mut p = Parser { s, at: 0 };
        let clauses = p.expr(None)?;
        p.space();
        if p.at != s.len() {
            return Err(unsupported());
        }
        Ok(Filter { clauses })
    }

    /// The one clause on `attr`, if the filter has one.
    pub fn get(&self, attr: &str) -> Option<&Eq> {
        self.clauses.iter().find(|c| c.attr == attr)
    }
}

fn unsupported() -> ScimError {
    ScimError::invalid_filter(
        "mamori answers filters of the form attribute eq \"value\", joined by and",
    )
}

struct Parser<'a> {
    s: &'a str,
    at: usize,
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.at..]
    }

    fn space(&mut self) {
        let r = self.rest();
        self.at += r.len() - r.trim_start().len();
    }

    /// Clauses joined by `and`; inside a value path, `prefix` is the
    /// multi-valued attribute the clauses' names are under.
    fn expr(&mut self, prefix: Option<&str>) -> Result<Vec<Eq>, ScimError> {
        let mut out = Vec::new();
        loop {
            self.space();
            out.extend(self.term(prefix)?);
            self.space();
            let r = self.rest();
            if r.get(..4).is_some_and(|w| w.eq_ignore_ascii_case("and ")) {
                self.at += 4;
                continue;
            }
            return Ok(out);
        }
    }

    fn term(&mut self, prefix: Option<&str>) -> Result<Vec<Eq>, ScimError> {
        let name = self.attr_path()?;
        let attr = match prefix {
            Some(p) => format!("{p}.{name}"),
            None => name,
        };
        if self.rest().starts_with('[') {
            if prefix.is_some() {
                return Err(unsupported());
            }
            self.at += 1;
            let inner = self.expr(Some(&attr))?;
            self.space();
            if !self.rest().starts_with(']') {
                return Err(unsupported());
            }
            self.at += 1;
            return Ok(inner);
        }
        self.space();
        let r = self.rest();
        if !r.get(..3).is_some_and(|w| w.eq_ignore_ascii_case("eq ")) {
            return Err(unsupported());
        }
        self.at += 3;
        self.space();
        let value = self.value()?;
        Ok(vec![Eq { attr, value }])
    }

    /// An attribute path: letters, digits, `_`, `-`, `.`, `:` and `$`
    /// (a schema URN's colons), folded to lower case.
    fn attr_path(&mut self) -> Result<String, ScimError> {
        let r = self.rest();
        let n = r
            .find(|c: char| !(c.is_ascii_alphanumeric() || "_-.:$".contains(c)))
            .unwrap_or(r.len());
        if n == 0 {
            return Err(unsupported());
        }
        self.at += n;
        Ok(r[..n].to_ascii_lowercase())
    }

    /// A JSON string, `true`, `false` or `null`.
    fn value(&mut self) -> Result<Value, ScimError> {
        let r = self.rest();
        for (word, v) in [
            ("true", Value::Bool(true)),
            ("false", Value::Bool(false)),
            ("null", Value::Null),
        ] {
            if r.get(..word.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(word))
            {
                self.at += word.len();
                return Ok(v);
            }
        }
        if !r.starts_with('"') {
            return Err(unsupported());
        }
        // The end of the string: the first quote not escaped.
        let bytes = r.as_bytes();
        let mut i = 1;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'"' => break,
                _ => i += 1,
            }
        }
        if i >= bytes.len() {
            return Err(ScimError::invalid_filter(
                "a string in the filter is not closed",
            ));
        }
        let v: Value = serde_json::from_str(&r[..=i])
            .map_err(|_| ScimError::invalid_filter("a string in the filter is not valid JSON"))?;
        self.at += i + 1;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eq(attr: &str, v: &str) -> Eq {
        Eq {
            attr: attr.into(),
            value: Value::String(v.into()),
        }
    }

    #[test]
    fn the_filters_providers_send() {
        let f = Filter::parse(r#"userName eq "sato.hanako@example.jp""#).unwrap();
        assert_eq!(f.clauses, vec![eq("username", "sato.hanako@example.jp")]);
        let f = Filter::parse(r#"externalId EQ "0a\"b""#).unwrap();
        assert_eq!(f.clauses, vec![eq("externalid", "0a\"b")]);
        // Entra's membership check.
        let f = Filter::parse(r#"id eq "g1" and members[value eq "u1"]"#).unwrap();
        assert_eq!(f.clauses, vec![eq("id", "g1"), eq("members.value", "u1")]);
        let f = Filter::parse(r#"displayName eq "東京 第一""#).unwrap();
        assert_eq!(f.get("displayname").unwrap().text(), Some("東京 第一"));
        let f = Filter::parse("active eq True").unwrap();
        assert_eq!(f.clauses[0].value, Value::Bool(true));
    }

    #[test]
    fn other_filters_are_refused_without_repeating_them() {
        for s in [
            r#"userName sw "090-1234""#,
            r#"userName eq "090-1234" or externalId eq "x""#,
            r#"userName eq "090-1234"#,
            r#"(userName eq "090-1234")"#,
            r#"not (userName eq "090-1234")"#,
            r#"members[value eq "090-1234"][x eq "y"]"#,
            "",
        ] {
            let e = Filter::parse(s).unwrap_err();
            assert_eq!(e.scim_type, Some("invalidFilter"), "{s}");
            assert!(!e.detail.contains("090-1234"));
        }
        assert!(Filter::parse(&format!("userName eq \"{}\"", "a".repeat(2000))).is_err());
    }
}
