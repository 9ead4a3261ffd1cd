-- A tenant's events are exactly its log's (`tenant_log`): queries by tenant
-- use the log's index, and this one only cost every append an entry.
DROP INDEX audit_events_tenant_rowid;
