-- Accounts. Staff roles are scoped to region_code's subtree; provider roles to provider_id.
CREATE TABLE users (
    id UUID PRIMARY KEY,
    username TEXT NOT NULL,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN (
        'admin', 'city_staff', 'county_staff', 'township_staff', 'village_staff', 'assessor',
        'provider_admin', 'caregiver', 'finance', 'inspector', 'auditor'
    )),
    region_code TEXT NOT NULL REFERENCES regions (code),
    provider_id UUID REFERENCES providers (id),
    password_hash TEXT NOT NULL,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    large_print BOOLEAN NOT NULL DEFAULT FALSE,
    password_changed_at TIMESTAMPTZ NOT NULL,
    last_login_at TIMESTAMPTZ,
    last_login_ip TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CHECK ((role IN ('provider_admin', 'caregiver')) = (provider_id IS NOT NULL))
);

CREATE UNIQUE INDEX users_username_uq ON users (username);
CREATE INDEX users_region_code_idx ON users (region_code);
CREATE INDEX users_provider_id_idx ON users (provider_id);
