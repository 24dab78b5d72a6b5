-- Treasury payment (国库集中支付, 湘财社〔2015〕2号 八): approved statements are paid against
-- their contracts in batches. A batch is exported as a file for the treasury clerk; a statement
-- is marked paid only when the treasury's confirmation of every one of its lines is imported.
--
-- * one line per statement and contract (a statement priced under two contracts is two
--   payments, each from its own project's funds);
-- * a statement and contract is in at most one line that is pending or paid
--   (`payment_batch_lines_live_uq`): a failed line may be put into a new batch, a paid one
--   never again;
-- * the payee (name, bank, account) and the amount are copied onto the line when the batch is
--   made, so the file and the confirmation always agree with what was sent.

CREATE TABLE payment_batches (
    id UUID PRIMARY KEY,
    -- e.g. ZF430300-2026-0001: the payer's region, year and a running number.
    batch_no TEXT NOT NULL,
    region_code TEXT NOT NULL REFERENCES regions (code),
    line_count INTEGER NOT NULL,
    total_fen BIGINT NOT NULL,
    -- open (waiting for the treasury) | closed (every line answered)
    status TEXT NOT NULL,
    created_by UUID,
    created_at TIMESTAMPTZ NOT NULL,
    closed_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX payment_batches_batch_no_uq ON payment_batches (batch_no);
CREATE INDEX payment_batches_region_idx ON payment_batches (region_code, created_at);

CREATE TABLE payment_batch_lines (
    batch_id UUID NOT NULL REFERENCES payment_batches (id),
    seq INTEGER NOT NULL,
    statement_id UUID NOT NULL REFERENCES statements (id),
    contract_id UUID NOT NULL REFERENCES purchase_contracts (id),
    provider_id UUID NOT NULL REFERENCES providers (id),
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    payee_name TEXT NOT NULL,
    payee_credit_code TEXT NOT NULL,
    payee_bank TEXT NOT NULL,
    payee_account TEXT NOT NULL,
    funding_source TEXT NOT NULL,
    purpose TEXT NOT NULL,
    -- pending | paid | failed
    status TEXT NOT NULL,
    voucher_no TEXT,
    paid_on DATE,
    failure_reason TEXT,
    answered_by UUID,
    answered_at TIMESTAMPTZ,
    PRIMARY KEY (batch_id, seq)
);
CREATE UNIQUE INDEX payment_batch_lines_live_uq ON payment_batch_lines (statement_id, contract_id)
    WHERE status <> 'failed';
CREATE INDEX payment_batch_lines_contract_idx ON payment_batch_lines (contract_id);
