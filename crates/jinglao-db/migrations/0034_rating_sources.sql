-- A visit may carry two ratings, kept apart: the person's own (the public page, or a follow-up
-- call logged by community staff) and the one given on the caregiver's phone after check-out,
-- which the caregiver could have entered. One of each per visit; roll-ups weight the phone's
-- less (satisfaction.caregiver_phone_weight_percent). Before, the first rating of any kind
-- took the visit's only place, so a caregiver's own rating shut the person out.
CREATE TABLE visit_ratings_by_source (
    visit_id UUID NOT NULL REFERENCES visits (id),
    -- person | caregiver_phone
    source TEXT NOT NULL,
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
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (visit_id, source)
);
INSERT INTO visit_ratings_by_source (visit_id, source, provider_id, caregiver_id, item_code,
    region_code, service_month, score, comment, channel, rated_by, created_at)
SELECT visit_id, CASE WHEN channel = 'confirmation' THEN 'caregiver_phone' ELSE 'person' END,
    provider_id, caregiver_id, item_code, region_code, service_month, score, comment, channel,
    rated_by, created_at
FROM visit_ratings;
DROP TABLE visit_ratings;
ALTER TABLE visit_ratings_by_source RENAME TO visit_ratings;
CREATE INDEX visit_ratings_provider_idx ON visit_ratings (provider_id, service_month);
CREATE INDEX visit_ratings_caregiver_idx ON visit_ratings (caregiver_id);
