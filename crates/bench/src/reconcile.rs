//! `reconcile-setup`: a real vault holding a simulated month of a secure
//! area — the people created and assigned through the vault, every read an
//! audit event appended through the real audit log at its own minute (a
//! manual clock moved through the month) — and the outside files the month
//! produced (door log, PC events, person and host maps), for
//! `bench/reconcile.sh` to time `mamori reconcile run` on.
//! `reconcile-baseline`: what a team would do without mamori before any
//! join — list the month's reads from the same audit database and parse
//! each one (rusqlite and serde_json).

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Instant,
};

use anyhow::{Context, Result};
use chrono::{DateTime, Duration};
use mamori_app::datadir;
use mamori_audit::{Decision, Event};
use mamori_core::{Role, clock::ManualClock, schema::CONTACT_CENTRE_SCHEMA};
use mamori_reconcile::simulate::{self, Shape};
use mamori_vault::admin::NewUser;
use serde_json::{Value, json};

pub struct SetupPlan {
    pub data_dir: PathBuf,
    pub out: PathBuf,
    pub shape: Shape,
    /// Concurrent appenders (the audit log's group commit batches them).
    pub writers: usize,
}

pub fn setup(plan: SetupPlan) -> Result<Value> {
    let started = Instant::now();
    let month = simulate::month(plan.shape);
    let begin = DateTime::from_timestamp(month.period.from - 2 * 86_400, 0).context("time")?;
    let clock = ManualClock::at(begin);
    let c = clock.clone();
    let vault = datadir::open_with(&plan.data_dir, |v| v.with_clock(Arc::new(c)))?.vault;
    vault.create_tenant("cli:bench", "acme", "アクメ", CONTACT_CENTRE_SCHEMA)?;
    let officer = vault.create_user("cli:bench", &user("so", Role::SecurityOfficer))?;
    std::fs::create_dir_all(&plan.out)?;
    std::fs::write(plan.out.join("token"), &officer)?;
    for p in 0..plan.shape.people {
        let login = simulate::login(p);
        vault.create_user("cli:bench", &user(&login, Role::Operator))?;
        vault.assign("cli:bench", &login, "acme", Some("own"))?;
    }
    // The shift roster as outside pre-applications (login, date).
    let mut applications = String::from("login,date\n");
    for (login, day) in &month.applications {
        let date = mamori_core::jst::date(mamori_core::jst::day_start(*day)).context("date")?;
        applications.push_str(&format!("{login},{date}\n"));
    }
    let applications = applications.into_bytes();
    for (name, bytes) in [
        ("applications.csv", &applications),
        ("people.csv", &month.people_csv),
        ("hosts.csv", &month.hosts_csv),
        ("rooms.csv", &month.rooms_csv),
        ("logons.json", &month.logons_json),
    ] {
        std::fs::write(plan.out.join(name), bytes)?;
    }
    let people_done = started.elapsed().as_secs_f64();

    // The reads, minute by minute: the clock is set to the minute and the
    // minute's events appended together (one or two group commits).
    let (to_workers, jobs) = crossbeam_channel::bounded::<Event>(4096);
    let (done, acks) = crossbeam_channel::unbounded::<Result<(), String>>();
    let appending = Instant::now();
    let mut now = begin.timestamp();
    std::thread::scope(|s| -> Result<()> {
        for _ in 0..plan.writers {
            let (jobs, done, audit) = (jobs.clone(), done.clone(), vault.audit());
            s.spawn(move || {
                for e in jobs {
                    let r = audit.append(e).map(|_| ()).map_err(|e| e.to_string());
                    if done.send(r).is_err() {
                        return;
                    }
                }
            });
        }
        drop(jobs);
        for minute in month.reads.chunk_by(|a, b| a.at / 60 == b.at / 60) {
            let at = minute[0].at / 60 * 60;
            clock.advance(Duration::seconds(at - now));
            now = at;
            for r in minute {
                to_workers.send(event(r))?;
            }
            for _ in minute {
                acks.recv()?.map_err(anyhow::Error::msg)?;
            }
        }
        drop(to_workers);
        Ok(())
    })?;
    vault.audit().flush()?;
    Ok(json!({
        "people": plan.shape.people,
        "days": plan.shape.days,
        "reads": month.reads.len(),
        "room_bytes": month.rooms_csv.len(),
        "logon_bytes": month.logons_json.len(),
        "setup_people_seconds": people_done,
        "append_seconds": appending.elapsed().as_secs_f64(),
        "appends_per_s": month.reads.len() as f64 / appending.elapsed().as_secs_f64(),
        "from": month.period.from,
        "to": month.period.to,
    }))
}

