-- The person's signature, drawn with a finger on the caregiver's phone at check-out when no
-- confirmation code was given (issue 6). A small PNG, encrypted with the field key (it is
-- personal data); one per visit, kept as the evidence reviewers and auditors look at.
CREATE TABLE visit_signatures (
    visit_id UUID PRIMARY KEY REFERENCES visits (id),
    image_cipher BYTEA NOT NULL,
    size_bytes BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
