-- Assessment agencies (评估机构) and the certificates of their assessors (老年人能力评估师).
CREATE TABLE assessment_agencies (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    credit_code TEXT NOT NULL,
    region_code TEXT NOT NULL REFERENCES regions (code),
    independent_legal_entity BOOLEAN NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE UNIQUE INDEX assessment_agencies_credit_code_uq ON assessment_agencies (credit_code);

CREATE TABLE assessor_profiles (
    user_id UUID PRIMARY KEY REFERENCES users (id),
    agency_id UUID NOT NULL REFERENCES assessment_agencies (id),
    certificate_no TEXT NOT NULL,
    certificate_level TEXT NOT NULL,
    certificate_expiry DATE NOT NULL,
    full_time BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX assessor_profiles_agency_idx ON assessor_profiles (agency_id);
