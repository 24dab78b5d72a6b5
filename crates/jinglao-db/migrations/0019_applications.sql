-- Applications for an item of the basic elderly-service list and every decision on them
-- (村（居）初审 → 乡镇（街道）审定 → 公示 → 生效; returned for correction, refused, appealed).
-- Each decision records the list version it was made under and the rule's answer with its
-- explanation, and whether it went against the rule (then its reason is required).
CREATE TABLE applications (
    id UUID PRIMARY KEY,
    elder_id UUID NOT NULL REFERENCES elders (id),
    item_code TEXT NOT NULL,
    -- The list version at submission.
    list_id UUID NOT NULL REFERENCES service_lists (id),
    residence_region_code TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('submitted', 'returned', 'village_approved', 'in_notice',
        'effective', 'rejected', 'appealed', 'withdrawn')),
    -- 'staff' (on the person's behalf) or 'public' (the person or family on the public pages).
    channel TEXT NOT NULL CHECK (channel IN ('staff', 'public')),
    applicant_name TEXT NOT NULL,
    applicant_relation TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    precheck_eligible BOOLEAN NOT NULL,
    precheck_explanation TEXT NOT NULL,
    submitted_at TIMESTAMPTZ NOT NULL,
    -- The deadline of the step it waits for (working days from entering it).
    step_deadline DATE,
    notice_from DATE,
    notice_until DATE,
    -- The last reason shown to the applicant (return, refusal).
    decision_reason TEXT,
    appeal_until DATE,
    entitlement_id UUID REFERENCES entitlements (id),
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX applications_region_status_idx ON applications (residence_region_code, status);
CREATE INDEX applications_elder_idx ON applications (elder_id, item_code);
CREATE INDEX applications_status_deadline_idx ON applications (status, step_deadline);

CREATE TABLE application_decisions (
    id UUID PRIMARY KEY,
    application_id UUID NOT NULL REFERENCES applications (id),
    -- 'submit', 'village_review', 'township_decision', 'resubmit', 'appeal', 'notice_end'.
    step TEXT NOT NULL,
    decision TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    reason TEXT NOT NULL,
    list_id UUID NOT NULL REFERENCES service_lists (id),
    eligible BOOLEAN NOT NULL,
    explanation TEXT NOT NULL,
    against_rule BOOLEAN NOT NULL,
    decided_by UUID,
    decided_by_name TEXT NOT NULL,
    decided_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX application_decisions_application_idx ON application_decisions (application_id, decided_at);
