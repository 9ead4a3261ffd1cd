//! The OpenAPI document served at `/openapi.json`: the operations and
//! schemas the handlers declare, completed by three passes that keep it true
//! without repeating anything per handler — the bearer scheme, the problem
//! answers every operation can give (read from the error-code table, so each
//! documented error lists the codes it may carry), and the constraints of
//! parameters that mean the same thing wherever they appear.

use axum::Json;
use mamori_core::TenantId;
use mamori_vault::ErrorCode;
use utoipa::{
    Modify, OpenApi,
    openapi::{
        Components, ContentBuilder, HeaderBuilder, Object, ObjectBuilder, OpenApi as Doc, Ref,
        RefOr, ResponseBuilder, Schema, Type,
        path::{Operation, ParameterIn, PathItem},
        security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme},
    },
};

use crate::problem::Problem;

#[derive(OpenApi)]
#[openapi(
    info(title = "mamori API", description = "Customer-data vault: purpose-bound, audited access to encrypted customer records. Every error is an RFC 9457 problem document (application/problem+json) with a stable `code`; the codes an answer may carry are listed with its status."),
    paths(crate::records::search, crate::records::get_record, crate::records::put_record, crate::records::delete_record,
        crate::audit::audit_events, crate::health::healthz, crate::health::readyz,
        crate::governance::create_request, crate::governance::list_requests, crate::governance::show_request,
        crate::governance::approve_request, crate::governance::deny_request, crate::governance::revoke_request,
        crate::governance::issue_grant, crate::governance::show_person, crate::governance::record_training,
        crate::governance::record_compliance, crate::governance::list_vendors, crate::governance::put_vendor,
        crate::governance::set_cap, crate::governance::list_full_access, crate::governance::approve_full_access,
        crate::governance::deny_full_access, crate::governance::revoke_full_access,
        crate::exports::create_export, crate::exports::list_exports, crate::exports::show_export,
        crate::exports::approve_export, crate::exports::deny_export, crate::exports::revoke_export,
        crate::exports::download_export, crate::exports::trace,
        crate::audit::checkpoint, crate::audit::inclusion, crate::audit::consistency,
        crate::audit::system_checkpoint, crate::audit::system_inclusion, crate::audit::system_consistency,
        crate::audit::tenant_checkpoint, crate::audit::tenant_inclusion, crate::audit::tenant_consistency,
        crate::directives::issue_directive, crate::directives::list_directives,
        crate::directives::show_directive, crate::directives::ack_directive,
        crate::alerts::list_alerts, crate::alerts::show_alert, crate::alerts::ack_alert,
        crate::alerts::assign_alert, crate::alerts::resolve_alert, crate::alerts::false_positive,
        crate::alerts::suspend_user, crate::alerts::reinstate_user,
        crate::reconcile::run, crate::reconcile::list_discrepancies, crate::reconcile::dispose_discrepancy,
        crate::reviews::open_campaign, crate::reviews::list_campaigns, crate::reviews::close_campaign,
        crate::reviews::campaign_stats, crate::reviews::list_items, crate::reviews::decide_item,
        crate::oversight::entitlements, crate::oversight::trend, crate::oversight::inspect,
        crate::oversight::dashboard, crate::oversight::system,
        crate::oversight::declare, crate::oversight::start_audit, crate::oversight::show_audit,
        crate::oversight::asked, crate::oversight::explain,
        crate::oversight::answer_questionnaire, crate::oversight::questionnaire,
        crate::oversight::egress_list, crate::oversight::egress_request, crate::oversight::egress_approve,
        crate::oversight::egress_revoke, crate::oversight::egress_publish,
        crate::reports::generate, crate::reports::verify,
        crate::scan::match_values, crate::scan::report_scan, crate::scan::start_hunt,
        crate::scan::pending_hunts, crate::scan::list_machines, crate::scan::quarantined,
        crate::breach::analyze, crate::breach::notify),
    components(schemas(Problem,
        crate::records::SearchBody, crate::records::SearchOut, crate::records::RecordOut, crate::records::PutBody,
        crate::records::WriteOut, crate::records::DeleteOut,
        crate::governance::RequestBody, crate::governance::IssueBody,
        crate::governance::CommentBody, crate::governance::TrainingBody, crate::governance::ComplianceBody,
        crate::governance::VendorBody, crate::governance::CapBody, crate::exports::ExportBody,
        crate::directives::DirectiveBody, crate::directives::AckBody,
        crate::alerts::AssignBody, crate::alerts::NoteBody, crate::alerts::SuspendBody,
        crate::reconcile::DisposeBody, crate::reconcile::RunBody, crate::reconcile::RunFiles,
        mamori_vault::discrepancies::DiscrepancyView,
        mamori_vault::discrepancies::Outcome,
        crate::reviews::OpenCampaignBody, crate::reviews::DecideBody,
        mamori_vault::reviews::CampaignView, mamori_vault::reviews::ItemView,
        mamori_vault::reviews::CampaignStats, mamori_vault::reviews::ReviewerStats,
        mamori_vault::reviews::NoAnswer, mamori_vault::reviews::Verdict,
        mamori_vault::review_evidence::Scope, mamori_vault::review_evidence::Kind,
        mamori_vault::review_evidence::Evidence,
        crate::oversight::DeclareBody, mamori_vault::report::EntitlementRow,
        mamori_vault::report::TrendPoint, mamori_vault::inspection::Inspection,
        mamori_vault::dashboard::Dashboard, mamori_vault::dashboard::Count,
        mamori_vault::dashboard::FullAccessLoad, mamori_vault::dashboard::TrainingDue,
        mamori_vault::dashboard::ContractEnding,
        mamori_vault::system::SystemStatus, mamori_vault::system::LogStatus,
        mamori_vault::system::WitnessStatus, mamori_vault::system::Queue,
        mamori_vault::inspection::Probe, mamori_vault::inspection::Status,
        crate::oversight::AuditBody, crate::oversight::ExplainBody, crate::oversight::Asked,
        mamori_vault::vendor_audit::VendorAudit, mamori_vault::vendor_audit::Sampled,
        mamori_vault::vendor_audit::SampleItem, mamori_vault::vendor_audit::VendorFacts,
        crate::oversight::EgressBody, crate::oversight::ReasonBody, crate::oversight::AnswersBody,
        mamori_vault::vendor_audit::Questionnaire, mamori_vault::vendor_audit::CheckedAnswer,
        mamori_vault::egress::EgressEntry, mamori_vault::egress::EgressState,
        mamori_vault::egress::ListFormat,
        crate::reports::ReportBody, mamori_vault::reports::ReportSpec,
        mamori_vault::reports::ReportFormat, mamori_vault::reports::ReportVerification,
        mamori_vault::reports::CheckpointCheck, mamori_vault::reports::FigureChange,
        crate::scan::MatchBody, crate::scan::FoundValue, crate::scan::ValueKind,
        mamori_vault::leak::agents::ScanReport, mamori_vault::leak::agents::ReportedFile,
        mamori_vault::leak::agents::ReportedTenant, mamori_vault::leak::agents::NewHunt,
        mamori_vault::leak::agents::ReportReceipt, mamori_vault::leak::agents::MachineView,
        mamori_store::HuntRow, mamori_store::ScanReportRow, mamori_store::ScanVerdict,
        mamori_vault::leak::breach::FileAnalysis, mamori_vault::leak::breach::TenantAnalysis,
        mamori_vault::leak::breach::TenantBreach, mamori_vault::leak::breach::Overlap,
        mamori_vault::leak::breach::Category, crate::breach::NoticeOut,
        crate::scan::QuarantinedBody, crate::scan::Recorded)),
    modifiers(&BearerAuth, &Problems, &Parameters)
)]
pub struct ApiDoc;

