-- Foundation schema. Portable SQL: it runs unchanged on SQLite and PostgreSQL.
-- Conventions: integers are BIGINT (decoded as i64 on both backends), timestamps
-- are RFC 3339 UTC TEXT, dates are ISO TEXT (sqlx `Any` carries no date types).

-- The node this database belongs to (one row).
CREATE TABLE node_info (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    division_code TEXT NOT NULL,
    name TEXT NOT NULL,
    tier TEXT NOT NULL CHECK (tier IN ('national', 'provincial', 'municipal', 'county')),
    created_at TEXT NOT NULL
);

-- Administrative regions served by this node (the province and its cities for a provincial node).
CREATE TABLE node_regions (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    level TEXT NOT NULL,
    parent_code TEXT,
    created_at TEXT NOT NULL
);

-- Working-day calendar: explicit days only (weekday/weekend is computed).
-- kind 'normal' is an admin's override back to an ordinary day; it is kept as a
-- row so that re-seeding the bundled table never brings the holiday back.
CREATE TABLE calendar_days (
    day TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('holiday', 'makeup', 'normal')),
    name TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Years whose holiday data is complete; other years are counted weekends-only (provisional).
CREATE TABLE calendar_years (
    year BIGINT PRIMARY KEY,
    source TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Append-only, SM3 hash-chained audit log (see crates/audit).
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    occurred_at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_object ON audit_log (object_type, object_id);

-- The chain head: last sequence and hash. Appends lock this row first, which
-- serialises writers on both backends and detects a removed tail.
CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
