-- The registry list in the order a clerk expects, and search by the last digits of a number
-- (issue 17, point 7).
--
-- `name_key` is the name's pinyin sort key (王 → `wang2`, written by the code from
-- `jinglao_domain::collation::pinyin_key`); the list is ordered by it, then by the name, then
-- by id. The indexes the search walks (0016) carry it in place of the bare name, so a page is
-- still picked from an index alone.
--
-- `id_tail_hash` and `elder_phones.tail_hash` are keyed hashes of the last four characters of
-- the ID number and of each phone number ("尾号 1234"): the numbers stay encrypted, and without
-- the key the hashes say nothing. Rows written before this migration get both from
-- `registry::search_keys::backfill`, which `jinglao migrate`, `serve --migrate` and the demo run
-- after the schema migrations.
ALTER TABLE elders ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
ALTER TABLE elders ADD COLUMN id_tail_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE elder_phones ADD COLUMN tail_hash TEXT NOT NULL DEFAULT '';

DROP INDEX elders_residence_idx;
CREATE INDEX elders_residence_idx
    ON elders (residence_region_code, status, name_key, name, id, birth_date, ability_level);

DROP INDEX elders_name_idx;
CREATE INDEX elders_name_idx
    ON elders (name_key, name, residence_region_code, status, id, birth_date, ability_level);

DROP INDEX elders_ability_idx;
CREATE INDEX elders_ability_idx
    ON elders (ability_level, residence_region_code, status, name_key, name, id);

CREATE INDEX elders_id_tail_idx ON elders (id_tail_hash);
CREATE INDEX elder_phones_tail_idx ON elder_phones (tail_hash);
