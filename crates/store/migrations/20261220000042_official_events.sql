-- 廉政 across cases (issue 22): what one official did on an agency's cases in
-- a month (steps closed, special procedures started), read by the actor and
-- time of the few event kinds those rules count; the partial index leaves
-- every other event's write as it was.
CREATE INDEX case_events_official ON case_events (actor, at) WHERE kind IN ('step_passed', 'step_returned', 'special_started');
