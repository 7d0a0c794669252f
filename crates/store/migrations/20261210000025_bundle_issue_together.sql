-- 多证同发 (issue 20): a bundle version may issue every child's e-license
-- together at the join instead of each as its child concludes.
ALTER TABLE bundle_versions ADD COLUMN issue_together BIGINT NOT NULL DEFAULT 0;
ALTER TABLE bundles ADD COLUMN issue_together BIGINT NOT NULL DEFAULT 0;
