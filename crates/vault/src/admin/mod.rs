//! Administrative operations: tenants, keys, people, and reading the audit log.
//! Each is recorded in the audit log before it takes effect. `people` keeps
//! the people records (training, compliance, vendors, the management chain)
//! and the per-person facts the gate reads.

pub mod people;

use crate::ErrorCode;
use mamori_audit::{Decision as AuditDecision, Event, SealedEvent};
use mamori_core::ids::valid_login;
use mamori_core::{Role, Schema, TenantId};
use mamori_crypto::{TenantKeySet, token};
use mamori_policy::AuditScope;
use mamori_store::{
    Assignment, AuditQuery, KeyRow, RecordScan, RecordWrite, TenantRow, TenantStatus, UserRow,
    WriteKind,
};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::{
    Vault,
    access::Caller,
    error::{Result, VaultError},
    full_access::Assigned,
    kernel::write::{CommitGroups, on_cores, prepare_write},
    sealed,
    tenants::TenantState,
};

#[derive(Debug, Serialize)]
pub struct TenantSummary {
    pub id: String,
    pub name: String,
    pub status: TenantStatus,
    pub key_version: u32,
    pub records: u64,
    pub segments: Vec<String>,
    pub purposes: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct RewrapProgress {
    pub rewrapped: u64,
    pub remaining_estimate: u64,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditPage {
    pub events: Vec<SealedEvent>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next: Option<i64>,
}

/// A person to create.
#[derive(Clone, Copy, Debug)]
pub struct NewUser<'a> {
    pub login: &'a str,
    pub role: Role,
    pub department: Option<&'a str>,
    /// The registered vendor a contractor works for.
    pub vendor: Option<&'a str>,
    /// Who approves their requests.
    pub manager: Option<&'a str>,
}

impl Vault {
    pub(crate) fn admin_event(&self, actor: &str, action: &str, tenant: Option<&str>) -> Event {
        let e = Event::new(actor, action, AuditDecision::Allow, "ok");
        match tenant {
            Some(t) => e.tenant(t),
            None => e,
        }
    }

    pub fn create_tenant(
        &self,
        actor: &str,
        id: &str,
        name: &str,
        schema_src: &str,
    ) -> Result<TenantSummary> {
        let tid = TenantId::parse(id)
            .map_err(|e| VaultError::bad(ErrorCode::TenantIdInvalid, e.to_string()))?;
        if name.trim().is_empty() {
            return Err(VaultError::bad(
                ErrorCode::TenantNameMissing,
                "a tenant needs a display name",
            ));
        }
        Schema::parse(schema_src)
            .map_err(|e| VaultError::bad(ErrorCode::SchemaInvalid, e.to_string()))?;
        if self.store.tenant(id)?.is_some() {
            return Err(VaultError::Conflict(format!(
                "tenant '{id}' already exists"
            )));
        }
        let (_, wd, wi) = TenantKeySet::generate(&self.root, tid.as_str(), 1)
            .map_err(|e| VaultError::Internal(e.to_string()))?;
        let now = self.now();
        self.audit.append(
            self.admin_event(actor, "tenant.create", Some(id))
                .detail("key_version", 1),
        )?;
        self.store.create_tenant(
            &TenantRow {
                id: id.to_owned(),
                name: name.trim().to_owned(),
                schema: schema_src.to_owned(),
                status: TenantStatus::Active,
                current_key_version: 1,
                created_at: now,
                shredded_at: None,
                full_access_cap: None,
            },
            &KeyRow {
                tenant: id.to_owned(),
                version: 1,
                wrapped_data: wd.0,
                wrapped_index: wi.0,
                created_at: now,
            },
        )?;
        self.tenant_summary(id)
    }

    pub fn tenant_summary(&self, id: &str) -> Result<TenantSummary> {
        let row = self
            .store
            .tenant(id)?
            .ok_or(VaultError::NotFound { what: "tenant" })?;
        let schema = Schema::parse(&row.schema).map_err(|e| VaultError::Internal(e.to_string()))?;
        Ok(TenantSummary {
            records: self.store.count_records(id, None)?,
            id: row.id,
            name: row.name,
            status: row.status,
            key_version: row.current_key_version,
            segments: schema.segments.iter().map(|s| s.id.clone()).collect(),
            purposes: schema.purposes.iter().map(|p| p.id.clone()).collect(),
        })
    }

