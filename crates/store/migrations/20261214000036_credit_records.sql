-- 信用信息库 (issue 21): 失信 flags imported from the credit platform, and
-- 告知承诺 found untruthful on this node (written with the finding). Either
-- takes 告知承诺 away from the subject: they prove instead of promising.
CREATE TABLE credit_records (
    id TEXT PRIMARY KEY,
    subject_type TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    case_no TEXT,
    reason TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    until_on TEXT
);
CREATE INDEX credit_records_subject ON credit_records (subject_type, subject_id);
