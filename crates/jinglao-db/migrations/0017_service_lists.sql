-- The basic elderly-service list (基本养老服务清单): one list per region, versioned. Publishing
-- writes a new version; an older version is never changed, so a decision that records the
-- version it used can always be explained later. Target groups are stored as the rule text
-- (docs/RULES.md), checked before they are written.
CREATE TABLE service_lists (
    id UUID PRIMARY KEY,
    region_code TEXT NOT NULL REFERENCES regions (code),
    version INTEGER NOT NULL,
    title TEXT NOT NULL,
    basis TEXT NOT NULL,
    published_at TIMESTAMPTZ NOT NULL,
    published_by UUID,
    UNIQUE (region_code, version)
);

CREATE TABLE service_items (
    list_id UUID NOT NULL REFERENCES service_lists (id),
    position INTEGER NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    target_rule TEXT NOT NULL,
    content TEXT NOT NULL,
    -- 'government' (in full), 'share' (government_share per mille) or 'self'.
    payer TEXT NOT NULL CHECK (payer IN ('government', 'share', 'self')),
    government_share INTEGER NOT NULL CHECK (government_share BETWEEN 0 AND 1000),
    -- 'unlimited', 'hours' or 'times' a month, or 'fen' a month.
    quota_kind TEXT NOT NULL CHECK (quota_kind IN ('unlimited', 'hours', 'times', 'fen')),
    quota_amount BIGINT NOT NULL DEFAULT 0,
    effective_from DATE NOT NULL,
    effective_to DATE,
    basis TEXT NOT NULL,
    PRIMARY KEY (list_id, code)
);
