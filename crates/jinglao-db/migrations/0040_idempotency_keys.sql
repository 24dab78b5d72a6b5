-- Idempotency keys of API writes (issue 16): a client that sends `Idempotency-Key` and retries
-- after a dropped connection gets the first answer again instead of a second order, statement
-- step or assignment. One row per account and key; `status` 0 while the first request is still
-- being answered. Rows older than a day are replaced on reuse and purged nightly.
CREATE TABLE idempotency_keys (
    account_id UUID NOT NULL,
    idem_key TEXT NOT NULL,
    -- METHOD and path of the first request: the same key on another endpoint is refused.
    route TEXT NOT NULL,
    -- SHA-256 (hex) of the first request's body: the same key with another body is refused.
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, idem_key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
