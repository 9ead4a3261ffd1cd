//! Shipping the audit log to a SIEM: each event rendered as a JSON line, an
//! RFC 5424 syslog message or an ArcSight CEF record, written to stdout, a
//! file, or a syslog receiver over TCP (RFC 6587 octet counting), TLS
//! (RFC 5425, the receiver's CA given explicitly) or UDP (RFC 5426, one
//! message per datagram).
//!
//! At least once: the shipper remembers, per log, the last event the sink
//! took (a cursor file, replaced atomically after the sink flushed), so a
//! crash or a dead receiver means events are sent again, never skipped;
//! every message names its log and sequence number for de-duplication.
//! The shipper only reads the audit database — it runs beside the vault,
//! not inside a request — so a slow or dead SIEM never holds up data
//! access (HashiCorp Vault #5361 is the failure this design avoids): the
//! log is the source of truth and the shipper catches up.

use std::{
    collections::BTreeMap,
    fs::{File, OpenOptions},
    io::{BufWriter, Write},
    net::{TcpStream, ToSocketAddrs, UdpSocket},
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use chrono::{DateTime, SecondsFormat, Utc};
use mamori_store::{AuditRow, AuditStore};
use rustls::{ClientConfig, ClientConnection, StreamOwned, pki_types::ServerName};
use serde::{Deserialize, Serialize};

/// The IANA private enterprise number of RFC 5424 structured data. 32473
/// is the one reserved for documentation (RFC 5612); SIEM parsers key on
/// the SD-ID as a whole, `mamori@32473`.
const SD_ID: &str = "mamori@32473";
/// syslog facility 13, "log audit".
const FACILITY: u8 = 13;
/// Events per log per round.
const BATCH: usize = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The event's canonical JSON, one per line: what its hash covers.
    Jsonl,
    Rfc5424,
    Cef,
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "jsonl" | "json" => Ok(Self::Jsonl),
            "rfc5424" | "syslog" => Ok(Self::Rfc5424),
            "cef" => Ok(Self::Cef),
            _ => Err(format!("unknown format '{s}': jsonl, rfc5424 or cef")),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ShipError {
    #[error(
        "bad sink '{0}': expected stdout, a file path, tcp://host:port, tls://host:port or udp://host:port"
    )]
    BadSink(String),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("the sink is unavailable: {0}")]
    Sink(String),
    #[error("audit store: {0}")]
    Store(#[from] mamori_store::StoreError),
    #[error("cursor {path}: {message}")]
    Cursor { path: String, message: String },
}

fn sink_err(e: std::io::Error) -> ShipError {
    ShipError::Sink(e.to_string())
}

/// The fields a SIEM filters on, read from an event's canonical JSON.
#[derive(Deserialize)]
struct Fields {
    log: String,
    seq: u64,
    actor: String,
    #[serde(default)]
    actor_role: Option<String>,
    action: String,
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    purpose: Option<String>,
    #[serde(default)]
    case_id: Option<String>,
    #[serde(default)]
    records: Vec<String>,
    decision: String,
    reason: String,
    #[serde(default)]
    client: Option<String>,
}

/// One event as one message (without transport framing).
pub fn render(format: Format, row: &AuditRow, host: &str) -> Vec<u8> {
    let Ok(f) = serde_json::from_slice::<Fields>(&row.body) else {
        // Not parseable (the verifier will say why): ship the bytes as they are.
        return row.body.clone();
    };
    let time = DateTime::<Utc>::from_timestamp_micros(row.ts).unwrap_or_default();
    match format {
        Format::Jsonl => row.body.clone(),
        Format::Rfc5424 => rfc5424(&f, &time, host, &String::from_utf8_lossy(&row.body)),
        Format::Cef => {
            let cef = cef(&f, &time);
            rfc5424_frame(&f, &time, host, "-", &cef)
        }
    }
}

fn severity(decision: &str) -> u8 {
    // warning for refusals (the behaviour detection looks for), notice otherwise.
    if decision == "deny" { 4 } else { 5 }
}

