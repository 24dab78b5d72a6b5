-- Uploaded import files between preview and commit. The file is kept so that the commit
-- re-reads exactly what was previewed (and checks the plan has not changed since); batches are
-- deleted once committed and swept after a day.
CREATE TABLE import_batches (
    id UUID PRIMARY KEY,
    created_by UUID NOT NULL REFERENCES users (id),
    file_name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    content BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX import_batches_created_at_idx ON import_batches (created_at);
