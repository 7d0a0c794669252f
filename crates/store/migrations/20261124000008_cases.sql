-- Cases (办件): one row per case with its current state (the events folded, as
-- JSON) and the columns lists and supervision query; the typed events are the
-- record, each written in the same transaction as the state it produced.
CREATE TABLE cases (
    case_no TEXT PRIMARY KEY,
    item_code TEXT NOT NULL,
    item_name TEXT NOT NULL,
    agency_uscc TEXT NOT NULL,
    applicant_id_type TEXT NOT NULL,
    applicant_id TEXT NOT NULL,
    applicant_name TEXT NOT NULL,
    -- The account that applied (the person, also when acting for an enterprise).
    account_id TEXT NOT NULL,
    -- 查询码: only its hash; with the case number it opens the public progress query.
    query_code_hash TEXT NOT NULL,
    state TEXT NOT NULL,
    folded TEXT NOT NULL,
    form TEXT NOT NULL,
    -- Materials attached by reference at application (免提交): e-licenses the
    -- applicant holds, as JSON [{material, source, license_id, license_type}].
    materials TEXT NOT NULL DEFAULT '[]',
    version BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    accepted_on TEXT,
    promised_due TEXT,
    legal_due TEXT
);
CREATE INDEX cases_applicant ON cases (applicant_id_type, applicant_id, updated_at);
CREATE INDEX cases_agency ON cases (agency_uscc, state, updated_at);

CREATE TABLE case_events (
    case_no TEXT NOT NULL REFERENCES cases (case_no),
    seq BIGINT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL,
    kind TEXT NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (case_no, seq)
);

-- The next case number per agency and day (办件编号 = agency USCC + date + sequence).
CREATE TABLE case_numbers (
    agency_uscc TEXT NOT NULL,
    day TEXT NOT NULL,
    next_seq BIGINT NOT NULL,
    PRIMARY KEY (agency_uscc, day)
);
