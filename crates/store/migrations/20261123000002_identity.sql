-- Unified identity. Portable SQL (SQLite and PostgreSQL). Ids are random TEXT so
-- no dialect-specific sequences are needed. Secrets (session ids, tokens, codes)
-- are stored only as SHA-256 hex; passwords as argon2id PHC strings.

-- Government agencies (实施机构/部门). Staff belong to one; the catalog reuses it.
CREATE TABLE agencies (
    uscc TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    division_code TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('national', 'provincial', 'municipal', 'county', 'township')),
    created_at TEXT NOT NULL
);

-- 人口库: the population base data. Real-name level 2 is a match against it.
CREATE TABLE base_persons (
    citizen_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    address_division TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('normal', 'deceased', 'cancelled')),
    source TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- 法人库: the legal-entity base data.
CREATE TABLE base_enterprises (
    uscc TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    legal_rep_name TEXT NOT NULL,
    legal_rep_id TEXT NOT NULL,
    registration_status TEXT NOT NULL CHECK (registration_status IN ('active', 'revoked', 'cancelled')),
    source TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX base_enterprises_rep ON base_enterprises (legal_rep_id);

-- One account per natural person, keyed by citizen ID (一号申请).
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    subject TEXT NOT NULL UNIQUE,
    citizen_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    phone TEXT UNIQUE,
    email TEXT UNIQUE,
    password_hash TEXT,
    level BIGINT NOT NULL CHECK (level BETWEEN 1 AND 3),
    level_source TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'disabled')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Legal persons, keyed by USCC; people act for them (legal representative or 经办人).
CREATE TABLE enterprises (
    uscc TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    legal_rep_account TEXT NOT NULL REFERENCES accounts (id),
    created_at TEXT NOT NULL
);

CREATE TABLE enterprise_agents (
    uscc TEXT NOT NULL REFERENCES enterprises (uscc),
    account_id TEXT NOT NULL REFERENCES accounts (id),
    granted_by TEXT NOT NULL,
    granted_at TEXT NOT NULL,
    PRIMARY KEY (uscc, account_id)
);
CREATE INDEX enterprise_agents_account ON enterprise_agents (account_id);

CREATE TABLE staff_roles (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    agency_uscc TEXT NOT NULL REFERENCES agencies (uscc),
    role TEXT NOT NULL,
    granted_by TEXT NOT NULL,
    granted_at TEXT NOT NULL,
    PRIMARY KEY (account_id, agency_uscc, role)
);
CREATE INDEX staff_roles_agency ON staff_roles (agency_uscc);

-- Login sessions, shared by every process on the database. `sid` is the public
-- session id (OIDC `sid`); `id_hash` is the SHA-256 of the cookie value.
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    sid TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    acting_for TEXT,
    csrf TEXT NOT NULL,
    amr TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX sessions_account ON sessions (account_id);

-- Failed-login counters per key (account identifier, client address): back-off across processes.
CREATE TABLE login_throttle (
    key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    locked_until TEXT,
    updated_at TEXT NOT NULL
);

-- One pending phone/email verification per account.
CREATE TABLE verification_codes (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id),
    channel TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
    code_hash TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Transactional outbox for messages to people (SMS, email, in-app). Written in the
-- same transaction as the change that causes it; a dispatcher delivers it.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    claimed_until TEXT,
    sent_at TEXT,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox (sent_at, next_attempt_at);

-- OIDC relying parties.
CREATE TABLE oidc_clients (
    client_id TEXT PRIMARY KEY,
    secret_hash TEXT,
    name TEXT NOT NULL,
    redirect_uris TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    first_party BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    disabled_at TEXT
);

-- ID-token signing keys. The newest unretired key signs; all unexpired keys are
-- published in the JWKS so tokens signed before a rotation still verify.
CREATE TABLE oidc_keys (
    kid TEXT PRIMARY KEY,
    alg TEXT NOT NULL,
    private_key TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at TEXT NOT NULL,
    retired_at TEXT,
    expires_at TEXT
);

CREATE TABLE oidc_codes (
    code_hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    sid TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL,
    nonce TEXT,
    code_challenge TEXT NOT NULL,
    auth_time TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);

-- Access and refresh tokens. Refresh tokens rotate: each use marks the old row used
-- and issues a new one in the same family; presenting a used one revokes the family.
CREATE TABLE oidc_tokens (
    token_hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    family TEXT NOT NULL,
    client_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    sid TEXT NOT NULL,
    scope TEXT NOT NULL,
    auth_time TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    revoked_at TEXT
);
CREATE INDEX oidc_tokens_family ON oidc_tokens (family);
CREATE INDEX oidc_tokens_sid ON oidc_tokens (sid);
CREATE INDEX oidc_tokens_account ON oidc_tokens (account_id);

CREATE TABLE oidc_consents (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    granted_at TEXT NOT NULL,
    PRIMARY KEY (account_id, client_id)
);

-- Federated login: in-flight authorisation requests to a trusted node, and the
-- link from a remote (issuer, subject) to the local account.
CREATE TABLE federation_flows (
    state TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    nonce TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    next_url TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE TABLE federated_links (
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    linked_at TEXT NOT NULL,
    last_login_at TEXT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
