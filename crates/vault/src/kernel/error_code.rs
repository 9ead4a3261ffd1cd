//! Every error code the API answers with, its HTTP status and what it means:
//! the one table that problem documents, the OpenAPI description and the
//! README's list are read from. A code is a type, so an error cannot carry a
//! code the table does not have, and a code has one status wherever it is raised.

use std::fmt;

macro_rules! error_codes {
    ($( $variant:ident = $code:literal, $status:literal, $meaning:literal; )*) => {
        /// A stable machine code of a refusal or failure (the `code` of a
        /// problem document; its `type` is `urn:mamori:problem:<code>`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $( #[doc = $meaning] $variant, )*
        }

        impl ErrorCode {
            /// The whole table, in the order written here.
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$variant, )* ];

            pub const fn as_str(self) -> &'static str {
                match self { $( ErrorCode::$variant => $code, )* }
            }

            /// The HTTP status every answer with this code has.
            pub const fn status(self) -> u16 {
                match self { $( ErrorCode::$variant => $status, )* }
            }

            /// What it means, for the API description and the docs.
            pub const fn meaning(self) -> &'static str {
                match self { $( ErrorCode::$variant => $meaning, )* }
            }
        }
    };
}

error_codes! {
    // 400: the request itself is wrong; asking again unchanged fails again.
    RequestInvalid = "request_invalid", 400, "The path or query string is malformed: a parameter is missing or has the wrong form.";
    BodyInvalid = "body_invalid", 400, "The body is not the JSON (or, for a traced file, the text) this endpoint takes; the detail names the member at fault, never its value.";
    SearchByInvalid = "search_by_invalid", 400, "A search must name exactly one search key.";
    SearchKeyUnknown = "search_key_unknown", 400, "The search key is not a searchable field of the tenant's schema.";
    SearchValueInvalid = "search_value_invalid", 400, "The searched value does not read as the key's kind (a phone number, an e-mail, …).";
    TimeInvalid = "time_invalid", 400, "A time is not an RFC 3339 timestamp.";
    PurposeMissing = "purpose_missing", 400, "Access to customer data must name a purpose (利用目的).";
    PurposeUnknown = "purpose_unknown", 400, "The purpose is not one of the tenant's.";
    PurposeNotForRole = "purpose_not_for_role", 400, "The purpose is not open to the requester's role.";
    CaseIdInvalid = "case_id_invalid", 400, "The case id is missing where required, has the wrong form, or reads as personal data.";
    CustomerNoMismatch = "customer_no_mismatch", 400, "The record's customer number differs from the one in the path.";
    FieldInvalid = "field_invalid", 400, "A field's value does not have the form its type requires.";
    FieldUnknown = "field_unknown", 400, "A field is not in the tenant's schema.";
    FieldMissing = "field_missing", 400, "A required field of the schema is missing.";
    FieldNotInPurpose = "field_not_in_purpose", 400, "A requested field is not shown for the named purpose.";
    FieldsMissing = "fields_missing", 400, "The request names no field.";
    SegmentUnknown = "segment_unknown", 400, "The segment is not one of the tenant's.";
    WindowInvalid = "window_invalid", 400, "A grant cannot start in the past and lasts from 1 hour to the configured maximum (governance.max_grant_hours).";
    RecordBudgetInvalid = "record_budget_invalid", 400, "A record budget is 1 to the configured maximum (governance.max_grant_records).";
    JustificationTooWeak = "justification_too_weak", 400, "The justification is too short or says nothing (letters or digits count, punctuation does not).";
    CommentMissing = "comment_missing", 400, "This decision needs a comment.";
    CommentTooWeak = "comment_too_weak", 400, "The comment is too short or says nothing.";
    RecipientNameInvalid = "recipient_name_invalid", 400, "The export recipient's name is missing or too long.";
    RecipientKeyInvalid = "recipient_key_invalid", 400, "The export recipient's key is not an age X25519 public key (age1…).";
    ExportTooLarge = "export_too_large", 400, "The export would hold more customers than one export may (exports.max_rows).";
    ScanValueInvalid = "scan_value_invalid", 400, "A value sent for matching does not read as its kind; the detail names its position, never the value.";
    ScanReportInvalid = "scan_report_invalid", 400, "A PC agent's report does not hold together (an id, a hash, a count or a tenant has the wrong form, or it lists more files than a report takes); the detail names the member, never its value.";
    HuntInvalid = "hunt_invalid", 400, "A hunt lasts 1–90 days and names scanner credentials only; the detail says which part is wrong, never the value.";
    ScanTooManyValues = "scan_too_many_values", 400, "More values than one match call takes; send a file's values in parts of whole lines or rows.";
    TenantIdInvalid = "tenant_id_invalid", 400, "A tenant id is 2–40 lower-case letters, digits, `-` or `_`, starting with a letter.";
    TenantNameMissing = "tenant_name_missing", 400, "A tenant needs a display name.";
    SchemaInvalid = "schema_invalid", 400, "The tenant schema is not valid.";
    LoginInvalid = "login_invalid", 400, "A login has the wrong form.";
    ManagerUnknown = "manager_unknown", 400, "The named manager is not a user.";
    ManagerCycle = "manager_cycle", 400, "The manager chain would loop back to the person.";
    VendorMissing = "vendor_missing", 400, "A contractor (vendor_user) must name their vendor.";
    VendorUnknown = "vendor_unknown", 400, "The vendor is not registered.";
    VendorIdInvalid = "vendor_id_invalid", 400, "A vendor id has the wrong form.";
    VendorNameMissing = "vendor_name_missing", 400, "A vendor needs a name.";
    ContractPeriodInvalid = "contract_period_invalid", 400, "A contract must end after it starts.";
    ClauseUnknown = "clause_unknown", 400, "A contract clause is not one of the known clauses.";
    CourseInvalid = "course_invalid", 400, "The training course is not one of the required courses.";
    ScoreInvalid = "score_invalid", 400, "A test score is 0–100.";
    DateInFuture = "date_in_future", 400, "A completion or confirmation date lies in the future.";
    AboutInvalid = "about_invalid", 400, "A directive is about a person, a tenant or an alert that is named wrongly.";
    TextTooLong = "text_too_long", 400, "The text is longer than this field takes.";
    NoteTooLong = "note_too_long", 400, "The note is longer than an alert note may be.";
    StateInvalid = "state_invalid", 400, "The state filter is not one of the alert states.";
    AssigneeIsSubject = "assignee_is_subject", 400, "An alert cannot be assigned to the person it is about.";
    AlertNotAboutUser = "alert_not_about_user", 400, "The alert is not about the person named.";
    ShiftUnknown = "shift_unknown", 400, "The shift is not in the imported roster.";
    ShiftCsvInvalid = "shift_csv_invalid", 400, "The shift roster file has the wrong columns or values.";
    CaseCsvInvalid = "case_csv_invalid", 400, "The case feed file has the wrong columns or values.";
    HouseholdCsvInvalid = "household_csv_invalid", 400, "The household feed file has the wrong columns or values.";
    HouseholdInvalid = "household_invalid", 400, "A household query needs a family name (kanji, kana or both) and an address, each readable as such.";
    HoneyCountInvalid = "honey_count_invalid", 400, "The number of decoy records is out of range.";
    HoneySchemaMismatch = "honey_schema_mismatch", 400, "Decoys cannot be made for this tenant's schema (fields they need are missing).";
    LogInvalid = "log_invalid", 400, "The audit log name has the wrong form.";
    SizeInvalid = "size_invalid", 400, "A tree size is beyond the log or out of order.";
    ReconcileFileInvalid = "reconcile_file_invalid", 400, "A file given to a reconciliation (door log, PC events, person map, host map, pre-applications, column mapping) cannot be read; the detail names the file, the line and what is wrong, never a value.";
    PeriodInvalid = "period_invalid", 400, "A reconciliation period must end after it starts, start before now and last at most 62 days (one still running is reconciled up to now).";
    CampaignInvalid = "campaign_invalid", 400, "A review campaign needs a title, a deadline after now and within a year, a known scope (tenant, segment, role, department, vendor, kinds) and settings in range (notice 0–60 days, evidence 1–366 days, every 0, 1, 3, 6 or 12 months).";
    ReviewerMissing = "reviewer_missing", 400, "Some entitlements in the campaign's scope have no eligible reviewer: the person's manager and the fallback are each missing, the person themselves, the one who gave the entitlement, no longer active, or not a supervisor or security officer. Name a fallback reviewer, or set managers first.";
    DestinationInvalid = "destination_invalid", 400, "An egress destination is a host name, a .domain (with its subdomains), an address or a CIDR block, on port 1–65535, approved for 1–366 days; a PAC file's proxy is host:port.";
    ReportInvalid = "report_invalid", 400, "A report names its kind and what it covers: `monthly` with a month (YYYY-MM) that has begun, `review` with a campaign id, `reconciliation` with a run id, `vendor_audit` with an audit id; its format is csv, xlsx or pdf.";
    SeqInvalid = "seq_invalid", 400, "An event's sequence number is beyond the log.";
    // 401, 403, 404, 405, 410: who may do this, and to what.
    Unauthenticated = "unauthenticated", 401, "No valid bearer token (missing, unknown, expired or revoked).";
    SignInRefused = "sign_in_refused", 401, "A sign-in through the identity provider did not succeed; the detail's code says why (e.g. `state_unknown`, `not_provisioned`, `role_not_granted`, `id_token_nonce`).";
    StepUpRequired = "step_up_required", 401, "The tenant asks a fresh sign-in with multi-factor authentication for this act (RFC 9470); `WWW-Authenticate` carries `acr_values` and `max_age`. API tokens never meet it.";
    Forbidden = "forbidden", 403, "The policy refuses this; the detail says what to do about it. Also answered when the tenant is not the caller's, whether or not it exists.";
    NotFound = "not_found", 404, "No such thing, or one the caller may not act on (the two answer alike).";
    RouteNotFound = "route_not_found", 404, "No such endpoint.";
    MethodNotAllowed = "method_not_allowed", 405, "This endpoint does not take that method.";
    TenantShredded = "tenant_shredded", 410, "The tenant was shredded: its data was destroyed and cannot be read.";
    // 409: the thing is not in a state that allows this (any more).
    Conflict = "conflict", 409, "It exists already.";
    RequestNotPending = "request_not_pending", 409, "The request or nomination was already decided.";
    RequestLapsed = "request_lapsed", 409, "The request's window ended before it was decided.";
    RequestNotRevocable = "request_not_revocable", 409, "Only a pending request or a live grant can be revoked (or it changed a moment ago).";
    NominationNotFound = "nomination_not_found", 409, "There is no open nomination for standing full access of this person and tenant.";
    FullAccessCapReached = "full_access_cap_reached", 409, "The tenant already has as many standing full-access holders as its cap allows.";
    ExportNotPending = "export_not_pending", 409, "The export was already decided.";
    ExportAlreadyApproved = "export_already_approved", 409, "This person already approved the export.";
    ExportApprovalsChanged = "export_approvals_changed", 409, "Another approval landed at the same moment; look again and decide.";
    ExportGrewTooLarge = "export_grew_too_large", 409, "Since it was filed, the export's query came to match more customers than one export may hold.";
    ExportRequesterNotEntitled = "export_requester_not_entitled", 409, "The requester may no longer read what the export holds (e.g. their training lapsed).";
    ExportNotReady = "export_not_ready", 409, "The export is not approved yet.";
    ExportLapsed = "export_lapsed", 409, "The export lapsed undecided.";
    ExportAlreadyDownloaded = "export_already_downloaded", 409, "The package was downloaded; it exists only once.";
    ExportDownloadExpired = "export_download_expired", 409, "The download window ended and the package was deleted.";
    ExportNotRevocable = "export_not_revocable", 409, "Only a pending or ready export can be revoked.";
    DirectiveAlreadyAcknowledged = "directive_already_acknowledged", 409, "The directive was acknowledged already.";
    AlertClosed = "alert_closed", 409, "The alert is closed.";
    AlertChanged = "alert_changed", 409, "The alert changed at the same moment; look again.";
    DiscrepancyDisposed = "discrepancy_disposed", 409, "The discrepancy has a disposition already (someone judged it a moment ago, or in an earlier run of the month).";
    AlreadyExplained = "already_explained", 409, "The sampled read is explained already, or the audit's deadline passed.";
    EgressRevoked = "egress_revoked", 409, "The destination is revoked; request it anew.";
    ReviewDecided = "review_decided", 409, "The review item has a decision already, or its campaign is closed.";
    LastSecurityOfficer = "last_security_officer", 409, "Revoking this would leave no active security officer; the item is escalated instead of revoked.";
    SuspensionUnchanged = "suspension_unchanged", 409, "The person is already suspended (or already reinstated).";
    // 413, 415: the body's size and type.
    BodyTooLarge = "body_too_large", 413, "The request body is larger than this endpoint accepts.";
    MediaTypeUnsupported = "media_type_unsupported", 415, "The body must be JSON (Content-Type: application/json), or text for a traced file.";
    // 429: a limit was reached; `Retry-After` says when it resets.
    RateLimited = "rate_limited", 429, "Too many requests this minute.";
    DailyBudgetExhausted = "daily_budget_exhausted", 429, "The person's distinct customers for the Japan day are used up.";
    ScanBudgetExhausted = "scan_budget_exhausted", 429, "The credential was told of as many distinct customers today (Japan time) as its scan budget allows; the file goes to the security office.";
    GrantBudgetExhausted = "grant_budget_exhausted", 429, "The grant's record budget is used up.";
    // 5xx: nothing was returned; the server log says why.
    ConfigInvalid = "config_invalid", 500, "The server's configuration (a config, rules or policy file) is invalid; answered at start-up, or as a 500 when met while serving.";
    StoreUrlInvalid = "store_url_invalid", 500, "The store URL is not a SQLite path or a PostgreSQL URL.";
    StorePasswordInUrl = "store_password_in_url", 500, "The store URL holds a password; give it in the environment instead.";
    WitnessInvalid = "witness_invalid", 500, "A witness's configuration is invalid.";
    Internal = "internal", 500, "Internal error; the server log says more.";
    ReportFontMissing = "report_font_missing", 503, "A PDF report needs a Japanese font (TrueType or OpenType with kana and kanji): install fonts-ipaexfont-gothic, or set `[report] font` in mamori.toml; CSV and Excel need none.";
    KeyProviderUnavailable = "key_provider_unavailable", 503, "The root key's provider (an HSM or KMS) did not answer or refused, so no key was unwrapped; at start-up the server does not start. The server log names the provider and its answer.";
    AuditUnavailable = "audit_unavailable", 503, "The audit log could not be written, so nothing was returned (fail closed).";
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lets tests and callers compare with the code as written in the API.
impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl ErrorCode {
    /// The table as Markdown, as `docs/errors.md` holds it.
    pub fn markdown() -> String {
        let mut out = String::from(
            "# Error codes\n\n\
             Every problem document the API answers with carries one of these codes \
             (`code`, and `type` = `urn:mamori:problem:<code>`), always with the status \
             given here. Written from the table in `crates/vault/src/kernel/error_code.rs`; a test \
             fails when this file and the table differ.\n\n\
             | code | status | meaning |\n| --- | --- | --- |\n",
        );
        for c in Self::ALL {
            out.push_str(&format!(
                "| `{}` | {} | {} |\n",
                c.as_str(),
                c.status(),
                c.meaning()
            ));
        }
        out
    }

    /// The codes answered with `status`, in table order.
    pub fn with_status(status: u16) -> impl Iterator<Item = ErrorCode> {
        Self::ALL
            .iter()
            .copied()
            .filter(move |c| c.status() == status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_snake_case_and_their_statuses_errors() {
        let mut seen = std::collections::BTreeSet::new();
        for c in ErrorCode::ALL {
            let s = c.as_str();
            assert!(seen.insert(s), "{s} twice");
            assert!(
                s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{s}"
            );
            assert!((400..600).contains(&c.status()), "{s}");
            assert!(c.meaning().ends_with('.'), "{s}");
        }
    }

    #[test]
    fn the_docs_list_the_table() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/errors.md");
        let docs = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            docs == ErrorCode::markdown(),
            "docs/errors.md differs from the code table; write it anew with:\n\n{}",
            ErrorCode::markdown()
        );
    }
}
