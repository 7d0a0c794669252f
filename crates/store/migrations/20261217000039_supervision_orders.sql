-- 督办单 (issue 22): orders issued on alerts, each the fold of its events
-- (the row is the fold kept for listing; `version` counts the events).
CREATE TABLE supervision_orders (
    id TEXT PRIMARY KEY,
    case_no TEXT NOT NULL REFERENCES cases (case_no),
    alert_key TEXT NOT NULL,
    agency_uscc TEXT NOT NULL,
    issuer_agency TEXT NOT NULL,
    state TEXT NOT NULL,
    content TEXT NOT NULL,
    due_date TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    rectified_at TEXT,
    closed_at TEXT,
    version BIGINT NOT NULL,
    UNIQUE (case_no, alert_key)
);
CREATE INDEX supervision_orders_agency ON supervision_orders (agency_uscc, issued_at);
CREATE INDEX supervision_orders_issued ON supervision_orders (issued_at);

CREATE TABLE supervision_order_events (
    order_id TEXT NOT NULL REFERENCES supervision_orders (id),
    seq BIGINT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (order_id, seq)
);

-- The daily sweep, claimed by one process per China day with a lease, so
-- several processes on one database sweep once; a lapsed lease is taken over.
CREATE TABLE supervision_sweeps (
    day TEXT PRIMARY KEY,
    claimed_by TEXT NOT NULL,
    lease_until TEXT NOT NULL,
    done_at TEXT,
    marked BIGINT NOT NULL DEFAULT 0
);

-- The first day on which a rule on time could trip for the case with no
-- further event: the sweep marks only the cases due, through this index.
ALTER TABLE cases ADD COLUMN supervise_at TEXT;
CREATE INDEX cases_supervise_at ON cases (supervise_at) WHERE supervise_at IS NOT NULL;
-- Cases already running get their first check day from one evaluation.
UPDATE cases SET supervise_pending = 1 WHERE state IN ('accepted', 'in_process', 'special_procedure', 'decided');
