-- The consumer's side of 共享申请 (issue 21): what this node's agencies asked
-- other providers for, and where each stands (refreshed over the exchange).
-- An approved one is a grant this node's agency holds: what 免提交 and the
-- once-only analysis will count on.
CREATE TABLE sharing_applications (
    id TEXT PRIMARY KEY,
    consumer TEXT NOT NULL,
    provider_node TEXT NOT NULL,
    provider_member TEXT NOT NULL,
    request_id TEXT NOT NULL,
    resource_code TEXT NOT NULL,
    application TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('submitted', 'approved', 'rejected')),
    due_on TEXT NOT NULL,
    reason TEXT,
    grant_id TEXT,
    applied_at TEXT NOT NULL,
    checked_at TEXT NOT NULL,
    applied_by TEXT NOT NULL,
    UNIQUE (provider_node, request_id)
);
CREATE INDEX sharing_applications_state ON sharing_applications (state, checked_at);
CREATE INDEX sharing_applications_resource ON sharing_applications (resource_code, consumer);
