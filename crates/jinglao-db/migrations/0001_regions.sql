-- The administrative division tree (行政区划). Codes are 12 digits, zero-padded, so a region's
-- whole subtree is one range scan on the primary key: code BETWEEN '430302000000' AND '430302999999'.
CREATE TABLE regions (
    code TEXT PRIMARY KEY CHECK (length(code) = 12),
    name TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('province', 'city', 'county', 'township', 'village')),
    parent_code TEXT REFERENCES regions (code),
    area_type TEXT CHECK (area_type IN ('urban', 'rural')),
    area_type_manual BOOLEAN NOT NULL DEFAULT FALSE,
    source TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX regions_parent_code_idx ON regions (parent_code, code);
CREATE INDEX regions_level_code_idx ON regions (level, code);