    /// The tenant's schema, as stored.
    pub fn tenant_schema(&self, id: &str) -> Result<std::sync::Arc<Schema>> {
        Ok(self
            .tenants
            .get(self.store.as_ref(), &self.root, id, None)?
            .schema
            .clone())
    }

    pub fn tenants(&self) -> Result<Vec<TenantSummary>> {
        self.store
            .tenants()?
            .iter()
            .map(|t| self.tenant_summary(&t.id))
            .collect()
    }

    /// Makes a new key version; new writes use it, old records stay readable
    /// until `rewrap` moves them.
    pub fn rotate_key(&self, actor: &str, tenant: &str) -> Result<u32> {
        let state = self
            .tenants
            .get(self.store.as_ref(), &self.root, tenant, None)?;
        if !state.active() {
            return Err(VaultError::Shredded(tenant.to_owned()));
        }
        let version = state.row.current_key_version + 1;
        let (_, wd, wi) = TenantKeySet::generate(&self.root, tenant, version)
            .map_err(|e| VaultError::Internal(e.to_string()))?;
        self.audit.append(
            self.admin_event(actor, "key.rotate", Some(tenant))
                .detail("key_version", version),
        )?;
        self.store.add_key(&KeyRow {
            tenant: tenant.to_owned(),
            version,
            wrapped_data: wd.0,
            wrapped_index: wi.0,
            created_at: self.now(),
        })?;
        Ok(version)
    }

    /// Re-encrypts records written under older key versions with the current
    /// one, `batch` at a time: each batch audited, then written atomically,
    /// in commit groups of up to `group_records` (as an import: on SQLite a
    /// commit rewrites every index page its batches touched). While one
    /// batch is written, the next is read and re-sealed on every core. Safe to
    /// interrupt and re-run: a group not committed is rolled back, and the
    /// next run picks up the records still under an old version.
    pub fn rewrap(
        &self,
        actor: &str,
        tenant: &str,
        batch: usize,
        group_records: usize,
        mut progress: impl FnMut(&RewrapProgress),
    ) -> Result<u64> {
        let state = self
            .tenants
            .get(self.store.as_ref(), &self.root, tenant, None)?;
        if !state.active() {
            return Err(VaultError::Shredded(tenant.to_owned()));
        }
        let current = state.row.current_key_version;
        let total = self.store.count_records(tenant, None)?;
        let (pages, resealed) = std::sync::mpsc::sync_channel::<Result<Vec<RecordWrite>>>(1);
        std::thread::scope(|s| {
            let state = &state;
            s.spawn(move || {
                let mut after = [0u8; 16];
                loop {
                    let page = self.reseal_page(state, current, &mut after, batch.max(1));
                    let more = matches!(&page, Ok(w) if !w.is_empty());
                    // The writer stops listening when it fails.
                    if pages.send(page).is_err() || !more {
                        return;
                    }
                }
            });
            let mut groups = CommitGroups::new(group_records);
            let mut done = 0u64;
            for page in resealed {
                let writes = page?;
                if writes.is_empty() {
                    break;
                }
                let mut e = self
                    .admin_event(actor, "key.rewrap", Some(tenant))
                    .detail("key_version", current)
                    .detail("count", writes.len());
                e.records = writes
                    .iter()
                    .map(|w| mamori_core::RecordId::from_bytes(w.record.id).to_string())
                    .collect();
                self.audit.append(e)?;
                groups.current(|| self.store.bulk(tenant))?.write(&writes)?;
                if let Some(full) = groups.wrote(writes.len() as u64) {
                    full.commit()?;
                }
                done += writes.len() as u64;
                progress(&RewrapProgress {
                    rewrapped: done,
                    remaining_estimate: total.saturating_sub(done),
                });
            }
            if let Some(last) = groups.take() {
                last.commit()?;
            }
            Ok(done)
        })
    }

