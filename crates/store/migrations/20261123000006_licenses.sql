-- The e-license library (电子证照库): agencies' seal keys, issued licenses with
-- their sealed records, and every use of a license by an agency (用证留痕).

-- SM2 seal keys. The private half is wrapped under the node master key (SM4-GCM,
-- bound to the key id); `master_fingerprint` says which master key. A rotated-out
-- key gets `retired_at` and still verifies what it sealed.
CREATE TABLE seal_keys (
    key_id TEXT PRIMARY KEY,
    agency_uscc TEXT NOT NULL REFERENCES agencies (uscc),
    public_key TEXT NOT NULL,
    wrapped_private TEXT NOT NULL,
    master_fingerprint TEXT NOT NULL,
    created_at TEXT NOT NULL,
    retired_at TEXT
);
CREATE INDEX seal_keys_agency ON seal_keys (agency_uscc, retired_at);

-- A license type's data schema (JSON Schema subset) and PDF template, set by its
-- defining agency.
ALTER TABLE license_types ADD COLUMN data_schema TEXT NOT NULL DEFAULT '{}';
ALTER TABLE license_types ADD COLUMN template TEXT NOT NULL DEFAULT '';

-- One row per license version; a change mints a new version that links the
-- previous one (which becomes `superseded`).
CREATE TABLE licenses (
    id TEXT PRIMARY KEY,
    type_code TEXT NOT NULL REFERENCES license_types (code),
    number TEXT NOT NULL,
    version BIGINT NOT NULL,
    previous_id TEXT REFERENCES licenses (id),
    issuer_uscc TEXT NOT NULL REFERENCES agencies (uscc),
    holder_id_type TEXT NOT NULL,
    holder_id TEXT NOT NULL,
    holder_name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('valid', 'suspended', 'revoked', 'superseded')),
    status_reason TEXT,
    status_at TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_until TEXT,
    sealed TEXT NOT NULL,
    key_id TEXT NOT NULL REFERENCES seal_keys (key_id),
    case_no TEXT,
    issued_at TEXT NOT NULL,
    UNIQUE (type_code, issuer_uscc, number, version)
);
CREATE INDEX licenses_holder ON licenses (holder_id_type, holder_id, status);

-- Every agency read of a license, visible to its holder.
CREATE TABLE license_uses (
    id TEXT PRIMARY KEY,
    license_id TEXT NOT NULL REFERENCES licenses (id),
    agency_uscc TEXT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL,
    case_no TEXT,
    at TEXT NOT NULL
);
CREATE INDEX license_uses_license ON license_uses (license_id, at);
