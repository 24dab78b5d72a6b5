-- Providers' credit records (信用记录, issue 15): 失信 listings and administrative penalties, each
-- with the decision that imposed it. The minimal table the gates read until the supervision
-- issue brings the full credit system: a 失信 listing or a fraud penalty
-- (湘政发〔2014〕20号 三（三）) keeps a provider out of government purchase, a serious penalty or
-- listing stops a star-rating application (jinglao_domain::credit). Records are never deleted:
-- a revoked one keeps its row with the day and the reason.
CREATE TABLE credit_records (
    id UUID PRIMARY KEY,
    provider_id UUID NOT NULL REFERENCES providers (id),
    -- dishonest | fraud_penalty | serious_penalty | penalty
    kind TEXT NOT NULL CHECK (kind IN ('dishonest', 'fraud_penalty', 'serious_penalty', 'penalty')),
    decision_no TEXT NOT NULL,
    authority TEXT NOT NULL,
    decided_on DATE NOT NULL,
    -- The last day in force, when the decision says; NULL: until revoked.
    ends_on DATE,
    summary TEXT NOT NULL,
    revoked_on DATE,
    revoke_reason TEXT,
    recorded_by UUID,
    recorded_by_name TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
-- One row per decision and kind: a retried form finds the first.
CREATE UNIQUE INDEX credit_records_decision_uq ON credit_records (provider_id, kind, decision_no);
CREATE INDEX credit_records_provider_idx ON credit_records (provider_id, decided_on);
