-- Registrations that hold nothing (issue 19, finding 12). A registration
-- waiting for its code was a pending account, holding the ID number, phone and
-- email for ever: anyone could squat a stranger's ID or phone. Now it is a row
-- of its own that holds no identifier (any number may wait for the same ID or
-- contact), lapses after `[security] pending_registration_minutes`, and
-- becomes an account only when its code is verified.
CREATE TABLE registrations (
    id TEXT PRIMARY KEY,
    citizen_id TEXT NOT NULL,
    name TEXT NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
    contact TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX registrations_expiry ON registrations (expires_at);

-- Pending accounts from the old flow stop holding their identifiers.
DELETE FROM verification_codes WHERE account_id IN (SELECT id FROM accounts WHERE status = 'pending');
DELETE FROM accounts WHERE status = 'pending'
    AND id NOT IN (SELECT account_id FROM staff_roles)
    AND id NOT IN (SELECT legal_rep_account FROM enterprises)
    AND id NOT IN (SELECT account_id FROM enterprise_agents)
    AND id NOT IN (SELECT account_id FROM sessions)
    AND id NOT IN (SELECT account_id FROM federated_links);
