//! Who is who across systems: the person map (a vault login with the badge
//! and PC account it goes by — the join key door and PC logs lack), the
//! dedicated PCs with the address the vault sees each at, and the
//! pre-applications kept outside the vault.

use std::collections::{BTreeSet, HashMap};

use crate::{
    Error,
    mapping::{ApplicationColumns, HostColumns, PeopleColumns},
    table::Table,
    time,
};

/// Badges and PC accounts to vault logins.
#[derive(Debug, Default)]
pub struct People {
    badges: HashMap<String, String>,
    /// `domain\user` (or `\user` for an entry without a domain), lowercase.
    accounts: HashMap<String, String>,
    logins: BTreeSet<String>,
}

impl People {
    pub fn read(bytes: &[u8], columns: &PeopleColumns) -> Result<People, Error> {
        let t = Table::read("people", bytes, columns.encoding)?;
        let login = t.require("login", &columns.login)?;
        let badge = t.column(&columns.badge);
        let account = t.column(&columns.pc_account);
        let mut people = People::default();
        for row in &t.rows {
            let who = row.get(login);
            if who.is_empty() {
                return Err(Error::at("people", row.line, "the login is empty"));
            }
            people.logins.insert(who.to_owned());
            let b = row.opt(badge);
            if !b.is_empty() {
                claim(&mut people.badges, b.to_owned(), who, row.line, "badge")?;
            }
            let a = row.opt(account);
            if !a.is_empty() {
                let (domain, user) = split_account(a);
                let key = format!("{domain}\\{user}");
                claim(&mut people.accounts, key, who, row.line, "PC account")?;
            }
        }
        Ok(people)
    }

    /// Whether the map names this vault login.
    pub fn knows(&self, login: &str) -> bool {
        self.logins.contains(login)
    }

    pub fn by_badge(&self, badge: &str) -> Option<&str> {
        self.badges.get(badge).map(String::as_str)
    }

    /// The login of a PC account: `domain\user` exactly, or the bare user
    /// name when the map gave it without a domain.
    pub fn by_account(&self, domain: &str, user: &str) -> Option<&str> {
        let domain = domain.to_lowercase();
        let user = user.to_lowercase();
        self.accounts
            .get(&format!("{domain}\\{user}"))
            .or_else(|| self.accounts.get(&format!("\\{user}")))
            .map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.logins.len()
    }

    pub fn is_empty(&self) -> bool {
        self.logins.is_empty()
    }
}

/// `DOMAIN\user`, `user@domain` or `user`, lowercase, as (domain, user).
pub fn split_account(account: &str) -> (String, String) {
    let a = account.trim().to_lowercase();
    if let Some((d, u)) = a.split_once('\\') {
        return (d.to_owned(), u.to_owned());
    }
    if let Some((u, d)) = a.split_once('@') {
        // A UPN's suffix is a DNS domain; its first label is the usual
        // NetBIOS name of the domain.
        let netbios = d.split('.').next().unwrap_or(d);
        return (netbios.to_owned(), u.to_owned());
    }
    (String::new(), a)
}

fn claim(
    map: &mut HashMap<String, String>,
    key: String,
    login: &str,
    line: usize,
    what: &str,
) -> Result<(), Error> {
    match map.get(&key) {
        Some(other) if other != login => Err(Error::at(
            "people",
            line,
            format!("this {what} is already mapped to another login"),
        )),
        _ => {
            map.insert(key, login.to_owned());
            Ok(())
        }
    }
}

/// The dedicated PCs of the secure area, by the address a vault request comes from.
#[derive(Debug, Default)]
pub struct Hosts {
    by_address: HashMap<String, String>,
}

impl Hosts {
    pub fn read(bytes: &[u8], columns: &HostColumns) -> Result<Hosts, Error> {
        let t = Table::read("hosts", bytes, columns.encoding)?;
        let host = t.require("host", &columns.host)?;
        let address = t.require("address", &columns.address)?;
        let mut by_address = HashMap::new();
        for row in &t.rows {
            let (h, a) = (row.get(host), row.get(address));
            if h.is_empty() || a.is_empty() {
                return Err(Error::at(
                    "hosts",
                    row.line,
                    "host and address are both needed",
                ));
            }
            if by_address.insert(a.to_owned(), host_name(h)).is_some() {
                return Err(Error::at("hosts", row.line, "this address is listed twice"));
            }
        }
        Ok(Hosts { by_address })
    }

    /// The dedicated PC at `address` (as the vault recorded a client).
    pub fn at(&self, address: &str) -> Option<&str> {
        self.by_address.get(address).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.by_address.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_address.is_empty()
    }
}

/// A host name as Windows events and the host map are compared: lowercase,
/// without a DNS suffix (`PC-01.corp.example` is `pc-01`).
pub fn host_name(name: &str) -> String {
    let n = name.trim().to_lowercase();
    n.split('.').next().unwrap_or(&n).to_owned()
}

/// Pre-applications from outside the vault: (login, Japan day) pairs.
pub fn read_applications(
    bytes: &[u8],
    columns: &ApplicationColumns,
    people: &People,
) -> Result<Vec<(String, i64)>, Error> {
    let t = Table::read("applications", bytes, columns.encoding)?;
    let date = t.require("date", &columns.date)?;
    let login = t.column(&columns.login);
    let badge = t.column(&columns.badge);
    if login.is_none() && badge.is_none() {
        t.require("login or badge", &columns.login)?;
    }
    let mut out = Vec::with_capacity(t.rows.len());
    for row in &t.rows {
        let day = time::day(row.get(date))
            .ok_or_else(|| Error::at("applications", row.line, "the date is not a date"))?;
        let who = match row.opt(login) {
            "" => people.by_badge(row.opt(badge)).ok_or_else(|| {
                Error::at(
                    "applications",
                    row.line,
                    "the badge is not in the person map",
                )
            })?,
            l => l,
        };
        out.push((who.to_owned(), day));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_match_with_or_without_their_domain() {
        let p = People::read(
            "login,badge,pc_account\nsato,B-1,CORP\\Sato\nsuzuki,B-2,suzuki\n".as_bytes(),
            &PeopleColumns::default(),
        )
        .unwrap();
        assert_eq!(p.by_account("corp", "SATO"), Some("sato"));
        assert_eq!(p.by_account("other", "sato"), None);
        assert_eq!(p.by_account("anything", "Suzuki"), Some("suzuki"));
        assert_eq!(p.by_account("corp", "sato@corp.example"), None);
        let (d, u) = split_account("Sato@corp.example");
        assert_eq!(p.by_account(&d, &u), Some("sato"));
        assert_eq!(p.by_badge("B-2"), Some("suzuki"));
        assert!(p.knows("sato") && !p.knows("tanaka"));
    }

    #[test]
    fn one_badge_for_two_people_is_refused() {
        let e = People::read(
            "login,badge\nsato,B-1\nsuzuki,B-1\n".as_bytes(),
            &PeopleColumns::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "people, line 3: this badge is already mapped to another login"
        );
        let e = Hosts::read(
            "host,address\nPC-01,10.0.0.1\nPC-02,10.0.0.1\n".as_bytes(),
            &HostColumns::default(),
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "hosts, line 3: this address is listed twice");
    }
}
