-- User tasks live in their instance's state only (issue 20, the lifecycle
-- benchmark): a case's steps, the workbench and `open_tasks` read them there,
-- and who did which step is in the case's events. The rows written for them
-- before are dropped; service tasks (handler calls, external tasks) keep theirs.
DELETE FROM workflow_tasks WHERE kind = 'user';
