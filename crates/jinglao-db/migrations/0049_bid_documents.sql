-- A bid's documents (投标文件: the service proposal, the qualification papers, the price sheet)
-- kept as evidence files in the content-addressed file store, each with its checksum, checked
-- again on every read (issue 18, 4. 选择承接: bids are recorded with "documents as evidence
-- files"). Attached by the purchasing body while the project takes bids, up to the deadline;
-- read by the purchasing body and by the bidder's administrator, its own only.
CREATE TABLE purchase_bid_documents (
    id UUID PRIMARY KEY,
    bid_id UUID NOT NULL REFERENCES purchase_bids (id),
    -- proposal | qualification | price_sheet | other
    kind TEXT NOT NULL,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    uploaded_by UUID,
    uploaded_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX purchase_bid_documents_bid_idx ON purchase_bid_documents (bid_id, uploaded_at);
