//! Delivery of alerts, one thread per channel: each takes what is due from
//! the store's outbox, sends it, and records the outcome; a failed delivery
//! is retried with backoff (1, 2, 4 … seconds, at most five minutes apart),
//! so a dead channel only delays itself.
//!
//! Channels: a webhook (JSON with a Slack/Teams `text`), e-mail through the
//! configured relay, or syslog (RFC 5424 over UDP, TCP or TLS).

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use chrono::{DateTime, Utc};
use mamori_audit::Signal;
use mamori_detect::Severity;
use mamori_store::{AlertRow, Backend};

use crate::{
    ChannelConfig, DetectConfig, DetectStatus, Result, SmtpConfig, Surroundings, WatchError,
};

/// Where a channel delivers.
pub(crate) enum Target {
    Webhook {
        url: String,
        client: mamori_outbound::Client,
    },
    Syslog(Box<mamori_audit::siem::Sink>),
    Mail(Box<Mail>),
}

/// An e-mail channel: the relay and the recipients.
pub(crate) struct Mail {
    transport: lettre::SmtpTransport,
    from: lettre::message::Mailbox,
    to: Vec<lettre::message::Mailbox>,
}

impl Mail {
    fn parse(
        list: &str,
        smtp: &SmtpConfig,
        around: &Surroundings,
    ) -> std::result::Result<Mail, String> {
        use lettre::transport::smtp::{
            authentication::Credentials,
            client::{Certificate, Tls, TlsParameters},
        };
        if smtp.host.is_empty() {
            return Err("mailto: channels need [detect.smtp] host".into());
        }
        let to = list
            .split(',')
            .map(|a| {
                a.trim()
                    .parse()
                    .map_err(|_| format!("'{a}' is not an e-mail address"))
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let from = smtp
            .from
            .parse()
            .map_err(|_| format!("detect.smtp.from '{}' is not an e-mail address", smtp.from))?;
        let params = || {
            let mut b = TlsParameters::builder(smtp.host.clone());
            if !smtp.ca.is_empty() {
                let pem = std::fs::read(around.dir.join(&smtp.ca))
                    .map_err(|e| format!("{}: {e}", smtp.ca))?;
                b = b.add_root_certificate(Certificate::from_pem(&pem).map_err(|e| e.to_string())?);
            }
            b.build_rustls().map_err(|e| e.to_string())
        };
        let tls = match smtp.tls.as_str() {
            "none" => Tls::None,
            "starttls" => Tls::Required(params()?),
            "tls" => Tls::Wrapper(params()?),
            other => return Err(format!("detect.smtp.tls '{other}': none, starttls or tls")),
        };
        mamori_audit::tls::install_provider();
        let mut b = lettre::SmtpTransport::builder_dangerous(&smtp.host)
            .port(smtp.port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(10)));
        if !smtp.username.is_empty() {
            let password = around.smtp_password.as_deref().cloned().unwrap_or_default();
            b = b.credentials(Credentials::new(smtp.username.clone(), password));
        }
        Ok(Mail {
            transport: b.build(),
            from,
            to,
        })
    }

    fn send(&self, subject: &str, body: String) -> std::result::Result<(), String> {
        use lettre::Transport;
        let mut m = lettre::Message::builder()
            .from(self.from.clone())
            .subject(subject);
        for to in &self.to {
            m = m.to(to.clone());
        }
        let message = m
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| e.to_string())?;
        self.transport
            .send(&message)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

impl Target {
    pub fn parse(c: &ChannelConfig, cfg: &DetectConfig, around: &Surroundings) -> Result<Target> {
        let bad = |m: &str| WatchError::Config(format!("detect channel '{}': {m}", c.name));
        if Severity::parse(&c.min_severity).is_none() {
            return Err(bad("min_severity must be low, medium, high or critical"));
        }
        if c.audience != "all" && !c.audience.starts_with("team:") {
            return Err(bad("audience must be 'all' or 'team:<login>'"));
        }
        if c.target.starts_with("http://") || c.target.starts_with("https://") {
            // No redirect is followed: an alert goes to the configured
            // receiver or nowhere.
            let ca = (!c.ca.is_empty()).then(|| around.dir.join(&c.ca));
            let client =
                mamori_outbound::Client::new(ca.as_deref(), 64 * 1024).map_err(|e| bad(&e))?;
            return Ok(Target::Webhook {
                url: c.target.clone(),
                client,
            });
        }
        if let Some(rest) = c.target.strip_prefix("syslog+") {
            let ca = (!c.ca.is_empty()).then(|| around.dir.join(&c.ca));
            let sink = mamori_audit::siem::Sink::parse(rest, ca.as_deref())
                .map_err(|e| bad(&e.to_string()))?;
            if matches!(
                sink,
                mamori_audit::siem::Sink::File(_) | mamori_audit::siem::Sink::Stdout(_)
            ) {
                return Err(bad(
                    "syslog targets are syslog+udp://, syslog+tcp:// or syslog+tls://",
                ));
            }
            return Ok(Target::Syslog(Box::new(sink)));
        }
        if let Some(list) = c.target.strip_prefix("mailto:") {
            let mail = Mail::parse(list, &cfg.smtp, around).map_err(|e| bad(&e))?;
            return Ok(Target::Mail(Box::new(mail)));
        }
        Err(bad(
            "target must be an http(s):// webhook, mailto:ADDRESSES or syslog+udp|tcp|tls://host:port",
        ))
    }

    fn send(&mut self, a: &AlertRow) -> std::result::Result<(), String> {
        let (ja, en) =
            mamori_detect::alert::summary_named(&a.rule, &a.variant, a.value, a.threshold);
        let severity = a.severity.as_str();
        let who = match &a.tenant {
            Some(t) => format!("{} ({t})", a.login),
            None => a.login.clone(),
        };
        match self {
            Target::Webhook { url, client } => {
                let text = format!("[mamori] {severity}: {ja} / {en} — {who} — alert {}", a.id);
                let body = serde_json::json!({ "text": text, "alert": a, "summary_ja": ja, "summary_en": en });
                let resp = client
                    .http()
                    .post(url.as_str())
                    .json(&body)
                    .send()
                    .map_err(|e| e.to_string())?;
                if resp.status().is_success() {
                    Ok(())
                } else {
                    Err(format!("{url} answered {}", resp.status()))
                }
            }
            Target::Mail(mail) => {
                let subject = format!("[mamori] {severity}: {ja} / {en}");
                let at = DateTime::<Utc>::from_timestamp(a.at, 0)
                    .unwrap_or_default()
                    .with_timezone(&mamori_core::jst::zone());
                let body = format!(
                    "{ja}\n{en}\n\n重大度 severity: {severity}\n対象 user: {who}\nルール rule: {} {}\n\
                     日時 at: {}\n証跡 evidence: {}#{}\nリスク risk: {:.0}\n\n\
                     mamori alert show {}\n",
                    a.rule,
                    a.variant,
                    at.format("%Y-%m-%d %H:%M:%S JST"),
                    a.evidence_log,
                    a.evidence_seq,
                    a.risk,
                    a.id,
                );
                mail.send(&subject, body)
            }
            Target::Syslog(sink) => {
                let level = match severity {
                    "critical" => 2,
                    "high" => 3,
                    "medium" => 4,
                    _ => 5,
                };
                let params = [
                    ("alert", a.id.clone()),
                    ("rule", a.rule.clone()),
                    ("severity", severity.to_owned()),
                    ("user", a.login.clone()),
                    ("tenant", a.tenant.clone().unwrap_or_default()),
                    ("evidence", format!("{}#{}", a.evidence_log, a.evidence_seq)),
                ];
                let at = DateTime::<Utc>::from_timestamp(a.at, 0).unwrap_or_default();
                let msg = mamori_audit::siem::message(
                    level,
                    &at,
                    &mamori_audit::siem::hostname(),
                    "alert",
                    &params,
                    &format!("{en} — {who}"),
                );
                sink.deliver(&msg).map_err(|e| e.to_string())
            }
        }
    }
}

/// Delivers one channel's notifications, retrying with backoff.
pub(crate) struct Notifier {
    pub store: Arc<dyn Backend>,
    pub name: String,
    pub target: Target,
    pub status: Arc<DetectStatus>,
}

impl Notifier {
    pub fn run(mut self, stop: &AtomicBool, wake: &Signal) {
        while !stop.load(Ordering::SeqCst) {
            let seen = wake.generation();
            let sent = self.round().unwrap_or_else(|e| {
                tracing::error!(channel = %self.name, error = %e, "notification round failed");
                0
            });
            if sent == 0 {
                wake.wait(seen, Duration::from_millis(500));
            }
        }
    }

    /// Delivers what is due; returns how many were attempted.
    fn round(&mut self) -> Result<usize> {
        let now = Utc::now().timestamp();
        let due = self.store.due_deliveries(&self.name, now, 20)?;
        for d in &due {
            let Some(alert) = self.store.alert(&d.alert)? else {
                self.store.delivery_result(d.id, true, now, None)?;
                continue;
            };
            match self.target.send(&alert) {
                Ok(()) => {
                    self.status.delivered.fetch_add(1, Ordering::Relaxed);
                    self.store.delivery_result(d.id, true, now, None)?;
                }
                Err(e) => {
                    // 1, 2, 4 … seconds, at most five minutes apart.
                    let wait = 1i64 << d.attempts.min(8);
                    self.status
                        .delivery_failures
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(channel = %self.name, alert = %d.alert, error = %e, retry_in_s = wait.min(300),
                        "alert notification failed");
                    self.store
                        .delivery_result(d.id, false, now + wait.min(300), Some(&e))?;
                }
            }
        }
        Ok(due.len())
    }
}
