-- 好差评 (issue 22): ratings of cases at 受理 and 办结, each with who and what
-- it rates (agency, item, the official who acted), and for a 差评 the fold of
-- its loop (核实 … 回访) kept for listing; the loop's events are the record.
CREATE TABLE ratings (
    id TEXT PRIMARY KEY,
    case_no TEXT NOT NULL REFERENCES cases (case_no),
    stage TEXT NOT NULL,
    channel TEXT NOT NULL,
    level BIGINT NOT NULL CHECK (level BETWEEN 1 AND 5),
    reasons TEXT NOT NULL,
    comment TEXT NOT NULL,
    rater_account TEXT NOT NULL,
    agency_uscc TEXT NOT NULL,
    item_code TEXT NOT NULL,
    handler TEXT NOT NULL,
    content_version BIGINT NOT NULL,
    at TEXT NOT NULL,
    loop_state TEXT,
    loop_due TEXT,
    loop TEXT,
    version BIGINT NOT NULL,
    UNIQUE (case_no, stage)
);
CREATE INDEX ratings_agency ON ratings (agency_uscc, at);
CREATE INDEX ratings_loop ON ratings (loop_state, loop_due) WHERE loop_state IS NOT NULL;

CREATE TABLE rating_loop_events (
    rating_id TEXT NOT NULL REFERENCES ratings (id),
    seq BIGINT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (rating_id, seq)
);
