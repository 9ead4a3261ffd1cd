//! SCIM provisioning: an identity provider creates, changes and removes
//! the people it manages, and the groups that place them. A provisioned
//! User is one mamori person (a login made from the userName, never
//! changed); `active=false` or a DELETE offboards them at once through
//! `Vault::deprovision` (one store transaction: suspended, every
//! credential revoked, their requests, grants, exports and approvals
//! withdrawn) before the answer goes back, and a deleted User stays as a
//! tombstone that the audit log's events still name. Groups place their
//! members by `[identity.scim]` (`profiles.rs`). Every change is recorded
//! before it is made, as `scim:<token label>`.

use mamori_audit::{Decision as AuditDecision, Event};
use mamori_crypto::token;
use mamori_identity::scim::{
    self, Group, ListQuery, ScimError, User, patch, query::Projection, resource::Meta,
};
use mamori_store::{MemberChange, ScimKind, ScimQuery, ScimRow, ScimTokenRow, StoreError, UserRow};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;
use zeroize::Zeroizing;

use crate::{
    ErrorCode, Vault,
    error::{Result, VaultError},
    kernel::caller::presented_hash,
};

/// How many times a change is tried again when another changed the
/// resource between our read and our write.
const TRIES: usize = 8;

/// An authenticated provisioning client (a provider's token).
#[derive(Clone, Debug)]
pub struct ScimClient {
    actor: String,
    client: Option<String>,
}

/// Why a SCIM request failed: the protocol's own errors (with their
/// `scimType`), or the vault's (store, audit log).
#[derive(Debug, thiserror::Error)]
pub enum ScimFail {
    #[error(transparent)]
    Scim(#[from] ScimError),
    #[error(transparent)]
    Vault(#[from] VaultError),
}

impl From<StoreError> for ScimFail {
    fn from(e: StoreError) -> Self {
        ScimFail::Vault(e.into())
    }
}

impl From<mamori_audit::AuditError> for ScimFail {
    fn from(e: mamori_audit::AuditError) -> Self {
        ScimFail::Vault(e.into())
    }
}

pub type ScimResult<T> = std::result::Result<T, ScimFail>;

/// A User as stored: the resource, and whether its person's suspension was
/// provisioning's doing (so that `active=true` lifts only that, never a
/// suspension the security office ordered).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct StoredUser {
    #[serde(flatten)]
    pub user: User,
    #[serde(default)]
    pub suspended_by_scim: bool,
}

/// A row's columns from the User it stores.
trait WithUser: Sized {
    fn with_user(self, stored: &StoredUser) -> ScimResult<Self>;
}

impl WithUser for ScimRow {
    fn with_user(self, stored: &StoredUser) -> ScimResult<ScimRow> {
        Ok(ScimRow {
            name_key: stored.user.user_name.to_lowercase(),
            external_id: stored.user.external_id.clone(),
            doc: serde_json::to_string(stored).map_err(|_| corrupt())?,
            ..self
        })
    }
}

/// A store conflict on a User: its userName is a live User's.
fn user_name_taken(e: StoreError) -> ScimFail {
    match e {
        StoreError::Conflict(_) => ScimError::uniqueness("a User with this userName exists").into(),
        other => other.into(),
    }
}

fn kind_name(kind: ScimKind) -> &'static str {
    match kind {
        ScimKind::User => "Users",
        ScimKind::Group => "Groups",
    }
}

fn corrupt() -> ScimFail {
    ScimFail::Vault(VaultError::Internal(
        "a stored SCIM resource is corrupt".into(),
    ))
}

pub(super) fn stored_user(row: &ScimRow) -> ScimResult<StoredUser> {
    serde_json::from_str(&row.doc).map_err(|_| corrupt())
}

fn stored_group(row: &ScimRow) -> ScimResult<Group> {
    serde_json::from_str(&row.doc).map_err(|_| corrupt())
}

