-- The node's exchange message log (issue 21, docs/exchange.md): one row per
-- gx/1 envelope sent or received, hash-chained like the audit log. It is also
-- the replay store: a received message is kept once per (sender node, msg_id).
CREATE TABLE exchange_log (
    seq BIGINT PRIMARY KEY,
    direction TEXT NOT NULL,
    peer_node TEXT NOT NULL,
    msg_id TEXT NOT NULL,
    env_sm3 TEXT NOT NULL,
    header TEXT NOT NULL,
    signature TEXT NOT NULL,
    body_sm3 TEXT NOT NULL,
    logged_at TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE UNIQUE INDEX exchange_log_message ON exchange_log (direction, peer_node, msg_id);

-- The chain head; appends lock this row first, so appenders queue on both backends.
CREATE TABLE exchange_log_head (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO exchange_log_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
