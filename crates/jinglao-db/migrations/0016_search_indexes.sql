-- Search at a million people (BENCHMARKS.md §5). Every search runs in two steps: the ids of one
-- page are picked from an index alone, then only those rows are read. For that the indexes the
-- picking walks must hold every column the filters test and the order needs.

-- Region (the scope, or a township/village), optionally with status, 高龄 (birth date) and
-- 失能/半失能 (ability level), in name order.
DROP INDEX elders_residence_name_idx;
CREATE INDEX elders_residence_idx
    ON elders (residence_region_code, status, name, id, birth_date, ability_level);

-- Name prefix, or the first page of a large scope, walked in name order.
DROP INDEX elders_name_residence_idx;
CREATE INDEX elders_name_idx
    ON elders (name, residence_region_code, status, id, birth_date, ability_level);

-- An ability level within a region.
DROP INDEX elders_ability_idx;
CREATE INDEX elders_ability_idx
    ON elders (ability_level, residence_region_code, status, name, id);

-- "低保 in this township": a copy of the holder's residence on each category row (kept equal by
-- the code that writes residences), so the search reads the holders of one category in one
-- region from the index instead of testing every resident of the region.
ALTER TABLE elder_categories ADD COLUMN residence_region_code TEXT NOT NULL DEFAULT '';
UPDATE elder_categories SET residence_region_code =
    (SELECT e.residence_region_code FROM elders e WHERE e.id = elder_categories.elder_id);
DROP INDEX elder_categories_kind_idx;
CREATE INDEX elder_categories_kind_region_idx
    ON elder_categories (kind, residence_region_code, start_date, end_date, elder_id);
