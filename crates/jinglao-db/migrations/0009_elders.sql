-- The older-people registry (老年人数据库). ID and phone numbers are stored encrypted
-- (AES-256-GCM, nonce || ciphertext) with a keyed hash for exact lookup and de-duplication and
-- a masked form for lists; the clear text never reaches the database.
CREATE TABLE elders (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    id_cipher BYTEA NOT NULL,
    id_hash TEXT NOT NULL,
    id_masked TEXT NOT NULL,
    birth_date DATE NOT NULL,
    sex TEXT NOT NULL CHECK (sex IN ('male', 'female')),
    ethnicity TEXT NOT NULL,
    hukou_region_code TEXT NOT NULL REFERENCES regions (code),
    residence_region_code TEXT NOT NULL REFERENCES regions (code),
    address TEXT NOT NULL DEFAULT '',
    longitude DOUBLE PRECISION,
    latitude DOUBLE PRECISION,
    living_arrangement TEXT NOT NULL,
    marital_status TEXT NOT NULL,
    education TEXT NOT NULL,
    income_sources TEXT NOT NULL DEFAULT '',
    medical_payments TEXT NOT NULL DEFAULT '',
    children_count INTEGER NOT NULL DEFAULT 0,
    children_local BOOLEAN NOT NULL DEFAULT FALSE,
    children_can_care BOOLEAN NOT NULL DEFAULT FALSE,
    under_age_reason TEXT,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'moved_out', 'deceased')),
    status_date DATE,
    status_note TEXT,
    -- The latest effective assessment, kept here for search and worklists.
    ability_level INTEGER CHECK (ability_level BETWEEN 0 AND 4),
    ability_assessed_on DATE,
    reassessment_due DATE,
    reassessment_requested TEXT,
    -- Keyed hash of every field as imported, so that re-importing an unchanged row is a no-op.
    content_digest TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE UNIQUE INDEX elders_id_hash_uq ON elders (id_hash);
CREATE INDEX elders_residence_name_idx ON elders (residence_region_code, name);
CREATE INDEX elders_name_residence_idx ON elders (name, residence_region_code);
CREATE INDEX elders_ability_idx ON elders (ability_level, residence_region_code);
CREATE INDEX elders_due_idx ON elders (reassessment_due, residence_region_code);

CREATE TABLE elder_phones (
    elder_id UUID NOT NULL REFERENCES elders (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    phone_cipher BYTEA NOT NULL,
    phone_hash TEXT NOT NULL,
    phone_masked TEXT NOT NULL,
    PRIMARY KEY (elder_id, position)
);

CREATE INDEX elder_phones_hash_idx ON elder_phones (phone_hash);

CREATE TABLE elder_contacts (
    elder_id UUID NOT NULL REFERENCES elders (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    relation TEXT NOT NULL,
    phone_cipher BYTEA NOT NULL,
    phone_masked TEXT NOT NULL,
    PRIMARY KEY (elder_id, position)
);

CREATE TABLE elder_categories (
    id UUID PRIMARY KEY,
    elder_id UUID NOT NULL REFERENCES elders (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    detail TEXT,
    start_date DATE NOT NULL,
    end_date DATE,
    evidence TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX elder_categories_elder_idx ON elder_categories (elder_id);
CREATE INDEX elder_categories_kind_idx ON elder_categories (kind, elder_id);
