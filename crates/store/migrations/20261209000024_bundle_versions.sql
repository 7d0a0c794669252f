-- 一件事 versions (issue 20): a bundle is drafted and published like an item,
-- by two people; `bundles` holds the published head. A bundle application
-- records the version it was opened under and keeps it for its whole life.
CREATE TABLE bundle_versions (
    code TEXT NOT NULL,
    version BIGINT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    division_code TEXT NOT NULL,
    lead_item TEXT NOT NULL,
    items TEXT NOT NULL,
    promised_days BIGINT,
    status TEXT NOT NULL CHECK (status IN ('draft', 'published', 'superseded')),
    drafted_by TEXT NOT NULL,
    drafted_at TEXT NOT NULL,
    published_by TEXT,
    published_at TEXT,
    PRIMARY KEY (code, version)
);

-- Every bundle defined so far is its version 1, published.
INSERT INTO bundle_versions (code, version, name, description, division_code, lead_item, items, promised_days, status,
                             drafted_by, drafted_at, published_by, published_at)
SELECT code, 1, name, description, division_code, lead_item, items, promised_days, 'published',
       'migration', updated_at, 'migration', updated_at FROM bundles;

ALTER TABLE bundles ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE bundle_cases ADD COLUMN bundle_version BIGINT NOT NULL DEFAULT 1;
