-- The working-day calendar (issue 15): each year's State Council notice of public holidays and
-- make-up working days (jinglao_domain::calendar). The years shipped in data/calendar are
-- loaded by `migrate::run` when absent; an administrator replaces a year as a whole, in one
-- transaction. Days not listed follow the week (Monday to Friday worked).
CREATE TABLE work_calendar_years (
    year INTEGER PRIMARY KEY,
    -- The notice, as named on the file's first line.
    source TEXT NOT NULL,
    loaded_by TEXT NOT NULL,
    loaded_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE work_calendar_days (
    day DATE PRIMARY KEY,
    year INTEGER NOT NULL REFERENCES work_calendar_years (year),
    -- holiday | workday
    kind TEXT NOT NULL CHECK (kind IN ('holiday', 'workday')),
    name TEXT NOT NULL
);
CREATE INDEX work_calendar_days_year_idx ON work_calendar_days (year);
