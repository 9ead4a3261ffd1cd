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