fn new_id() -> String {
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// A login from a userName: its local part, lower case, with what a login
/// may not hold turned into `-`; a userName with nothing usable (a name in
/// kanji) gives `scim-` and the start of the resource's id.
fn base_login(user_name: &str, id: &str) -> String {
    let local = user_name
        .split('@')
        .next()
        .unwrap_or_default()
        .to_lowercase();
    let mut out = String::new();
    for c in local.chars() {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_' {
            c
        } else {
            '-'
        };
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    let out: String = out
        .trim_matches(|c| c == '-' || c == '.')
        .chars()
        .take(56)
        .collect();
    if out.len() >= 2 && out.chars().any(|c| c.is_ascii_alphanumeric()) {
        out
    } else {
        format!("scim-{}", &id[..8])
    }
}

impl Vault {
    /// Resolves a provisioning token. Anything else — an unknown or revoked
    /// token, a person's API token — is refused and recorded.
    pub fn scim_authenticate(
        &self,
        bearer: Option<&str>,
        client: Option<String>,
    ) -> Result<ScimClient> {
        let label = match presented_hash(bearer) {
            Some(hash) => self.store.scim_token(&hash)?,
            None => None,
        };
        let Some(label) = label else {
            return Err(self.unauthenticated("auth.scim", client, "token_invalid_or_revoked")?);
        };
        Ok(ScimClient {
            actor: format!("scim:{label}"),
            client,
        })
    }

    /// Issues a provisioning token under `label` (shown once, stored hashed).
    pub fn scim_issue_token(&self, actor: &str, label: &str) -> Result<Zeroizing<String>> {
        if label.is_empty()
            || label.len() > 64
            || !label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(VaultError::bad(
                ErrorCode::FieldInvalid,
                "a token's label is 1-64 letters, digits, '-', '_' or '.' (e.g. entra)",
            ));
        }
        let (secret, hash) = token::generate().map_err(|e| VaultError::Internal(e.to_string()))?;
        self.audit.append(
            self.admin_event(actor, "scim.token.issue", None)
                .detail("label", label),
        )?;
        self.store
            .add_scim_token(&hash, label, self.now())
            .map_err(|e| match e {
                StoreError::Conflict(_) => VaultError::Conflict(
                    "a live provisioning token has that label; revoke it first or choose another"
                        .into(),
                ),
                other => other.into(),
            })?;
        Ok(secret)
    }

    pub fn scim_revoke_token(&self, actor: &str, label: &str) -> Result<()> {
        self.audit.append(
            self.admin_event(actor, "scim.token.revoke", None)
                .detail("label", label),
        )?;
        if !self.store.revoke_scim_token(label, self.now())? {
            return Err(VaultError::NotFound {
                what: "provisioning token",
            });
        }
        Ok(())
    }

    pub fn scim_tokens(&self) -> Result<Vec<ScimTokenRow>> {
        Ok(self.store.scim_tokens()?)
    }

    pub(super) fn scim_event(&self, c: &ScimClient, action: &str) -> Event {
        let mut e = Event::new(&c.actor, action, AuditDecision::Allow, "ok");
        e.client = c.client.clone();
        e
    }

    /// Where the SCIM endpoint is, as the provider reaches it.
    pub fn scim_base(&self) -> String {
        let b = self.rules.scim.base_url.trim_end_matches('/');
        if b.is_empty() {
            "/scim/v2".into()
        } else {
            b.into()
        }
    }

    fn meta(&self, row: &ScimRow) -> Meta {
        Meta {
            id: row.id.clone(),
            location: format!("{}/{}/{}", self.scim_base(), kind_name(row.kind), row.id),
            created: row.created_at,
            modified: row.updated_at,
            version: row.version,
        }
    }

    /// A resource as SCIM shows it.
    fn shown(&self, row: &ScimRow) -> ScimResult<Value> {
        let meta = self.meta(row);
        match row.kind {
            ScimKind::User => Ok(stored_user(row)?.user.to_scim(&meta, &self.scim_base())),
            ScimKind::Group => {
                let mut g = stored_group(row)?;
                g.members = self.store.scim_members(&row.id)?;
                Ok(g.to_scim(&meta, &self.scim_base()))
            }
        }
    }

    fn live(&self, kind: ScimKind, id: &str) -> ScimResult<ScimRow> {
        self.store
            .scim(kind, id)?
            .ok_or_else(|| ScimError::not_found(kind.as_str()).into())
    }

    /// One resource, projected as asked.
    pub fn scim_get(
        &self,
        _c: &ScimClient,
        kind: ScimKind,
        id: &str,
        projection: &Projection,
    ) -> ScimResult<Value> {
        Ok(projection.apply(self.shown(&self.live(kind, id)?)?))
    }

    /// A page of resources matching the query's filter.
    pub fn scim_list(&self, _c: &ScimClient, kind: ScimKind, q: &ListQuery) -> ScimResult<Value> {
        let mut sq = ScimQuery {
            offset: q.offset,
            limit: q.count,
            ..ScimQuery::default()
        };
        for clause in q.filter.iter().flat_map(|f| &f.clauses) {
            let text = clause.text().ok_or_else(|| {
                ScimError::invalid_filter("these attributes are compared with strings")
            })?;
            let slot = match (kind, clause.attr.as_str()) {
                (_, "id") => &mut sq.id,
                (_, "externalid") => &mut sq.external_id,
                (ScimKind::User, "username") | (ScimKind::Group, "displayname") => &mut sq.name_key,
                (ScimKind::Group, "members.value") => &mut sq.member,
                _ => {
                    return Err(ScimError::invalid_filter(
                        "Users are filtered by id, userName or externalId; Groups by id, displayName, externalId or members.value",
                    )
                    .into());
                }
            };
            let value = if clause.attr == "username" || clause.attr == "displayname" {
                text.to_lowercase()
            } else {
                text.to_owned()
            };
            if slot.as_ref().is_some_and(|v| *v != value) {
                return Ok(scim::query::list_response(0, q.offset, Vec::new()));
            }
            *slot = Some(value);
        }
        let (total, rows) = self.store.scim_find(kind, &sq)?;
        let page = rows
            .iter()
            .map(|r| Ok(q.projection.apply(self.shown(r)?)))
            .collect::<ScimResult<Vec<_>>>()?;
        Ok(scim::query::list_response(total, q.offset, page))
    }

    /// A search over Users and Groups at once (`POST /.search`): each kind
    /// answers the filter if it can (a kind whose attributes the filter
    /// does not name adds nothing), Users first, then one page of both.
    pub fn scim_search_all(&self, c: &ScimClient, q: &ListQuery) -> ScimResult<Value> {
        let wide = ListQuery {
            offset: 0,
            count: q.offset.saturating_add(q.count),
            ..q.clone()
        };
        let mut total = 0;
        let mut all = Vec::new();
        let mut answered = false;
        for kind in [ScimKind::User, ScimKind::Group] {
            match self.scim_list(c, kind, &wide) {
                Ok(list) => {
                    answered = true;
                    total += list["totalResults"].as_u64().unwrap_or(0) as usize;
                    if let Some(Value::Array(r)) = list.get("Resources") {
                        all.extend(r.iter().cloned());
                    }
                }
                Err(ScimFail::Scim(e)) if e.scim_type == Some("invalidFilter") => {}
                Err(e) => return Err(e),
            }
        }
        if !answered {
            return Err(ScimError::invalid_filter(
                "Users are filtered by id, userName or externalId; Groups by id, displayName, externalId or members.value",
            )
            .into());
        }
        let page = all.into_iter().skip(q.offset).take(q.count).collect();
        Ok(scim::query::list_response(total, q.offset, page))
    }

    /// Creates a resource from a POST body; answers it as shown.
    pub fn scim_create(&self, c: &ScimClient, kind: ScimKind, body: &Value) -> ScimResult<Value> {
        let doc = scim::fold(body.clone());
        let row = match kind {
            ScimKind::User => self.create_user_resource(c, User::from_folded(&doc)?)?,
            ScimKind::Group => self.create_group_resource(c, Group::from_folded(&doc)?)?,
        };
        self.shown(&row)
    }

    fn create_user_resource(&self, c: &ScimClient, user: User) -> ScimResult<ScimRow> {
        self.check_manager(&user, None)?;
        let id = new_id();
        let login = self.free_login(&base_login(&user.user_name, &id))?;
        self.check_link_free(&user)?;
        let now = self.now();
        let stored = StoredUser {
            suspended_by_scim: !user.active,
            user,
        };
        let row = ScimRow {
            kind: ScimKind::User,
            id: id.clone(),
            login: Some(login.clone()),
            name_key: String::new(),
            external_id: None,
            doc: String::new(),
            version: 1,
            created_at: now,
            updated_at: now,
        }
        .with_user(&stored)?;
        let person = UserRow {
            login: login.clone(),
            role: self.rules.scim.default_role.as_str().to_owned(),
            department: stored.user.department.clone(),
            vendor: None,
            manager: None,
            created_at: now,
            leaves_at: None,
            suspended_at: (!stored.user.active).then_some(now),
            facts_rev: 0,
        };
        self.audit.append(
            self.scim_event(c, "scim.user.create")
                .detail("id", id.as_str())
                .detail("login", login.as_str())
                .detail("external_id", stored.user.external_id.clone())
                .detail("active", stored.user.active)
                .detail("role", person.role.as_str()),
        )?;
        self.store
            .insert_scim(&row, Some(&person), &[])
            .map_err(user_name_taken)?;
        self.link_provisioned(c, &login, None, stored.user.external_id.as_deref())?;
        self.settle_profile(c, &row.id)?;
        self.live(ScimKind::User, &id)
    }

    /// The first of `base`, `base-2`, `base-3`… that is no one's login.
    fn free_login(&self, base: &str) -> ScimResult<String> {
        for n in 1..=99 {
            let login = if n == 1 {
                base.to_owned()
            } else {
                format!("{base}-{n}")
            };
            if self.store.user(&login)?.is_none() {
                return Ok(login);
            }
        }
        Err(ScimError::uniqueness("no free login could be made from this userName").into())
    }

    /// A manager named by the enterprise extension must be a User here.
    fn check_manager(&self, user: &User, this: Option<&str>) -> ScimResult<()> {
        if let Some(m) = &user.manager
            && (this == Some(m.as_str()) || self.store.scim(ScimKind::User, m)?.is_none())
        {
            return Err(
                ScimError::invalid_value("manager must be another User provisioned here").into(),
            );
        }
        Ok(())
    }

    fn create_group_resource(&self, c: &ScimClient, group: Group) -> ScimResult<ScimRow> {
        self.check_members(&group.members)?;
        let now = self.now();
        let id = new_id();
        let row = ScimRow {
            kind: ScimKind::Group,
            id: id.clone(),
            login: None,
            name_key: group.display_name.to_lowercase(),
            external_id: group.external_id.clone(),
            doc: serde_json::to_string(&Group {
                members: Vec::new(),
                ..group.clone()
            })
            .map_err(|_| corrupt())?,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        self.audit.append(
            self.scim_event(c, "scim.group.create")
                .detail("id", id.as_str())
                .detail("display_name", group.display_name.as_str())
                .detail("external_id", group.external_id.clone())
                .detail("members", group.members.len()),
        )?;
        self.store.insert_scim(&row, None, &group.members)?;
        for m in &group.members {
            self.settle_profile(c, m)?;
        }
        self.live(ScimKind::Group, &id)
    }

    fn check_members(&self, members: &[String]) -> ScimResult<()> {
        if self.store.scim_live_users(members)?.len() != members.len() {
            return Err(
                ScimError::invalid_value("every member must be a User provisioned here").into(),
            );
        }
        Ok(())
    }

    /// Replaces a resource with a PUT body.
    pub fn scim_replace(
        &self,
        c: &ScimClient,
        kind: ScimKind,
        id: &str,
        body: &Value,
    ) -> ScimResult<Value> {
        let doc = scim::fold(body.clone());
        self.scim_modify(c, kind, id, &|_| Ok(doc.clone()))
    }

    /// Applies a PATCH body.
    /// Applies a PATCH body; answers the resource, or None when a Group's
    /// members alone changed (answered without a body).
    pub fn scim_patch(
        &self,
        c: &ScimClient,
        kind: ScimKind,
        id: &str,
        body: &Value,
    ) -> ScimResult<Option<Value>> {
        if kind == ScimKind::Group
            && let Some((add, remove)) = patch::member_changes(body)
        {
            return self.patch_members(c, id, add, remove);
        }
        self.scim_modify(c, kind, id, &|mut current| {
            patch::apply(&mut current, body)?;
            Ok(current)
        })
        .map(Some)
    }

    /// Reads the resource, computes its new document with `change` (given
    /// the current one, folded), writes it if no one wrote in between
    /// (else tries again), then makes the change take effect.
    fn scim_modify(
        &self,
        c: &ScimClient,
        kind: ScimKind,
        id: &str,
        change: &dyn Fn(Value) -> std::result::Result<Value, ScimError>,
    ) -> ScimResult<Value> {
        for _ in 0..TRIES {
            let row = self.live(kind, id)?;
            let done = match kind {
                ScimKind::User => self.modify_user(c, &row, change)?,
                ScimKind::Group => self.modify_group(c, &row, change)?,
            };
            if done {
                return self.shown(&self.live(kind, id)?);
            }
        }
        Err(VaultError::Conflict("the resource kept changing; try again".into()).into())
    }

    fn modify_user(
        &self,
        c: &ScimClient,
        row: &ScimRow,
        change: &dyn Fn(Value) -> std::result::Result<Value, ScimError>,
    ) -> ScimResult<bool> {
        let old = stored_user(row)?;
        let new = User::from_folded(&change(old.user.to_folded())?)?;
        self.check_manager(&new, Some(&row.id))?;
        let login = row.login.clone().ok_or_else(corrupt)?;
        if new.external_id != old.user.external_id {
            self.check_link_free(&new)?;
        }
        let person = self.store.user(&login)?.ok_or_else(corrupt)?;
        // Who suspended the person: provisioning, when it deactivates one
        // who was not suspended; lifted only by provisioning's reactivation.
        let suspended_by_scim = match (old.user.active, new.active) {
            (true, false) => person.suspended_at.is_none(),
            (false, true) => false,
            _ => old.suspended_by_scim,
        };
        let changed = changed_attributes(&old.user, &new);
        let stored = StoredUser {
            user: new,
            suspended_by_scim,
        };
        let next = ScimRow {
            updated_at: self.now(),
            ..row.clone()
        }
        .with_user(&stored)?;
        self.audit.append(
            self.scim_event(c, "scim.user.update")
                .detail("id", row.id.as_str())
                .detail("login", login.as_str())
                .detail("changed", changed),
        )?;
        let written = self
            .store
            .update_scim(&next, row.version, &MemberChange::default())
            .map_err(user_name_taken)?;
        if !written {
            return Ok(false);
        }
        self.take_effect(c, &login, &person, &old, &stored)?;
        self.settle_profile(c, &row.id)?;
        Ok(true)
    }

    /// What a User's new state means for their person: deactivation
    /// offboards them (also when an earlier attempt stopped half way: the
    /// person is not suspended although the User is inactive), reactivation
    /// lifts provisioning's own suspension, a new externalId moves the link.
    fn take_effect(
        &self,
        c: &ScimClient,
        login: &str,
        person: &UserRow,
        old: &StoredUser,
        new: &StoredUser,
    ) -> ScimResult<()> {
        if !new.user.active && (old.user.active || person.suspended_at.is_none()) {
            self.deprovision(&c.actor, login, "scim")?;
        }
        if new.user.active && !old.user.active {
            if old.suspended_by_scim && person.suspended_at.is_some() {
                self.audit.append(
                    self.scim_event(c, "user.reactivate")
                        .detail("login", login)
                        .detail("origin", "scim"),
                )?;
                self.store.set_suspended(login, None)?;
            } else if person.suspended_at.is_some() {
                // The security office's suspension stands.
                self.audit.append(
                    self.scim_event(c, "user.reactivate")
                        .detail("login", login)
                        .detail("origin", "scim")
                        .detail("suspension_kept", true),
                )?;
            }
        }
        if new.user.external_id != old.user.external_id {
            self.link_provisioned(
                c,
                login,
                old.user.external_id.as_deref(),
                new.user.external_id.as_deref(),
            )?;
        }
        Ok(())
    }

    fn modify_group(
        &self,
        c: &ScimClient,
        row: &ScimRow,
        change: &dyn Fn(Value) -> std::result::Result<Value, ScimError>,
    ) -> ScimResult<bool> {
        let mut old = stored_group(row)?;
        old.members = self.store.scim_members(&row.id)?;
        let new = Group::from_folded(&change(old.to_folded())?)?;
        let (before, after): (BTreeSet<&String>, BTreeSet<&String>) =
            (old.members.iter().collect(), new.members.iter().collect());
        let members = MemberChange {
            add: after.difference(&before).map(|m| (*m).clone()).collect(),
            remove: before.difference(&after).map(|m| (*m).clone()).collect(),
        };
        // Whose place may have moved: those who came and went, and every
        // member when the group's name (what the rules match) changed.
        let renamed = new.display_name != old.display_name || new.external_id != old.external_id;
        let concerned: Vec<String> = if renamed {
            new.members.iter().chain(&members.remove).cloned().collect()
        } else {
            [members.add.clone(), members.remove.clone()].concat()
        };
        self.write_group(
            c,
            row,
            &Group {
                members: Vec::new(),
                ..new
            },
            &members,
            &concerned,
        )
    }

    /// Writes a Group's new name and member changes if it is still at the
    /// version read (false: someone wrote meanwhile), recorded first, then
    /// settles the profiles of those `concerned`.
    fn write_group(
        &self,
        c: &ScimClient,
        row: &ScimRow,
        header: &Group,
        members: &MemberChange,
        concerned: &[String],
    ) -> ScimResult<bool> {
        self.check_members(&members.add)?;
        let next = ScimRow {
            name_key: header.display_name.to_lowercase(),
            external_id: header.external_id.clone(),
            doc: serde_json::to_string(header).map_err(|_| corrupt())?,
            updated_at: self.now(),
            ..row.clone()
        };
        self.audit.append(
            self.scim_event(c, "scim.group.update")
                .detail("id", row.id.as_str())
                .detail("display_name", header.display_name.as_str())
                .detail("added", members.add.clone())
                .detail("removed", members.remove.clone()),
        )?;
        if !self.store.update_scim(&next, row.version, members)? {
            return Ok(false);
        }
        for m in concerned {
            self.settle_profile(c, m)?;
        }
        Ok(true)
    }

    /// A PATCH that only adds and removes members (what providers send
    /// while people come and go), applied without reading the Group's other
    /// members: its cost is that of the members it names, however large
    /// the Group. Answered without a body (204), as RFC 7644 §3.5.2 allows.
    fn patch_members(
        &self,
        c: &ScimClient,
        id: &str,
        add: Vec<String>,
        remove: Vec<String>,
    ) -> ScimResult<Option<Value>> {
        let members = MemberChange { add, remove };
        let concerned = [members.add.clone(), members.remove.clone()].concat();
        for _ in 0..TRIES {
            let row = self.live(ScimKind::Group, id)?;
            let header = stored_group(&row)?;
            if self.write_group(c, &row, &header, &members, &concerned)? {
                return Ok(None);
            }
        }
        Err(VaultError::Conflict("the resource kept changing; try again".into()).into())
    }

    /// Deletes a resource. A User's person is offboarded first (at once, in
    /// one transaction), then the User becomes a tombstone.
    pub fn scim_delete(&self, c: &ScimClient, kind: ScimKind, id: &str) -> ScimResult<()> {
        let row = self.live(kind, id)?;
        match kind {
            ScimKind::User => {
                let login = row.login.clone().ok_or_else(corrupt)?;
                self.audit.append(
                    self.scim_event(c, "scim.user.delete")
                        .detail("id", id)
                        .detail("login", login.as_str()),
                )?;
                self.deprovision(&c.actor, &login, "scim")?;
                self.store.delete_scim(kind, id, self.now())?;
            }
            ScimKind::Group => {
                let members = self.store.scim_members(id)?;
                self.audit.append(
                    self.scim_event(c, "scim.group.delete")
                        .detail("id", id)
                        .detail("members", members.len()),
                )?;
                self.store.delete_scim(kind, id, self.now())?;
                for m in &members {
                    self.settle_profile(c, m)?;
                }
            }
        }
        Ok(())
    }
}

/// The names of the attributes that differ (for the audit event; never
/// their values).
fn changed_attributes(old: &User, new: &User) -> Vec<&'static str> {
    let mut out = Vec::new();
    for (name, differs) in [
        ("userName", old.user_name != new.user_name),
        ("externalId", old.external_id != new.external_id),
        ("displayName", old.display_name != new.display_name),
        ("active", old.active != new.active),
        ("department", old.department != new.department),
        ("manager", old.manager != new.manager),
    ] {
        if differs {
            out.push(name);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::base_login;

    #[test]
    fn logins_from_user_names() {
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(base_login("Sato.Hanako@example.jp", id), "sato.hanako");
        assert_eq!(base_login("o'brien+cc@example.jp", id), "o-brien-cc");
        assert_eq!(base_login("佐藤花子", id), "scim-01234567");
        assert_eq!(base_login("-a-", id), "scim-01234567");
        assert_eq!(base_login(&"x".repeat(80), id).len(), 56);
    }
}
