//! The egress register (管理簿; seed 002 restricts what leaves the secure
//! area to whitelisted destinations kept in a register): each allowed
//! external destination is requested with its purpose, approved by the
//! security office — never by whoever asked — for a limited time, reviewed
//! by re-approval before it lapses, revoked at once when no longer needed,
//! and published as the proxy's allow-list (a squid ACL or a PAC file) from
//! the entries in force only.
//!
//! Like directives, the register is nothing but audit events
//! (`egress.request`, `egress.approve`, `egress.revoke`, `egress.publish`):
//! its state is the fold of them, so every entry's history is provable.

use std::collections::BTreeMap;
use std::net::IpAddr;

use mamori_core::jst::rfc3339;
use mamori_policy::Action;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{
    Caller, ErrorCode, Vault,
    error::{Result, VaultError},
    oversight::reports::AsOf,
};

/// The longest one approval lasts; a review is a re-approval before it ends.
pub const MAX_APPROVAL_DAYS: u32 = 366;

/// Where an entry stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EgressState {
    Pending,
    /// Approved and in force: published.
    Approved,
    /// Its approval ended without a re-approval: not published.
    Lapsed,
    Revoked,
}

/// One destination of the register.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EgressEntry {
    pub id: String,
    /// A host (`api.example.co.jp`), a domain and its subdomains
    /// (`.example.co.jp`), an address or a CIDR block.
    pub destination: String,
    pub port: u16,
    pub purpose: String,
    pub requested_by: String,
    pub requested_at: String,
    pub approved_by: Option<String>,
    pub approved_at: Option<String>,
    /// The approval's end; re-approve before it to keep the entry.
    pub valid_until: Option<String>,
    pub revoked_by: Option<String>,
    pub state: EgressState,
    /// Days the approval asked for.
    pub days: u32,
    #[serde(skip)]
    until: Option<i64>,
}

/// The allow-list's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ListFormat {
    /// squid.conf lines: `acl … dstdomain|dst …`, `acl … port …`, `http_access allow …`.
    Squid,
    /// A proxy auto-config file: allowed destinations through the proxy, the rest nowhere.
    Pac,
}

impl Vault {
    /// Asks for a destination to be allowed for `days` once approved.
    pub fn egress_request(
        &self,
        caller: &Caller,
        destination: &str,
        port: u16,
        purpose: &str,
        days: u32,
    ) -> Result<EgressEntry> {
        let decision = self
            .gate
            .decide_egress(&caller.principal, Action::EgressRequest);
        let event = self.gated(
            self.caller_event(caller, "egress.request", "ok"),
            &decision,
            "destinations are requested by supervisors, system administrators and the security office",
        )?;
        let destination = canonical(destination).ok_or_else(|| {
            VaultError::bad(
                ErrorCode::DestinationInvalid,
                "a destination is a host name, .domain (with its subdomains), an address or a CIDR block",
            )
        })?;
        if port == 0 || !(1..=MAX_APPROVAL_DAYS).contains(&days) {
            return Err(VaultError::bad(
                ErrorCode::DestinationInvalid,
                format!("a port is 1-65535 and an approval lasts 1-{MAX_APPROVAL_DAYS} days"),
            ));
        }
        let purpose = self
            .checked_comment(Some(purpose), true)?
            .unwrap_or_default();
        let id = mamori_core::ids::EgressId::random().to_string();
        let mut e = event;
        e.case_id = Some(id.clone());
        self.audit.append(
            e.detail("destination", destination.as_str())
                .detail("port", port)
                .detail("purpose", purpose)
                .detail("days", days),
        )?;
        self.egress_entry(&id)
    }

    /// Approves (or, for an approved entry, re-approves for another
    /// period: the review) — the security office, never the requester.
    pub fn egress_approve(&self, caller: &Caller, id: &str) -> Result<EgressEntry> {
        let decision = self
            .gate
            .decide_egress(&caller.principal, Action::EgressApprove);
        let mut event = self.gated(
            self.caller_event(caller, "egress.approve", "ok"),
            &decision,
            "destinations are approved by the security office",
        )?;
        let entry = self.egress_entry(id)?;
        if entry.requested_by == caller.principal.login {
            return Err(VaultError::Forbidden {
                reason: "nobody approves a destination they asked for".into(),
            });
        }
        if entry.state == EgressState::Revoked {
            return Err(VaultError::State {
                code: ErrorCode::EgressRevoked,
                message: "a revoked destination is requested anew".into(),
            });
        }
        let until = self.now() + i64::from(entry.days) * 86_400;
        event.case_id = Some(id.to_owned());
        self.audit.append(event.detail("until", until))?;
        self.egress_entry(id)
    }

