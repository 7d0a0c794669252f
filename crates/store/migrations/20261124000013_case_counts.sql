-- Case counts per agency and state, kept by triggers on `cases` (installed per
-- dialect by the store), so a department's list shows its exact total without
-- counting its rows. Each (agency, state) is spread over 8 shards (by the case
-- number's last character), so concurrent writers of one agency seldom wait for
-- the same row on PostgreSQL; a count is the sum of its shards.
CREATE TABLE case_counts (
    agency_uscc TEXT NOT NULL,
    state TEXT NOT NULL,
    shard BIGINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (agency_uscc, state, shard)
);
INSERT INTO case_counts (agency_uscc, state, shard, n)
SELECT agency_uscc, state, 0, COUNT(*) FROM cases GROUP BY agency_uscc, state;
