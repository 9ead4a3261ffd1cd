//! The column mapping: which header of each outside file holds what, and
//! which cell values mean entry, exit and success. Every part has defaults
//! covering common English and Japanese exports, so a mapping file only
//! names what differs (`mamori reconcile run --mapping map.toml`).

use serde::Deserialize;

use crate::{Error, table::Encoding};

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// The whole mapping file.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Mapping {
    pub rooms: RoomColumns,
    pub logons: LogonColumns,
    pub people: PeopleColumns,
    pub hosts: HostColumns,
    pub applications: ApplicationColumns,
}

impl Mapping {
    /// Reads a mapping file (TOML). Its errors name a line, never a value.
    pub fn parse(text: &str) -> Result<Mapping, Error> {
        toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |s| {
                text[..s.start.min(text.len())].matches('\n').count() + 1
            });
            // toml's messages for a wrong type quote the value; only those
            // naming keys are passed on.
            let m = e.message();
            let message = if m.starts_with("unknown field") || m.starts_with("missing field") {
                m.to_owned()
            } else {
                "not a valid value here (expected a list of header names, or an encoding)"
                    .to_owned()
            };
            Error::at("mapping", line, message)
        })
    }
}

/// A room entry/exit log: one row per badge event at a door of the secure area.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoomColumns {
    pub encoding: Encoding,
    /// The time, or the time of day when `date` names a column of its own.
    pub time: Vec<String>,
    pub date: Vec<String>,
    /// A chrono format for local (Japan) times the defaults do not read.
    pub time_format: Option<String>,
    pub door: Vec<String>,
    /// The badge (card) id, mapped to a person by the people file …
    pub badge: Vec<String>,
    /// … or the person's vault login directly.
    pub person: Vec<String>,
    pub direction: Vec<String>,
    pub entry: Vec<String>,
    pub exit: Vec<String>,
    /// The result column (absent: every row succeeded) and its success values.
    pub result: Vec<String>,
    pub success: Vec<String>,
}

impl Default for RoomColumns {
    fn default() -> Self {
        Self {
            encoding: Encoding::Auto,
            time: names(&["time", "timestamp", "datetime", "日時", "時刻", "通過日時"]),
            date: names(&["date", "日付"]),
            time_format: None,
            door: names(&["door", "reader", "扉", "扉名", "ドア", "ゲート"]),
            badge: names(&[
                "badge",
                "card",
                "card_id",
                "カード番号",
                "カードID",
                "社員番号",
            ]),
            person: names(&["login", "ログイン"]),
            direction: names(&["direction", "event", "区分", "入退", "入退区分"]),
            entry: names(&["in", "entry", "enter", "badgein", "入", "入室"]),
            exit: names(&["out", "exit", "leave", "badgeout", "出", "退室"]),
            result: names(&["result", "status", "access_status", "結果", "判定"]),
            success: names(&["ok", "success", "granted", "許可", "成功", "正常"]),
        }
    }
}

/// Windows security events exported as CSV or JSON.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogonColumns {
    pub encoding: Encoding,
    pub time: Vec<String>,
    pub time_format: Option<String>,
    pub event: Vec<String>,
    pub host: Vec<String>,
    pub account: Vec<String>,
    pub domain: Vec<String>,
    pub logon_id: Vec<String>,
    pub logon_type: Vec<String>,
}

impl Default for LogonColumns {
    fn default() -> Self {
        Self {
            encoding: Encoding::Auto,
            time: names(&["TimeCreated", "TimeGenerated", "@timestamp", "time", "日時"]),
            time_format: None,
            event: names(&["Id", "EventID", "event_id", "EventCode", "イベントID"]),
            host: names(&[
                "MachineName",
                "Computer",
                "computer_name",
                "hostname",
                "host",
            ]),
            account: names(&["TargetUserName", "AccountName", "user"]),
            domain: names(&["TargetDomainName", "AccountDomain", "domain"]),
            logon_id: names(&["TargetLogonId", "LogonID", "LogonId", "logon_id"]),
            logon_type: names(&["LogonType", "logon_type"]),
        }
    }
}

/// The person map: a vault login with the badge and PC account it goes by.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PeopleColumns {
    pub encoding: Encoding,
    pub login: Vec<String>,
    pub badge: Vec<String>,
    pub pc_account: Vec<String>,
}

impl Default for PeopleColumns {
    fn default() -> Self {
        Self {
            encoding: Encoding::Auto,
            login: names(&["login", "ログイン", "ログインID"]),
            badge: names(&["badge", "card", "カード番号", "社員番号"]),
            pc_account: names(&["pc_account", "account", "PCアカウント", "アカウント"]),
        }
    }
}

/// The dedicated PCs: host name and the address the vault sees them at.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HostColumns {
    pub encoding: Encoding,
    pub host: Vec<String>,
    pub address: Vec<String>,
}

impl Default for HostColumns {
    fn default() -> Self {
        Self {
            encoding: Encoding::Auto,
            host: names(&["host", "hostname", "端末名", "ホスト名"]),
            address: names(&["address", "ip", "IPアドレス", "アドレス"]),
        }
    }
}

/// Pre-applications (事前申請) for work in the secure area, one row per
/// person and day, from a system outside the vault.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApplicationColumns {
    pub encoding: Encoding,
    pub login: Vec<String>,
    pub badge: Vec<String>,
    pub date: Vec<String>,
}

impl Default for ApplicationColumns {
    fn default() -> Self {
        Self {
            encoding: Encoding::Auto,
            login: names(&["login", "ログイン", "申請者"]),
            badge: names(&["badge", "カード番号", "社員番号"]),
            date: names(&["date", "day", "日付", "作業日", "利用日"]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mapping_names_only_what_differs() {
        let m = Mapping::parse(
            "[rooms]\nencoding = \"shift_jis\"\ndoor = [\"読取機\"]\nentry = [\"IN-OK\"]\n",
        )
        .unwrap();
        assert_eq!(m.rooms.encoding, Encoding::ShiftJis);
        assert_eq!(m.rooms.door, vec!["読取機".to_owned()]);
        assert!(m.rooms.time.contains(&"日時".to_owned()));
        assert!(m.logons.event.contains(&"EventID".to_owned()));
    }

    #[test]
    fn unknown_keys_are_refused_by_line() {
        let e = Mapping::parse("[rooms]\n\ndoors = [\"x\"]\n").unwrap_err();
        assert!(e.to_string().starts_with("mapping, line 3:"), "{e}");
        assert!(!e.to_string().contains("\"x\""));
        let e = Mapping::parse("[rooms]\ndoor = \"secret\"\n").unwrap_err();
        assert!(e.to_string().starts_with("mapping, line 2:"), "{e}");
        assert!(!e.to_string().contains("secret"), "{e}");
    }
}
