//! The PostgreSQL schema and its migrations. The same tables as the SQLite
//! files (one schema holds both the vault's and the audit log's), with
//! PostgreSQL's types: BYTEA for ids, tokens and ciphertexts, BIGINT for
//! numbers and times. Text columns use the "C" collation: names sort by
//! their bytes, as in SQLite, whatever the database's locale.
//!
//! `{schema}` in a migration is replaced by the configured schema name
//! (a checked plain identifier).

use super::Conn;
use crate::{Result, StoreError};

const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE tenants (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL,
    schema TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL CHECK (status IN ('active', 'shredded')),
    current_key_version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    shredded_at BIGINT,
    full_access_cap BIGINT
);
CREATE TABLE tenant_keys (
    tenant TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
    version BIGINT NOT NULL,
    wrapped_data BYTEA NOT NULL,
    wrapped_index BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant, version)
);
CREATE TABLE records (
    rid BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
    id BYTEA NOT NULL,
    segment TEXT COLLATE "C" NOT NULL,
    key_version BIGINT NOT NULL,
    key_token BYTEA NOT NULL,
    sealed BYTEA NOT NULL,
    index_tokens BYTEA NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant, id),
    UNIQUE (tenant, key_token)
);
CREATE TABLE search_keys (
    ix INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
    skey TEXT COLLATE "C" NOT NULL,
    UNIQUE (tenant, skey)
);
CREATE TABLE blind_index (
    ix INTEGER NOT NULL,
    token BYTEA NOT NULL,
    rid BIGINT NOT NULL,
    PRIMARY KEY (ix, token, rid)
);
CREATE TABLE users (
    login TEXT COLLATE "C" PRIMARY KEY,
    role TEXT COLLATE "C" NOT NULL,
    department TEXT COLLATE "C",
    vendor TEXT COLLATE "C",
    created_at BIGINT NOT NULL,
    manager TEXT COLLATE "C" REFERENCES users(login),
    leaves_at BIGINT,
    suspended_at BIGINT
);
CREATE TABLE api_tokens (
    hash BYTEA PRIMARY KEY,
    login TEXT COLLATE "C" NOT NULL REFERENCES users(login),
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX api_tokens_login ON api_tokens(login);
CREATE TABLE assignments (
    login TEXT COLLATE "C" NOT NULL REFERENCES users(login),
    tenant TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
    segment TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (login, tenant, segment)
);
CREATE INDEX assignments_tenant ON assignments(tenant);

CREATE TABLE vendors (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL,
    contract_start BIGINT NOT NULL,
    contract_end BIGINT NOT NULL,
    clauses TEXT COLLATE "C" NOT NULL,
    updated_by TEXT COLLATE "C" NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE training (
    login TEXT COLLATE "C" NOT NULL REFERENCES users(login),
    course TEXT COLLATE "C" NOT NULL,
    completed_at BIGINT NOT NULL,
    score BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    recorded_by TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (login, course, completed_at)
);
CREATE TABLE compliance (
    login TEXT COLLATE "C" NOT NULL REFERENCES users(login),
    confirmed_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    recorded_by TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (login, confirmed_at)
);
CREATE TABLE access_requests (
    id BYTEA PRIMARY KEY,
    tenant TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
    requester TEXT COLLATE "C" NOT NULL REFERENCES users(login),
    segment TEXT COLLATE "C" NOT NULL,
    fields TEXT COLLATE "C" NOT NULL,
    purpose TEXT COLLATE "C" NOT NULL,
    case_id TEXT COLLATE "C" NOT NULL,
    justification BYTEA NOT NULL,
    key_version BIGINT NOT NULL,
    record_budget BIGINT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    state TEXT COLLATE "C" NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'revoked')),
    origin TEXT COLLATE "C" NOT NULL CHECK (origin IN ('requested', 'issued')),
    created_at BIGINT NOT NULL,
    decided_by TEXT COLLATE "C",
    decided_at BIGINT,
    revoked_by TEXT COLLATE "C",
    revoked_at BIGINT
);
CREATE INDEX access_requests_requester ON access_requests(requester, ends_at);
CREATE INDEX access_requests_tenant ON access_requests(tenant, created_at);
CREATE TABLE access_request_history (
    request BYTEA NOT NULL REFERENCES access_requests(id),
    step BIGINT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT COLLATE "C" NOT NULL,
    action TEXT COLLATE "C" NOT NULL,
    comment BYTEA,
    PRIMARY KEY (request, step)
);
CREATE TABLE full_access (
    id BYTEA PRIMARY KEY,
    tenant TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
    login TEXT COLLATE "C" NOT NULL REFERENCES users(login),
    state TEXT COLLATE "C" NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'revoked')),
    nominated_by TEXT COLLATE "C" NOT NULL,
    nominated_at BIGINT NOT NULL,
    decided_by TEXT COLLATE "C",
    decided_at BIGINT,
    revoked_by TEXT COLLATE "C",
    revoked_at BIGINT,
    seq BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE UNIQUE INDEX full_access_live ON full_access(tenant, login)
    WHERE state IN ('pending', 'approved');
