-- Family care beds (家庭养老床位, issue 6): a provider's contract to care for an older person
-- at home, with the home assessment, the adaptation checklist and the devices installed. One
-- bed in force per person (`family_beds_active_uq`); visits are ordinary orders and verified
-- visits of the bed's item with the bed's provider.
CREATE TABLE family_beds (
    id UUID PRIMARY KEY,
    elder_id UUID NOT NULL REFERENCES elders (id),
    region_code TEXT NOT NULL,
    provider_id UUID NOT NULL REFERENCES providers (id),
    contract_no TEXT NOT NULL,
    item_code TEXT NOT NULL,
    start_on DATE NOT NULL,
    end_on DATE,
    -- What the home assessment found (who, when, what).
    assessed_on DATE NOT NULL,
    assessor TEXT NOT NULL,
    assessment TEXT NOT NULL,
    -- The rule clauses that qualified the person, in words, when the bed was set up.
    basis TEXT NOT NULL,
    -- active | ended
    status TEXT NOT NULL,
    end_reason TEXT,
    created_by UUID,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX family_beds_active_uq ON family_beds (elder_id) WHERE status = 'active';
CREATE INDEX family_beds_region_idx ON family_beds (status, region_code);
CREATE INDEX family_beds_provider_idx ON family_beds (provider_id, status);

CREATE TABLE family_bed_adaptations (
    bed_id UUID NOT NULL REFERENCES family_beds (id),
    item TEXT NOT NULL,
    done_on DATE NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (bed_id, item)
);

CREATE TABLE family_bed_devices (
    id UUID PRIMARY KEY,
    bed_id UUID NOT NULL REFERENCES family_beds (id),
    kind TEXT NOT NULL,
    serial_no TEXT NOT NULL,
    installed_on DATE NOT NULL,
    removed_on DATE,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX family_bed_devices_serial_uq ON family_bed_devices (kind, serial_no) WHERE removed_on IS NULL;
CREATE INDEX family_bed_devices_bed_idx ON family_bed_devices (bed_id);
