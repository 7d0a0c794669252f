-- 一件事一次办 / 并联审批: a bundle of items applied for with one form and one
-- material set; each item is a child case handled by its department in
-- parallel, and the bundle completes when every child is concluded.
CREATE TABLE bundles (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    division_code TEXT NOT NULL,
    lead_item TEXT NOT NULL,
    -- The items' implementation codes, as a JSON array (the lead included).
    items TEXT NOT NULL,
    promised_days BIGINT,
    updated_at TEXT NOT NULL
);

-- One application for a bundle. Its children are the rows of `cases` with
-- this bundle_no; the state is theirs, this row holds the one form.
CREATE TABLE bundle_cases (
    bundle_no TEXT PRIMARY KEY,
    bundle_code TEXT NOT NULL REFERENCES bundles (code),
    bundle_name TEXT NOT NULL,
    applicant_id_type TEXT NOT NULL,
    applicant_id TEXT NOT NULL,
    applicant_name TEXT NOT NULL,
    account_id TEXT NOT NULL,
    query_code_hash TEXT NOT NULL,
    form TEXT NOT NULL,
    channel TEXT NOT NULL,
    hall_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    -- The join: set in the transaction that concludes the last child.
    completed_at TEXT
);
CREATE INDEX bundle_cases_applicant ON bundle_cases (applicant_id_type, applicant_id, created_at);

ALTER TABLE cases ADD COLUMN bundle_no TEXT;
CREATE INDEX cases_bundle ON cases (bundle_no);
