-- Categories that policy texts tell apart (issue 15):
-- * 残疾 of any grade (潭政办发〔2023〕20号: 适老化改造 covers 残疾 older people, not only
--   grades one and two): the kind `severe_disability` becomes `disability`, its grade kept as
--   the detail; rules still see 重度残疾, derived from grades one and two.
-- * 失智 (the same plan's 巡访 groups): a flag on the person, set from the diagnoses of the
--   latest effective assessment whenever one takes effect. Filled here from the assessments
--   already effective, by their ICD-10 codes as stored in the form's JSON text.
UPDATE elder_categories SET kind = 'disability' WHERE kind = 'severe_disability';
ALTER TABLE elders ADD COLUMN dementia BOOLEAN NOT NULL DEFAULT false;
UPDATE elders SET dementia = true WHERE id IN (
    SELECT elder_id FROM assessments WHERE status = 'effective'
    AND (form LIKE '%"F00%' OR form LIKE '%"F01%' OR form LIKE '%"F02%'
         OR form LIKE '%"F03%' OR form LIKE '%"G30%')
);
