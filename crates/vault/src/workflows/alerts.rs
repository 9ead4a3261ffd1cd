//! Handling alerts: who sees them (the security office and auditors all;
//! a supervisor those about their team; nobody those about themselves), their
//! life (open → acknowledged → resolved or false positive, with a note),
//! assignment, and suspending a person's access pending review. Every step is
//! an event in the audit log under the alert's id as case id. Also the
//! decoy (honey) customers detection watches, and people's leaving dates.

use crate::ErrorCode;
use std::collections::BTreeMap;

use mamori_audit::Event;
use mamori_policy::Action;
use mamori_store::{AlertChange, AlertFilter, AlertRow, AlertState, HoneyRow};
use mamori_synth::{Generator, HEADER_FIELDS};
use serde::Serialize;

use crate::feed::{Feed, required};
// A tenant-less alert (activity that touched no customer) is decided as if on NO_TENANT.
use crate::kernel::ids::{NO_TENANT, id_bytes};
use crate::{
    Caller, Vault,
    error::{Result, VaultError},
    ingest::ImportRow,
};

/// Longest resolution note.
const MAX_NOTE: usize = 2_000;
/// Most decoys planted in one go.
const MAX_HONEY: usize = 1_000;

/// An alert as people read it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertView {
    #[serde(flatten)]
    pub row: AlertRow,
    pub summary_ja: String,
    pub summary_en: String,
    /// The resolution note, opened (only for those who may see the alert).
    pub note: Option<String>,
}

/// How an alert is closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Resolved,
    FalsePositive,
}

impl Vault {
    /// Alerts the caller may see, newest first.
    pub fn alerts(&self, caller: &Caller, filter: &AlertFilter) -> Result<Vec<AlertView>> {
        let wanted = filter.limit.clamp(1, 1_000);
        // Fetch more than asked: some are filtered out by the gate.
        let rows = self.store.alerts(&AlertFilter {
            limit: wanted * 4,
            ..filter.clone()
        })?;
        let mut out = Vec::new();
        for row in rows {
            if out.len() == wanted {
                break;
            }
            let tenant = row.tenant.as_deref().unwrap_or(NO_TENANT);
            if self
                .decide_on(caller, Action::AlertView, tenant, &row.login)?
                .allowed()
            {
                out.push(self.alert_view(row)?);
            }
        }
        let e = self
            .caller_event(caller, "alert.list", "ok")
            .detail("returned", out.len());
        self.audit.append(e)?;
        Ok(out)
    }

    /// One alert. Unknown and not-permitted look the same.
    pub fn alert(&self, caller: &Caller, id: &str) -> Result<AlertView> {
        let row = self.visible_alert(caller, id, Action::AlertView)?;
        let mut e = self.caller_event(caller, "alert.view", "ok");
        e.tenant = row.tenant.clone();
        e.case_id = Some(row.id.clone());
        self.audit.append(e)?;
        self.alert_view(row)
    }

    /// The alert, if the caller may see it (otherwise "not found", exactly
    /// like an unknown id) and, for `AlertManage`, may handle it.
    fn visible_alert(&self, caller: &Caller, id: &str, action: Action) -> Result<AlertRow> {
        let row = self
            .store
            .alert(id)?
            .ok_or(VaultError::NotFound { what: "alert" })?;
        let tenant = row.tenant.as_deref().unwrap_or(NO_TENANT);
        let event = |action: Action| {
            let mut e = self.caller_event(caller, action.as_str(), "ok");
            e.tenant = row.tenant.clone();
            e.case_id = Some(row.id.clone());
            e
        };
        let view = self.decide_on(caller, Action::AlertView, tenant, &row.login)?;
        if !view.allowed() {
            let mut e = event(Action::AlertView);
            e.policies = view.policies().to_vec();
            e.decision = mamori_audit::Decision::Deny;
            e.reason = view.reason();
            self.audit.append(e)?;
            return Err(VaultError::NotFound { what: "alert" });
        }
        if action == Action::AlertManage {
            let d = self.decide_on(caller, action, tenant, &row.login)?;
            self.gated(
                event(action),
                &d,
                "alerts are handled by the security office, or by a supervisor for their team",
            )?;
        }
        Ok(row)
    }

