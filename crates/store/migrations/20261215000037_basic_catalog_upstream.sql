-- 目录清单 flowing down (issue 21): the basic catalog (基本目录) as the parent
-- node last sent it, replaced whole with each pull. A node serves its own
-- basic entries plus these to the nodes below, and flags its items whose
-- basic elements differ from them.
CREATE TABLE catalog_basic_upstream (
    basic_code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    task_type TEXT NOT NULL,
    by_law TEXT NOT NULL,
    use_levels TEXT NOT NULL,
    task_version BIGINT NOT NULL,
    source_node TEXT NOT NULL,
    received_at TEXT NOT NULL
);
