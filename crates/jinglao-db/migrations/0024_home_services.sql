-- Home and community services bought by government (issue 6): orders, the visits that deliver
-- them, corrections, and monthly settlement statements.
--
-- Invariants kept by the schema itself:
-- * one visit per order (`visits_order_uq`);
-- * a visit is charged on at most one statement line, ever (the lines' primary key is the
--   visit and the kind; a reversal of a paid visit is a separate negative line);
-- * one statement per provider, month and funding source (`statements_uq`).

-- A caregiver's account points at the staff record it works as.
ALTER TABLE users ADD COLUMN staff_id UUID REFERENCES staff (id);

CREATE TABLE service_orders (
    id UUID PRIMARY KEY,
    elder_id UUID NOT NULL REFERENCES elders (id),
    -- The elder's residence when ordered (scope of community and township staff).
    region_code TEXT NOT NULL,
    provider_id UUID NOT NULL REFERENCES providers (id),
    item_code TEXT NOT NULL,
    -- entitlement | voucher | self_pay | care_insurance
    funding TEXT NOT NULL,
    entitlement_id UUID REFERENCES entitlements (id),
    -- The China date of the visit and its month ('2026-11'), the quota's period.
    service_on DATE NOT NULL,
    service_month TEXT NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    window_end TIMESTAMPTZ NOT NULL,
    minutes INTEGER NOT NULL CHECK (minutes > 0),
    price_fen BIGINT NOT NULL CHECK (price_fen >= 0),
    -- The one-time code the elder reads out to confirm the visit (never shown to caregivers).
    confirm_code TEXT NOT NULL,
    -- booked | done | cancelled | no_show
    status TEXT NOT NULL,
    caregiver_id UUID REFERENCES staff (id),
    plan_id UUID,
    -- staff | provider | public | phone
    channel TEXT NOT NULL,
    end_reason TEXT,
    created_by UUID,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX service_orders_quota_idx ON service_orders (elder_id, item_code, service_month);
CREATE INDEX service_orders_provider_idx ON service_orders (provider_id, service_on);
CREATE INDEX service_orders_caregiver_idx ON service_orders (caregiver_id, service_on);
CREATE INDEX service_orders_region_idx ON service_orders (region_code, service_on);

CREATE TABLE visits (
    -- Chosen by the phone (UUID v7) at check-in, so a retried or re-synced check-in is the
    -- same visit.
    id UUID PRIMARY KEY,
    order_id UUID NOT NULL REFERENCES service_orders (id),
    provider_id UUID NOT NULL REFERENCES providers (id),
    caregiver_id UUID NOT NULL REFERENCES staff (id),
    elder_id UUID NOT NULL REFERENCES elders (id),
    region_code TEXT NOT NULL,
    item_code TEXT NOT NULL,
    funding TEXT NOT NULL,
    -- The China date of the check-in (settlement prices the visit on this day) and its month.
    service_on DATE NOT NULL,
    service_month TEXT NOT NULL,
    in_at TIMESTAMPTZ NOT NULL,
    in_device_at TIMESTAMPTZ NOT NULL,
    in_received_at TIMESTAMPTZ NOT NULL,
    in_lat DOUBLE PRECISION,
    in_lon DOUBLE PRECISION,
    in_offline BOOLEAN NOT NULL DEFAULT FALSE,
    out_at TIMESTAMPTZ,
    out_device_at TIMESTAMPTZ,
    out_received_at TIMESTAMPTZ,
    out_lat DOUBLE PRECISION,
    out_lon DOUBLE PRECISION,
    out_offline BOOLEAN NOT NULL DEFAULT FALSE,
    -- missing | code | signature; for a code, what was entered and whether it matched.
    confirmation TEXT NOT NULL DEFAULT 'missing',
    code_entered TEXT,
    code_matched BOOLEAN,
    tasks TEXT NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT '',
    -- in_progress | verified | exception | accepted | rejected
    status TEXT NOT NULL,
    -- JSON array of {code, detail}; `exception_codes` the codes, comma-separated, for filters.
    findings TEXT NOT NULL DEFAULT '[]',
    exception_codes TEXT NOT NULL DEFAULT '',
    reviewed_by UUID,
    review_reason TEXT,
    reviewed_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX visits_order_uq ON visits (order_id);
CREATE INDEX visits_caregiver_idx ON visits (caregiver_id, in_at);
-- Settlement reads a provider's payable visits from this index alone (no visit row is read).
CREATE INDEX visits_settle_idx ON visits (provider_id, funding, status, service_month, service_on,
    item_code, id);
CREATE INDEX visits_queue_idx ON visits (status, region_code);
CREATE INDEX visits_elder_idx ON visits (elder_id, in_at);
-- The month-end re-check reads the month's caregiver–provider pairs from this index alone.
CREATE INDEX visits_month_idx ON visits (service_month, status, caregiver_id, provider_id);
-- People no longer active (few): the re-check starts from them.
CREATE INDEX elders_inactive_idx ON elders (status) WHERE status <> 'active';

-- Manual corrections of a visit, kept apart from the visit itself: what, from, to, why, who.
CREATE TABLE visit_corrections (
    id UUID PRIMARY KEY,
    visit_id UUID NOT NULL REFERENCES visits (id),
    field TEXT NOT NULL,
    old_value TEXT NOT NULL,
    new_value TEXT NOT NULL,
    reason TEXT NOT NULL,
    corrected_by UUID,
    corrected_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX visit_corrections_visit_idx ON visit_corrections (visit_id);

CREATE TABLE statements (
    id UUID PRIMARY KEY,
    provider_id UUID NOT NULL REFERENCES providers (id),
    service_month TEXT NOT NULL,
    funding TEXT NOT NULL,
    -- draft | confirmed | disputed | approved | paid
    status TEXT NOT NULL,
    total_fen BIGINT NOT NULL DEFAULT 0,
    line_count INTEGER NOT NULL DEFAULT 0,
    dispute_reason TEXT,
    reopen_reason TEXT,
    reopened_by UUID,
    reopened_at TIMESTAMPTZ,
    confirmed_by UUID,
    confirmed_at TIMESTAMPTZ,
    approved_by UUID,
    approved_at TIMESTAMPTZ,
    paid_at TIMESTAMPTZ,
    payment_ref TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX statements_uq ON statements (provider_id, service_month, funding);

CREATE TABLE statement_lines (
    visit_id UUID NOT NULL REFERENCES visits (id),
    -- charge: the visit paid; reversal: a paid visit rejected later, taken back.
    kind TEXT NOT NULL,
    statement_id UUID NOT NULL REFERENCES statements (id),
    item_code TEXT NOT NULL,
    service_on DATE NOT NULL,
    -- The visit's own month; differs from the statement's for an adjustment.
    service_month TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    PRIMARY KEY (visit_id, kind)
);
CREATE INDEX statement_lines_statement_idx ON statement_lines (statement_id);