    /// The next `limit` records after `after` still under a key version older
    /// than `current`, decrypted and sealed again under `current` (empty when
    /// none is left).
    fn reseal_page(
        &self,
        state: &TenantState,
        current: u32,
        after: &mut [u8; 16],
        limit: usize,
    ) -> Result<Vec<RecordWrite>> {
        let rows = self.store.scan_records(
            &state.row.id,
            &RecordScan {
                segment: None,
                older_than_version: Some(current),
                after: *after,
                limit,
            },
        )?;
        if let Some(last) = rows.last() {
            *after = last.id;
        }
        on_cores(&rows, |row| {
            let old = state.keys_for(row.key_version)?;
            let plain = sealed::open(&old.data, &row.id, &row.sealed, |_| true)?;
            let mut w = prepare_write(
                state,
                Some(row.id),
                row.segment.clone(),
                &plain,
                row.updated_at,
            )?;
            // Only while it is still what was read: an update meanwhile
            // (already under the current key) must not be reverted.
            w.kind = WriteKind::Reseal(row.key_version);
            Ok(w)
        })
    }

    /// Destroys the tenant's keys. Its records become unreadable for good.
    pub fn shred(&self, actor: &str, tenant: &str) -> Result<()> {
        let row = self
            .store
            .tenant(tenant)?
            .ok_or(VaultError::NotFound { what: "tenant" })?;
        if row.status == TenantStatus::Shredded {
            return Err(VaultError::Shredded(tenant.to_owned()));
        }
        let records = self.store.count_records(tenant, None)?;
        self.audit.append(
            self.admin_event(actor, "tenant.shred", Some(tenant))
                .detail("records", records),
        )?;
        self.store.shred_tenant(tenant, self.now())?;
        Ok(())
    }

    /// Creates a user and returns their first API token (shown once).
    pub fn create_user(&self, actor: &str, new: &NewUser<'_>) -> Result<Zeroizing<String>> {
        let NewUser {
            login,
            role,
            department,
            vendor,
            manager,
        } = *new;
        if !valid_login(login) {
            return Err(VaultError::bad(
                ErrorCode::LoginInvalid,
                "login must be 2-64 lower-case letters, digits, '.', '_' or '-'",
            ));
        }
        if self.store.user(login)?.is_some() {
            return Err(VaultError::Conflict(format!(
                "user '{login}' already exists"
            )));
        }
        if let Some(v) = vendor
            && self.store.vendor(v)?.is_none()
        {
            return Err(VaultError::bad(
                ErrorCode::VendorUnknown,
                format!(
                    "vendor '{v}' is not registered; the security office registers it with `mamori vendor put`"
                ),
            ));
        }
        if role == Role::VendorUser && vendor.is_none() {
            return Err(VaultError::bad(
                ErrorCode::VendorMissing,
                "a vendor_user account must name the vendor it works for (--vendor)",
            ));
        }
        if let Some(m) = manager
            && self.store.user(m)?.is_none()
        {
            return Err(VaultError::bad(
                ErrorCode::ManagerUnknown,
                format!("manager '{m}' does not exist; create them first"),
            ));
        }
        let now = self.now();
        let mut e = self
            .admin_event(actor, "user.create", None)
            .detail("login", login)
            .detail("role", role.as_str());
        e.detail.insert("department".into(), department.into());
        e.detail.insert("vendor".into(), vendor.into());
        e.detail.insert("manager".into(), manager.into());
        self.audit.append(e)?;
        self.store.create_user(&UserRow {
            login: login.to_owned(),
            role: role.as_str().to_owned(),
            department: department.map(str::to_owned),
            vendor: vendor.map(str::to_owned),
            manager: manager.map(str::to_owned),
            created_at: now,
            leaves_at: None,
            suspended_at: None,
        })?;
        self.issue_token(actor, login)
    }

    /// Issues an additional token for an existing user.
    pub fn issue_token(&self, actor: &str, login: &str) -> Result<Zeroizing<String>> {
        self.store
            .user(login)?
            .ok_or(VaultError::NotFound { what: "user" })?;
        let (token, hash) = token::generate().map_err(|e| VaultError::Internal(e.to_string()))?;
        self.audit.append(
            self.admin_event(actor, "token.issue", None)
                .detail("login", login),
        )?;
        self.store.add_token(login, &hash, self.now())?;
        Ok(token)
    }

