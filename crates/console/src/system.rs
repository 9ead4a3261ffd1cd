//! The system's health in the console: the vault's `system_status` for
//! system administrators (whose console holds no customer data at all),
//! the security office and auditors — the store, the audit log's writes,
//! each log's length against its latest signed checkpoint, witnesses,
//! notifications waiting, tenants by status; and, for whoever must not
//! take the server's word, how to verify the log independently.

use askama::Template;
use axum::{extract::State, response::Response};
use mamori_vault::system::{LogStatus, SystemStatus};

use crate::{
    ConsoleState,
    i18n::Tr,
    pages::{Chrome, Person, blocking, render},
};

struct Log {
    log: String,
    events: u64,
    signed: u64,
    signed_at: String,
    stale: bool,
}

#[derive(Template)]
#[template(path = "system.html")]
struct SystemPage {
    t: Tr,
    page: Chrome,
    refused: Option<String>,
    s: SystemStatus,
    logs: Vec<Log>,
    /// Tenants per status, the status as a message key.
    tenants: Vec<(&'static str, u64)>,
    at: String,
    version: &'static str,
}

fn log(t: Tr, l: LogStatus) -> Log {
    Log {
        signed_at: l.signed_at.map(|at| t.time(at)).unwrap_or_default(),
        log: l.log,
        events: l.events,
        signed: l.signed,
        stale: l.stale,
    }
}

pub async fn show(State(state): State<ConsoleState>, p: Person) -> Response {
    let (vault, caller) = (state.vault.clone(), p.caller.clone());
    let got = blocking(move || vault.system_status(&caller)).await;
    let t = Tr(p.lang);
    let page = p.chrome(t.get("system.title"), false);
    let (mut s, refused) = match got {
        Ok(s) => (s, None),
        Err(why) => (SystemStatus::default(), Some(why)),
    };
    let logs = std::mem::take(&mut s.logs)
        .into_iter()
        .map(|l| log(t, l))
        .collect();
    let tenants = (s.tenants.iter())
        .map(|(k, n)| {
            let key = match k.as_str() {
                "active" => "system.tenant.active",
                _ => "system.tenant.shredded",
            };
            (key, *n)
        })
        .collect();
    let html = render(SystemPage {
        tenants,
        at: if s.at > 0 {
            t.time(s.at)
        } else {
            String::new()
        },
        t,
        page,
        refused,
        s,
        logs,
        version: env!("CARGO_PKG_VERSION"),
    });
    p.page(&state, html)
}
