-- The node's part in the exchange (issue 21, docs/exchange.md).

-- Its message-signing keys: SM2, the private half wrapped under the node master
-- key (bound to the key id), as agencies' seal keys are. A node signs with the
-- newest key the registry lists for it, so a new key is made, listed by the
-- national node, and only then used; a retired key still verifies the log.
CREATE TABLE exchange_keys (
    kid TEXT PRIMARY KEY,
    public_key TEXT NOT NULL,
    wrapped_private TEXT NOT NULL,
    master_fingerprint TEXT NOT NULL,
    created_at TEXT NOT NULL,
    retired_at TEXT
);

-- The reply sent to each received request, kept so that a retry of the same
-- bytes is answered with the same bytes (the replay rule), whatever the
-- service would say now. Written in the transaction that logs the request.
CREATE TABLE exchange_replies (
    peer_node TEXT NOT NULL,
    request_msg_id TEXT NOT NULL,
    status BIGINT NOT NULL,
    envelope TEXT NOT NULL,
    signature TEXT NOT NULL,
    content_type TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (peer_node, request_msg_id)
);

-- The last good node registry (its exact bytes and signature line): a node
-- restarts with it and keeps serving through an outage of the national node
-- until its hard expiry. On the national node it is the registry it publishes.
CREATE TABLE exchange_registry (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    serial BIGINT NOT NULL,
    document TEXT NOT NULL,
    signature TEXT NOT NULL,
    stored_at TEXT NOT NULL
);
