-- Contract unit prices of government-bought home services, per provider and service-list item,
-- with effective dates (issue 6). Settlement prices each verified visit at the price in force on
-- its day; two prices of one item for one provider never overlap (checked, under a lock on the
-- provider row, when a price is added). The row also carries the contract's minimum minutes per
-- visit and whether the item needs a certified caregiver.
CREATE TABLE service_prices (
    id UUID PRIMARY KEY,
    provider_id UUID NOT NULL REFERENCES providers (id),
    item_code TEXT NOT NULL,
    valid_from DATE NOT NULL,
    valid_to DATE,
    unit_fen BIGINT NOT NULL CHECK (unit_fen > 0),
    min_minutes INTEGER NOT NULL DEFAULT 0,
    needs_certificate BOOLEAN NOT NULL DEFAULT FALSE,
    basis TEXT NOT NULL,
    created_by UUID,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX service_prices_provider_idx ON service_prices (provider_id, item_code, valid_from);
