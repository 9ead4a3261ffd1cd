//! The policy gate: Cedar policies and the entities of a request (principal, action,
//! resource, context) evaluated into a decision with the deciding policies and their hints.

use std::{collections::HashMap, path::Path, str::FromStr};

use cedar_policy::{
    Authorizer, Context, Entities, Entity, EntityId, EntityTypeName, EntityUid, PolicySet, Request,
    RestrictedExpression, Schema, ValidationMode, Validator,
};

/// The Cedar schema the policies are validated against.
pub const POLICY_SCHEMA: &str = include_str!("../policies/mamori.cedarschema");
/// The policies written into a new data directory.
pub const DEFAULT_POLICIES: &str = include_str!("../policies/default.cedar");

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read policy files in {dir}: {message}")]
    Io { dir: String, message: String },
    #[error("policy schema is invalid: {0}")]
    Schema(String),
    #[error("policy file {file} does not parse: {message}")]
    Parse { file: String, message: String },
    #[error("policies do not validate against the schema: {0}")]
    Invalid(String),
    #[error("no policy files (*.cedar) in {0}")]
    Empty(String),
}

/// The person asking, as the gate needs to know them.
#[derive(Clone, Debug)]
pub struct Principal {
    pub login: String,
    pub role: String,
    pub department: Option<String>,
    pub vendor: Option<String>,
    /// (tenant, segment) assignments; a None segment means the whole tenant.
    pub assignments: Vec<(String, Option<String>)>,
    /// (tenant, segment) of just-in-time grants live for the request at hand.
    pub grant_scopes: Vec<(String, Option<String>)>,
    pub training_current: bool,
    pub compliance_required: bool,
    pub compliance_current: bool,
    /// No vendor, or the vendor's contract is in force and complete.
    pub vendor_valid: bool,
}

impl Principal {
    /// A principal with assignments only: no grants, every people check
    /// failing (default deny) until the caller states otherwise.
    pub fn new(login: &str, role: &str, assignments: Vec<(String, Option<String>)>) -> Self {
        Self {
            login: login.to_owned(),
            role: role.to_owned(),
            department: None,
            vendor: None,
            assignments,
            grant_scopes: Vec::new(),
            training_current: false,
            compliance_required: false,
            compliance_current: false,
            vendor_valid: false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Search,
    Read,
    Write,
    Delete,
    AuditRead,
    AccessRequest,
    AccessApprove,
    AccessIssue,
    AccessRevoke,
    AccessView,
    GovernanceManage,
    ReportRead,
    ExportRequest,
    ExportApprove,
    ExportDownload,
    ExportRevoke,
    ExportView,
    ExportTrace,
    FullAccessApprove,
    FullAccessRevoke,
    FullAccessView,
    DirectiveIssue,
    DirectiveAck,
    DirectiveView,
    AlertView,
    AlertManage,
    UserSuspend,
    ScanMatch,
    BreachAnalyze,
    FileQuarantine,
    FileRestore,
    FileDelete,
    ScanReport,
    ScanHunt,
    ScanMachines,
    BreachNotify,
    ReconcileRun,
    ReconcileView,
    ReconcileDispose,
    ReviewOpen,
    ReviewView,
    ReviewDecide,
    EgressRequest,
    EgressApprove,
    /// The system's own health: store, audit log, checkpoints, witnesses,
    /// alert deliveries — no customer data.
    SystemView,
}

impl Action {
    pub const ALL: [Action; 45] = [
        Action::Search,
        Action::Read,
        Action::Write,
        Action::Delete,
        Action::AuditRead,
        Action::AccessRequest,
        Action::AccessApprove,
        Action::AccessIssue,
        Action::AccessRevoke,
        Action::AccessView,
        Action::GovernanceManage,
        Action::ReportRead,
        Action::ExportRequest,
        Action::ExportApprove,
        Action::ExportDownload,
        Action::ExportRevoke,
        Action::ExportView,
        Action::ExportTrace,
        Action::FullAccessApprove,
        Action::FullAccessRevoke,
        Action::FullAccessView,
        Action::DirectiveIssue,
        Action::DirectiveAck,
        Action::DirectiveView,
        Action::AlertView,
        Action::AlertManage,
        Action::UserSuspend,
        Action::ScanMatch,
        Action::BreachAnalyze,
        Action::FileQuarantine,
        Action::FileRestore,
        Action::FileDelete,
        Action::ScanReport,
        Action::ScanHunt,
        Action::ScanMachines,
        Action::BreachNotify,
        Action::ReconcileRun,
        Action::ReconcileView,
        Action::ReconcileDispose,
        Action::ReviewOpen,
        Action::ReviewView,
        Action::ReviewDecide,
        Action::EgressRequest,
        Action::EgressApprove,
        Action::SystemView,
    ];

    /// The action named `id` in the policies (`record.search`, …).
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == id)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Search => "record.search",
            Action::Read => "record.read",
            Action::Write => "record.write",
            Action::Delete => "record.delete",
            Action::AuditRead => "audit.read",
            Action::AccessRequest => "access.request",
            Action::AccessApprove => "access.approve",
            Action::AccessIssue => "access.issue",
            Action::AccessRevoke => "access.revoke",
            Action::AccessView => "access.view",
            Action::GovernanceManage => "governance.manage",
            Action::ReportRead => "report.read",
            Action::ExportRequest => "export.request",
            Action::ExportApprove => "export.approve",
            Action::ExportDownload => "export.download",
            Action::ExportRevoke => "export.revoke",
            Action::ExportView => "export.view",
            Action::ExportTrace => "export.trace",
            Action::FullAccessApprove => "fullaccess.approve",
            Action::FullAccessRevoke => "fullaccess.revoke",
            Action::FullAccessView => "fullaccess.view",
            Action::DirectiveIssue => "directive.issue",
            Action::DirectiveAck => "directive.ack",
            Action::DirectiveView => "directive.view",
            Action::AlertView => "alert.view",
            Action::AlertManage => "alert.manage",
            Action::UserSuspend => "user.suspend",
            Action::ScanMatch => "scan.match",
            Action::BreachAnalyze => "breach.analyze",
            Action::FileQuarantine => "file.quarantine",
            Action::FileRestore => "file.restore",
            Action::FileDelete => "file.delete",
            Action::ScanReport => "scan.report",
            Action::ScanHunt => "scan.hunt",
            Action::ScanMachines => "scan.machines",
            Action::BreachNotify => "breach.notify",
            Action::ReconcileRun => "reconcile.run",
            Action::ReconcileView => "reconcile.view",
            Action::ReconcileDispose => "reconcile.dispose",
            Action::ReviewOpen => "review.open",
            Action::ReviewView => "review.view",
            Action::ReviewDecide => "review.decide",
            Action::EgressRequest => "egress.request",
            Action::EgressApprove => "egress.approve",
            Action::SystemView => "system.view",
        }
    }
}

