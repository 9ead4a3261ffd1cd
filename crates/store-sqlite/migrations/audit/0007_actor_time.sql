-- A person's events from a time on (budget seeding, an auditor's "what did
-- X do since …") start where this index says the first one is: without it,
-- the first page of such a query walked the person's whole history in
-- storage order to find the first event after the time (issue 22's soak:
-- every approval's grant budget seeding grew with the requester's history).
CREATE INDEX audit_events_actor_ts ON audit_events(actor, ts);