/// `GET /openapi.json`: the document is built once (its passes walk every
/// operation) and served from then on.
pub async fn document() -> Json<Doc> {
    static DOC: std::sync::OnceLock<Doc> = std::sync::OnceLock::new();
    Json(DOC.get_or_init(ApiDoc::openapi).clone())
}

/// Every operation takes a bearer token unless it says `security(())`.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut Doc) {
        let components = doc.components.get_or_insert_with(Components::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        doc.security = Some(vec![SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
    }
}

/// The problem answers. One shared response per status, whose description
/// lists the codes of that status from the table, and whose `code` the
/// `Problem` schema restricts to the table; then on every operation:
/// 401, 403, 429, 500, 503 when it takes a token; 400 when it has parameters
/// or a body; 404 when its path names something; 413 and 415 when it takes a
/// body; and whatever other error statuses the handler declared (409, 410).
struct Problems;

/// Statuses with a shared problem response.
const PROBLEM_STATUSES: [u16; 11] = [400, 401, 403, 404, 405, 409, 410, 413, 415, 429, 500];

impl Modify for Problems {
    fn modify(&self, doc: &mut Doc) {
        let components = doc.components.get_or_insert_with(Components::default);
        components
            .schemas
            .insert("Problem".into(), RefOr::T(problem_schema()));
        for status in PROBLEM_STATUSES.into_iter().chain([503]) {
            components
                .responses
                .insert(response_name(status), RefOr::T(problem_response(status)));
        }
        let secured_by_default = doc.security.as_ref().is_some_and(|s| !s.is_empty());
        for (path, item) in doc.paths.paths.iter_mut() {
            let path_names_something = path.contains('{');
            for op in operations(item) {
                add_problems(op, path_names_something, secured_by_default);
            }
        }
    }
}

/// The operations of a path (the API uses these four methods).
fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
    ]
    .into_iter()
    .flatten()
}