CREATE TABLE full_access_history (
    nomination BYTEA NOT NULL REFERENCES full_access(id),
    step BIGINT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT COLLATE "C" NOT NULL,
    action TEXT COLLATE "C" NOT NULL,
    comment BYTEA,
    PRIMARY KEY (nomination, step)
);

CREATE TABLE exports (
    id BYTEA PRIMARY KEY,
    tenant TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
    requester TEXT COLLATE "C" NOT NULL REFERENCES users(login),
    segment TEXT COLLATE "C" NOT NULL,
    fields TEXT COLLATE "C" NOT NULL,
    purpose TEXT COLLATE "C" NOT NULL,
    case_id TEXT COLLATE "C" NOT NULL,
    sealed BYTEA NOT NULL,
    key_version BIGINT NOT NULL,
    recipient_key TEXT COLLATE "C" NOT NULL,
    rows_at_request BIGINT NOT NULL,
    approvals_required BIGINT NOT NULL CHECK (approvals_required >= 1),
    state TEXT COLLATE "C" NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'revoked', 'downloaded')),
    created_at BIGINT NOT NULL,
    approve_by BIGINT NOT NULL,
    package_rows BIGINT,
    package_canaries BIGINT,
    package_bytes BIGINT,
    package_sha256 BYTEA,
    package_at BIGINT,
    download_until BIGINT,
    closed_by TEXT COLLATE "C",
    closed_at BIGINT
);
CREATE INDEX exports_tenant ON exports(tenant, created_at);
CREATE TABLE export_approvals (
    export BYTEA NOT NULL REFERENCES exports(id),
    approver TEXT COLLATE "C" NOT NULL REFERENCES users(login),
    role TEXT COLLATE "C" NOT NULL,
    at BIGINT NOT NULL,
    comment BYTEA,
    seq BIGINT GENERATED ALWAYS AS IDENTITY,
    UNIQUE (export, approver)
);
CREATE TABLE export_history (
    export BYTEA NOT NULL REFERENCES exports(id),
    step BIGINT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT COLLATE "C" NOT NULL,
    action TEXT COLLATE "C" NOT NULL,
    comment BYTEA,
    PRIMARY KEY (export, step)
);
CREATE TABLE export_packages (
    export BYTEA PRIMARY KEY REFERENCES exports(id),
    bytes BYTEA NOT NULL
);

