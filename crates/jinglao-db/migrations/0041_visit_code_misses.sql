-- A wrong confirmation code at check-out asks the caregiver to try again (issue 17) before a
-- finding is recorded: each visit counts its distinct wrong codes; the same wrong code sent
-- again (a retried request) is not counted twice.
ALTER TABLE visits ADD COLUMN code_misses INTEGER NOT NULL DEFAULT 0;
ALTER TABLE visits ADD COLUMN code_last_miss TEXT NOT NULL DEFAULT '';