    /// Revokes an entry at once (the security office).
    pub fn egress_revoke(&self, caller: &Caller, id: &str, reason: &str) -> Result<EgressEntry> {
        let decision = self
            .gate
            .decide_egress(&caller.principal, Action::EgressApprove);
        let mut event = self.gated(
            self.caller_event(caller, "egress.revoke", "ok"),
            &decision,
            "destinations are revoked by the security office",
        )?;
        let reason = self
            .checked_comment(Some(reason), true)?
            .unwrap_or_default();
        let entry = self.egress_entry(id)?;
        if entry.state == EgressState::Revoked {
            return Err(VaultError::State {
                code: ErrorCode::EgressRevoked,
                message: "this destination is revoked already".into(),
            });
        }
        event.case_id = Some(id.to_owned());
        self.audit.append(event.detail("reason", reason))?;
        self.egress_entry(id)
    }

    /// The register as it stands (anyone who may request or approve).
    pub fn egress_register(&self, caller: &Caller) -> Result<Vec<EgressEntry>> {
        let decision = self
            .gate
            .decide_egress(&caller.principal, Action::EgressRequest);
        let e = self.gated(
            self.caller_event(caller, "egress.list", "ok"),
            &decision,
            "the register is read by those who keep it",
        )?;
        let out: Vec<EgressEntry> = self.egress_entries()?.into_values().collect();
        self.audit.append(e.detail("returned", out.len()))?;
        Ok(out)
    }

    /// The allow-list of the entries in force, in `format`; `proxy` is the
    /// proxy a PAC file sends allowed traffic to. Recorded with its SHA-256,
    /// so the list a proxy runs can be matched to the register.
    pub fn egress_publish(
        &self,
        caller: &Caller,
        format: ListFormat,
        proxy: &str,
    ) -> Result<String> {
        let decision = self
            .gate
            .decide_egress(&caller.principal, Action::EgressApprove);
        let e = self.gated(
            self.caller_event(caller, "egress.publish", "ok"),
            &decision,
            "the allow-list is published by the security office",
        )?;
        let live: Vec<EgressEntry> = self
            .egress_entries()?
            .into_values()
            .filter(|x| x.state == EgressState::Approved)
            .collect();
        let text = match format {
            ListFormat::Squid => squid(&live),
            ListFormat::Pac => pac(&live, proxy)?,
        };
        let sha = hex::encode(Sha256::digest(text.as_bytes()));
        let e = e
            .detail(
                "format",
                if format == ListFormat::Squid {
                    "squid"
                } else {
                    "pac"
                },
            )
            .detail("entries", live.len())
            .detail("sha256", sha);
        self.audit.append(e)?;
        Ok(text)
    }

    fn egress_entry(&self, id: &str) -> Result<EgressEntry> {
        self.egress_entries()?
            .remove(id)
            .ok_or(VaultError::NotFound {
                what: "destination",
            })
    }

    /// The register folded from its events, by id (ids are random: the
    /// order says nothing; listed by destination).
    fn egress_entries(&self) -> Result<BTreeMap<String, EgressEntry>> {
        self.egress_entries_as_of(None, self.now())
    }

    /// The register as its events up to a report's checkpoints left it, in
    /// force or not at `now`.
    pub(crate) fn egress_entries_as_of(
        &self,
        as_of: Option<&AsOf>,
        now: i64,
    ) -> Result<BTreeMap<String, EgressEntry>> {
        let mut out: BTreeMap<String, EgressEntry> = BTreeMap::new();
        for action in ["egress.request", "egress.approve", "egress.revoke"] {
            self.each_event_held(action, as_of, |row, e| {
                let Some(id) = e.event.case_id.clone() else {
                    return Ok(());
                };
                let d = &e.event.detail;
                let text = |k: &str| {
                    d.get(k)
                        .and_then(|v| v.as_str())
                        .unwrap_or_default()
                        .to_owned()
                };
                let num = |k: &str| d.get(k).and_then(|v| v.as_i64()).unwrap_or_default();
                let by = e.event.actor.trim_start_matches("user:").to_owned();
                let at = row.ts.div_euclid(1_000_000);
                match action {
                    "egress.request" => {
                        out.insert(
                            id.clone(),
                            EgressEntry {
                                id,
                                destination: text("destination"),
                                port: u16::try_from(num("port")).unwrap_or_default(),
                                purpose: text("purpose"),
                                requested_by: by,
                                requested_at: rfc3339(at),
                                approved_by: None,
                                approved_at: None,
                                valid_until: None,
                                revoked_by: None,
                                state: EgressState::Pending,
                                days: u32::try_from(num("days")).unwrap_or_default(),
                                until: None,
                            },
                        );
                    }
                    "egress.approve" => {
                        if let Some(x) = out.get_mut(&id) {
                            x.approved_by = Some(by);
                            x.approved_at = Some(rfc3339(at));
                            x.until = Some(num("until"));
                        }
                    }
                    _ => {
                        if let Some(x) = out.get_mut(&id) {
                            x.revoked_by = Some(by);
                        }
                    }
                }
                Ok(())
            })?;
        }
        for x in out.values_mut() {
            x.valid_until = x.until.map(rfc3339);
            x.state = match (&x.revoked_by, x.until) {
                (Some(_), _) => EgressState::Revoked,
                (None, Some(until)) if until > now => EgressState::Approved,
                (None, Some(_)) => EgressState::Lapsed,
                (None, None) => EgressState::Pending,
            };
        }
        Ok(out)
    }
}