/// `<PRI>1 TIMESTAMP HOST mamori - MSGID [SD] MSG`.
fn rfc5424(f: &Fields, time: &DateTime<Utc>, host: &str, msg: &str) -> Vec<u8> {
    let mut sd = format!("[{SD_ID}");
    let mut param = |name: &str, value: Option<&str>| {
        if let Some(v) = value {
            sd.push_str(&format!(" {name}=\"{}\"", sd_escape(v)));
        }
    };
    param("log", Some(&f.log));
    param("seq", Some(&f.seq.to_string()));
    param("actor", Some(&f.actor));
    param("role", f.actor_role.as_deref());
    param("tenant", f.tenant.as_deref());
    param("decision", Some(&f.decision));
    param("reason", Some(&f.reason));
    param("purpose", f.purpose.as_deref());
    param("case", f.case_id.as_deref());
    param("records", Some(&f.records.len().to_string()));
    param("client", f.client.as_deref());
    sd.push(']');
    rfc5424_frame(f, time, host, &sd, msg)
}

fn rfc5424_frame(f: &Fields, time: &DateTime<Utc>, host: &str, sd: &str, msg: &str) -> Vec<u8> {
    let pri = FACILITY * 8 + severity(&f.decision);
    format!(
        "<{pri}>1 {} {} mamori - {} {sd} {msg}",
        time.to_rfc3339_opts(SecondsFormat::Micros, true),
        header_token(host, 255),
        header_token(&f.action, 32),
    )
    .into_bytes()
}

/// An RFC 5424 message of mamori's own (an alert, not an audit event),
/// with `params` as `mamori@32473` structured data. `severity` is the
/// syslog severity (2 critical … 5 notice).
pub fn message(
    severity: u8,
    time: &DateTime<Utc>,
    host: &str,
    msgid: &str,
    params: &[(&str, String)],
    msg: &str,
) -> Vec<u8> {
    let mut sd = format!("[{SD_ID}");
    for (name, value) in params {
        sd.push_str(&format!(" {name}=\"{}\"", sd_escape(value)));
    }
    sd.push(']');
    format!(
        "<{}>1 {} {} mamori - {} {sd} {msg}",
        FACILITY * 8 + severity.min(7),
        time.to_rfc3339_opts(SecondsFormat::Micros, true),
        header_token(host, 255),
        header_token(msgid, 32),
    )
    .into_bytes()
}

/// An RFC 5424 header field: printable US-ASCII, no spaces, bounded, `-` if empty.
fn header_token(s: &str, max: usize) -> String {
    let t: String = s
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if t.is_empty() { "-".into() } else { t }
}

/// RFC 5424 §6.3.3: `"`, `\` and `]` are escaped in parameter values.
fn sd_escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `CEF:0|mamori|mamori|<version>|<action>|<action>|<severity>|<extensions>`.
fn cef(f: &Fields, time: &DateTime<Utc>) -> String {
    let sev = if f.decision == "deny" { 7 } else { 3 };
    let mut ext = format!("rt={}", time.timestamp_millis());
    let mut add = |k: &str, v: Option<&str>| {
        if let Some(v) = v {
            ext.push_str(&format!(" {k}={}", cef_ext_escape(v)));
        }
    };
    add("suser", Some(&f.actor));
    add("act", Some(&f.action));
    add("outcome", Some(&f.decision));
    add("reason", Some(&f.reason));
    add("src", f.client.as_deref().and_then(|c| c.split(':').next()));
    add("cs1Label", Some("log"));
    add("cs1", Some(&f.log));
    add("cn1Label", Some("seq"));
    add("cn1", Some(&f.seq.to_string()));
    add("cs2Label", Some("purpose"));
    add("cs2", f.purpose.as_deref());
    add("cs3Label", Some("case"));
    add("cs3", f.case_id.as_deref());
    add("cs4Label", Some("tenant"));
    add("cs4", f.tenant.as_deref());
    add("cs5Label", Some("role"));
    add("cs5", f.actor_role.as_deref());
    add("cnt", Some(&f.records.len().to_string()));
    format!(
        "CEF:0|mamori|mamori|{}|{}|{}|{sev}|{ext}",
        env!("CARGO_PKG_VERSION"),
        cef_header_escape(&f.action),
        cef_header_escape(&f.action),
    )
}