/// A request touching customer data.
#[derive(Clone, Debug)]
pub struct DataRequest<'a> {
    pub action: Action,
    pub tenant: &'a str,
    /// The record's segment; None for a search across the tenant.
    pub segment: Option<&'a str>,
    /// All segments of the tenant (a search may find any of them).
    pub tenant_segments: &'a [String],
    pub purpose: &'a str,
    pub purpose_known: bool,
    pub purpose_roles: &'a [&'a str],
    pub has_case: bool,
    pub tenant_active: bool,
}

/// A request about a just-in-time access request or grant, with the facts
/// of the org chart that the policies judge it by.
#[derive(Clone, Debug)]
pub struct GrantRequest<'a> {
    pub action: Action,
    pub tenant: &'a str,
    /// The person the grant is (or would be) for.
    pub requester: &'a str,
    pub is_requester: bool,
    pub manages_requester: bool,
    pub managed_by_requester: bool,
    pub holds_full_access: bool,
}

/// An action on an access review item, with who stands where to it.
#[derive(Clone, Debug)]
pub struct ReviewCheck<'a> {
    pub action: Action,
    /// The person whose entitlement is under review.
    pub reviewee: &'a str,
    pub is_reviewee: bool,
    pub is_reviewer: bool,
    pub is_grantor: bool,
    pub manages_reviewee: bool,
}

/// An action on a bulk export, with the org-chart facts and the approvals so far.
#[derive(Clone, Debug)]
pub struct ExportCheck<'a> {
    pub action: Action,
    pub tenant: &'a str,
    /// None: the whole tenant.
    pub segment: Option<&'a str>,
    pub requester: &'a str,
    pub is_requester: bool,
    pub manages_requester: bool,
    pub managed_by_requester: bool,
    pub purpose_roles: &'a [&'a str],
    /// For `ExportApprove`: approving (true) or denying (false).
    pub approving: bool,
    pub approvals_so_far: u32,
    pub approvals_required: u32,
    pub approver_roles: &'a [String],
}

/// What part of the audit log a read asks for, as the policies judge it.
/// Both false: the whole log, or a part named by neither (the system log).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuditScope {
    /// Only events of one tenant, and the principal is assigned to it.
    pub tenant_assigned: bool,
    /// Only events by one person, and the principal manages them.
    pub actor_managed: bool,
}

/// The gate's answer, with the ids of the policies that decided (for the audit
/// log) and their hints (for the person refused). Only the gate makes one
/// that allows (the fields are private), so only the gate's allow yields a
/// [`Permit`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    allowed: bool,
    policies: Vec<String>,
    hints: Vec<String>,
}

/// Proof that the gate allowed an act: it has no public constructor, and the
/// only way to one is [`Decision::permit`] of an allowing decision. The vault
/// asks for one wherever personal data is shown, so a path that skips the
/// gate does not compile:
///
/// ```compile_fail
/// let forged = mamori_policy::Permit { _private: () };
/// ```
#[derive(Debug)]
#[must_use]
pub struct Permit {
    _private: (),
}

impl Decision {
    /// A refusal no policy decided: nothing was there to ask about (a tenant
    /// without segments).
    pub fn refused() -> Self {
        Decision {
            allowed: false,
            policies: Vec::new(),
            hints: Vec::new(),
        }
    }

    pub fn allowed(&self) -> bool {
        self.allowed
    }

    /// The ids of the policies that decided (for the audit log).
    pub fn policies(&self) -> &[String] {
        &self.policies
    }

    /// What the policies tell the person refused.
    pub fn hints(&self) -> &[String] {
        &self.hints
    }

    /// The decision with one more hint for the person refused; allowing
    /// nothing more than before.
    pub fn with_hint(mut self, hint: &str) -> Self {
        self.hints.push(hint.to_owned());
        self
    }

    /// The permit to act, when the gate allowed it.
    pub fn permit(&self) -> Option<Permit> {
        self.allowed.then_some(Permit { _private: () })
    }

    fn invalid(code: &str) -> Self {
        Decision {
            allowed: false,
            policies: vec![code.to_owned()],
            hints: Vec::new(),
        }
    }

    /// A stable reason code: the deciding policies, or `default_deny`.
    pub fn reason(&self) -> String {
        match (self.allowed, self.policies.is_empty()) {
            (true, _) => "allowed".into(),
            (false, true) => "default_deny".into(),
            (false, false) => format!("forbidden_by:{}", self.policies.join(",")),
        }
    }
}

pub struct Gate {
    policies: PolicySet,
    /// For each action, only the policies whose scope can name it: Cedar
    /// evaluates every policy it is given, and one whose action scope does
    /// not match decides nothing, so leaving it out changes no decision
    /// (a data request evaluates 8 policies instead of all 30).
    by_action: HashMap<&'static str, PolicySet>,
    /// Data decisions already made, by their exact inputs (see `data_key`).
    /// A decision is a pure function of the policies (fixed for the gate's
    /// life), the principal and the request, so a repeated question gets the
    /// same answer without evaluating Cedar again — the lookup path asks the
    /// same two questions for every customer an operator finds.
    memo: std::sync::Mutex<HashMap<Vec<u8>, Decision>>,
    schema: Schema,
    authorizer: Authorizer,
    // Readable ids (@id annotations) and hints (@hint) by Cedar's internal policy id.
    names: HashMap<String, (String, Option<String>)>,
    user_type: EntityTypeName,
    tenant_type: EntityTypeName,
    record_type: EntityTypeName,
    audit_type: EntityTypeName,
    request_type: EntityTypeName,
    governance_type: EntityTypeName,
    export_type: EntityTypeName,
}

