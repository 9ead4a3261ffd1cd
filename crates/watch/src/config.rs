//! The `[detect]` section of `mamori.toml`: where the rules are, how often
//! state is saved, how people are grouped, and where alerts go.

use serde::{Deserialize, Serialize};

use crate::{Result, WatchError};

/// Detection of risky behaviour (D1): where the rules are and where alerts go.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// Run detection inside `mamori serve`.
    pub enabled: bool,
    /// The rules file (thresholds, severities, shifts), relative to the data
    /// directory; when it does not exist the built-in defaults apply
    /// (`mamori detect rules` prints them).
    pub rules_file: String,
    /// Detection saves its state this often; a restart resumes from there.
    pub snapshot_every_s: u64,
    /// People are compared with others of the same role and department
    /// (`role-department`) or of the same role (`role`).
    pub peer_groups: String,
    /// The mail relay of `mailto:` channels.
    pub smtp: SmtpConfig,
    /// Where alerts are sent.
    pub channels: Vec<ChannelConfig>,
}

/// The mail relay alert e-mails go through.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    /// Relay host; empty: no e-mail channels.
    pub host: String,
    pub port: u16,
    /// Sender address of alert e-mails.
    pub from: String,
    /// `starttls` (required), `tls` (implicit TLS, usually port 465) or `none` (a relay on this host only).
    pub tls: String,
    /// CA certificate(s) to trust besides the system's (PEM), relative to the data directory.
    pub ca: String,
    /// Login at the relay, if it wants one; the password comes from MAMORI_SMTP_PASSWORD.
    pub username: String,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 587,
            from: "mamori@localhost".into(),
            tls: "starttls".into(),
            ca: String::new(),
            username: String::new(),
        }
    }
}

/// One notification channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    pub name: String,
    /// `https://…` or `http://…` (a webhook: JSON with a Slack/Teams `text`),
    /// `mailto:a@example.jp,b@example.jp` (through `detect.smtp`),
    /// `syslog+udp://host:514`, `syslog+tcp://host:601`, `syslog+tls://host:6514`.
    pub target: String,
    /// `all` (the security office), or `team:<login>`: alerts about the
    /// people that supervisor manages.
    #[serde(default = "all")]
    pub audience: String,
    /// Least severity sent: low, medium, high or critical.
    #[serde(default = "medium")]
    pub min_severity: String,
    /// For syslog+tls and https webhooks: the CA certificate(s) to trust
    /// (PEM), relative to the data directory (webhooks also trust the
    /// system's roots).
    #[serde(default)]
    pub ca: String,
}

fn all() -> String {
    "all".into()
}

fn medium() -> String {
    "medium".into()
}

impl Default for DetectConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            rules_file: "detect.toml".into(),
            snapshot_every_s: 60,
            peer_groups: "role-department".into(),
            smtp: SmtpConfig::default(),
            channels: Vec::new(),
        }
    }
}

impl DetectConfig {
    /// Checks what serde cannot: the peer grouping is one this version knows.
    pub fn check(&self) -> Result<()> {
        match self.peer_groups.as_str() {
            "role-department" | "role" => Ok(()),
            other => Err(WatchError::Config(format!(
                "detect.peer_groups '{other}': role-department or role"
            ))),
        }
    }
}
