-- Names are searched by prefix with a range (name >= '王' AND name < '王' || U+10FFFF), which
-- needs code-point order. SQLite's BINARY collation is that already; PostgreSQL's depends on
-- the database's locale, so fix it for this column.
ALTER TABLE elders ALTER COLUMN name TYPE TEXT COLLATE "C";
