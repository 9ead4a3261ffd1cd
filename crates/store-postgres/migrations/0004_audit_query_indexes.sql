-- Audit queries page in storage order by person or tenant: (column, pos)
-- serves both the filter and the order.
CREATE INDEX audit_events_actor_pos ON audit_events(actor, pos);
CREATE INDEX audit_events_tenant_pos ON audit_events(tenant, pos);
DROP INDEX audit_events_actor;
DROP INDEX audit_events_tenant;
