-- The resource catalog across the network (issue 21): what nodes below this
-- one registered with it, re-registered upward, so the national node lists
-- every province's resources. Each push from a child is a full snapshot of
-- what came through it (`via_node`), replacing the last.
CREATE TABLE network_resources (
    source_node TEXT NOT NULL,
    code TEXT NOT NULL,
    via_node TEXT NOT NULL,
    provider_member TEXT NOT NULL,
    name TEXT NOT NULL,
    sharing TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (source_node, code)
);
CREATE INDEX network_resources_via ON network_resources (via_node);
