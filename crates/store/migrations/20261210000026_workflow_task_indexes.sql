-- Fewer index writes per process step (issue 20, the lifecycle benchmark): no
-- query reads `workflow_tasks_open`, and the handler worker reads only open
-- handler calls, so user tasks (every case's steps) need not enter its index,
-- and a call leaves it when it ends.
DROP INDEX workflow_tasks_open;
DROP INDEX workflow_tasks_handler_due;
CREATE INDEX workflow_tasks_handler_due ON workflow_tasks (created_at) WHERE kind = 'handler' AND ended_at IS NULL;
