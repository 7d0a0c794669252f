-- The item catalog (事项管理). Portable SQL (SQLite and PostgreSQL).
-- A version's document is the JSON of yiwang_catalog::ItemDoc; the columns beside
-- it are what lists, permissions and the lifecycle query.

-- 基本目录, keyed by 基本编码.
CREATE TABLE catalog_basic (
    basic_code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    task_type TEXT NOT NULL,
    by_law TEXT NOT NULL,
    use_levels TEXT NOT NULL,
    local_code TEXT,
    task_version BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- 实施清单: one row per implementing agency × item, keyed by 实施编码.
CREATE TABLE catalog_items (
    implementation_code TEXT PRIMARY KEY,
    basic_code TEXT NOT NULL REFERENCES catalog_basic (basic_code),
    agency_uscc TEXT NOT NULL REFERENCES agencies (uscc),
    status TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'cancelled')),
    -- The version applicants see; NULL until the first publication.
    published_version BIGINT,
    latest_version BIGINT NOT NULL,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX catalog_items_agency ON catalog_items (agency_uscc);

-- Every version stays readable: cases point at (implementation_code, version).
CREATE TABLE catalog_item_versions (
    implementation_code TEXT NOT NULL REFERENCES catalog_items (implementation_code),
    version BIGINT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('draft', 'submitted', 'published', 'superseded', 'discarded')),
    doc TEXT NOT NULL,
    edited_by TEXT NOT NULL,
    edited_at TEXT NOT NULL,
    submitted_by TEXT,
    submitted_at TEXT,
    reviewed_by TEXT,
    reviewed_at TEXT,
    review_note TEXT,
    published_at TEXT,
    PRIMARY KEY (implementation_code, version)
);
CREATE INDEX catalog_item_versions_state ON catalog_item_versions (state);

-- E-license types, as far as the catalog needs them (the once-only analyzer and
-- material sources). The license library extends this table.
CREATE TABLE license_types (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    agency_uscc TEXT NOT NULL,
    aliases TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Shared data resources (数据共享资源目录), as far as the catalog needs them.
CREATE TABLE data_resources (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    provider_uscc TEXT NOT NULL,
    aliases TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Bumped on every change to what is published, so every process's search index
-- notices and reloads.
CREATE TABLE catalog_generation (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    generation BIGINT NOT NULL
);
INSERT INTO catalog_generation (id, generation) VALUES (1, 0);