CREATE TABLE alerts (
    id TEXT COLLATE "C" PRIMARY KEY,
    rule TEXT COLLATE "C" NOT NULL,
    variant TEXT COLLATE "C" NOT NULL,
    severity TEXT COLLATE "C" NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    login TEXT COLLATE "C" NOT NULL,
    tenant TEXT COLLATE "C",
    at BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    threshold DOUBLE PRECISION NOT NULL,
    indicator TEXT COLLATE "C",
    evidence_log TEXT COLLATE "C" NOT NULL,
    evidence_seq BIGINT NOT NULL,
    risk DOUBLE PRECISION NOT NULL,
    raised_at BIGINT NOT NULL,
    state TEXT COLLATE "C" NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved', 'false_positive')),
    assignee TEXT COLLATE "C",
    note BYTEA,
    updated_by TEXT COLLATE "C",
    updated_at BIGINT NOT NULL
);
CREATE INDEX alerts_raised ON alerts(raised_at);
CREATE INDEX alerts_login ON alerts(login, raised_at);
CREATE TABLE alert_deliveries (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert TEXT COLLATE "C" NOT NULL REFERENCES alerts(id),
    channel TEXT COLLATE "C" NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_at BIGINT NOT NULL,
    last_error TEXT COLLATE "C"
);
CREATE INDEX alert_deliveries_due ON alert_deliveries(channel, next_at);
CREATE TABLE honey_records (
    tenant TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
    record BYTEA NOT NULL,
    planted_by TEXT COLLATE "C" NOT NULL,
    planted_at BIGINT NOT NULL,
    PRIMARY KEY (tenant, record)
);
CREATE TABLE detect_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    cursors TEXT COLLATE "C" NOT NULL,
    state BYTEA NOT NULL,
    saved_at BIGINT NOT NULL
);
CREATE TABLE shift_calendar (
    login TEXT COLLATE "C" NOT NULL REFERENCES users(login),
    day TEXT COLLATE "C" NOT NULL,
    start_min BIGINT NOT NULL CHECK (start_min >= 0 AND start_min < 1440),
    end_min BIGINT NOT NULL CHECK (end_min >= start_min AND end_min <= 2880),
    PRIMARY KEY (login, day, start_min)
);
CREATE INDEX shift_calendar_day ON shift_calendar(day);
CREATE TABLE user_shifts (
    login TEXT COLLATE "C" PRIMARY KEY REFERENCES users(login),
    shift TEXT COLLATE "C" NOT NULL
);

-- A number that changes whenever people, their assignments, vendors,
-- training, compliance, requests, nominations, tenants or shifts change: a
-- server caches what it knows about a person and still sees another
-- process's change on the very next request. Bumped by triggers, so no write
-- path can forget to.
CREATE TABLE governance_rev (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    rev BIGINT NOT NULL
);
INSERT INTO governance_rev (id, rev) VALUES (1, 0);
CREATE FUNCTION bump_governance_rev() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE governance_rev SET rev = rev + 1 WHERE id = 1;
    RETURN NULL;
END $$;
CREATE TRIGGER rev_users AFTER INSERT OR UPDATE OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION bump_governance_rev();
CREATE TRIGGER rev_assignments AFTER INSERT OR UPDATE OR DELETE ON assignments
    FOR EACH STATEMENT EXECUTE FUNCTION bump_governance_rev();
CREATE TRIGGER rev_vendors AFTER INSERT OR UPDATE OR DELETE ON vendors
    FOR EACH STATEMENT EXECUTE FUNCTION bump_governance_rev();
CREATE TRIGGER rev_training AFTER INSERT OR UPDATE OR DELETE ON training
    FOR EACH STATEMENT EXECUTE FUNCTION bump_governance_rev();
CREATE TRIGGER rev_compliance AFTER INSERT OR UPDATE OR DELETE ON compliance
    FOR EACH STATEMENT EXECUTE FUNCTION bump_governance_rev();
CREATE TRIGGER rev_requests AFTER INSERT OR UPDATE OR DELETE ON access_requests
    FOR EACH STATEMENT EXECUTE FUNCTION bump_governance_rev();
CREATE TRIGGER rev_tenants AFTER UPDATE ON tenants
    FOR EACH STATEMENT EXECUTE FUNCTION bump_governance_rev();
CREATE TRIGGER rev_full_access AFTER INSERT OR UPDATE ON full_access
    FOR EACH STATEMENT EXECUTE FUNCTION bump_governance_rev();
