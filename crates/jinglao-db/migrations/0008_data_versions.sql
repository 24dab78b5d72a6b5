-- A version number per kind of reference data that servers keep in memory. Every change to that
-- data increments its version in the same transaction; each server process polls the numbers
-- and reloads what changed, so several processes converge within seconds.
CREATE TABLE data_versions (
    name TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);

INSERT INTO data_versions (name, version) VALUES ('regions', 1);
