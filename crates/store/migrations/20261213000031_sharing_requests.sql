-- 共享申请 (issue 21, domain.md §6): a consumer's request for a provider's
-- resource, decided within 10 working days; an approval makes a grant.
CREATE TABLE sharing_requests (
    id TEXT PRIMARY KEY,
    resource_code TEXT NOT NULL REFERENCES data_resources (code),
    consumer TEXT NOT NULL,
    consumer_node TEXT NOT NULL,
    application TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('submitted', 'approved', 'rejected')),
    submitted_at TEXT NOT NULL,
    due_on TEXT NOT NULL,
    decided_at TEXT,
    decided_by TEXT,
    reason TEXT,
    grant_id TEXT,
    msg_id TEXT NOT NULL,
    -- Set once, when a sweep first finds it undecided past its due date (the
    -- event supervision consumes).
    overdue_at TEXT
);
CREATE INDEX sharing_requests_state ON sharing_requests (state, due_on);
