-- SQLite compares TEXT in BINARY (UTF-8 byte = code point) order already; nothing to change.
-- (PostgreSQL sets COLLATE "C" on elders.name in the matching file.)
SELECT 1;
