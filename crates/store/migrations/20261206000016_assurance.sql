-- Personal data by real-name level, and support access (issue 19).
--
-- `assured`: the application was opened by someone entitled to what the
-- government holds under the applicant's ID (an account at the node's
-- personal-data level, or a window clerk who saw the person): only then is
-- its form filled from base data, licenses and previous applications, and are
-- held licenses attached by reference. Rows opened online by an L1 account
-- are not; the rest were, as before. A 一件事 application is assured as its
-- children are.
ALTER TABLE cases ADD COLUMN assured BIGINT NOT NULL DEFAULT 1;
UPDATE cases SET assured = 0 WHERE channel = 'online' AND account_id IN (SELECT id FROM accounts WHERE level < 2);

-- Support access: an administrator is no member of any agency; reading an
-- agency's cases (to help its staff) needs an explicit grant with a reason and
-- an end, made by another administrator or by the command line, and audited.
CREATE TABLE support_grants (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    agency_uscc TEXT NOT NULL REFERENCES agencies (uscc),
    reason TEXT NOT NULL,
    granted_by TEXT NOT NULL,
    granted_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX support_grants_account ON support_grants (account_id, expires_at);
