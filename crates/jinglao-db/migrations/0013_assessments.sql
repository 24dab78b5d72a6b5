-- Capability assessments (GB/T 42195-2022). A correction is a new row that supersedes an
-- effective one; effective rows are never edited. `scores` holds the 26 item scores as digits
-- in the standard's item order.
CREATE TABLE assessments (
    id UUID PRIMARY KEY,
    elder_id UUID NOT NULL REFERENCES elders (id),
    supersedes_id UUID REFERENCES assessments (id),
    version INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'submitted', 'reviewed', 'effective', 'superseded', 'cancelled')),
    reason TEXT,
    reference_date DATE,
    region_code TEXT NOT NULL REFERENCES regions (code),
    agency_id UUID REFERENCES assessment_agencies (id),
    assessor1_id UUID REFERENCES users (id),
    assessor2_id UUID REFERENCES users (id),
    form TEXT NOT NULL,
    scores TEXT,
    total INTEGER,
    self_care INTEGER,
    basic_mobility INTEGER,
    mental INTEGER,
    perception_social INTEGER,
    preliminary_level INTEGER,
    final_level INTEGER,
    adjustments TEXT,
    stacking TEXT,
    submitted_at TIMESTAMPTZ,
    reviewed_at TIMESTAMPTZ,
    reviewed_by UUID REFERENCES users (id),
    review_note TEXT,
    effective_at TIMESTAMPTZ,
    effective_by UUID REFERENCES users (id),
    created_by UUID,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX assessments_elder_idx ON assessments (elder_id, status, reference_date);
CREATE INDEX assessments_status_region_idx ON assessments (status, region_code);