fn add_problems(op: &mut Operation, path_names_something: bool, secured_by_default: bool) {
    let secured = match &op.security {
        Some(s) => s.iter().any(|r| r != &SecurityRequirement::default()),
        None => secured_by_default,
    };
    let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let has_body = op.request_body.is_some();
    let mut statuses: Vec<u16> = op
        .responses
        .responses
        .keys()
        .filter_map(|k| k.parse().ok())
        .filter(|s| *s >= 400)
        .collect();
    if secured {
        statuses.extend([401, 403, 429, 500, 503]);
    }
    if has_params || has_body {
        statuses.push(400);
    }
    if path_names_something {
        statuses.push(404);
    }
    if has_body {
        statuses.extend([413, 415]);
    }
    for status in statuses {
        op.responses.responses.insert(
            status.to_string(),
            RefOr::Ref(Ref::from_response_name(response_name(status))),
        );
    }
}

fn response_name(status: u16) -> String {
    format!("Problem{status}")
}

/// The shared answer for `status`: a problem document whose code is one of
/// the table's codes of that status.
fn problem_response(status: u16) -> utoipa::openapi::Response {
    let codes: Vec<String> = ErrorCode::with_status(status)
        .map(|c| format!("- `{}`: {}", c.as_str(), c.meaning()))
        .collect();
    let mut r = ResponseBuilder::new()
        .description(format!(
            "A problem document (RFC 9457). Its `code` is one of:\n{}",
            codes.join("\n")
        ))
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        );
    let text_header = |what: &str| {
        HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::String))
            .description(Some(what))
            .build()
    };
    match status {
        401 => {
            r = r.header(
                "WWW-Authenticate",
                text_header("How to authenticate: `Bearer realm=\"mamori\"` (RFC 6750)."),
            );
        }
        405 => r = r.header("Allow", text_header("The methods the endpoint takes.")),
        429 => {
            r = r.header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(
                        ObjectBuilder::new()
                            .schema_type(Type::Integer)
                            .minimum(Some(0)),
                    )
                    .description(Some(
                        "Seconds until the limit resets: the minute, the Japan day, or the end of the grant.",
                    ))
                    .build(),
            );
        }
        _ => {}
    }
    r.build()
}

/// `Problem`, with `code` one of the table's codes.
fn problem_schema() -> Schema {
    let text = |what: &str| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(what))
    };
    Schema::Object(
        ObjectBuilder::new()
            .property("type", text("`urn:mamori:problem:<code>`"))
            .property("title", text("The status's reason phrase."))
            .property(
                "status",
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(400))
                    .maximum(Some(599)),
            )
            .property(
                "detail",
                text("What is wrong and what to do about it; never a value the request carried."),
            )
            .property(
                "code",
                text("Stable machine code: see the response's description.")
                    .enum_values(Some(ErrorCode::ALL.iter().map(|c| c.as_str()))),
            )
            .required("type")
            .required("title")
            .required("status")
            .required("detail")
            .required("code")
            .build(),
    )
}

/// A parameter's own schema as a query string can carry it: no `null` (an
/// absent optional parameter is simply not sent), and integers bounded as
/// the server reads them (64 bits; unsigned where the minimum is 0).
fn as_query_value(o: &mut Object) {
    use utoipa::openapi::schema::SchemaType;
    if let SchemaType::Array(types) = &o.schema_type
        && let [one] = types
            .iter()
            .filter(|t| **t != Type::Null)
            .cloned()
            .collect::<Vec<_>>()
            .as_slice()
    {
        o.schema_type = SchemaType::Type(one.clone());
    }
    if o.schema_type == SchemaType::Type(Type::Integer) && o.maximum.is_none() {
        let unsigned = match o.minimum {
            Some(utoipa::Number::UInt(n)) => n == 0,
            Some(utoipa::Number::Int(n)) => n == 0,
            Some(utoipa::Number::Float(n)) => n == 0.0,
            None => false,
        };
        o.maximum = Some(if unsigned {
            utoipa::Number::UInt(usize::MAX)
        } else {
            utoipa::Number::Int(isize::MAX)
        });
        if !unsigned {
            o.minimum = Some(utoipa::Number::Int(isize::MIN));
        }
    }
}

/// Parameters that mean the same wherever they appear get the same
/// constraints, those the server enforces: a tenant id's form and an audit
/// log's name. (Others say theirs where they are declared.)
struct Parameters;

impl Modify for Parameters {
    fn modify(&self, doc: &mut Doc) {
        for item in doc.paths.paths.values_mut() {
            for op in operations(item) {
                for p in op.parameters.iter_mut().flatten() {
                    if let Some(schema) = constrained(&p.name, &p.parameter_in) {
                        p.schema = Some(RefOr::T(Schema::Object(schema)));
                    } else if let Some(RefOr::T(Schema::Object(o))) = &mut p.schema {
                        as_query_value(o);
                    }
                }
            }
        }
    }
}

fn constrained(name: &str, at: &ParameterIn) -> Option<Object> {
    let string = || ObjectBuilder::new().schema_type(Type::String);
    let schema = match (name, at) {
        ("tenant", _) => string().pattern(Some(TenantId::PATTERN)),
        ("log", ParameterIn::Query) => string().pattern(Some(format!(
            "^(system|tenant/{})$",
            TenantId::PATTERN
                .trim_start_matches('^')
                .trim_end_matches('$')
        ))),
        _ => return None,
    };
    Some(schema.build())
}