CREATE TRIGGER rev_shift_calendar AFTER INSERT OR UPDATE OR DELETE ON shift_calendar
    FOR EACH STATEMENT EXECUTE FUNCTION bump_governance_rev();
CREATE TRIGGER rev_user_shifts AFTER INSERT OR UPDATE OR DELETE ON user_shifts
    FOR EACH STATEMENT EXECUTE FUNCTION bump_governance_rev();

-- The audit log. Rows are only ever inserted; `body` holds the event's
-- canonical bytes and `hash` = SHA-256(0x00 || body). `pos` is the storage
-- order the verifier reads in.
CREATE TABLE audit_events (
    pos BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    log TEXT COLLATE "C" NOT NULL,
    seq BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    actor TEXT COLLATE "C" NOT NULL,
    action TEXT COLLATE "C" NOT NULL,
    tenant TEXT COLLATE "C",
    decision TEXT COLLATE "C" NOT NULL,
    body BYTEA NOT NULL,
    hash BYTEA NOT NULL,
    UNIQUE (log, seq)
);
CREATE INDEX audit_events_log_pos ON audit_events(log, pos);
CREATE INDEX audit_events_actor ON audit_events(actor, ts);
CREATE INDEX audit_events_tenant ON audit_events(tenant, ts);
CREATE INDEX audit_events_ts ON audit_events(ts);
CREATE TABLE audit_nodes (
    log TEXT COLLATE "C" NOT NULL,
    level INTEGER NOT NULL,
    idx BIGINT NOT NULL,
    hash BYTEA NOT NULL,
    PRIMARY KEY (log, level, idx)
);
CREATE TABLE audit_checkpoints (
    log TEXT COLLATE "C" NOT NULL,
    size BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    note TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (log, size)
);
CREATE TABLE audit_archives (
    log TEXT COLLATE "C" NOT NULL,
    start BIGINT NOT NULL,
    "end" BIGINT NOT NULL,
    file TEXT COLLATE "C" NOT NULL,
    sha256 BYTEA NOT NULL,
    note TEXT COLLATE "C" NOT NULL,
    archived_at BIGINT NOT NULL,
    PRIMARY KEY (log, start)
);
CREATE TABLE audit_cosignatures (
    log TEXT COLLATE "C" NOT NULL,
    size BIGINT NOT NULL,
    witness TEXT COLLATE "C" NOT NULL,
    line TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (log, size, witness)
);

