-- The append-only audit trail. Each entry's hash is an HMAC over its fields and the previous
-- hash (see jinglao_domain::audit); audit_head records the last entry. The head lives in the
-- same database, so someone who can write to it can delete the newest entries and move the head
-- back: only anchors kept outside the database (the anchor file, the logs) catch that, and
-- `jinglao audit verify` compares against them. detail is TEXT, not JSONB: it must come back
-- byte for byte.
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    occurred_at TIMESTAMPTZ NOT NULL,
    actor_id UUID,
    actor_name TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    record_id TEXT,
    region_code TEXT,
    client_ip TEXT,
    request_id TEXT,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);

CREATE INDEX audit_log_occurred_at_idx ON audit_log (occurred_at);
CREATE INDEX audit_log_actor_name_idx ON audit_log (actor_name, seq);
CREATE INDEX audit_log_entity_idx ON audit_log (entity, record_id, seq);
CREATE INDEX audit_log_region_code_idx ON audit_log (region_code, seq);
CREATE INDEX audit_log_action_idx ON audit_log (action, seq);

CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);

INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
