-- Which case holds which uploaded file (issue 19, finding 13), so a file no
-- case holds any more is deleted with the last removal, and an account's
-- uploads on its open applications are counted against its quota. Kept in the
-- transaction of each upload and removal event; rows for uploads made before
-- are filled once from the cases at startup (`Store::backfill_blob_refs`).
CREATE TABLE blob_refs (
    case_no TEXT NOT NULL REFERENCES cases (case_no),
    material TEXT NOT NULL,
    digest TEXT NOT NULL,
    account_id TEXT NOT NULL,
    size BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (case_no, material, digest)
);
CREATE INDEX blob_refs_digest ON blob_refs (digest);
CREATE INDEX blob_refs_account ON blob_refs (account_id);

-- One-off data steps done in Rust after the SQL migrations, by name.
CREATE TABLE data_migrations (
    name TEXT PRIMARY KEY,
    done_at TEXT NOT NULL
);