-- Append-only: UPDATE, DELETE and TRUNCATE of any audit table abort, for
-- every role that does not drop the trigger (the deployment guide also
-- withholds those privileges from the application's role). The one
-- exception is archiving, which deletes moved events inside
-- mamori_archive_events() below.
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'audit_events'
       AND current_setting('mamori.archiving', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit tables are append-only (% on %)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_nodes_append_only BEFORE UPDATE OR DELETE ON audit_nodes
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_archives_append_only BEFORE UPDATE OR DELETE ON audit_archives
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_cosignatures_append_only BEFORE UPDATE OR DELETE ON audit_cosignatures
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_nodes_no_truncate BEFORE TRUNCATE ON audit_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_archives_no_truncate BEFORE TRUNCATE ON audit_archives
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_cosignatures_no_truncate BEFORE TRUNCATE ON audit_cosignatures
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

-- Archiving: records the archive and moves the range's hashes to level-0
-- tree nodes, then deletes the events, in the caller's transaction. It runs
-- with its owner's rights, so the application's role needs EXECUTE on it
-- but no DELETE on audit_events; only the oldest hot events can go, and
-- only when later ones remain.
CREATE FUNCTION mamori_archive_events(
    p_log TEXT, p_start BIGINT, p_end BIGINT, p_file TEXT, p_sha256 BYTEA,
    p_note TEXT, p_archived_at BIGINT
) RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
DECLARE
    first_seq BIGINT;
    last_seq BIGINT;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('mamori.audit/' || current_schema() || '/' || p_log, 0));
    SELECT min(seq), max(seq) INTO first_seq, last_seq FROM audit_events WHERE log = p_log;
    IF first_seq IS DISTINCT FROM p_start OR last_seq IS NULL OR last_seq <= p_end
       OR p_end < p_start THEN
        RAISE EXCEPTION 'archive of % events %..=%: the hot log holds %..=%',
            p_log, p_start, p_end, first_seq, last_seq USING ERRCODE = 'check_violation';
    END IF;
    INSERT INTO audit_nodes (log, level, idx, hash)
        SELECT log, 0, seq - 1, hash FROM audit_events
        WHERE log = p_log AND seq BETWEEN p_start AND p_end
        ON CONFLICT DO NOTHING;
    INSERT INTO audit_archives (log, start, "end", file, sha256, note, archived_at)
        VALUES (p_log, p_start, p_end, p_file, p_sha256, p_note, p_archived_at);
    PERFORM set_config('mamori.archiving', 'on', true);
    DELETE FROM audit_events WHERE log = p_log AND seq BETWEEN p_start AND p_end;
    PERFORM set_config('mamori.archiving', 'off', true);
END $$;
-- Functions are executable by everyone unless revoked: only roles granted
-- it (the application's, see grant_roles) may archive.
REVOKE EXECUTE ON FUNCTION mamori_archive_events(TEXT, BIGINT, BIGINT, TEXT, BYTEA, TEXT, BIGINT) FROM PUBLIC;
"#,
    r#"
-- Budgets shared by every node: distinct customers shown per person per
-- day and per grant. A request locks its budgets' rows while it charges them.
CREATE TABLE budgets (
    budget TEXT COLLATE "C" PRIMARY KEY,
    used BIGINT NOT NULL,
    until BIGINT NOT NULL
);
CREATE INDEX budgets_until ON budgets(until);
CREATE TABLE budget_records (
    budget TEXT COLLATE "C" NOT NULL REFERENCES budgets(budget),
    record BYTEA NOT NULL,
    PRIMARY KEY (budget, record)
);
"#,
    r#"
-- Charges budgets in one round trip, all or nothing: for each budget (in the
-- order given, which the caller sorts by name so that requests cannot
-- deadlock) its row is created if needed and locked, the records not yet
-- charged to it are added, and if one budget would go over its limit
-- everything the call did is rolled back (the inner block) and that
-- budget's position and figures are returned. Returns (0, 0, 0) when charged.
CREATE FUNCTION mamori_charge_budgets(
    p_budgets TEXT[], p_limits BIGINT[], p_untils BIGINT[], p_owner INT[], p_records BYTEA[],
    OUT exceeded INT, OUT used BIGINT, OUT would_be BIGINT
) LANGUAGE plpgsql AS $$
DECLARE
    k INT;
    u BIGINT;
    fresh BIGINT;
BEGIN
    exceeded := 0; used := 0; would_be := 0;
    BEGIN
        FOR k IN 1 .. coalesce(array_length(p_budgets, 1), 0) LOOP
            INSERT INTO budgets (budget, used, until) VALUES (p_budgets[k], 0, p_untils[k])
                ON CONFLICT DO NOTHING;
            SELECT b.used INTO u FROM budgets b WHERE b.budget = p_budgets[k] FOR UPDATE;
            INSERT INTO budget_records (budget, record)
                SELECT p_budgets[k], x.r FROM unnest(p_records, p_owner) AS x(r, o) WHERE x.o = k
                ON CONFLICT DO NOTHING;
            GET DIAGNOSTICS fresh = ROW_COUNT;
            IF u + fresh > p_limits[k] THEN
                exceeded := k; used := u; would_be := u + fresh;
                RAISE EXCEPTION 'budget exceeded' USING ERRCODE = 'MB001';
            END IF;
            IF fresh > 0 THEN
                UPDATE budgets b SET used = b.used + fresh WHERE b.budget = p_budgets[k];
            END IF;
        END LOOP;
    EXCEPTION WHEN SQLSTATE 'MB001' THEN
        NULL; -- the block's changes are undone; the OUT values say why
    END;
END $$;
"#,
    r#"
-- Audit queries page in storage order by person or tenant: (column, pos)
-- serves both the filter and the order.
CREATE INDEX audit_events_actor_pos ON audit_events(actor, pos);
CREATE INDEX audit_events_tenant_pos ON audit_events(tenant, pos);
DROP INDEX audit_events_actor;
DROP INDEX audit_events_tenant;
"#,
    HOUSEHOLDS,
    CASES,
    ANNOUNCED_REVISIONS,
    LEANER_CHARGES,
    BATCHED_CHARGES,
    TENANT_AS_LOG,
];

/// A tenant's events are exactly its log's (`tenant_log`): queries by tenant
/// use `audit_events_log_pos`, and the tenant index only cost every append an
/// index entry (one of six).
const TENANT_AS_LOG: &str = "DROP INDEX audit_events_tenant_pos;";

/// The charges of the requests that arrive together, in one call: every
/// budget of the batch is created if needed and locked first, in name order
/// (so that two nodes' batches cannot deadlock, whatever their requests),
/// then each request in turn, all or nothing in its own inner block, as in
/// `mamori_charge_budgets`: the customers not yet charged added in byte
/// order, the budget's count raised by them. A request that would take a
/// budget over its limit is undone alone; its row says which of its budgets
/// (1-based, in the order given) and by how much. One row per request.
const BATCHED_CHARGES: &str = r#"
CREATE FUNCTION mamori_charge_batch(
    p_req INT[], p_budgets TEXT[], p_limits BIGINT[], p_untils BIGINT[],
    p_owner INT[], p_records BYTEA[]
) RETURNS TABLE (req INT, exceeded INT, used BIGINT, would_be BIGINT)
LANGUAGE plpgsql AS $$
DECLARE
    n INT := coalesce(array_length(p_budgets, 1), 0);
    k INT := 1;
    j INT;
    lo INT;
    u BIGINT;
    fresh BIGINT;
BEGIN
    INSERT INTO budgets AS b (budget, used, until)
        SELECT DISTINCT ON (x.name) x.name, 0, x.until_
        FROM unnest(p_budgets, p_untils) AS x(name, until_) ORDER BY x.name
        ON CONFLICT DO NOTHING;
    PERFORM 1 FROM budgets b WHERE b.budget = ANY (p_budgets) ORDER BY b.budget FOR UPDATE;
    WHILE k <= n LOOP
        lo := k;
        WHILE k < n AND p_req[k + 1] = p_req[lo] LOOP
            k := k + 1;
        END LOOP;
        req := p_req[lo]; exceeded := 0; used := 0; would_be := 0;
        BEGIN
            FOR j IN lo .. k LOOP
                INSERT INTO budget_records (budget, record)
                    SELECT p_budgets[j], x.r FROM unnest(p_records, p_owner) AS x(r, o)
                    WHERE x.o = j ORDER BY x.r
                    ON CONFLICT DO NOTHING;
                GET DIAGNOSTICS fresh = ROW_COUNT;
                IF fresh > 0 THEN
                    UPDATE budgets b SET used = b.used + fresh WHERE b.budget = p_budgets[j]
                        RETURNING b.used - fresh INTO u;
                ELSE
                    SELECT b.used INTO u FROM budgets b WHERE b.budget = p_budgets[j];
                END IF;
                IF u + fresh > p_limits[j] THEN
                    exceeded := j - lo + 1; used := u; would_be := u + fresh;
                    RAISE EXCEPTION 'budget exceeded' USING ERRCODE = 'MB001';
                END IF;
            END LOOP;
        EXCEPTION WHEN SQLSTATE 'MB001' THEN
            NULL; -- this request's changes are undone; its row says why
        END;
        RETURN NEXT;
        k := k + 1;
    END LOOP;
END $$;
"#;

/// A charge in two statements per budget instead of four, and none of them a
/// foreign-key check per customer: the customers not yet charged are added
/// first (in byte order, so that two requests charging overlapping customers
/// take their keys in the same order and cannot deadlock), then only if there
/// were any the budget's row is created or increased in one upsert, which
/// locks it until the call commits. A repeated read (nothing new) only reads
/// the row. The function was a quarter of the database's CPU under the lookup
/// benchmark (BENCHMARKS.md). The foreign key from customers to their budget
/// row goes: a customer row may now be written a moment before its budget's,
/// in the same transaction, and the purge deletes both by the budget's date.
const LEANER_CHARGES: &str = r#"
ALTER TABLE budget_records DROP CONSTRAINT budget_records_budget_fkey;
CREATE OR REPLACE FUNCTION mamori_charge_budgets(
    p_budgets TEXT[], p_limits BIGINT[], p_untils BIGINT[], p_owner INT[], p_records BYTEA[],
    OUT exceeded INT, OUT used BIGINT, OUT would_be BIGINT
) LANGUAGE plpgsql AS $$
DECLARE
    k INT;
    u BIGINT;
    fresh BIGINT;
BEGIN
    exceeded := 0; used := 0; would_be := 0;
    BEGIN
        FOR k IN 1 .. coalesce(array_length(p_budgets, 1), 0) LOOP
            INSERT INTO budget_records (budget, record)
                SELECT p_budgets[k], x.r FROM unnest(p_records, p_owner) AS x(r, o)
                WHERE x.o = k ORDER BY x.r
                ON CONFLICT DO NOTHING;
            GET DIAGNOSTICS fresh = ROW_COUNT;
            IF fresh > 0 THEN
                INSERT INTO budgets AS b (budget, used, until) VALUES (p_budgets[k], fresh, p_untils[k])
                    ON CONFLICT (budget) DO UPDATE SET used = b.used + EXCLUDED.used
                    RETURNING b.used - fresh INTO u;
            ELSE
                SELECT b.used INTO u FROM budgets b WHERE b.budget = p_budgets[k];
                u := coalesce(u, 0);
            END IF;
            IF u + fresh > p_limits[k] THEN
                exceeded := k; used := u; would_be := u + fresh;
                RAISE EXCEPTION 'budget exceeded' USING ERRCODE = 'MB001';
            END IF;
        END LOOP;
    EXCEPTION WHEN SQLSTATE 'MB001' THEN
        NULL; -- the block's changes are undone; the OUT values say why
    END;
END $$;
"#;

/// Every bump of the governance revision is announced as it commits, so a
/// server can keep who owns which token in memory until the next one
/// (watch.rs). Tokens bump it too: a revoked token is such a change.
const ANNOUNCED_REVISIONS: &str = r#"
CREATE OR REPLACE FUNCTION bump_governance_rev() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE governance_rev SET rev = rev + 1 WHERE id = 1;
    PERFORM pg_notify('mamori_governance', TG_TABLE_SCHEMA);
    RETURN NULL;
END $$;
CREATE TRIGGER rev_api_tokens AFTER INSERT OR UPDATE OR DELETE ON api_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION bump_governance_rev();
"#;

/// The call system's case feed.
const CASES: &str = r#"
CREATE TABLE cases (
    tenant TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
    case_id TEXT COLLATE "C" NOT NULL,
    tokens BYTEA NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant, case_id)
);
CREATE TRIGGER rev_cases AFTER INSERT OR UPDATE ON cases
    FOR EACH STATEMENT EXECUTE FUNCTION bump_governance_rev();