/// CEF header fields escape `\` and `|`.
fn cef_header_escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('|', "\\|")
}

/// CEF extension values escape `\`, `=` and line breaks.
fn cef_ext_escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('=', "\\=")
        .replace('\r', "\\r")
        .replace('\n', "\\n")
}

/// Where messages go.
pub enum Sink {
    Stdout(BufWriter<std::io::Stdout>),
    File(BufWriter<File>),
    Tcp {
        addr: String,
        conn: Option<BufWriter<TcpStream>>,
    },
    Tls {
        addr: String,
        name: ServerName<'static>,
        config: Arc<ClientConfig>,
        conn: Option<Box<BufWriter<StreamOwned<ClientConnection, TcpStream>>>>,
    },
    Udp {
        addr: String,
        socket: Option<UdpSocket>,
    },
}

/// How long a receiver may take to accept a connection or a write before
/// the shipper gives up on this round.
const NET_TIMEOUT: Duration = Duration::from_secs(5);

impl Sink {
    /// `ca` is required for `tls://`: the receiver's CA certificate(s), PEM.
    pub fn parse(spec: &str, ca: Option<&Path>) -> Result<Self, ShipError> {
        if spec == "stdout" || spec == "-" {
            return Ok(Self::Stdout(BufWriter::new(std::io::stdout())));
        }
        if let Some(addr) = spec.strip_prefix("tcp://") {
            return Ok(Self::Tcp {
                addr: check_addr(spec, addr)?,
                conn: None,
            });
        }
        if let Some(addr) = spec.strip_prefix("tls://") {
            let addr = check_addr(spec, addr)?;
            let ca = ca.ok_or_else(|| {
                ShipError::Tls("tls:// needs the receiver's CA certificate (--ca FILE, PEM)".into())
            })?;
            let host = addr.rsplit_once(':').map_or("", |(h, _)| h);
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let name = ServerName::try_from(host.to_owned())
                .map_err(|_| ShipError::BadSink(spec.to_owned()))?;
            return Ok(Self::Tls {
                addr,
                name,
                config: crate::tls::client_config(ca).map_err(ShipError::Tls)?,
                conn: None,
            });
        }
        if let Some(addr) = spec.strip_prefix("udp://") {
            return Ok(Self::Udp {
                addr: check_addr(spec, addr)?,
                socket: None,
            });
        }
        if spec.contains("://") {
            return Err(ShipError::BadSink(spec.to_owned()));
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(spec)
            .map_err(|e| ShipError::Sink(format!("{spec}: {e}")))?;
        Ok(Self::File(BufWriter::new(file)))
    }

    /// Sends one message and flushes it to the receiver (for senders of
    /// single messages, such as alert notifications).
    pub fn deliver(&mut self, msg: &[u8]) -> Result<(), ShipError> {
        self.send(msg)?;
        self.flush()
    }

    /// Sends one message with the framing the transport needs.
    fn send(&mut self, msg: &[u8]) -> Result<(), ShipError> {
        match self {
            Self::Stdout(w) => line(w, msg),
            Self::File(w) => line(w, msg),
            Self::Tcp { addr, conn } => {
                if conn.is_none() {
                    *conn = Some(BufWriter::new(connect(addr)?));
                }
                framed(conn, msg)
            }
            Self::Tls {
                addr,
                name,
                config,
                conn,
            } => {
                if conn.is_none() {
                    let tcp = connect(addr)?;
                    tcp.set_read_timeout(Some(NET_TIMEOUT)).map_err(sink_err)?;
                    let tls = ClientConnection::new(config.clone(), name.clone())
                        .map_err(|e| ShipError::Tls(e.to_string()))?;
                    let mut stream = StreamOwned::new(tls, tcp);
                    // Handshake now, so a wrong certificate is reported as such.
                    while stream.conn.is_handshaking() {
                        stream
                            .conn
                            .complete_io(&mut stream.sock)
                            .map_err(|e| ShipError::Tls(format!("{addr}: {e}")))?;
                    }
                    *conn = Some(Box::new(BufWriter::new(stream)));
                }
                framed(conn, msg)
            }
            Self::Udp { addr, socket } => {
                if socket.is_none() {
                    let s = UdpSocket::bind("0.0.0.0:0").map_err(sink_err)?;
                    s.connect(addr.as_str()).map_err(sink_err)?;
                    *socket = Some(s);
                }
                let s = socket.as_ref().expect("bound above");
                s.send(msg).map(|_| ()).map_err(sink_err)
            }
        }
    }

    /// Makes everything sent so far durable at the receiver, as far as the
    /// transport can tell (UDP cannot: it is fire and forget by nature).
    fn flush(&mut self) -> Result<(), ShipError> {
        match self {
            Self::Stdout(w) => w.flush().map_err(sink_err),
            Self::File(w) => w
                .flush()
                .and_then(|()| w.get_ref().sync_data())
                .map_err(sink_err),
            Self::Tcp { conn, .. } => or_drop(conn, |w| w.flush()),
            // Also read what the receiver sent (TLS 1.3 session tickets):
            // unread data makes the final close a reset, which can make the
            // receiver drop messages it has not read yet.
            Self::Tls { conn, .. } => {
                or_drop(conn, |w| w.flush().and_then(|()| drain(w.get_mut())))
            }
            Self::Udp { .. } => Ok(()),
        }
    }

    /// Ends the shipment cleanly: flushes, says goodbye (TLS close_notify),
    /// half-closes and waits briefly for the receiver to close, so nothing
    /// sent is lost to a connection reset.
    pub fn close(&mut self) -> Result<(), ShipError> {
        self.flush()?;
        match self {
            Self::Tcp { conn, .. } => {
                if let Some(w) = conn.take() {
                    let sock = w.into_inner().map_err(|e| sink_err(e.into_error()))?;
                    goodbye(&sock);
                }
            }
            Self::Tls { conn, .. } => {
                if let Some(w) = conn.take() {
                    let mut s = (*w).into_inner().map_err(|e| sink_err(e.into_error()))?;
                    s.conn.send_close_notify();
                    let _ = s.conn.complete_io(&mut s.sock);
                    goodbye(&s.sock);
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Runs `op` on an open connection; a failure drops the connection so the
/// next message reconnects.
fn or_drop<W>(
    conn: &mut Option<W>,
    op: impl FnOnce(&mut W) -> std::io::Result<()>,
) -> Result<(), ShipError> {
    let r = conn.as_mut().map_or(Ok(()), op);
    if r.is_err() {
        *conn = None;
    }
    r.map_err(sink_err)
}

/// One message with RFC 6587 octet counting: the length, a space, the message.
fn framed<W: Write>(conn: &mut Option<W>, msg: &[u8]) -> Result<(), ShipError> {
    or_drop(conn, |w| {
        write!(w, "{} ", msg.len()).and_then(|()| w.write_all(msg))
    })
}

/// Processes whatever the TLS peer sent, without waiting for more.
fn drain(s: &mut StreamOwned<ClientConnection, TcpStream>) -> std::io::Result<()> {
    s.sock.set_nonblocking(true)?;
    let result = loop {
        match s.conn.read_tls(&mut s.sock) {
            Ok(0) => break Ok(()),
            Ok(_) => {
                if let Err(e) = s.conn.process_new_packets() {
                    break Err(std::io::Error::other(e));
                }
                // A receiver has nothing to say; discard it if it does.
                let _ = std::io::copy(&mut s.conn.reader(), &mut std::io::sink());
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    s.sock.set_nonblocking(false)?;
    result
}

/// Half-closes and waits (at most a second) for the receiver to close too.
fn goodbye(sock: &TcpStream) {
    let _ = sock.shutdown(std::net::Shutdown::Write);
    let _ = sock.set_read_timeout(Some(Duration::from_secs(1)));
    let mut buf = [0u8; 4096];
    let mut sock = sock;
    while matches!(std::io::Read::read(&mut sock, &mut buf), Ok(n) if n > 0) {}
}

fn line(w: &mut impl Write, msg: &[u8]) -> Result<(), ShipError> {
    w.write_all(msg)
        .and_then(|()| w.write_all(b"\n"))
        .map_err(sink_err)
}

fn check_addr(spec: &str, addr: &str) -> Result<String, ShipError> {
    if addr
        .rsplit_once(':')
        .is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err())
    {
        return Err(ShipError::BadSink(spec.to_owned()));
    }
    Ok(addr.to_owned())
}

fn connect(addr: &str) -> Result<TcpStream, ShipError> {
    let mut last = None;
    for a in addr.to_socket_addrs().map_err(sink_err)? {
        match TcpStream::connect_timeout(&a, NET_TIMEOUT) {
            Ok(s) => {
                s.set_write_timeout(Some(NET_TIMEOUT)).map_err(sink_err)?;
                return Ok(s);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(ShipError::Sink(format!(
        "{addr}: {}",
        last.map_or("no address".into(), |e| e.to_string())
    )))
}

/// How far each log was shipped: the storage position and sequence number
/// of the last event the sink took.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub logs: BTreeMap<String, Position>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub rowid: i64,
    pub seq: u64,
}

impl Cursor {
    pub fn load(path: &Path) -> Result<Self, ShipError> {
        let err = |m: String| ShipError::Cursor {
            path: path.display().to_string(),
            message: m,
        };
        match std::fs::read(path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| err(e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// Replaces the cursor file atomically (write, fsync, rename).
    pub fn save(&self, path: &Path) -> Result<(), ShipError> {
        let err = |e: std::io::Error| ShipError::Cursor {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let tmp = path.with_extension("tmp");
        let mut f = File::create(&tmp).map_err(err)?;
        f.write_all(&serde_json::to_vec_pretty(self).unwrap_or_default())
            .and_then(|()| f.sync_all())
            .map_err(err)?;
        std::fs::rename(&tmp, path).map_err(err)
    }
}

/// Reads the audit store from the cursor on and feeds the sink.
pub struct Shipper<'a> {
    pub store: &'a dyn AuditStore,
    pub format: Format,
    pub sink: Sink,
    pub cursor_path: PathBuf,
    pub host: String,
}

impl Shipper<'_> {
    /// Ships everything not yet shipped; returns how many events went out.
    /// On a sink failure the cursor stays where the sink last flushed.
    pub fn round(&mut self) -> Result<u64, ShipError> {
        let mut cursor = Cursor::load(&self.cursor_path)?;
        let mut shipped = 0;
        for log in self.store.logs()? {
            loop {
                let at = cursor.logs.get(&log).copied().unwrap_or_default();
                let rows = self.store.scan(&log, at.rowid, BATCH)?;
                let Some(last) = rows.last() else { break };
                let next = Position {
                    rowid: last.rowid,
                    seq: last.seq,
                };
                for row in &rows {
                    self.sink.send(&render(self.format, row, &self.host))?;
                }
                self.sink.flush()?;
                cursor.logs.insert(log.clone(), next);
                cursor.save(&self.cursor_path)?;
                shipped += rows.len() as u64;
                if rows.len() < BATCH {
                    break;
                }
            }
        }
        Ok(shipped)
    }
}

/// This machine's name for the syslog HOSTNAME field.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "-".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(body: &str, decision: &str) -> AuditRow {
        AuditRow {
            rowid: 1,
            log: "tenant/acme".into(),
            seq: 7,
            ts: 1_795_000_000_123_456,
            actor: "user:op".into(),
            action: "record.search".into(),
            tenant: Some("acme".into()),
            decision: decision.into(),
            body: body.as_bytes().to_vec(),
            hash: [0; 32],
        }
    }

    const BODY: &str = r#"{"v":1,"log":"tenant/acme","seq":7,"ts":"2026-11-18T11:06:40.123456Z","prev":"00","actor":"user:op","actor_role":"operator","action":"record.search","tenant":"acme","purpose":"inquiry","case_id":"C|1=x]\"y","records":["a","b"],"fields":[],"decision":"allow","reason":"ok","policies":[],"client":"10.0.0.5:5123","detail":{}}"#;

    #[test]
    fn rfc5424_carries_the_fields_escaped() {
        let m = String::from_utf8(render(Format::Rfc5424, &row(BODY, "allow"), "vault 1")).unwrap();
        assert!(
            m.starts_with("<109>1 2026-11-18T11:06:40.123456Z vault1 mamori - record.search [mamori@32473 log=\"tenant/acme\" seq=\"7\""),
            "{m}"
        );
        assert!(m.contains(r#"case="C|1=x\]\"y""#), "{m}");
        assert!(m.contains(r#"records="2""#) && m.contains(r#"purpose="inquiry""#));
        assert!(m.ends_with(BODY), "the event itself is the message");
        let body = BODY.replace(r#""decision":"allow""#, r#""decision":"deny""#);
        let denied = String::from_utf8(render(Format::Rfc5424, &row(&body, "deny"), "h")).unwrap();
        assert!(denied.starts_with("<108>1 "), "{denied}");
    }

    #[test]
    fn cef_escapes_header_and_extension_values() {
        let m = String::from_utf8(render(Format::Cef, &row(BODY, "allow"), "h")).unwrap();
        let cef = &m[m.find("CEF:0|").unwrap()..];
        assert!(
            cef.starts_with(&format!(
                "CEF:0|mamori|mamori|{}|record.search|record.search|3|rt=1795000000123 ",
                env!("CARGO_PKG_VERSION")
            )),
            "{cef}"
        );
        assert!(cef.contains(r"cs3=C|1\=x]"), "{cef}");
        assert!(
            cef.contains(" src=10.0.0.5 ") && cef.contains(" cnt=2"),
            "{cef}"
        );
        assert_eq!(cef_header_escape(r"a|b\c"), r"a\|b\\c");
        assert_eq!(cef_ext_escape("a=b\nc"), r"a\=b\nc");
    }

    #[test]
    fn jsonl_is_the_canonical_event_and_junk_passes_through() {
        assert_eq!(
            render(Format::Jsonl, &row(BODY, "allow"), "h"),
            BODY.as_bytes()
        );
        assert_eq!(
            render(Format::Cef, &row("not json", "allow"), "h"),
            b"not json"
        );
    }

    #[test]
    fn sinks_are_parsed_strictly() {
        for bad in ["tcp://", "tcp://host", "udp://:514", "tls://h", "http://x"] {
            assert!(
                matches!(Sink::parse(bad, None), Err(ShipError::BadSink(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            Sink::parse("tls://h:6514", None),
            Err(ShipError::Tls(_))
        ));
        assert!(matches!(
            Sink::parse("tcp://127.0.0.1:514", None),
            Ok(Sink::Tcp { .. })
        ));
        assert!("cef".parse::<Format>().is_ok() && "xml".parse::<Format>().is_err());
    }

    #[test]
    fn the_cursor_round_trips_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("siem/default.cursor");
        assert_eq!(Cursor::load(&path).unwrap(), Cursor::default());
        let mut c = Cursor::default();
        c.logs
            .insert("system".into(), Position { rowid: 9, seq: 4 });
        c.save(&path).unwrap();
        assert_eq!(Cursor::load(&path).unwrap(), c);
        std::fs::write(&path, "{").unwrap();
        assert!(matches!(Cursor::load(&path), Err(ShipError::Cursor { .. })));
    }
}
