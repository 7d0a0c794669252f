-- The SD-JWT VC export: agencies' Ed25519 keys (JOSE has no SM2 algorithm)
-- sit beside their SM2 seal keys, and every license has an index in its
-- issuer's Token Status List.

ALTER TABLE seal_keys ADD COLUMN alg TEXT NOT NULL DEFAULT 'SM2';
DROP INDEX seal_keys_agency;
CREATE INDEX seal_keys_agency ON seal_keys (agency_uscc, alg, retired_at);

-- A license's place in its issuer's status list; never reused.
ALTER TABLE licenses ADD COLUMN status_idx BIGINT;
UPDATE licenses SET status_idx = (
    SELECT COUNT(*) FROM licenses l2
    WHERE l2.issuer_uscc = licenses.issuer_uscc
      AND (l2.issued_at < licenses.issued_at OR (l2.issued_at = licenses.issued_at AND l2.id < licenses.id))
);
CREATE UNIQUE INDEX licenses_status_idx ON licenses (issuer_uscc, status_idx);

-- The next free index per issuer: one row each, updated under its row lock so
-- concurrent issues get distinct indexes without conflicts.
CREATE TABLE license_status_lists (
    issuer_uscc TEXT PRIMARY KEY REFERENCES agencies (uscc),
    next_idx BIGINT NOT NULL
);
INSERT INTO license_status_lists (issuer_uscc, next_idx)
    SELECT issuer_uscc, COUNT(*) FROM licenses GROUP BY issuer_uscc;

-- A use is a fetch of one license, or its appearance in an agency's query by
-- holder; the holder sees both.
ALTER TABLE license_uses ADD COLUMN kind TEXT NOT NULL DEFAULT 'fetch';

-- 加注件: a holder's time-limited copy of a license, annotated with the use it
-- is shared for, opened by anyone holding the link (only its hash is kept).
CREATE TABLE license_shares (
    id TEXT PRIMARY KEY,
    license_id TEXT NOT NULL REFERENCES licenses (id),
    token_hash TEXT NOT NULL UNIQUE,
    purpose TEXT NOT NULL,
    -- 1: the holder chose to show identifiers in full; 0: masked.
    reveal_ids BIGINT NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT,
    views BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX license_shares_license ON license_shares (license_id, created_at);