"#;

/// Staff households, as keyed tokens only (see `UserStore::set_household`).
const HOUSEHOLDS: &str = r#"
CREATE TABLE households (
    login TEXT COLLATE "C" PRIMARY KEY REFERENCES users(login),
    tokens BYTEA NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TRIGGER rev_households AFTER INSERT OR UPDATE OR DELETE ON households
    FOR EACH STATEMENT EXECUTE FUNCTION bump_governance_rev();
"#;

/// Serialises migrations of one schema across processes.
const MIGRATION_LOCK: &str =
    "SELECT pg_advisory_xact_lock(hashtextextended('mamori.migrate/' || $1, 0))";

/// Creates the schema if needed and applies the migrations not yet applied.
/// A schema already up to date is only read: the application's role, which
/// may not create or alter anything, opens it like the owner.
pub(super) fn migrate(c: &mut Conn, schema: &str) -> Result<()> {
    let mut tx = c.tx()?;
    tx.execute(MIGRATION_LOCK, &[&schema])?;
    let known = MIGRATIONS.len() as i64;
    let current = if has_version_table(&mut tx, schema)? {
        version(&mut tx)?
    } else {
        tx.batch(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))?;
        tx.batch("CREATE TABLE schema_version (version BIGINT NOT NULL)")?;
        0
    };
    if current > known {
        return Err(newer(current));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        tx.batch(&sql.replace("{schema}", schema))?;
        tx.execute("DELETE FROM schema_version", &[])?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            &[&(i as i64 + 1)],
        )?;
    }
    tx.commit()
}

