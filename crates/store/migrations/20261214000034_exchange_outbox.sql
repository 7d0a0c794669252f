-- Asynchronous delivery between nodes (issue 21, docs/exchange.md §5). An
-- event is sealed in the business transaction that makes it and kept here;
-- the dispatcher sends the identical bytes, a target's messages in order,
-- until the receiver's signed receipt comes back (`delivered`), the receiver
-- refuses it for good (`rejected`), or it expires (`expired`, a dead letter).
CREATE TABLE exchange_outbox (
    msg_id TEXT PRIMARY KEY,
    to_node TEXT NOT NULL,
    service TEXT NOT NULL,
    envelope TEXT NOT NULL,
    env_sm3 TEXT NOT NULL,
    signature TEXT NOT NULL,
    content_type TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_at TEXT NOT NULL,
    last_error TEXT,
    receipt_msg_id TEXT,
    done_at TEXT
);
CREATE INDEX exchange_outbox_pending ON exchange_outbox (state, to_node, created_at, msg_id);

-- 汇聚: GB/T 39046 records waiting to go to the parent node, in the order
-- they were made: this node's own (one per exchanged case event, written in
-- the event's transaction while upward aggregation is on) and those received
-- from children, re-pushed. Deleted once sealed into the outbox.
CREATE TABLE upward_records (
    source_node TEXT NOT NULL,
    record_id TEXT NOT NULL,
    queued_at TEXT NOT NULL,
    kind TEXT NOT NULL,
    agency_uscc TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (source_node, record_id)
);
CREATE INDEX upward_records_order ON upward_records (queued_at, source_node, record_id);

-- The records this node holds from the nodes below it, each once: a record is
-- known by its source node and id, so a resend or a second path adds nothing.
CREATE TABLE aggregated_records (
    source_node TEXT NOT NULL,
    record_id TEXT NOT NULL,
    via_node TEXT NOT NULL,
    kind TEXT NOT NULL,
    agency_uscc TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    data TEXT NOT NULL,
    received_at TEXT NOT NULL,
    msg_id TEXT NOT NULL,
    PRIMARY KEY (source_node, record_id)
);
CREATE INDEX aggregated_records_kind ON aggregated_records (source_node, kind);

-- Whether this node's case events are queued for its parent (set from
-- `[exchange] aggregate_upward` at start; read with each case event's write).
CREATE TABLE upward_aggregation (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    enabled BIGINT NOT NULL
);
INSERT INTO upward_aggregation (id, enabled) VALUES (1, 0);
