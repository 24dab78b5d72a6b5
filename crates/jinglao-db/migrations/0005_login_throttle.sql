-- Failed-login counters per account ('user:<name>') and per client address ('ip:<addr>'),
-- in the database so that every server process enforces the same lockout.
CREATE TABLE login_throttle (
    throttle_key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    window_started_at TIMESTAMPTZ NOT NULL,
    locked_until TIMESTAMPTZ
);
