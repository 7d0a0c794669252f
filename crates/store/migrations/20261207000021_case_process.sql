-- The item version a case was filed under (issue 20). Its form, materials,
-- fees, limits, process and result come from that version for the case's whole
-- life; republishing an item applies to new applications only.
--
-- Existing rows: the newest version published at or before the case was
-- opened, else the version published now (0 never stays: every case was
-- opened for a published item).
ALTER TABLE cases ADD COLUMN item_version BIGINT NOT NULL DEFAULT 0;
UPDATE cases SET item_version = COALESCE(
    (SELECT MAX(v.version) FROM catalog_item_versions v
      WHERE v.implementation_code = cases.item_code AND v.published_at IS NOT NULL AND v.published_at <= cases.created_at),
    (SELECT i.published_version FROM catalog_items i WHERE i.implementation_code = cases.item_code),
    0);

-- The process that drives the case's handling: the item version's (or the
-- node's default), pinned to a deployed version when the case is filed, and
-- its instance, started in the acceptance's transaction. Cases filed before
-- this have none and keep their free steps.
ALTER TABLE cases ADD COLUMN process_id TEXT;
ALTER TABLE cases ADD COLUMN process_version BIGINT;
ALTER TABLE cases ADD COLUMN workflow_instance TEXT;

-- 办结出证: a case's page links the licenses its conclusion issued.
CREATE INDEX licenses_case ON licenses (case_no);
