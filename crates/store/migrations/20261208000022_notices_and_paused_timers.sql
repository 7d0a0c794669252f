-- Notices to applicants (issue 20): the in-app 消息 list, written in the same
-- transaction as the case event that causes it. Email and SMS copies go
-- through the outbox, by the person's preferences.
CREATE TABLE notices (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    case_no TEXT,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    read_at TEXT
);
CREATE INDEX notices_account ON notices (account_id, created_at);

-- Which channels a person wants besides the in-app list (default: both, to
-- the verified contact the account holds).
CREATE TABLE notice_preferences (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id),
    email BIGINT NOT NULL,
    sms BIGINT NOT NULL,
    updated_at TEXT NOT NULL
);

-- What the outbox message was about, so an operator can find a case's notices.
ALTER TABLE outbox ADD COLUMN notice_id TEXT;

-- A case's special procedure stops its process's timers (issue 20): a paused
-- timer does not fire; when the procedure ends it is due later by the pause.
ALTER TABLE workflow_timers ADD COLUMN paused_at TEXT;