    pub fn revoke_tokens(&self, actor: &str, login: &str) -> Result<usize> {
        self.store
            .user(login)?
            .ok_or(VaultError::NotFound { what: "user" })?;
        self.audit.append(
            self.admin_event(actor, "token.revoke", None)
                .detail("login", login),
        )?;
        Ok(self.store.revoke_tokens(login, self.now())?)
    }

    /// Assigns a person to a segment of a tenant, or nominates them for
    /// standing full access to all of it (which the security office decides:
    /// see `full_access`).
    pub fn assign(
        &self,
        actor: &str,
        login: &str,
        tenant: &str,
        segment: Option<&str>,
    ) -> Result<Assigned> {
        self.store
            .user(login)?
            .ok_or(VaultError::NotFound { what: "user" })?;
        let row = self
            .store
            .tenant(tenant)?
            .ok_or(VaultError::NotFound { what: "tenant" })?;
        let Some(seg) = segment else {
            return Ok(Assigned::FullAccess(Box::new(
                self.nominate_full_access(actor, login, &row)?,
            )));
        };
        let schema = Schema::parse(&row.schema).map_err(|e| VaultError::Internal(e.to_string()))?;
        if schema.segment(seg).is_none() {
            let known: Vec<&str> = schema.segments.iter().map(|s| s.id.as_str()).collect();
            return Err(VaultError::bad(
                ErrorCode::SegmentUnknown,
                format!(
                    "unknown segment '{seg}'; tenant '{tenant}' has: {}",
                    known.join(", ")
                ),
            ));
        }
        self.audit.append(
            self.admin_event(actor, "user.assign", Some(tenant))
                .detail("login", login)
                .detail("segment", seg),
        )?;
        self.store.assign(&Assignment {
            login: login.to_owned(),
            tenant: tenant.to_owned(),
            segment: Some(seg.to_owned()),
        })?;
        Ok(Assigned::Segment)
    }

    pub fn users(&self) -> Result<Vec<(UserRow, Vec<Assignment>)>> {
        self.store
            .users()?
            .into_iter()
            .map(|u| {
                let a = self.store.assignments(&u.login)?;
                Ok((u, a))
            })
            .collect()
    }

    /// Audit events for those the policy lets read them. The read is audited too.
    /// What part of the log a read names, as the gate judges it: only one
    /// tenant the caller is assigned to, or only one person they manage.
    pub(crate) fn audit_scope(
        &self,
        caller: &Caller,
        tenant: Option<&str>,
        actor: Option<&str>,
    ) -> Result<AuditScope> {
        let tenant_assigned =
            tenant.is_some_and(|t| caller.facts.assignments.iter().any(|a| a.tenant == t));
        let actor_managed = match actor.and_then(|a| a.strip_prefix("user:")) {
            Some(login) => self.relation(&caller.principal.login, login)?.0,
            None => false,
        };
        Ok(AuditScope {
            tenant_assigned,
            actor_managed,
        })
    }

    /// A page of audit events. Who may read what is the policies' word:
    /// by default the security office and auditors read everything, a
    /// supervisor only a tenant they are assigned to or the people they manage.
    pub fn audit_events(&self, caller: &Caller, mut q: AuditQuery) -> Result<AuditPage> {
        let scope = self.audit_scope(caller, q.tenant.as_deref(), q.actor.as_deref())?;
        let decision = self.gate.decide_audit_read(&caller.principal, &scope);
        let e = self.gated(
            self.caller_event(caller, "audit.read", "allowed"),
            &decision,
            &decision.reason(),
        )?;
        q.limit = q.limit.clamp(1, 1000);
        let rows = self.audit.store().query(&q).map_err(VaultError::from)?;
        self.audit.append(e.detail("returned", rows.len()))?;
        let next = (rows.len() == q.limit)
            .then(|| rows.last().map(|r| r.rowid))
            .flatten();
        let events = rows
            .iter()
            .map(|r| {
                serde_json::from_slice(&r.body)
                    .map_err(|_| VaultError::Internal("stored audit event does not parse".into()))
            })
            .collect::<Result<Vec<SealedEvent>>>()?;
        Ok(AuditPage { events, next })
    }
}
