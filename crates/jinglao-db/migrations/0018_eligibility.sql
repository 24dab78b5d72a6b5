-- Proactive matching (服务找人). A sweep asks every older person of a region about every item
-- of the list that applies to them; `eligibility` keeps the last answer per person (one bit
-- per item of the list version named), `eligibility_changes` what each sweep found different,
-- and `entitlements` what a person is enrolled in (from an effective application, or recorded
-- from the paper files of earlier years). Worklists are read from these three.
CREATE TABLE eligibility_sweeps (
    id UUID PRIMARY KEY,
    region_code TEXT NOT NULL REFERENCES regions (code),
    -- 'manual' (staff), 'nightly' (the server's schedule) or 'change' (one person's record
    -- changed and was asked again at once).
    trigger TEXT NOT NULL CHECK (trigger IN ('manual', 'nightly', 'change')),
    evaluated_on DATE NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL,
    people INTEGER NOT NULL,
    gained INTEGER NOT NULL,
    lost INTEGER NOT NULL,
    started_by UUID
);

CREATE INDEX eligibility_sweeps_region_idx ON eligibility_sweeps (region_code, started_at);

CREATE TABLE eligibility (
    elder_id UUID PRIMARY KEY REFERENCES elders (id) ON DELETE CASCADE,
    list_id UUID NOT NULL REFERENCES service_lists (id),
    -- Bit n: in the target group of item n (position order) of the list version.
    mask BIGINT NOT NULL,
    residence_region_code TEXT NOT NULL,
    evaluated_on DATE NOT NULL,
    sweep_id UUID NOT NULL REFERENCES eligibility_sweeps (id)
);

CREATE INDEX eligibility_residence_idx ON eligibility (residence_region_code, elder_id);

CREATE TABLE eligibility_changes (
    sweep_id UUID NOT NULL REFERENCES eligibility_sweeps (id),
    elder_id UUID NOT NULL REFERENCES elders (id) ON DELETE CASCADE,
    item_code TEXT NOT NULL,
    gained BOOLEAN NOT NULL,
    -- The deciding clauses (gained) or why not any more: died, moved, a clause that failed.
    reason TEXT NOT NULL,
    residence_region_code TEXT NOT NULL,
    PRIMARY KEY (sweep_id, elder_id, item_code)
);

CREATE INDEX eligibility_changes_residence_idx ON eligibility_changes (residence_region_code, sweep_id);
CREATE INDEX eligibility_changes_elder_idx ON eligibility_changes (elder_id, item_code);

CREATE TABLE entitlements (
    id UUID PRIMARY KEY,
    elder_id UUID NOT NULL REFERENCES elders (id),
    item_code TEXT NOT NULL,
    -- The list version the decision was made under.
    list_id UUID NOT NULL REFERENCES service_lists (id),
    application_id UUID,
    start_date DATE NOT NULL,
    end_date DATE,
    end_reason TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    created_by UUID
);

CREATE INDEX entitlements_elder_idx ON entitlements (elder_id, item_code);
CREATE INDEX entitlements_item_idx ON entitlements (item_code, elder_id);
