//! PC logon sessions from Windows security events: 4624 opens a session
//! (interactive, remote interactive or cached logons only), 4647/4634 close
//! it, 4800/4801 lock and unlock it, 4779/4778 disconnect and reconnect a
//! remote one. A logon id is unique only between reboots of one computer,
//! so sessions are keyed by host, boot and logon id: 4608 (startup) starts
//! a boot and ends whatever was open, 4609 and 1100 (shutdown) end it.
//! Windows does not reliably record logoffs: a session with no logoff ends
//! at the next boot, or `max_session` after it began, and says so.

use std::collections::{BTreeMap, HashMap};

use crate::{Error, mapping::LogonColumns, people, table::Table, time};

/// One event as exported.
#[derive(Clone, Debug)]
pub struct LogonEvent {
    pub line: usize,
    pub at: i64,
    pub id: u32,
    pub host: String,
    pub domain: String,
    pub account: String,
    pub logon_id: String,
    pub logon_type: Option<u32>,
}

/// One logon session on one PC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub host: String,
    pub domain: String,
    pub account: String,
    pub logon_id: String,
    /// The line of its 4624.
    pub line: usize,
    pub start: i64,
    pub end: i64,
    /// False when no logoff or shutdown was recorded and `end` is assumed.
    pub end_known: bool,
    /// A remote interactive (RDP) logon.
    pub remote: bool,
    /// Locked or disconnected stretches, sorted.
    pub away: Vec<(i64, i64)>,
}

impl Session {
    /// Whether someone could work in the session at `at`, give or take `skew`.
    pub fn active(&self, at: i64, skew: i64) -> bool {
        self.start - skew <= at
            && at <= self.end + skew
            && !self
                .away
                .iter()
                .any(|&(from, to)| from + skew < at && at < to - skew)
    }
}

/// Reads exported events through the mapping. Events of other ids are skipped.
pub fn read(bytes: &[u8], c: &LogonColumns) -> Result<Vec<LogonEvent>, Error> {
    let t = Table::read("logons", bytes, c.encoding)?;
    let at = t.require("time", &c.time)?;
    let event = t.require("event id", &c.event)?;
    let host = t.require("host", &c.host)?;
    let account = t.column(&c.account);
    let domain = t.column(&c.domain);
    let logon_id = t.column(&c.logon_id);
    let logon_type = t.column(&c.logon_type);
    let mut out = Vec::with_capacity(t.rows.len());
    for row in &t.rows {
        let id: u32 = row
            .get(event)
            .parse()
            .map_err(|_| Error::at("logons", row.line, "the event id is not a number"))?;
        if !matches!(
            id,
            4608 | 4609 | 1100 | 4624 | 4634 | 4647 | 4800 | 4801 | 4778 | 4779
        ) {
            continue;
        }
        let when = time::parse(row.get(at), c.time_format.as_deref())
            .ok_or_else(|| Error::at("logons", row.line, "the time is not a time"))?;
        let h = row.get(host);
        if h.is_empty() {
            return Err(Error::at("logons", row.line, "the host is empty"));
        }
        let (d, a) = match people::split_account(row.opt(account)) {
            (d, a) if d.is_empty() => (row.opt(domain).to_lowercase(), a),
            other => other,
        };
        let lid = row.opt(logon_id).to_lowercase();
        if matches!(id, 4624 | 4634 | 4647 | 4800 | 4801 | 4778 | 4779) && lid.is_empty() {
            return Err(Error::at("logons", row.line, "the logon id is empty"));
        }
        out.push(LogonEvent {
            line: row.line,
            at: when,
            id,
            host: people::host_name(h),
            domain: d,
            account: a,
            logon_id: lid,
            logon_type: row.opt(logon_type).parse().ok(),
        });
    }
    Ok(out)
}

/// Whether a 4624 is a person sitting at (or remotely in) the PC.
fn is_person_logon(e: &LogonEvent) -> bool {
    let interactive = matches!(e.logon_type, Some(2 | 10 | 11));
    let machine = e.account.is_empty()
        || e.account.ends_with('$')
        || e.account.starts_with("dwm-")
        || e.account.starts_with("umfd-")
        || matches!(
            e.account.as_str(),
            "system" | "anonymous logon" | "local service" | "network service"
        );
    interactive && !machine
}