    fn alert_view(&self, row: AlertRow) -> Result<AlertView> {
        let (summary_ja, summary_en) =
            mamori_detect::alert::summary_named(&row.rule, &row.variant, row.value, row.threshold);
        let note = match (&row.note, &row.tenant) {
            (Some(blob), Some(t)) => {
                let state = self.tenant(t)?;
                Some(self.open_comment(&state, &id_bytes(&row.id, "alert")?, blob)?)
            }
            (Some(blob), None) => Some(String::from_utf8_lossy(blob).into_owned()),
            _ => None,
        };
        Ok(AlertView {
            row,
            summary_ja,
            summary_en,
            note,
        })
    }

    /// Takes an open alert in hand (and assigns it to the caller if nobody has it).
    pub fn acknowledge_alert(&self, caller: &Caller, id: &str) -> Result<AlertView> {
        let row = self.visible_alert(caller, id, Action::AlertManage)?;
        let me = caller.principal.login.clone();
        let change = AlertChange {
            state: AlertState::Acknowledged,
            assignee: row.assignee.is_none().then(|| Some(me.clone())),
            note: None,
            by: me,
            at: self.now(),
        };
        self.change_alert(caller, row, &[AlertState::Open], change, "alert.ack", |e| e)
    }

    /// Gives an alert to someone to handle.
    pub fn assign_alert(&self, caller: &Caller, id: &str, to: &str) -> Result<AlertView> {
        let row = self.visible_alert(caller, id, Action::AlertManage)?;
        if self.store.user(to)?.is_none() {
            return Err(VaultError::NotFound { what: "user" });
        }
        if to == row.login {
            return Err(VaultError::bad(
                ErrorCode::AssigneeIsSubject,
                "an alert cannot be given to the person it is about",
            ));
        }
        let change = AlertChange {
            state: if row.state == AlertState::Open {
                AlertState::Open
            } else {
                row.state
            },
            assignee: Some(Some(to.to_owned())),
            note: None,
            by: caller.principal.login.clone(),
            at: self.now(),
        };
        let to = to.to_owned();
        self.change_alert(
            caller,
            row,
            &[AlertState::Open, AlertState::Acknowledged],
            change,
            "alert.assign",
            |e| e.detail("assignee", to),
        )
    }

    /// Closes an alert with a note saying what was found.
    pub fn close_alert(
        &self,
        caller: &Caller,
        id: &str,
        outcome: Outcome,
        note: &str,
    ) -> Result<AlertView> {
        let note = self
            .checked_comment(Some(note), true)?
            .unwrap_or_default()
            .to_owned();
        if note.chars().count() > MAX_NOTE {
            return Err(VaultError::bad(
                ErrorCode::NoteTooLong,
                format!("a note has at most {MAX_NOTE} characters"),
            ));
        }
        let row = self.visible_alert(caller, id, Action::AlertManage)?;
        let sealed = match &row.tenant {
            Some(t) => {
                let state = self.tenant(t)?;
                self.seal_comment(&state, &id_bytes(&row.id, "alert")?, &note)?
            }
            // Activity with no tenant touched no customer: nothing to seal under.
            None => note.into_bytes(),
        };
        let (state, action) = match outcome {
            Outcome::Resolved => (AlertState::Resolved, "alert.resolve"),
            Outcome::FalsePositive => (AlertState::FalsePositive, "alert.false_positive"),
        };
        let change = AlertChange {
            state,
            assignee: None,
            note: Some(sealed.clone()),
            by: caller.principal.login.clone(),
            at: self.now(),
        };
        let in_log = row.tenant.is_some().then(|| hex::encode(&sealed));
        self.change_alert(
            caller,
            row,
            &[AlertState::Open, AlertState::Acknowledged],
            change,
            action,
            |e| match in_log {
                Some(n) => e.detail("note", n),
                None => e,
            },
        )
    }

    /// Applies a change by compare-and-set and records it.
    fn change_alert(
        &self,
        caller: &Caller,
        row: AlertRow,
        from: &[AlertState],
        change: AlertChange,
        action: &str,
        extra: impl FnOnce(Event) -> Event,
    ) -> Result<AlertView> {
        let mut e = self
            .caller_event(caller, action, "ok")
            .detail("from", row.state.as_str())
            .detail("to", change.state.as_str());
        e.tenant = row.tenant.clone();
        e.case_id = Some(row.id.clone());
        if !from.contains(&row.state) {
            return Err(self.refuse_state(
                e,
                ErrorCode::AlertClosed,
                format!("the alert is {} already", row.state.as_str()),
            ));
        }
        self.audit.append(extra(e))?;
        if !self.store.update_alert(&row.id, from, &change)? {
            return Err(VaultError::State {
                code: ErrorCode::AlertChanged,
                message: "someone else changed this alert at the same moment; reload it".into(),
            });
        }
        let row = self
            .store
            .alert(&row.id)?
            .ok_or(VaultError::NotFound { what: "alert" })?;
        self.alert_view(row)
    }