fn has_version_table(tx: &mut super::Tx<'_>, schema: &str) -> Result<bool> {
    Ok(tx
        .query_opt(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'schema_version'",
            &[&schema],
        )?
        .is_some())
}

/// Refuses a schema that is missing or of another version than this binary's.
pub(super) fn check_version(c: &mut Conn, schema: &str) -> Result<()> {
    let mut tx = c.tx()?;
    if !has_version_table(&mut tx, schema)? {
        return Err(StoreError::Schema(format!(
            "PostgreSQL schema '{schema}' holds no mamori vault"
        )));
    }
    let current = version(&mut tx)?;
    if current != MIGRATIONS.len() as i64 {
        return Err(StoreError::Schema(format!(
            "PostgreSQL schema '{schema}' is at version {current}, this binary reads version {}",
            MIGRATIONS.len()
        )));
    }
    Ok(())
}

fn version(tx: &mut super::Tx<'_>) -> Result<i64> {
    Ok(tx
        .query_opt("SELECT version FROM schema_version", &[])?
        .map(|r| r.get(0))
        .unwrap_or(0))
}

fn newer(current: i64) -> StoreError {
    StoreError::Schema(format!(
        "database schema version {current} is newer than this binary ({})",
        MIGRATIONS.len()
    ))
}

