-- Federated login that cannot take over accounts (issue 19, finding 3).
--
-- A flow is bound to the browser that started it: the SHA-256 of a cookie set
-- then must come back with the callback, so nobody can log a victim's browser
-- into the attacker's identity (login CSRF).
ALTER TABLE federation_flows ADD COLUMN browser_hash TEXT NOT NULL DEFAULT '';

-- A session made by federated login carries the level the other node vouched
-- for (capped by the provider's max_level); the principal's level is the
-- smaller of that and the account's.
ALTER TABLE sessions ADD COLUMN level_cap BIGINT;

-- A remote identity that matches a local account which may not be linked
-- without its owner (it has a password or staff roles, or the remote level is
-- below L2): held for a few minutes while the owner confirms with the local
-- password, keyed by the SHA-256 of a cookie in that browser.
CREATE TABLE federation_pending (
    token_hash TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    level BIGINT NOT NULL,
    next_url TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
