-- Photos of a facility for its public page (环境照片). Bytes live in the same content-addressed
-- store as evidence files; the checksum is checked again on every read.
CREATE TABLE facility_photos (
    id UUID PRIMARY KEY,
    facility_id UUID NOT NULL REFERENCES facilities (id),
    caption TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    uploaded_by UUID,
    uploaded_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX facility_photos_facility_idx ON facility_photos (facility_id, uploaded_at);