    /// Suspends a person's access pending review (every request of theirs is
    /// refused until reinstated), optionally because of an alert.
    pub fn suspend_user(&self, caller: &Caller, login: &str, alert: Option<&str>) -> Result<()> {
        self.set_suspension(caller, login, alert, true)
    }

    /// Ends a suspension.
    pub fn reinstate_user(&self, caller: &Caller, login: &str) -> Result<()> {
        self.set_suspension(caller, login, None, false)
    }

    fn set_suspension(
        &self,
        caller: &Caller,
        login: &str,
        alert: Option<&str>,
        suspend: bool,
    ) -> Result<()> {
        let user = self.existing_user(login)?;
        let tenant = match alert {
            Some(id) => {
                let row = self.visible_alert(caller, id, Action::AlertManage)?;
                if row.login != login {
                    return Err(VaultError::bad(
                        ErrorCode::AlertNotAboutUser,
                        "that alert is about someone else",
                    ));
                }
                row.tenant.unwrap_or_else(|| NO_TENANT.into())
            }
            None => NO_TENANT.into(),
        };
        let d = self.decide_on(caller, Action::UserSuspend, &tenant, login)?;
        let action = if suspend {
            "user.suspend"
        } else {
            "user.reinstate"
        };
        let mut e = self
            .caller_event(caller, action, "ok")
            .detail("user", login);
        e.case_id = alert.map(str::to_owned);
        let e = self.gated(
            e,
            &d,
            "access is suspended by the security office, or by a supervisor for their team",
        )?;
        if suspend == user.suspended_at.is_some() {
            let state = if suspend {
                "suspended"
            } else {
                "not suspended"
            };
            return Err(self.refuse_state(
                e,
                ErrorCode::SuspensionUnchanged,
                format!("{login} is {state} already"),
            ));
        }
        self.audit.append(e)?;
        self.store
            .set_suspended(login, suspend.then(|| self.now()))?;
        Ok(())
    }

    /// Records the day a person leaves (or clears it): detection watches
    /// people in their last 30 days more closely.
    pub fn set_leaving_date(&self, actor: &str, login: &str, at: Option<i64>) -> Result<()> {
        self.existing_user(login)?;
        let e = Event::new(actor, "user.leaves", mamori_audit::Decision::Allow, "ok")
            .detail("user", login)
            .detail("leaves_at", at);
        self.audit.append(e)?;
        self.store.set_leaves_at(login, at)?;
        Ok(())
    }

    /// Plants `n` decoy customers in a tenant: synthetic people written like
    /// any import, indistinguishable to the people who look them up, and
    /// known to detection (any access raises a critical alert).
    pub fn plant_honey(&self, actor: &str, tenant: &str, n: usize, seed: u64) -> Result<usize> {
        if n == 0 || n > MAX_HONEY {
            return Err(VaultError::bad(
                ErrorCode::HoneyCountInvalid,
                format!("plant between 1 and {MAX_HONEY} decoys at a time"),
            ));
        }
        let state = self.tenant(tenant)?;
        let schema = &state.schema;
        let mut people = Generator::new(seed);
        let rows = (0..n as u64)
            .map(|line| {
                let p = people.person();
                let fields: BTreeMap<String, String> = HEADER_FIELDS
                    .iter()
                    .zip(p.columns())
                    .filter(|(f, _)| schema.field(f).is_some())
                    .map(|(f, v)| ((*f).to_owned(), v.to_owned()))
                    .collect();
                let segment = schema.segment(&p.segment).map(|s| s.id.clone());
                ImportRow {
                    line: line + 1,
                    segment,
                    fields,
                }
            })
            .collect();
        let outcome = self.import_batch(actor, tenant, None, rows)?;
        if let Some(r) = outcome.rejected.first() {
            return Err(VaultError::bad(
                ErrorCode::HoneySchemaMismatch,
                format!("the tenant's schema refused a decoy: {}", r.reason),
            ));
        }
        let now = self.now();
        let honey: Vec<HoneyRow> = outcome
            .ids
            .iter()
            .map(|id| HoneyRow {
                tenant: tenant.to_owned(),
                record: *id,
                planted_by: actor.to_owned(),
                planted_at: now,
            })
            .collect();
        self.store.add_honey(&honey)?;
        let e = Event::new(actor, "honey.plant", mamori_audit::Decision::Allow, "ok")
            .detail("tenant", tenant)
            .detail("count", honey.len());
        self.audit.append(e)?;
        Ok(honey.len())
    }

