-- Satisfaction (issue 6): after a visit the person or their family rates it 1–5 with a comment,
-- on the confirmation page, by a phone call logged by staff, or on the public page. One rating
-- per visit; provider, caregiver and item are copied so the roll-ups need no joins.
CREATE TABLE visit_ratings (
    visit_id UUID PRIMARY KEY REFERENCES visits (id),
    provider_id UUID NOT NULL REFERENCES providers (id),
    caregiver_id UUID NOT NULL REFERENCES staff (id),
    item_code TEXT NOT NULL,
    region_code TEXT NOT NULL,
    service_month TEXT NOT NULL,
    score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment TEXT NOT NULL DEFAULT '',
    -- confirmation | phone | public
    channel TEXT NOT NULL,
    rated_by UUID,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX visit_ratings_provider_idx ON visit_ratings (provider_id, service_month);
CREATE INDEX visit_ratings_caregiver_idx ON visit_ratings (caregiver_id);
