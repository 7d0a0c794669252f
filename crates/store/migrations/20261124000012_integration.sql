-- The integration API for external department systems.

-- Outgoing webhooks: an agency's system subscribes to its cases' records
-- (GB/T 39046 表5–8). The secret signs each delivery (HMAC-SHA256, Standard
-- Webhooks); it is shown once at creation and never logged.
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    agency_uscc TEXT NOT NULL REFERENCES agencies (uscc),
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    -- A JSON array of record types (`case.accepted`…), or ["*"].
    events TEXT NOT NULL,
    active BIGINT NOT NULL DEFAULT 1,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX webhooks_agency ON webhooks (agency_uscc, active);

-- The webhook outbox: one row per (subscription, case event), written in the
-- transaction of the event; its id is the delivery's stable `webhook-id`.
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    webhook_id TEXT NOT NULL REFERENCES webhooks (id),
    case_no TEXT NOT NULL,
    -- The event's number on its case: receivers order a case's records by it.
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    claimed_until TEXT,
    sent_at TEXT,
    last_status BIGINT,
    last_error TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (sent_at, next_attempt_at);

-- Incoming records, idempotent by the caller's key: the same key and body
-- answer the stored response again; the same key with another body is refused.
CREATE TABLE integration_requests (
    caller TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    case_no TEXT NOT NULL,
    response TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (caller, idem_key)
);
