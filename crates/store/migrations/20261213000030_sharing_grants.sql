-- Data sharing (issue 21, domain.md §6): a resource's sharing attributes, the
-- provider's grants, and every access decided on them.

-- The catalog entry's sharing attributes (JSON: share type, legal basis,
-- information items, method, cycle, format, classification) and the exchange
-- service that serves it (`{subsystem}/{code}/v{n}` under the provider).
ALTER TABLE data_resources ADD COLUMN sharing TEXT;
ALTER TABLE data_resources ADD COLUMN service TEXT;
CREATE INDEX data_resources_service ON data_resources (provider_uscc, service);

-- A provider's grants: default deny, so no row means no data.
CREATE TABLE sharing_grants (
    id TEXT PRIMARY KEY,
    resource_code TEXT NOT NULL REFERENCES data_resources (code),
    consumer TEXT NOT NULL,
    fields TEXT NOT NULL,
    purposes TEXT NOT NULL,
    row_scope TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    granted_by TEXT NOT NULL,
    approval_ref TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX sharing_grants_resource ON sharing_grants (resource_code);

-- Every access to shared data, on the provider's side (decided) and on the
-- consumer's (asked): who, for what purpose and case, under which grant, and
-- the outcome. The subject is kept as the SM3 of its identifier, so a person
-- can find the accesses to their own data and the log holds no ID number.
CREATE TABLE data_access_log (
    id TEXT PRIMARY KEY,
    side TEXT NOT NULL CHECK (side IN ('provider', 'consumer')),
    at TEXT NOT NULL,
    resource_code TEXT NOT NULL,
    peer_node TEXT NOT NULL,
    consumer TEXT NOT NULL,
    operator TEXT NOT NULL,
    purpose TEXT NOT NULL,
    issue TEXT,
    grant_id TEXT,
    outcome TEXT NOT NULL,
    fields TEXT NOT NULL,
    subject_sm3 TEXT NOT NULL,
    msg_id TEXT NOT NULL
);
CREATE INDEX data_access_log_subject ON data_access_log (subject_sm3, at);
CREATE INDEX data_access_log_resource ON data_access_log (resource_code, at);