impl Gate {
    /// Loads every `*.cedar` file from `dir` and validates it against the
    /// schema built into this binary. The schema names what the code
    /// provides, so a copy in `dir` (written by `init` for reference) is
    /// refreshed rather than trusted: an upgrade never runs old vocabulary.
    pub fn load(dir: &Path) -> Result<Self, PolicyError> {
        let io = |e: std::io::Error| PolicyError::Io {
            dir: dir.display().to_string(),
            message: e.to_string(),
        };
        let schema_file = dir.join("mamori.cedarschema");
        if std::fs::read_to_string(&schema_file).ok().as_deref() != Some(POLICY_SCHEMA) {
            // Best effort: a read-only policy directory still loads.
            let _ = std::fs::write(&schema_file, POLICY_SCHEMA);
        }
        let schema_src = POLICY_SCHEMA;
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "cedar"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(PolicyError::Empty(dir.display().to_string()));
        }
        let mut sources = Vec::new();
        for f in files {
            let src = std::fs::read_to_string(&f).map_err(io)?;
            sources.push((
                f.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                src,
            ));
        }
        Self::from_sources(schema_src, &sources)
    }

    /// Builds a gate from (file name, source) pairs; used by `load` and tests.
    pub fn from_sources(schema_src: &str, files: &[(String, String)]) -> Result<Self, PolicyError> {
        let (schema, _) = Schema::from_cedarschema_str(schema_src)
            .map_err(|e| PolicyError::Schema(format!("{e:?}")))?;
        let mut policies = PolicySet::new();
        let mut names = HashMap::new();
        for (file, src) in files {
            let set = PolicySet::from_str(src).map_err(|e| PolicyError::Parse {
                file: file.clone(),
                message: format!("{e}"),
            })?;
            for p in set.policies() {
                let readable = p
                    .annotation("id")
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("{file}:{}", p.id()));
                let hint = p.annotation("hint").map(str::to_owned);
                let new_id = cedar_policy::PolicyId::new(format!("{file}#{}", p.id()));
                names.insert(new_id.to_string(), (readable, hint));
                policies
                    .add(p.new_id(new_id))
                    .map_err(|e| PolicyError::Parse {
                        file: file.clone(),
                        message: format!("{e}"),
                    })?;
            }
        }
        let result = Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
        if !result.validation_passed() {
            let msgs: Vec<String> = result.validation_errors().map(|e| format!("{e}")).collect();
            return Err(PolicyError::Invalid(msgs.join("; ")));
        }
        let ty = |n: &str| EntityTypeName::from_str(n).expect("static type name");
        let by_action = Action::ALL
            .iter()
            .map(|a| Ok((a.as_str(), policies_for(&policies, *a)?)))
            .collect::<Result<_, PolicyError>>()?;
        Ok(Self {
            memo: Default::default(),
            by_action,
            policies,
            schema,
            authorizer: Authorizer::new(),
            names,
            user_type: ty("Mamori::User"),
            tenant_type: ty("Mamori::Tenant"),
            record_type: ty("Mamori::Record"),
            audit_type: ty("Mamori::AuditLog"),
            request_type: ty("Mamori::AccessRequest"),
            governance_type: ty("Mamori::Governance"),
            export_type: ty("Mamori::Export"),
        })
    }

    fn uid(ty: &EntityTypeName, id: &str) -> EntityUid {
        EntityUid::from_type_name_and_id(ty.clone(), EntityId::new(id))
    }

    fn user_entity(&self, p: &Principal) -> Entity {
        let set = |items: Vec<String>| {
            RestrictedExpression::new_set(items.into_iter().map(RestrictedExpression::new_string))
        };
        let tenants: Vec<String> = p.assignments.iter().map(|(t, _)| t.clone()).collect();
        let scopes = |list: &[(String, Option<String>)]| -> Vec<String> {
            list.iter().map(|(t, s)| scope(t, s.as_deref())).collect()
        };
        let attrs = HashMap::from([
            (
                "role".to_owned(),
                RestrictedExpression::new_string(p.role.clone()),
            ),
            (
                "department".to_owned(),
                RestrictedExpression::new_string(p.department.clone().unwrap_or_default()),
            ),
            (
                "vendor".to_owned(),
                RestrictedExpression::new_string(p.vendor.clone().unwrap_or_default()),
            ),
            ("tenants".to_owned(), set(tenants)),
            ("scopes".to_owned(), set(scopes(&p.assignments))),
            ("grant_scopes".to_owned(), set(scopes(&p.grant_scopes))),
            (
                "training_current".to_owned(),
                RestrictedExpression::new_bool(p.training_current),
            ),
            (
                "compliance_required".to_owned(),
                RestrictedExpression::new_bool(p.compliance_required),
            ),
            (
                "compliance_current".to_owned(),
                RestrictedExpression::new_bool(p.compliance_current),
            ),
            (
                "vendor_valid".to_owned(),
                RestrictedExpression::new_bool(p.vendor_valid),
            ),
        ]);
        Entity::new(
            Self::uid(&self.user_type, &p.login),
            attrs,
            Default::default(),
        )
        .expect("literal attributes evaluate")
    }

    /// Decides a request touching customer data.
    pub fn decide(&self, who: &Principal, req: &DataRequest<'_>) -> Decision {
        let key = data_key(who, req);
        if let Some(d) = self.memo().get(&key) {
            return d.clone();
        }
        let d = self.evaluate(who, req);
        let mut m = self.memo();
        if m.len() >= MEMO_MAX {
            m.clear();
        }
        m.insert(key, d.clone());
        d
    }

    fn memo(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, Decision>> {
        // A panic while holding it cannot leave a wrong entry: entries are
        // inserted whole.
        self.memo.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn evaluate(&self, who: &Principal, req: &DataRequest<'_>) -> Decision {
        let set = |items: Vec<String>| {
            RestrictedExpression::new_set(items.into_iter().map(RestrictedExpression::new_string))
        };
        let (resource, entity) = match req.segment {
            Some(seg) => {
                let uid = Self::uid(&self.record_type, &format!("{}/{}", req.tenant, seg));
                let attrs = HashMap::from([
                    (
                        "tenant".to_owned(),
                        RestrictedExpression::new_string(req.tenant.to_owned()),
                    ),
                    (
                        "segment".to_owned(),
                        RestrictedExpression::new_string(seg.to_owned()),
                    ),
                    (
                        "scopes".to_owned(),
                        set(vec![scope(req.tenant, None), scope(req.tenant, Some(seg))]),
                    ),
                ]);
                (uid.clone(), Entity::new(uid, attrs, Default::default()))
            }
            None => {
                let uid = Self::uid(&self.tenant_type, req.tenant);
                let mut scopes = vec![scope(req.tenant, None)];
                scopes.extend(
                    req.tenant_segments
                        .iter()
                        .map(|s| scope(req.tenant, Some(s))),
                );
                let attrs = HashMap::from([("scopes".to_owned(), set(scopes))]);
                (uid.clone(), Entity::new(uid, attrs, Default::default()))
            }
        };
        let context = Context::from_pairs([
            (
                "purpose".to_owned(),
                RestrictedExpression::new_string(req.purpose.to_owned()),
            ),
            (
                "purpose_known".to_owned(),
                RestrictedExpression::new_bool(req.purpose_known),
            ),
            (
                "purpose_roles".to_owned(),
                set(req.purpose_roles.iter().map(|s| (*s).to_owned()).collect()),
            ),
            (
                "has_case".to_owned(),
                RestrictedExpression::new_bool(req.has_case),
            ),
            (
                "tenant_active".to_owned(),
                RestrictedExpression::new_bool(req.tenant_active),
            ),
        ]);
        let (Ok(entity), Ok(context)) = (entity, context) else {
            return Decision::invalid("request_invalid");
        };
        self.run(who, req.action, resource, vec![entity], context)
    }

    /// Decides an action on a just-in-time access request or grant.
    pub fn decide_grant(&self, who: &Principal, req: &GrantRequest<'_>) -> Decision {
        let uid = Self::uid(
            &self.request_type,
            &format!("{}/{}", req.tenant, req.requester),
        );
        let attrs = HashMap::from([
            (
                "tenant".to_owned(),
                RestrictedExpression::new_string(req.tenant.to_owned()),
            ),
            (
                "requester".to_owned(),
                RestrictedExpression::new_string(req.requester.to_owned()),
            ),
        ]);
        let entity = Entity::new(uid.clone(), attrs, Default::default());
        let b = RestrictedExpression::new_bool;
        let context = Context::from_pairs([
            ("is_requester".to_owned(), b(req.is_requester)),
            ("manages_requester".to_owned(), b(req.manages_requester)),
            (
                "managed_by_requester".to_owned(),
                b(req.managed_by_requester),
            ),
            ("holds_full_access".to_owned(), b(req.holds_full_access)),
        ]);
        let (Ok(entity), Ok(context)) = (entity, context) else {
            return Decision::invalid("request_invalid");
        };
        self.run(who, req.action, uid, vec![entity], context)
    }

    /// Decides an action on an access review item.
    pub fn decide_review(&self, who: &Principal, req: &ReviewCheck<'_>) -> Decision {
        let uid = Self::uid(&self.request_type, &format!("review/{}", req.reviewee));
        let attrs = HashMap::from([
            (
                "tenant".to_owned(),
                RestrictedExpression::new_string(String::new()),
            ),
            (
                "requester".to_owned(),
                RestrictedExpression::new_string(req.reviewee.to_owned()),
            ),
        ]);
        let entity = Entity::new(uid.clone(), attrs, Default::default());
        let b = RestrictedExpression::new_bool;
        let context = Context::from_pairs([
            ("is_reviewee".to_owned(), b(req.is_reviewee)),
            ("is_reviewer".to_owned(), b(req.is_reviewer)),
            ("is_grantor".to_owned(), b(req.is_grantor)),
            ("manages_reviewee".to_owned(), b(req.manages_reviewee)),
        ]);
        let (Ok(entity), Ok(context)) = (entity, context) else {
            return Decision::invalid("request_invalid");
        };
        self.run(who, req.action, uid, vec![entity], context)
    }

    /// Decides whether `who` may request destinations for the egress
    /// register (and read it), or approve, revoke and publish them.
    pub fn decide_egress(&self, who: &Principal, action: Action) -> Decision {
        self.decide_governance(who, action)
    }

    /// Decides whether `who` may open, close and advance review campaigns.
    pub fn decide_review_open(&self, who: &Principal) -> Decision {
        self.decide_governance(who, Action::ReviewOpen)
    }

    /// Decides an action on a bulk export.
    pub fn decide_export(&self, who: &Principal, req: &ExportCheck<'_>) -> Decision {
        let strings = |items: &[&str]| {
            RestrictedExpression::new_set(
                items
                    .iter()
                    .map(|s| RestrictedExpression::new_string((*s).to_owned())),
            )
        };
        let uid = Self::uid(
            &self.export_type,
            &format!("{}/{}", req.tenant, req.requester),
        );
        let whole = scope(req.tenant, None);
        let scopes: Vec<String> = match req.segment {
            Some(seg) => vec![whole, scope(req.tenant, Some(seg))],
            None => vec![whole],
        };
        let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
        let attrs = HashMap::from([
            (
                "tenant".to_owned(),
                RestrictedExpression::new_string(req.tenant.to_owned()),
            ),
            (
                "requester".to_owned(),
                RestrictedExpression::new_string(req.requester.to_owned()),
            ),
            ("scopes".to_owned(), strings(&scopes)),
        ]);
        let entity = Entity::new(uid.clone(), attrs, Default::default());
        let b = RestrictedExpression::new_bool;
        let n = |v: u32| RestrictedExpression::new_long(i64::from(v));
        let roles: Vec<&str> = req.approver_roles.iter().map(String::as_str).collect();
        let context = Context::from_pairs([
            ("is_requester".to_owned(), b(req.is_requester)),
            ("manages_requester".to_owned(), b(req.manages_requester)),
            (
                "managed_by_requester".to_owned(),
                b(req.managed_by_requester),
            ),
            ("purpose_roles".to_owned(), strings(req.purpose_roles)),
            ("approving".to_owned(), b(req.approving)),
            ("approvals_so_far".to_owned(), n(req.approvals_so_far)),
            ("approvals_required".to_owned(), n(req.approvals_required)),
            ("approver_roles".to_owned(), strings(&roles)),
        ]);
        let (Ok(entity), Ok(context)) = (entity, context) else {
            return Decision::invalid("request_invalid");
        };
        self.run(who, req.action, uid, vec![entity], context)
    }

    /// Decides whether `who` may trace a leaked file back to its export.
    pub fn decide_trace(&self, who: &Principal) -> Decision {
        self.decide_governance(who, Action::ExportTrace)
    }

    /// Decides whether `who` may keep people, vendor and cap records.
    pub fn decide_manage(&self, who: &Principal) -> Decision {
        self.decide_governance(who, Action::GovernanceManage)
    }

    /// Decides whether `who` may match values a scan found against every
    /// tenant's customers.
    pub fn decide_scan(&self, who: &Principal) -> Decision {
        self.decide_governance(who, Action::ScanMatch)
    }

    /// Decides whether `who` may analyse a leaked file: whose customers it
    /// holds, and which accounts and exports it overlaps.
    pub fn decide_breach(&self, who: &Principal) -> Decision {
        self.decide_governance(who, Action::BreachAnalyze)
    }

    /// Decides whether `who` may make a tenant's breach notification package.
    pub fn decide_breach_notice(&self, who: &Principal) -> Decision {
        self.decide_governance(who, Action::BreachNotify)
    }

    /// Decides whether `who` may quarantine, restore or delete a file found
    /// holding personal data (`action` is one of the three).
    pub fn decide_file(&self, who: &Principal, action: Action) -> Decision {
        self.decide_governance(who, action)
    }

    /// Decides whether `who` may act on PC agents' work: report a scan and
    /// learn its hunts (`ScanReport`), start a hunt, list the machines.
    pub fn decide_agent(&self, who: &Principal, action: Action) -> Decision {
        self.decide_governance(who, action)
    }

    /// Decides whether `who` may run a reconciliation (reads, grants, door
    /// and PC logs joined over a period).
    pub fn decide_reconcile(&self, who: &Principal) -> Decision {
        self.decide_governance(who, Action::ReconcileRun)
    }

    /// Decides whether `who` may read oversight reports (entitlements).
    pub fn decide_report(&self, who: &Principal) -> Decision {
        self.decide_governance(who, Action::ReportRead)
    }

    /// Decides whether `who` may read the system's health.
    pub fn decide_system(&self, who: &Principal) -> Decision {
        self.decide_governance(who, Action::SystemView)
    }

    fn decide_governance(&self, who: &Principal, action: Action) -> Decision {
        let uid = Self::uid(&self.governance_type, "governance");
        let entity = Entity::new_no_attrs(uid.clone(), Default::default());
        self.run(who, action, uid, vec![entity], Context::empty())
    }

    /// Decides whether `who` may read the part of the audit log `scope`
    /// describes.
    pub fn decide_audit_read(&self, who: &Principal, scope: &AuditScope) -> Decision {
        let uid = Self::uid(&self.audit_type, "audit");
        let entity = Entity::new_no_attrs(uid.clone(), Default::default());
        let b = RestrictedExpression::new_bool;
        let Ok(context) = Context::from_pairs([
            ("tenant_assigned".to_owned(), b(scope.tenant_assigned)),
            ("actor_managed".to_owned(), b(scope.actor_managed)),
        ]) else {
            return Decision::invalid("request_invalid");
        };
        self.run(who, Action::AuditRead, uid, vec![entity], context)
    }

    fn run(
        &self,
        who: &Principal,
        action: Action,
        resource: EntityUid,
        mut entities: Vec<Entity>,
        context: Context,
    ) -> Decision {
        let principal = self.user_entity(who);
        let puid = principal.uid();
        entities.push(principal);
        let action_uid = EntityUid::from_type_name_and_id(
            EntityTypeName::from_str("Mamori::Action").expect("static"),
            EntityId::new(action.as_str()),
        );
        // Any failure to build or validate the request is a denial (default deny).
        let Ok(request) = Request::new(puid, action_uid, resource, context, Some(&self.schema))
        else {
            return Decision::invalid("request_invalid");
        };
        // The entities are built here from typed fields, so they are not
        // re-validated against the schema on every request (a tenth of a
        // lookup's CPU); the request is, and the policies were at load time.
        // Should an attribute ever be mistyped, evaluation errors, and an
        // error is a denial.
        let Ok(entities) = Entities::from_entities(entities, None) else {
            return Decision::invalid("entities_invalid");
        };
        let policies = self
            .by_action
            .get(action.as_str())
            .unwrap_or(&self.policies);
        let response = self.authorizer.is_authorized(&request, policies, &entities);
        let mut named: Vec<(String, Option<String>)> = response
            .diagnostics()
            .reason()
            .map(|id| {
                self.names
                    .get(&id.to_string())
                    .cloned()
                    .unwrap_or_else(|| (id.to_string(), None))
            })
            .collect();
        named.sort();
        let errored = response.diagnostics().errors().next().is_some();
        let allowed = response.decision() == cedar_policy::Decision::Allow && !errored;
        let hints = if allowed {
            Vec::new()
        } else {
            named.iter().filter_map(|(_, h)| h.clone()).collect()
        };
        Decision {
            allowed,
            policies: named.into_iter().map(|(n, _)| n).collect(),
            hints,
        }
    }
}

/// Most data decisions remembered; the memo starts over when full.
const MEMO_MAX: usize = 50_000;

/// Every input of a data decision, length-prefixed so that no two different
/// inputs share a key: who (everything `user_entity` reads) and what (every
/// field of the request). A field added to either must be added here.
fn data_key(who: &Principal, req: &DataRequest<'_>) -> Vec<u8> {
    let mut k = Vec::with_capacity(256);
    let mut put = |s: &str| {
        k.extend_from_slice(&(s.len() as u32).to_le_bytes());
        k.extend_from_slice(s.as_bytes());
    };
    let Principal {
        login,
        role,
        department,
        vendor,
        assignments,
        grant_scopes,
        training_current,
        compliance_required,
        compliance_current,
        vendor_valid,
    } = who;
    let DataRequest {
        action,
        tenant,
        segment,
        tenant_segments,
        purpose,
        purpose_known,
        purpose_roles,
        has_case,
        tenant_active,
    } = req;
    put(login);
    put(role);
    put(department.as_deref().unwrap_or("\0none"));
    put(vendor.as_deref().unwrap_or("\0none"));
    for list in [assignments, grant_scopes] {
        put(&list.len().to_string());
        for (t, s) in list.iter() {
            put(t);
            put(s.as_deref().unwrap_or("\0all"));
        }
    }
    put(action.as_str());
    put(tenant);
    put(segment.unwrap_or("\0none"));
    put(&tenant_segments.len().to_string());
    for s in tenant_segments.iter() {
        put(s);
    }
    put(purpose);
    put(&purpose_roles.len().to_string());
    for r in purpose_roles.iter() {
        put(r);
    }
    let flags = [
        *training_current,
        *compliance_required,
        *compliance_current,
        *vendor_valid,
        *purpose_known,
        *has_case,
        *tenant_active,
    ];
    k.extend(flags.map(u8::from));
    k
}

/// The policies that can apply to `action`: any whose action scope is
/// unconstrained, equal to it, or a list naming it — or naming anything that
/// is not a plain action (a group would need the hierarchy; keep it, to be safe).
fn policies_for(all: &PolicySet, action: Action) -> Result<PolicySet, PolicyError> {
    let is_action = |uid: &EntityUid| {
        uid.type_name().to_string() == "Mamori::Action"
            && Action::from_id(uid.id().unescaped()).is_some()
    };
    let names = |uid: &EntityUid| uid.id().unescaped() == action.as_str();
    let mut set = PolicySet::new();
    for p in all.policies() {
        let applies = match p.action_constraint() {
            cedar_policy::ActionConstraint::Any => true,
            cedar_policy::ActionConstraint::Eq(uid) => names(&uid) || !is_action(&uid),
            cedar_policy::ActionConstraint::In(uids) => {
                uids.iter().any(|u| names(u) || !is_action(u))
            }
        };
        if applies {
            set.add(p.clone())
                .map_err(|e| PolicyError::Invalid(e.to_string()))?;
        }
    }
    Ok(set)
}

fn scope(tenant: &str, segment: Option<&str>) -> String {
    format!("{tenant}/{}", segment.unwrap_or("*"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate() -> Gate {
        Gate::from_sources(
            POLICY_SCHEMA,
            &[("default.cedar".into(), DEFAULT_POLICIES.into())],
        )
        .unwrap()
    }

    fn who(role: &str, assignments: &[(&str, Option<&str>)]) -> Principal {
        let mut p = Principal::new(
            &format!("{role}1"),
            role,
            assignments
                .iter()
                .map(|(t, s)| (t.to_string(), s.map(str::to_owned)))
                .collect(),
        );
        p.training_current = true;
        p.vendor_valid = true;
        p
    }

    fn read<'a>(
        segment: Option<&'a str>,
        purpose_known: bool,
        roles: &'a [&'a str],
        segs: &'a [String],
    ) -> DataRequest<'a> {
        DataRequest {
            action: Action::Read,
            tenant: "acme",
            segment,
            tenant_segments: segs,
            purpose: "inquiry",
            purpose_known,
            purpose_roles: roles,
            has_case: true,
            tenant_active: true,
        }
    }

    /// Each action gets exactly the policies whose scope can name it, and
    /// no policy is lost on the way.
    #[test]
    fn policies_are_partitioned_by_action_without_losing_any() {
        let g = gate();
        let ids = |a: Action| -> Vec<String> {
            let mut v: Vec<String> = g.by_action[a.as_str()]
                .policies()
                .map(|p| g.names[&p.id().to_string()].0.clone())
                .collect();
            v.sort();
            v
        };
        assert_eq!(
            ids(Action::Search),
            [
                "people-compliance-current",
                "people-training-current",
                "purpose-required",
                "sod-no-customer-data",
                "staff-read-assigned",
                "staff-read-granted",
                "tenant-active",
                "vendor-contract-valid",
            ]
        );
        let approve = ids(Action::FullAccessApprove);
        for id in [
            "full-access-security-office",
            "sod-no-self-approval",
            "sod-no-approval-by-report",
        ] {
            assert!(approve.contains(&id.to_owned()), "{id}: {approve:?}");
        }
        assert!(!approve.contains(&"staff-read-assigned".to_owned()));
        let covered: std::collections::HashSet<String> =
            Action::ALL.iter().flat_map(|a| ids(*a)).collect();
        assert_eq!(covered.len(), g.policies.policies().count());
        assert_eq!(Action::from_id("export.trace"), Some(Action::ExportTrace));
        assert_eq!(Action::from_id("record.nothing"), None);
    }

    /// A remembered decision is only ever reused for exactly the same
    /// question: change any input and the gate evaluates again.
    #[test]
    fn remembered_decisions_never_answer_a_different_question() {
        let g = gate();
        let segs = vec!["own".to_string(), "collab".to_string()];
        let roles = ["operator", "backyard"];
        let mut op = who("operator", &[("acme", Some("own"))]);
        let req = read(Some("own"), true, &roles, &segs);
        assert!(g.decide(&op, &req).allowed);
        assert!(g.decide(&op, &req).allowed, "asked again");
        op.training_current = false;
        assert!(!g.decide(&op, &req).allowed, "training lapsed since");
        op.training_current = true;
        op.assignments = vec![("acme".into(), Some("collab".into()))];
        assert!(!g.decide(&op, &req).allowed, "assignment moved");
        op.assignments = vec![];
        op.grant_scopes = vec![("acme".into(), Some("own".into()))];
        assert!(g.decide(&op, &req).allowed, "a grant covers it");
        let other = read(Some("own"), true, &["backyard"], &segs);
        assert!(!g.decide(&op, &other).allowed, "purpose for another role");
        let mut inactive = read(Some("own"), true, &roles, &segs);
        inactive.tenant_active = false;
        assert!(!g.decide(&op, &inactive).allowed, "tenant shredded");
        op.role = "sysadmin".into();
        assert!(!g.decide(&op, &req).allowed, "role changed");
        // Field boundaries are part of the key: ("ab","c") is not ("a","bc").
        let a = who("operator", &[("ab", Some("c"))]);
        let b = who("operator", &[("a", Some("bc"))]);
        let segs2 = vec!["c".to_string(), "bc".to_string()];
        let ab = DataRequest {
            tenant: "ab",
            segment: Some("c"),
            ..read(Some("c"), true, &roles, &segs2)
        };
        assert_ne!(data_key(&a, &ab), data_key(&b, &ab));
    }

    #[test]
    fn decisions() {
        let g = gate();
        let segs = vec!["own".to_string(), "collab".to_string()];
        let roles = ["operator", "backyard"];
        let op = who("operator", &[("acme", Some("own"))]);
        assert!(
            g.decide(&op, &read(Some("own"), true, &roles, &segs))
                .allowed
        );
        // segment not assigned
        let d = g.decide(&op, &read(Some("collab"), true, &roles, &segs));
        assert_eq!(
            d,
            Decision {
                allowed: false,
                policies: vec![],
                hints: vec![],
            }
        );
        assert_eq!(d.reason(), "default_deny");
        // unknown purpose
        let d = g.decide(&op, &read(Some("own"), false, &roles, &segs));
        assert!(!d.allowed);
        assert_eq!(d.policies, vec!["purpose-required".to_string()]);
        // purpose not for this role
        assert!(
            !g.decide(&op, &read(Some("own"), true, &["backyard"], &segs))
                .allowed
        );
        // search across tenant with a segment assignment
        let mut search = read(None, true, &roles, &segs);
        search.action = Action::Search;
        assert!(g.decide(&op, &search).allowed);
        // another tenant
        let other = who("operator", &[("other", None)]);
        assert!(!g.decide(&other, &search).allowed);
        // sysadmin assigned everywhere still cannot read (A9)
        let admin = who("sysadmin", &[("acme", None)]);
        let d = g.decide(&admin, &read(Some("own"), true, &["sysadmin"], &segs));
        assert_eq!(d.policies, vec!["sod-no-customer-data".to_string()]);
        // audit read
        let all = AuditScope::default();
        let own = AuditScope {
            tenant_assigned: true,
            actor_managed: false,
        };
        let team = AuditScope {
            tenant_assigned: false,
            actor_managed: true,
        };
        assert!(g.decide_audit_read(&who("auditor", &[]), &all).allowed);
        assert!(
            g.decide_audit_read(&who("security_officer", &[]), &all)
                .allowed
        );
        assert!(!g.decide_audit_read(&who("operator", &[]), &own).allowed);
        assert!(!g.decide_audit_read(&who("sysadmin", &[]), &all).allowed);
        // A supervisor: their tenants and their team, never the whole log.
        let sv = who("supervisor", &[("acme", None)]);
        assert!(!g.decide_audit_read(&sv, &all).allowed);
        assert!(g.decide_audit_read(&sv, &own).allowed);
        assert!(g.decide_audit_read(&sv, &team).allowed);
        // shredded tenant
        let mut shredded = read(Some("own"), true, &roles, &segs);
        shredded.tenant_active = false;
        assert!(!g.decide(&op, &shredded).allowed);
    }

    #[test]
    fn people_gates_and_grants() {
        let g = gate();
        let segs = vec!["own".to_string(), "collab".to_string()];
        let roles = ["operator", "vendor_user"];
        let req = read(Some("collab"), true, &roles, &segs);
        let mut op = who("operator", &[("acme", Some("own"))]);
        assert!(!g.decide(&op, &req).allowed);
        op.grant_scopes = vec![("acme".into(), Some("collab".into()))];
        let d = g.decide(&op, &req);
        assert!(d.allowed);
        assert_eq!(d.policies, vec!["staff-read-granted".to_string()]);
        // a grant for another tenant's segment does not leak across
        op.grant_scopes = vec![("other".into(), Some("collab".into()))];
        assert!(!g.decide(&op, &req).allowed);
        op.grant_scopes = vec![("acme".into(), Some("collab".into()))];
        op.training_current = false;
        let d = g.decide(&op, &req);
        assert!(!d.allowed);
        assert_eq!(d.policies, vec!["people-training-current".to_string()]);
        assert!(d.hints[0].contains("training"));
        op.training_current = true;
        op.compliance_required = true;
        assert!(!g.decide(&op, &req).allowed);
        op.compliance_current = true;
        assert!(g.decide(&op, &req).allowed);
        let mut vd = who("vendor_user", &[("acme", Some("collab"))]);
        assert!(g.decide(&vd, &req).allowed);
        vd.vendor_valid = false;
        assert_eq!(
            g.decide(&vd, &req).policies,
            vec!["vendor-contract-valid".to_string()]
        );
    }

    #[test]
    fn approvals() {
        let g = gate();
        let base = GrantRequest {
            action: Action::AccessApprove,
            tenant: "acme",
            requester: "op1",
            is_requester: false,
            manages_requester: true,
            managed_by_requester: false,
            holds_full_access: false,
        };
        let sv = who("supervisor", &[]);
        assert!(g.decide_grant(&sv, &base).allowed);
        // not their team
        let other_team = GrantRequest {
            manages_requester: false,
            ..base.clone()
        };
        assert!(!g.decide_grant(&sv, &other_team).allowed);
        // self-approval: forbidden even for the security office
        let own = GrantRequest {
            is_requester: true,
            ..other_team.clone()
        };
        let so = who("security_officer", &[]);
        assert!(g.decide_grant(&so, &other_team).allowed);
        let d = g.decide_grant(&so, &own);
        assert_eq!(d.policies, vec!["sod-no-self-approval".to_string()]);
        // approval by someone the requester manages
        let report = GrantRequest {
            managed_by_requester: true,
            ..other_team.clone()
        };
        assert!(!g.decide_grant(&so, &report).allowed);
        // operators never approve
        assert!(!g.decide_grant(&who("operator", &[]), &base).allowed);
        // issuing needs standing full access
        let issue = GrantRequest {
            action: Action::AccessIssue,
            ..other_team.clone()
        };
        let by = who("backyard", &[("acme", None)]);
        assert!(!g.decide_grant(&by, &issue).allowed);
        let issue_full = GrantRequest {
            holds_full_access: true,
            ..issue.clone()
        };
        assert!(g.decide_grant(&by, &issue_full).allowed);
        assert!(!g.decide_grant(&who("sysadmin", &[]), &issue_full).allowed);
        // requests only to a tenant one works on
        let ask = GrantRequest {
            action: Action::AccessRequest,
            is_requester: true,
            manages_requester: false,
            ..base.clone()
        };
        assert!(
            g.decide_grant(&who("operator", &[("acme", Some("own"))]), &ask)
                .allowed
        );
        assert!(
            !g.decide_grant(&who("operator", &[("other", None)]), &ask)
                .allowed
        );
        // governance records: the security office only
        assert!(g.decide_manage(&so).allowed);
        assert!(!g.decide_manage(&sv).allowed);
        assert!(!g.decide_manage(&who("sysadmin", &[])).allowed);
        assert!(g.decide_report(&who("auditor", &[])).allowed);
        assert!(!g.decide_report(&who("operator", &[])).allowed);
    }

    #[test]
    fn exports_need_both_groups() {
        let g = gate();
        let roles = ["backyard"];
        let none: Vec<String> = Vec::new();
        let ask = ExportCheck {
            action: Action::ExportRequest,
            tenant: "acme",
            segment: Some("collab"),
            requester: "by1",
            is_requester: true,
            manages_requester: false,
            managed_by_requester: false,
            purpose_roles: &roles,
            approving: true,
            approvals_so_far: 0,
            approvals_required: 2,
            approver_roles: &none,
        };
        let by = who("backyard", &[("acme", Some("collab"))]);
        assert!(g.decide_export(&by, &ask).allowed);
        // a whole-tenant export needs a whole-tenant assignment
        let whole = ExportCheck {
            segment: None,
            ..ask.clone()
        };
        assert!(!g.decide_export(&by, &whole).allowed);
        assert!(
            g.decide_export(&who("backyard", &[("acme", None)]), &whole)
                .allowed
        );
        assert!(
            !g.decide_export(&who("operator", &[("acme", None)]), &ask)
                .allowed
        );
        let approve = ExportCheck {
            action: Action::ExportApprove,
            is_requester: false,
            manages_requester: true,
            ..ask.clone()
        };
        let sv = who("supervisor", &[]);
        let so = who("security_officer", &[]);
        assert!(g.decide_export(&sv, &approve).allowed);
        // second approval by another supervisor: refused (AND of groups)
        let sv_done = vec!["supervisor".to_string()];
        let second = ExportCheck {
            approvals_so_far: 1,
            approver_roles: &sv_done,
            ..approve.clone()
        };
        let d = g.decide_export(&sv, &second);
        assert_eq!(
            d.policies,
            vec!["export-approvers-from-both-groups".to_string()]
        );
        assert!(g.decide_export(&so, &second).allowed);
        // a denial is not held to the pair rule
        let deny = ExportCheck {
            approving: false,
            ..second.clone()
        };
        assert!(g.decide_export(&sv, &deny).allowed);
        // self-approval and approval by a report
        let own = ExportCheck {
            is_requester: true,
            ..approve.clone()
        };
        assert!(!g.decide_export(&so, &own).allowed);
        let report = ExportCheck {
            managed_by_requester: true,
            manages_requester: false,
            ..approve.clone()
        };
        assert!(!g.decide_export(&so, &report).allowed);
        // downloads: the requester only, and only with current training
        let dl = ExportCheck {
            action: Action::ExportDownload,
            ..ask.clone()
        };
        assert!(g.decide_export(&by, &dl).allowed);
        let mut lapsed = by.clone();
        lapsed.training_current = false;
        assert!(!g.decide_export(&lapsed, &dl).allowed);
        assert!(g.decide_trace(&so).allowed);
        assert!(!g.decide_trace(&by).allowed);
    }

    #[test]
    fn invalid_policies_are_refused_at_load() {
        let typo = DEFAULT_POLICIES.replace("principal.role ==", "principal.rolle ==");
        let err = Gate::from_sources(POLICY_SCHEMA, &[("default.cedar".into(), typo)])
            .err()
            .unwrap();
        assert!(matches!(err, PolicyError::Invalid(_)), "{err}");
        let broken = "permit (principal, action, resource) when {".to_string();
        let err = Gate::from_sources(POLICY_SCHEMA, &[("x.cedar".into(), broken)])
            .err()
            .unwrap();
        assert!(matches!(err, PolicyError::Parse { .. }), "{err}");
    }
}
