-- A timer or handler call whose step fails (an incident, e.g. a condition over
-- missing data) is retried with back-off instead of blocking those behind it;
-- the error is kept for operators.
ALTER TABLE workflow_timers ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE workflow_timers ADD COLUMN next_attempt_at TEXT;
ALTER TABLE workflow_timers ADD COLUMN last_error TEXT;

-- Handler calls (service tasks) are run by a worker loop in any yiwang process:
-- a worker claims a call for a while, runs the registered Rust handler and
-- completes the call; a failure is retried later with back-off. The claim
-- lapses, so a crashed worker's calls are taken up by another.
ALTER TABLE workflow_tasks ADD COLUMN claimed_until TEXT;
ALTER TABLE workflow_tasks ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE workflow_tasks ADD COLUMN next_attempt_at TEXT;
ALTER TABLE workflow_tasks ADD COLUMN last_error TEXT;
CREATE INDEX workflow_tasks_handler_due ON workflow_tasks (kind, ended_at, next_attempt_at);
