-- The workflow engine's persistence. Portable SQL (SQLite and PostgreSQL).
-- An instance's whole engine state is one JSON document (yiwang_workflow::engine::Instance);
-- tasks and timers are projected into their own tables so inboxes and the timer
-- loop query them by index instead of scanning documents.

-- Deployed BPMN, versioned per process id. Running instances keep their version.
CREATE TABLE workflow_definitions (
    process_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    name TEXT NOT NULL,
    bpmn TEXT NOT NULL,
    deployed_by TEXT NOT NULL,
    deployed_at TEXT NOT NULL,
    PRIMARY KEY (process_id, version)
);

CREATE TABLE workflow_instances (
    id TEXT PRIMARY KEY,
    process_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    business_key TEXT,
    status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'terminated')),
    state TEXT NOT NULL,
    revision BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    FOREIGN KEY (process_id, version) REFERENCES workflow_definitions (process_id, version)
);
CREATE INDEX workflow_instances_business_key ON workflow_instances (business_key);

-- User tasks and handler calls, open and closed.
CREATE TABLE workflow_tasks (
    instance_id TEXT NOT NULL REFERENCES workflow_instances (id),
    wait_id BIGINT NOT NULL,
    node TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('user', 'handler')),
    handler TEXT,
    candidate_groups TEXT NOT NULL,
    created_at TEXT NOT NULL,
    ended_at TEXT,
    outcome TEXT CHECK (outcome IN ('completed', 'cancelled')),
    ended_by TEXT,
    PRIMARY KEY (instance_id, wait_id)
);
CREATE INDEX workflow_tasks_open ON workflow_tasks (ended_at, node);

CREATE TABLE workflow_timers (
    instance_id TEXT NOT NULL REFERENCES workflow_instances (id),
    wait_id BIGINT NOT NULL,
    node TEXT NOT NULL,
    due_at TEXT NOT NULL,
    fired_at TEXT,
    fired_by TEXT,
    cancelled_at TEXT,
    PRIMARY KEY (instance_id, wait_id)
);
CREATE INDEX workflow_timers_due ON workflow_timers (due_at);
