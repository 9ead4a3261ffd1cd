-- A tenant's events are exactly its log's (`tenant_log`): queries by tenant
-- use `audit_events_log_pos`, and the tenant index only cost every append an
-- index entry (one of six).
DROP INDEX audit_events_tenant_pos;
