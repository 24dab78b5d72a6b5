-- Dispatch and recurring plans (issue 6).
--
-- * What a caregiver may deliver (skills by service-list item code), whether they are barred
--   from assignments (a blacklist entry, with its reason), and their working days: a shift
--   entered for a day replaces the provider's default hours, a leave entry takes the day out.
-- * Recurring plans (lunch every weekday, a bath every Tuesday) generate orders ahead; one
--   order per plan and day at most (`service_orders_plan_day_uq`), so generating twice adds
--   nothing.
-- * How an order got its caregiver: `auto` (auto-dispatch may re-plan it) or `hand` (kept).

CREATE TABLE staff_skills (
    staff_id UUID NOT NULL REFERENCES staff (id),
    item_code TEXT NOT NULL,
    PRIMARY KEY (staff_id, item_code)
);

ALTER TABLE staff ADD COLUMN barred_on DATE;
ALTER TABLE staff ADD COLUMN barred_reason TEXT;

CREATE TABLE caregiver_days (
    staff_id UUID NOT NULL REFERENCES staff (id),
    day DATE NOT NULL,
    -- shift | leave
    kind TEXT NOT NULL CHECK (kind IN ('shift', 'leave')),
    starts_at TIMESTAMPTZ,
    ends_at TIMESTAMPTZ,
    reason TEXT NOT NULL DEFAULT '',
    created_by UUID,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (staff_id, day)
);

CREATE TABLE service_plans (
    id UUID PRIMARY KEY,
    elder_id UUID NOT NULL REFERENCES elders (id),
    region_code TEXT NOT NULL,
    provider_id UUID NOT NULL REFERENCES providers (id),
    item_code TEXT NOT NULL,
    funding TEXT NOT NULL,
    -- Bit 0 = Monday … bit 6 = Sunday.
    weekdays INTEGER NOT NULL CHECK (weekdays > 0 AND weekdays < 128),
    -- Start of the window, China time, minutes after midnight.
    start_minute INTEGER NOT NULL CHECK (start_minute >= 0 AND start_minute < 1440),
    minutes INTEGER NOT NULL CHECK (minutes > 0),
    start_on DATE NOT NULL,
    end_on DATE,
    -- How the plan was made (its orders carry it): staff | provider | public | phone
    channel TEXT NOT NULL,
    -- active | ended
    status TEXT NOT NULL,
    end_reason TEXT,
    -- The last day orders were generated up to (inclusive).
    generated_to DATE,
    created_by UUID,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX service_plans_elder_idx ON service_plans (elder_id);
CREATE INDEX service_plans_region_idx ON service_plans (region_code);
CREATE INDEX service_plans_provider_idx ON service_plans (provider_id);

CREATE UNIQUE INDEX service_orders_plan_day_uq ON service_orders (plan_id, service_on);

ALTER TABLE service_orders ADD COLUMN assigned_how TEXT;
-- The start dispatch planned within the window.
ALTER TABLE service_orders ADD COLUMN planned_at TIMESTAMPTZ;
