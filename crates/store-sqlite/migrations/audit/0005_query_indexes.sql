-- Audit queries page in storage order by person or tenant: an index on the
-- column alone is ordered by (column, rowid), which serves the filter and
-- the order (paging a busy person's day no longer rescans the log).
CREATE INDEX audit_events_actor_rowid ON audit_events(actor);
CREATE INDEX audit_events_tenant_rowid ON audit_events(tenant);
DROP INDEX audit_events_actor;
DROP INDEX audit_events_tenant;
