-- Machine clients (issue 20): department systems that call the integration API
-- as themselves through the OAuth 2.0 client credentials grant. A client belongs
-- to one agency; it proves itself with a secret (only its hash is kept) or with
-- an ES256 assertion signed by a key it registered (its public JWK Set).
CREATE TABLE machine_clients (
    client_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    agency_uscc TEXT NOT NULL,
    auth_method TEXT NOT NULL,
    secret_hash TEXT,
    jwks TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

-- Access tokens, bound to their client: only the hash is kept; revoking the
-- client deletes them.
CREATE TABLE machine_tokens (
    token_hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES machine_clients (client_id),
    scope TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX machine_tokens_client ON machine_tokens (client_id);

-- The assertions a private_key_jwt client has used, until they expire: one use each.
CREATE TABLE machine_assertions (
    client_id TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (client_id, jti)
);
