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
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Search,
    Read,
    Write,
    Delete,
    AuditRead,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Search => "record.search",
            Action::Read => "record.read",
            Action::Write => "record.write",
            Action::Delete => "record.delete",
            Action::AuditRead => "audit.read",
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

/// The gate's answer, with the ids of the policies that decided (for the audit log).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub policies: Vec<String>,
}

impl Decision {
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
    schema: Schema,
    authorizer: Authorizer,
    // Readable ids (@id annotations) by Cedar's internal policy id.
    names: HashMap<String, String>,
    user_type: EntityTypeName,
    tenant_type: EntityTypeName,
    record_type: EntityTypeName,
    audit_type: EntityTypeName,
}

impl Gate {
    /// Loads every `*.cedar` file and `mamori.cedarschema` from `dir`.
    pub fn load(dir: &Path) -> Result<Self, PolicyError> {
        let io = |e: std::io::Error| PolicyError::Io {
            dir: dir.display().to_string(),
            message: e.to_string(),
        };
        let schema_src = std::fs::read_to_string(dir.join("mamori.cedarschema")).map_err(io)?;
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
        Self::from_sources(&schema_src, &sources)
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
                let new_id = cedar_policy::PolicyId::new(format!("{file}#{}", p.id()));
                names.insert(new_id.to_string(), readable);
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
        Ok(Self {
            policies,
            schema,
            authorizer: Authorizer::new(),
            names,
            user_type: ty("Mamori::User"),
            tenant_type: ty("Mamori::Tenant"),
            record_type: ty("Mamori::Record"),
            audit_type: ty("Mamori::AuditLog"),
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
        let scopes: Vec<String> = p
            .assignments
            .iter()
            .map(|(t, s)| scope(t, s.as_deref()))
            .collect();
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
            ("scopes".to_owned(), set(scopes)),
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
            return Decision {
                allowed: false,
                policies: vec!["request_invalid".into()],
            };
        };
        self.run(who, req.action, resource, vec![entity], context)
    }

    /// Decides whether `who` may read the audit log.
    pub fn decide_audit_read(&self, who: &Principal) -> Decision {
        let uid = Self::uid(&self.audit_type, "audit");
        let entity = Entity::new_no_attrs(uid.clone(), Default::default());
        self.run(who, Action::AuditRead, uid, vec![entity], Context::empty())
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
            return Decision {
                allowed: false,
                policies: vec!["request_invalid".into()],
            };
        };
        let Ok(entities) = Entities::from_entities(entities, Some(&self.schema)) else {
            return Decision {
                allowed: false,
                policies: vec!["entities_invalid".into()],
            };
        };
        let response = self
            .authorizer
            .is_authorized(&request, &self.policies, &entities);
        let mut policies: Vec<String> = response
            .diagnostics()
            .reason()
            .map(|id| {
                self.names
                    .get(&id.to_string())
                    .cloned()
                    .unwrap_or_else(|| id.to_string())
            })
            .collect();
        policies.sort();
        let errored = response.diagnostics().errors().next().is_some();
        let allowed = response.decision() == cedar_policy::Decision::Allow && !errored;
        Decision { allowed, policies }
    }
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
        Principal {
            login: format!("{role}1"),
            role: role.into(),
            department: None,
            vendor: None,
            assignments: assignments
                .iter()
                .map(|(t, s)| (t.to_string(), s.map(str::to_owned)))
                .collect(),
        }
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
                policies: vec![]
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
        assert!(g.decide_audit_read(&who("auditor", &[])).allowed);
        assert!(!g.decide_audit_read(&who("operator", &[])).allowed);
        assert!(!g.decide_audit_read(&who("sysadmin", &[])).allowed);
        // shredded tenant
        let mut shredded = read(Some("own"), true, &roles, &segs);
        shredded.tenant_active = false;
        assert!(!g.decide(&op, &shredded).allowed);
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
