-- Log-head anchoring (issue 21, docs/exchange.md): each node sends its message
-- log's head to its parent as an event; the parent keeps it and answers with a
-- signed receipt. A node cannot then rewrite what it logged before an anchored
-- head without its parent's record disagreeing.

-- The heads this node sent up (the parent's receipt is in the log and the outbox).
CREATE TABLE exchange_anchors_sent (
    seq BIGINT PRIMARY KEY,
    hash TEXT NOT NULL,
    msg_id TEXT NOT NULL,
    made_at TEXT NOT NULL
);

-- The heads children sent here, each once per (child, seq).
CREATE TABLE exchange_anchors_held (
    child_node TEXT NOT NULL,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    msg_id TEXT NOT NULL,
    anchored_at TEXT NOT NULL,
    PRIMARY KEY (child_node, seq)
);