/// The sessions the events describe, by host then start. `end` is where
/// the data ends (the period's end): a session still open there ends there
/// or at `max_session`, whichever is first, its end marked unknown.
pub fn sessions(events: &[LogonEvent], max_session: i64, end: i64) -> Vec<Session> {
    let mut by_host: BTreeMap<&str, Vec<&LogonEvent>> = BTreeMap::new();
    for e in events {
        by_host.entry(e.host.as_str()).or_default().push(e);
    }
    let mut out = Vec::new();
    for (_, mut evs) in by_host {
        evs.sort_by_key(|e| (e.at, e.line));
        let mut open: HashMap<&str, Session> = HashMap::new();
        let mut away_since: HashMap<&str, i64> = HashMap::new();
        let close = |s: Session, at: i64, known: bool, out: &mut Vec<Session>| {
            let bound = s.start + max_session;
            let (end, end_known) = if known || at <= bound {
                (at, known)
            } else {
                (bound, false)
            };
            out.push(Session {
                end,
                end_known,
                ..s
            });
        };
        for e in evs {
            let lid = e.logon_id.as_str();
            match e.id {
                4624 if is_person_logon(e) => {
                    if let Some(s) = open.remove(lid) {
                        // The id came round again: a reboot went unrecorded.
                        close(s, e.at, false, &mut out);
                    }
                    open.insert(
                        lid,
                        Session {
                            host: e.host.clone(),
                            domain: e.domain.clone(),
                            account: e.account.clone(),
                            logon_id: e.logon_id.clone(),
                            line: e.line,
                            start: e.at,
                            end: e.at,
                            end_known: false,
                            remote: e.logon_type == Some(10),
                            away: Vec::new(),
                        },
                    );
                }
                4634 | 4647 => {
                    if let Some(s) = open.remove(lid) {
                        close(s, e.at, true, &mut out);
                    }
                }
                4800 | 4779 if open.contains_key(lid) => {
                    away_since.entry(lid).or_insert(e.at);
                }
                4801 | 4778 => {
                    if let (Some(from), Some(s)) = (away_since.remove(lid), open.get_mut(lid)) {
                        s.away.push((from, e.at));
                    }
                }
                4608 | 4609 | 1100 => {
                    // Startup ends the previous boot's sessions at an unknown
                    // time before it; a shutdown ends them now.
                    let known = e.id != 4608;
                    let mut ending: Vec<Session> = open.drain().map(|(_, s)| s).collect();
                    ending.sort_by_key(|s| s.line);
                    for s in ending {
                        close(s, e.at, known, &mut out);
                    }
                    away_since.clear();
                }
                _ => {}
            }
        }
        let mut rest: Vec<Session> = open.into_values().collect();
        rest.sort_by_key(|s| s.line);
        for mut s in rest {
            if let Some(&from) = away_since.get(s.logon_id.as_str()) {
                s.away.push((from, end.max(from)));
            }
            let start = s.start;
            close(s, end.max(start), false, &mut out);
        }
    }
    for s in &mut out {
        // A lock still open when the session ended lasts to its end.
        s.away.retain(|&(from, _)| from < s.end);
    }
    out.sort_by(|a, b| (&a.host, a.start, a.line).cmp(&(&b.host, b.start, b.line)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(line: usize, at: i64, id: u32, account: &str, lid: &str, ty: Option<u32>) -> LogonEvent {
        LogonEvent {
            line,
            at,
            id,
            host: "pc-01".into(),
            domain: "corp".into(),
            account: account.into(),
            logon_id: lid.into(),
            logon_type: ty,
        }
    }

    #[test]
    fn sessions_pair_by_logon_id_and_survive_missing_logoffs() {
        let evs = vec![
            ev(1, 1000, 4624, "sato", "0x1", Some(2)),
            ev(2, 1001, 4624, "dwm-1", "0x2", Some(2)),
            ev(3, 1002, 4624, "sato", "0x3", Some(3)),
            ev(4, 1500, 4800, "sato", "0x1", None),
            ev(5, 1600, 4801, "sato", "0x1", None),
            ev(6, 2000, 4647, "sato", "0x1", None),
            ev(7, 2001, 4634, "sato", "0x1", None),
            // No logoff for suzuki: the next startup bounds the session.
            ev(8, 3000, 4624, "suzuki", "0x9", Some(2)),
            ev(9, 5000, 4608, "", "", None),
            // Logon id 0x9 again after the reboot: a new session.
            ev(10, 6000, 4624, "tanaka", "0x9", Some(10)),
        ];
        let s = sessions(&evs, 100_000, 9000);
        assert_eq!(s.len(), 3, "{s:#?}");
        assert_eq!(
            (s[0].account.as_str(), s[0].start, s[0].end, s[0].end_known),
            ("sato", 1000, 2000, true)
        );
        assert_eq!(s[0].away, vec![(1500, 1600)]);
        assert!(s[0].active(1400, 0) && !s[0].active(1550, 0) && s[0].active(1550, 60));
        assert_eq!(
            (s[1].account.as_str(), s[1].end, s[1].end_known),
            ("suzuki", 5000, false)
        );
        assert_eq!(
            (s[2].account.as_str(), s[2].end, s[2].remote),
            ("tanaka", 9000, true)
        );
        // A bound shorter than the gap to the next boot ends it sooner.
        let s = sessions(&evs, 600, 9000);
        assert_eq!((s[1].end, s[1].end_known), (3600, false));
    }

    #[test]
    fn exports_are_read_as_csv_or_json() {
        let csv = "TimeCreated,Id,MachineName,TargetUserName,TargetDomainName,TargetLogonId,LogonType\n2026/11/02 09:00:00,4624,PC-01.corp.example,Sato,CORP,0x1A2B,2\n2026/11/02 09:00:00,5379,PC-01,,,,\n";
        let evs = read(csv.as_bytes(), &LogonColumns::default()).unwrap();
        assert_eq!(evs.len(), 1);
        assert_eq!(
            (
                evs[0].host.as_str(),
                evs[0].account.as_str(),
                evs[0].domain.as_str()
            ),
            ("pc-01", "sato", "corp")
        );
        assert_eq!(evs[0].logon_id, "0x1a2b");
        let json = r#"[{"TimeCreated":"/Date(1793577600000)/","Id":4624,"MachineName":"PC-01","TargetUserName":"CORP\\sato","TargetLogonId":"0x1","LogonType":2}]"#;
        let evs = read(json.as_bytes(), &LogonColumns::default()).unwrap();
        assert_eq!((evs[0].at, evs[0].domain.as_str()), (1_793_577_600, "corp"));
        let bad = "TimeCreated,Id,MachineName\nsoon,4624,PC-01\n";
        let e = read(bad.as_bytes(), &LogonColumns::default()).unwrap_err();
        assert_eq!(e.to_string(), "logons, line 2: the time is not a time");
    }
}
