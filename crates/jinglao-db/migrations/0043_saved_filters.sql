-- Saved filters (issue 17, point 7): a clerk names the filter of a list they use every day
-- ("本街道待初审", "逾期复评") and finds it again with one click. One row per account, list and
-- name; the query is the list's address query (never an ID or phone number: those are refused).
CREATE TABLE saved_filters (
    id UUID PRIMARY KEY,
    account_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    list TEXT NOT NULL,
    name TEXT NOT NULL,
    query TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX saved_filters_name_idx ON saved_filters (account_id, list, name);