/// A destination as the register keeps it (lower case), or None when it is
/// not a host name, `.domain`, address or CIDR block.
fn canonical(d: &str) -> Option<String> {
    let d = d.trim().to_ascii_lowercase();
    if d.parse::<IpAddr>().is_ok() {
        return Some(d);
    }
    if let Some((ip, bits)) = d.split_once('/') {
        let ip: IpAddr = ip.parse().ok()?;
        let bits: u8 = bits.parse().ok()?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        return (bits <= max).then_some(d);
    }
    let host = d.strip_prefix('.').unwrap_or(&d);
    let labels: Vec<&str> = host.split('.').collect();
    let ok = host.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    ok.then_some(d)
}

fn is_address(d: &str) -> bool {
    d.split('/')
        .next()
        .is_some_and(|a| a.parse::<IpAddr>().is_ok())
}

/// squid.conf lines, one ACL pair per port.
fn squid(live: &[EgressEntry]) -> String {
    let mut by_port: BTreeMap<u16, (Vec<&str>, Vec<&str>)> = BTreeMap::new();
    for x in live {
        let slot = by_port.entry(x.port).or_default();
        if is_address(&x.destination) {
            slot.1.push(&x.destination);
        } else {
            slot.0.push(&x.destination);
        }
    }
    let mut s = String::from(
        "# mamori egress register: the destinations approved and in force.\n\
         # Include before your own `http_access deny all`.\n",
    );
    for (port, (domains, addresses)) in by_port {
        s.push_str(&format!("acl mamori_port_{port} port {port}\n"));
        for (kind, list) in [("dstdomain", domains), ("dst", addresses)] {
            if list.is_empty() {
                continue;
            }
            let name = format!("mamori_{kind}_{port}");
            s.push_str(&format!("acl {name} {kind} {}\n", list.join(" ")));
            s.push_str(&format!("http_access allow {name} mamori_port_{port}\n"));
        }
    }
    s
}

/// A PAC file: the approved hosts and domains through `proxy`, everything
/// else to a proxy that does not exist (blocked). Addresses and ports are
/// the proxy's to enforce (squid list).
fn pac(live: &[EgressEntry], proxy: &str) -> Result<String> {
    let valid = proxy
        .rsplit_once(':')
        .is_some_and(|(h, p)| canonical(h).is_some() && p.parse::<u16>().is_ok_and(|p| p > 0));
    if !valid {
        return Err(VaultError::bad(
            ErrorCode::DestinationInvalid,
            "the proxy is host:port",
        ));
    }
    let hosts: Vec<String> = live
        .iter()
        .filter(|x| !is_address(&x.destination))
        .map(|x| format!("\"{}\"", x.destination))
        .collect();
    Ok(format!(
        "// mamori egress register: the destinations approved and in force.\n\
         function FindProxyForURL(url, host) {{\n\
         \x20 var allowed = [{}];\n\
         \x20 host = host.toLowerCase();\n\
         \x20 for (var i = 0; i < allowed.length; i++) {{\n\
         \x20   var d = allowed[i];\n\
         \x20   if (d.charAt(0) == \".\" ? dnsDomainIs(host, d) || host == d.substring(1) : host == d) {{\n\
         \x20     return \"PROXY {proxy}\";\n\
         \x20   }}\n\
         \x20 }}\n\
         \x20 return \"PROXY 127.0.0.1:9\";\n\
         }}\n",
        hosts.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::canonical;

    #[test]
    fn destinations_are_hosts_domains_addresses_or_blocks() {
        for ok in [
            "api.example.co.jp",
            ".Example.com",
            "192.0.2.10",
            "2001:db8::1",
            "10.0.0.0/8",
        ] {
            assert!(canonical(ok).is_some(), "{ok}");
        }
        assert_eq!(canonical(" .Example.COM ").as_deref(), Some(".example.com"));
        for bad in [
            "",
            "localhost",
            "a..b",
            "-a.com",
            "ex ample.com",
            "10.0.0.0/33",
            "*.example.com",
            "http://x.com",
        ] {
            assert!(canonical(bad).is_none(), "{bad}");
        }
    }
}
