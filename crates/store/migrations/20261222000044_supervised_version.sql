-- 电子监察 (issue 22): how many of a case's events the consumer has evaluated,
-- so the cross-case 廉政 rules read an official's month only for events that
-- are new to it (a later pass over the case, or the sweep's, reads nothing).
ALTER TABLE cases ADD COLUMN supervised_version BIGINT NOT NULL DEFAULT 0;