/// `review-setup`: on a vault `setup` made, `tenants - 1` more tenants and
/// every operator assigned to a segment of each (through the vault, each a
/// `user.assign` event), and a supervisor to review what no manager can: a
/// campaign over the vault then has `people × tenants` items.
pub fn review_setup(data_dir: &Path, tenants: usize) -> Result<Value> {
    let started = Instant::now();
    let vault = datadir::open(data_dir)?.vault;
    vault.create_user("cli:bench", &user("sv-bench", Role::Supervisor))?;
    let operators: Vec<String> = vault
        .users()?
        .into_iter()
        .filter(|(u, _)| u.role == "operator")
        .map(|(u, _)| u.login)
        .collect();
    for t in 1..tenants {
        let id = format!("client-{t}");
        vault.create_tenant(
            "cli:bench",
            &id,
            &format!("委託元{t}"),
            CONTACT_CENTRE_SCHEMA,
        )?;
        for login in &operators {
            vault.assign("cli:bench", login, &id, Some("own"))?;
        }
    }
    Ok(json!({
        "operators": operators.len(),
        "tenants": tenants,
        "assignments": operators.len() * tenants,
        "seconds": started.elapsed().as_secs_f64(),
    }))
}

fn user(login: &str, role: Role) -> NewUser<'_> {
    NewUser {
        login,
        role,
        department: Some("お客さまセンター"),
        vendor: None,
        manager: None,
    }
}

/// A read's audit event as the vault writes a search's.
fn event(r: &mamori_reconcile::Read) -> Event {
    let mut e = Event::new(
        format!("user:{}", r.login),
        "record.search",
        Decision::Allow,
        "ok",
    )
    .tenant(&r.tenant)
    .detail("by", "phone")
    .detail("segments", vec!["own"]);
    e.actor_role = Some("operator".into());
    e.purpose = Some(r.purpose.clone());
    e.case_id = Some(format!("CALL-{}", r.seq));
    e.records = vec![format!(
        "{:032x}",
        r.seq.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    )];
    e.fields = ["customer_no", "name", "phone"].map(String::from).to_vec();
    e.policies = vec!["staff-read-assigned".into()];
    e.client = r.client.clone();
    e
}

/// The baseline: the period's reads listed from the audit database and
/// each event parsed — the least a hand-written reconciliation does.
pub fn baseline(audit_db: &Path, from: i64, to: i64) -> Result<Value> {
    let start = Instant::now();
    let c = rusqlite::Connection::open_with_flags(
        audit_db,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    let mut st = c.prepare(
        "SELECT body FROM audit_events WHERE ts >= ?1 AND ts < ?2
         AND action IN ('record.search', 'record.read') AND decision = 'allow'",
    )?;
    let mut rows = st.query([from * 1_000_000, to * 1_000_000])?;
    let mut n = 0u64;
    let mut clients = std::collections::HashSet::new();
    while let Some(row) = rows.next()? {
        let body: Vec<u8> = row.get(0)?;
        let v: Value = serde_json::from_slice(&body)?;
        clients.insert(v["client"].as_str().unwrap_or("").to_owned());
        n += 1;
    }
    Ok(json!({
        "reads": n,
        "clients": clients.len(),
        "seconds": start.elapsed().as_secs_f64(),
    }))
}
