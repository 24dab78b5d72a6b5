-- Evidence files (证明材料). The bytes live outside the database in a content-addressed store
-- (<files_dir>/<first two hex digits>/<sha256>); the row keeps the checksum, which is checked
-- again on every read, so a file changed on disk is refused rather than served.
CREATE TABLE evidence_files (
    id UUID PRIMARY KEY,
    application_id UUID NOT NULL REFERENCES applications (id),
    kind TEXT NOT NULL,
    original_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    uploaded_by UUID,
    uploaded_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX evidence_files_application_idx ON evidence_files (application_id, uploaded_at);
