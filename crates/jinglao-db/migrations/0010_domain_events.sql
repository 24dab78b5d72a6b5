-- Domain events, written in the same transaction as the change that raises them, for later
-- modules to act on (an outbox): a death or a move ends services and subsidies from its date.
CREATE TABLE domain_events (
    id UUID PRIMARY KEY,
    kind TEXT NOT NULL,
    entity TEXT NOT NULL,
    record_id UUID NOT NULL,
    effective_date DATE NOT NULL,
    payload TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX domain_events_record_idx ON domain_events (record_id, created_at);
CREATE INDEX domain_events_kind_idx ON domain_events (kind, created_at);
