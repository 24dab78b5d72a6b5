-- Regular visits (巡访, issue 6): who is on the visit list and how often (decided by the
-- per-region rules `patrol.weekly_rule` / `patrol.monthly_rule`, refreshed with the nightly
-- sweep), who visits them, and what each visit found. One plan row per person (the person's id
-- is the key); a person who no longer qualifies keeps the row, ended, with their history.
CREATE TABLE patrol_plans (
    elder_id UUID PRIMARY KEY REFERENCES elders (id),
    region_code TEXT NOT NULL,
    -- weekly | monthly
    frequency TEXT NOT NULL,
    -- The rule clauses that decided it, in words.
    reason TEXT NOT NULL,
    joined_on DATE NOT NULL,
    -- community_staff | social_worker | volunteer (empty until assigned)
    visitor_kind TEXT NOT NULL DEFAULT '',
    visitor_name TEXT NOT NULL DEFAULT '',
    last_visit_on DATE,
    due_on DATE,
    -- active | ended
    status TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX patrol_plans_due_idx ON patrol_plans (status, region_code, due_on);

CREATE TABLE patrol_visits (
    id UUID PRIMARY KEY,
    elder_id UUID NOT NULL REFERENCES elders (id),
    region_code TEXT NOT NULL,
    visited_on DATE NOT NULL,
    visitor_kind TEXT NOT NULL,
    visitor_name TEXT NOT NULL,
    -- Met the person: yes | no (not at home, in hospital…)
    met BOOLEAN NOT NULL,
    -- ok | risk
    safety TEXT NOT NULL,
    -- stable | changed | ill
    health TEXT NOT NULL,
    needs TEXT NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT '',
    -- none | service | alarm
    referral TEXT NOT NULL,
    referral_note TEXT NOT NULL DEFAULT '',
    recorded_by UUID,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX patrol_visits_elder_idx ON patrol_visits (elder_id, visited_on);
CREATE INDEX patrol_visits_referral_idx ON patrol_visits (referral, region_code);
