-- Per-region policy parameters with their legal basis; a region inherits its nearest
-- ancestor's setting, and the built-in default applies when none is set.
CREATE TABLE policy_params (
    region_code TEXT NOT NULL REFERENCES regions (code),
    param TEXT NOT NULL,
    value TEXT NOT NULL,
    basis TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (region_code, param)
);