/// The audit tables: insert and read only, for every role but the owner.
pub(super) const AUDIT_TABLES: &[&str] = &[
    "audit_events",
    "audit_nodes",
    "audit_checkpoints",
    "audit_archives",
    "audit_cosignatures",
];

/// Privileges for the roles a deployment runs with (docs/deploy.md): the
/// application's role may read and write the vault's tables but only insert
/// into and read the audit tables (no UPDATE, DELETE or TRUNCATE; archiving
/// only through `mamori_archive_events`); an auditor's role may only read the
/// audit tables. Run by the schema's owner.
pub(super) fn grant_roles(
    c: &mut Conn,
    schema: &str,
    app: &str,
    auditor: Option<&str>,
) -> Result<()> {
    for role in std::iter::once(app).chain(auditor) {
        super::check_schema_name(role).map_err(|_| {
            StoreError::Db(format!(
                "role name '{role}': use lower-case letters, digits and _"
            ))
        })?;
    }
    let audit = AUDIT_TABLES.join(", ");
    let mut sql = format!(
        "GRANT USAGE ON SCHEMA {schema} TO {app};
         GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {app};
         REVOKE UPDATE, DELETE, TRUNCATE ON {audit} FROM {app};
         REVOKE UPDATE, DELETE ON schema_version FROM {app};
         GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {app};
         GRANT EXECUTE ON FUNCTION mamori_archive_events(TEXT, BIGINT, BIGINT, TEXT, BYTEA, TEXT, BIGINT) TO {app};"
    );
    if let Some(auditor) = auditor {
        sql.push_str(&format!(
            "GRANT USAGE ON SCHEMA {schema} TO {auditor};
             GRANT SELECT ON {audit}, schema_version TO {auditor};"
        ));
    }
    let mut tx = c.tx()?;
    tx.batch(&sql)?;
    tx.commit()
}
