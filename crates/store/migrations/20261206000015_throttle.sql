-- Attempt counters (logins, 查询码) that hold under concurrency and decay
-- (issue 19). An attempt is counted in one statement before the secret is
-- checked, so concurrent guesses cannot all slip past the limit; the count
-- forgets one failure every decay interval, so nobody stays locked for good.
-- Times are Unix seconds so the decay is plain integer arithmetic in both
-- dialects. `attempt` is the id of the last attempt counted: an attempt that
-- finds its own id afterwards was counted (and may go on).
DROP TABLE login_throttle;
CREATE TABLE throttle (
    key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    locked_until_s BIGINT,
    updated_s BIGINT NOT NULL,
    attempt TEXT NOT NULL
);
CREATE INDEX throttle_updated ON throttle (updated_s);
