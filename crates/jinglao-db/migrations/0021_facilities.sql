-- Providers' registration and qualifications, facilities, beds, residents' stays, the public
-- institutions' waiting lists, staff and their contracts, and star ratings (issue 5).
--
-- Facility rows carry live counters (beds, nursing beds, occupied beds) and the current star
-- level: every change to beds, stays or ratings updates them in the same transaction, so the
-- public finder filters 10,000 facilities without joining half a million beds.

ALTER TABLE providers ADD COLUMN kind TEXT NOT NULL DEFAULT 'private_non_enterprise';
ALTER TABLE providers ADD COLUMN credit_code_override TEXT;
ALTER TABLE providers ADD COLUMN legal_representative TEXT NOT NULL DEFAULT '';
ALTER TABLE providers ADD COLUMN registration_authority TEXT NOT NULL DEFAULT '';
ALTER TABLE providers ADD COLUMN registered_on DATE;
ALTER TABLE providers ADD COLUMN contact_name TEXT NOT NULL DEFAULT '';
ALTER TABLE providers ADD COLUMN office_phone TEXT NOT NULL DEFAULT '';
ALTER TABLE providers ADD COLUMN evaluation_grade TEXT;

-- Findings on the seven conditions of 湘政发〔2014〕20号; the latest per condition counts.
CREATE TABLE provider_findings (
    id UUID PRIMARY KEY,
    provider_id UUID NOT NULL REFERENCES providers (id),
    condition TEXT NOT NULL,
    met BOOLEAN NOT NULL,
    checked_on DATE NOT NULL,
    expires_on DATE,
    evidence TEXT NOT NULL,
    checker_id UUID REFERENCES users (id),
    checker_name TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX provider_findings_provider_idx ON provider_findings (provider_id, condition, checked_on);

CREATE TABLE facilities (
    id UUID PRIMARY KEY,
    provider_id UUID NOT NULL REFERENCES providers (id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    ownership TEXT NOT NULL,
    owner TEXT NOT NULL DEFAULT '',
    region_code TEXT NOT NULL REFERENCES regions (code),
    address TEXT NOT NULL,
    latitude DOUBLE PRECISION,
    longitude DOUBLE PRECISION,
    floor_area_m2 DOUBLE PRECISION NOT NULL DEFAULT 0,
    functions INTEGER NOT NULL DEFAULT 0,
    medical_partner TEXT NOT NULL DEFAULT '',
    opened_on DATE,
    filing_no TEXT NOT NULL DEFAULT '',
    filed_on DATE,
    fire_status TEXT NOT NULL DEFAULT 'missing',
    food_licence TEXT NOT NULL DEFAULT '',
    insurer TEXT NOT NULL DEFAULT '',
    insured_beds INTEGER NOT NULL DEFAULT 0,
    insurance_from DATE,
    insurance_to DATE,
    premium_fen BIGINT NOT NULL DEFAULT 0,
    price_min_fen BIGINT NOT NULL DEFAULT 0,
    price_max_fen BIGINT NOT NULL DEFAULT 0,
    phone TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    beds_total INTEGER NOT NULL DEFAULT 0,
    nursing_beds INTEGER NOT NULL DEFAULT 0,
    occupied_beds INTEGER NOT NULL DEFAULT 0,
    star_level INTEGER,
    star_valid_until DATE,
    closed_on DATE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX facilities_region_idx ON facilities (region_code);
CREATE INDEX facilities_provider_idx ON facilities (provider_id);

CREATE TABLE beds (
    id UUID PRIMARY KEY,
    facility_id UUID NOT NULL REFERENCES facilities (id),
    building TEXT NOT NULL,
    floor TEXT NOT NULL,
    room TEXT NOT NULL,
    label TEXT NOT NULL,
    nursing BOOLEAN NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('free', 'occupied', 'reserved', 'out_of_service')),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX beds_place_uq ON beds (facility_id, building, floor, room, label);

-- A resident's stay. One open stay per bed and per older person, enforced by the database so
-- that two admissions racing for one bed cannot both win.
CREATE TABLE stays (
    id UUID PRIMARY KEY,
    facility_id UUID NOT NULL REFERENCES facilities (id),
    bed_id UUID NOT NULL REFERENCES beds (id),
    elder_id UUID NOT NULL REFERENCES elders (id),
    admitted_on DATE NOT NULL,
    discharged_on DATE,
    discharge_reason TEXT,
    ability_level INTEGER,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX stays_open_bed_uq ON stays (bed_id) WHERE discharged_on IS NULL;
CREATE UNIQUE INDEX stays_open_elder_uq ON stays (elder_id) WHERE discharged_on IS NULL;
CREATE INDEX stays_facility_idx ON stays (facility_id, admitted_on);

CREATE TABLE waiting_list (
    id UUID PRIMARY KEY,
    facility_id UUID NOT NULL REFERENCES facilities (id),
    elder_id UUID NOT NULL REFERENCES elders (id),
    applied_on DATE NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('waiting', 'admitted', 'withdrawn')),
    note TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX waiting_list_open_uq ON waiting_list (facility_id, elder_id) WHERE status = 'waiting';

CREATE TABLE staff (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    id_cipher BYTEA NOT NULL,
    id_hash TEXT NOT NULL,
    id_masked TEXT NOT NULL,
    phone_cipher BYTEA,
    phone_masked TEXT NOT NULL DEFAULT '',
    sex TEXT NOT NULL,
    birth_date DATE NOT NULL,
    role TEXT NOT NULL,
    vocational_level TEXT,
    certificate_no TEXT NOT NULL DEFAULT '',
    certificate_on DATE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX staff_id_hash_uq ON staff (id_hash);

CREATE TABLE employments (
    id UUID PRIMARY KEY,
    staff_id UUID NOT NULL REFERENCES staff (id),
    provider_id UUID NOT NULL REFERENCES providers (id),
    facility_id UUID REFERENCES facilities (id),
    role TEXT NOT NULL,
    start_on DATE NOT NULL,
    end_on DATE,
    full_time BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX employments_staff_idx ON employments (staff_id);
CREATE INDEX employments_provider_idx ON employments (provider_id);
CREATE INDEX employments_facility_idx ON employments (facility_id);

CREATE TABLE staff_insurance_months (
    staff_id UUID NOT NULL REFERENCES staff (id),
    provider_id UUID NOT NULL REFERENCES providers (id),
    month TEXT NOT NULL,
    PRIMARY KEY (staff_id, provider_id, month)
);

-- Training hours and competition awards.
CREATE TABLE staff_records (
    id UUID PRIMARY KEY,
    staff_id UUID NOT NULL REFERENCES staff (id),
    kind TEXT NOT NULL CHECK (kind IN ('training', 'award')),
    on_date DATE NOT NULL,
    hours INTEGER NOT NULL DEFAULT 0,
    title TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX staff_records_staff_idx ON staff_records (staff_id);

CREATE TABLE ratings (
    id UUID PRIMARY KEY,
    facility_id UUID NOT NULL REFERENCES facilities (id),
    requested_level INTEGER NOT NULL CHECK (requested_level BETWEEN 1 AND 5),
    status TEXT NOT NULL CHECK (status IN ('applied', 'self_assessed', 'scored', 'decided', 'published')),
    applied_on DATE NOT NULL,
    granted_level INTEGER,
    failed BOOLEAN NOT NULL DEFAULT FALSE,
    decided_on DATE,
    valid_until DATE,
    published_on DATE,
    reasons TEXT NOT NULL DEFAULT '',
    thresholds TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX ratings_facility_idx ON ratings (facility_id, applied_on);

CREATE TABLE rating_scores (
    rating_id UUID NOT NULL REFERENCES ratings (id),
    sheet TEXT NOT NULL CHECK (sheet IN ('self', 'expert')),
    item_code TEXT NOT NULL,
    tenths INTEGER NOT NULL,
    PRIMARY KEY (rating_id, sheet, item_code)
);
