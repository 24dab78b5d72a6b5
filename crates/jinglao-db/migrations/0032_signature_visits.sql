-- The few visits confirmed by a drawn signature alone, by month, caregiver and provider: the
-- fraud signal on signature-only check-outs counts them without reading a month of visits.
CREATE INDEX visits_signature_idx ON visits (service_month, caregiver_id, provider_id)
WHERE confirmation = 'signature';