    /// Plants decoys as a person of the security office (the console's
    /// form); the seed is drawn at random, so nobody can regenerate them.
    pub fn plant_honey_as(&self, caller: &Caller, tenant: &str, n: usize) -> Result<usize> {
        // Refusals are recorded by the check; the planting by its own event.
        let _allowed = self.check_manage(caller, "honey.plant")?;
        self.plant_honey(&caller.actor(), tenant, n, rand::random())
    }

    /// The decoys, for the security office only: anyone else who knew them
    /// would know which customers not to read.
    pub fn honey_records(&self, caller: &Caller) -> Result<Vec<HoneyRow>> {
        let e = self.check_manage(caller, "honey.list")?;
        let rows = self.store.honey()?;
        self.audit.append(e.detail("returned", rows.len()))?;
        Ok(rows)
    }

    /// The decoys planted, per tenant.
    pub fn honey(&self) -> Result<Vec<(String, String, i64)>> {
        Ok(self
            .store
            .honey()?
            .into_iter()
            .map(|h| (h.tenant, h.record.to_string(), h.planted_at))
            .collect())
    }
}

/// What a shift calendar import did.
#[derive(Clone, Debug, Serialize)]
pub struct ShiftImport {
    pub rows: usize,
    pub people: usize,
    pub days: usize,
}

impl Vault {
    /// Imports a shift calendar: CSV with a header `login,date,start,end`
    /// (or `ログイン,日付,開始,終了`), Japan time, `HH:MM`; an end at or before
    /// the start runs past midnight; empty start and end mark a day off.
    /// Each (person, day) in the file replaces what was known of that day;
    /// the whole file is checked before anything is written.
    pub fn import_shifts(&self, actor: &str, csv_text: &str) -> Result<ShiftImport> {
        let feed = Feed::read(
            csv_text,
            ErrorCode::ShiftCsvInvalid,
            &[
                required("login", "ログイン"),
                required("date", "日付"),
                required("start", "開始"),
                required("end", "終了"),
            ],
        )?;
        let known: std::collections::HashSet<String> =
            self.store.users()?.into_iter().map(|u| u.login).collect();
        let mut rows = Vec::new();
        for (line, v) in &feed.rows {
            let [login, date, start, end] = [0, 1, 2, 3].map(|i| v[i].as_str());
            if !known.contains(login) {
                return Err(feed.at(*line, "unknown login"));
            }
            let day = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
                .map_err(|_| feed.at(*line, "the date is not YYYY-MM-DD"))?;
            let (start_min, end_min) = match (start, end) {
                ("", "") => (0, 0),
                _ => {
                    let w = mamori_detect::calendar::window(&format!("{start}-{end}"))
                        .map_err(|e| feed.at(*line, e))?;
                    (w.start, w.end)
                }
            };
            rows.push(mamori_store::ShiftRow {
                login: login.to_owned(),
                day: day.to_string(),
                start_min,
                end_min,
            });
        }
        let people: std::collections::HashSet<&str> =
            rows.iter().map(|r| r.login.as_str()).collect();
        let days: std::collections::HashSet<(&str, &str)> = rows
            .iter()
            .map(|r| (r.login.as_str(), r.day.as_str()))
            .collect();
        let out = ShiftImport {
            rows: rows.len(),
            people: people.len(),
            days: days.len(),
        };
        let e = Event::new(actor, "shift.import", mamori_audit::Decision::Allow, "ok")
            .detail("rows", out.rows)
            .detail("people", out.people)
            .detail("days", out.days);
        self.audit.append(e)?;
        self.store.import_shifts(&rows)?;
        Ok(out)
    }

    /// Gives a person one of the rules file's named shifts (`known`), or none.
    pub fn set_user_shift(
        &self,
        actor: &str,
        login: &str,
        shift: Option<&str>,
        known: &[String],
    ) -> Result<()> {
        self.existing_user(login)?;
        if let Some(s) = shift
            && !known.iter().any(|k| k == s)
        {
            return Err(VaultError::bad(
                ErrorCode::ShiftUnknown,
                format!(
                    "no such shift in the rules file; it defines: {}",
                    if known.is_empty() {
                        "(none)".to_owned()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        }
        let e = Event::new(actor, "user.shift", mamori_audit::Decision::Allow, "ok")
            .detail("user", login)
            .detail("shift", shift);
        self.audit.append(e)?;
        self.store.set_user_shift(login, shift)?;
        Ok(())
    }
}
