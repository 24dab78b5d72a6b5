-- Service providers (承接主体). Only what accounts need now; the provider issue adds the
-- registration, qualification and rating columns in its own migrations.
CREATE TABLE providers (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    credit_code TEXT,
    region_code TEXT NOT NULL REFERENCES regions (code),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE UNIQUE INDEX providers_credit_code_uq ON providers (credit_code);
CREATE INDEX providers_region_code_idx ON providers (region_code);
