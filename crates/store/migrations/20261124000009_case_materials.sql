-- Uploaded files (材料附件), content-addressed: the key is the SHA-256 of the
-- bytes, so a file uploaded twice is stored once. The content type is the one
-- detected from the bytes. Stored as base64 text: one portable column type on
-- both backends.
CREATE TABLE blobs (
    digest TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    content TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- 告知承诺 事后核查: one verification task per commitment, created when the
-- case is accepted, closed by the finding.
CREATE TABLE commitment_checks (
    case_no TEXT NOT NULL REFERENCES cases (case_no),
    material TEXT NOT NULL,
    agency_uscc TEXT NOT NULL,
    due TEXT NOT NULL,
    truthful BIGINT,
    checked_at TEXT,
    PRIMARY KEY (case_no, material)
);
CREATE INDEX commitment_checks_open ON commitment_checks (agency_uscc, checked_at, due);
