-- 好差评 beyond the case page (issue 22): an invitation to rate one case at
-- one stage on one channel: the window's tablet, a link sent by SMS, or a
-- rating taken by phone. Only the token's SHA-256 is kept; it is used once,
-- before it expires, in the transaction that keeps the rating.
CREATE TABLE rating_invitations (
    token_hash TEXT PRIMARY KEY,
    case_no TEXT NOT NULL REFERENCES cases (case_no),
    stage TEXT NOT NULL,
    channel TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
CREATE INDEX rating_invitations_case ON rating_invitations (case_no);
-- Who took a rating down for the rater (a phone rating), if anyone.
ALTER TABLE ratings ADD COLUMN recorded_by TEXT;
