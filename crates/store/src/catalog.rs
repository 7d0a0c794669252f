//! The item catalog: basic catalog rows, implementation-list items and their
//! versions, license types and data resources (as far as the catalog needs them).
//!
//! Lifecycle writes are conditional (`UPDATE … WHERE state = 'submitted'`), so
//! two reviewers racing to publish one version get one success and one
//! `Conflict`, never a forked history. Every write appends its audit entry in
//! the same transaction.

use crate::db::RowLike;
use serde::Serialize;

use yiwang_catalog::{ItemDoc, ItemStatus, VersionState};

use crate::accounts::audit_rec;
use crate::{Result, Store, StoreError, Tx, safe, ts};

/// The head of an item: what the lifecycle checks before acting.
#[derive(Debug, Clone, Serialize)]
pub struct ItemHead {
    pub implementation_code: String,
    pub basic_code: String,
    pub agency_uscc: String,
    pub agency_division: String,
    pub status: ItemStatus,
    pub published_version: Option<i64>,
    pub latest_version: i64,
    pub latest_state: VersionState,
    pub name: String,
    pub updated_at: String,
}

/// One version's metadata.
#[derive(Debug, Clone, Serialize)]
pub struct VersionMeta {
    pub version: i64,
    pub state: VersionState,
    pub edited_by: String,
    pub edited_at: String,
    pub submitted_by: Option<String>,
    pub submitted_at: Option<String>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<String>,
    pub review_note: Option<String>,
    pub published_at: Option<String>,
}

/// A version with its document.
#[derive(Debug, Clone, Serialize)]
pub struct ItemVersion {
    pub meta: VersionMeta,
    pub status: ItemStatus,
    pub doc: ItemDoc,
}

/// A published item as search, guides and exports see it.
#[derive(Debug, Clone, Serialize)]
pub struct PublishedItem {
    pub version: i64,
    pub status: ItemStatus,
    pub published_at: String,
    pub agency_division: String,
    pub doc: ItemDoc,
}

/// An e-license type or a shared data resource.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EvidenceType {
    pub code: String,
    pub name: String,
    pub agency_uscc: String,
    pub aliases: Vec<String>,
}

/// What an import did with one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportOutcome {
    Created,
    Updated,
    Unchanged,
}

fn state_of(raw: &str) -> Result<VersionState> {
    VersionState::from_code(raw).ok_or_else(|| StoreError::Corrupt(format!("version state {raw:?}")))
}

fn status_of(raw: &str) -> Result<ItemStatus> {
    ItemStatus::from_code(raw).ok_or_else(|| StoreError::Corrupt(format!("item status {raw:?}")))
}

fn doc_of(raw: &str) -> Result<ItemDoc> {
    serde_json::from_str(raw).map_err(|e| StoreError::Corrupt(format!("item document: {e}")))
}

fn doc_json(doc: &ItemDoc) -> Result<String> {
    serde_json::to_string(doc).map_err(|e| StoreError::Corrupt(format!("item document: {e}")))
}

const HEAD_SELECT: &str = "SELECT i.implementation_code, i.basic_code, i.agency_uscc, a.division_code, i.status, i.published_version, \
     i.latest_version, v.state, i.name, i.updated_at FROM catalog_items i \
     JOIN agencies a ON a.uscc = i.agency_uscc \
     JOIN catalog_item_versions v ON v.implementation_code = i.implementation_code AND v.version = i.latest_version";

fn head_from_row(r: &crate::db::Row) -> Result<ItemHead> {
    Ok(ItemHead {
        implementation_code: r.try_get(0)?,
        basic_code: r.try_get(1)?,
        agency_uscc: r.try_get(2)?,
        agency_division: r.try_get(3)?,
        status: status_of(&r.try_get::<String, _>(4)?)?,
        published_version: r.try_get(5)?,
        latest_version: r.try_get(6)?,
        latest_state: state_of(&r.try_get::<String, _>(7)?)?,
        name: r.try_get(8)?,
        updated_at: r.try_get(9)?,
    })
}

const META_COLUMNS: &str = "v.version, v.state, v.edited_by, v.edited_at, v.submitted_by, v.submitted_at, v.reviewed_by, v.reviewed_at, v.review_note, v.published_at";

fn meta_from_row(r: &crate::db::Row) -> Result<VersionMeta> {
    Ok(VersionMeta {
        version: r.try_get("version")?,
        state: state_of(&r.try_get::<String, _>("state")?)?,
        edited_by: r.try_get("edited_by")?,
        edited_at: r.try_get("edited_at")?,
        submitted_by: r.try_get("submitted_by")?,
        submitted_at: r.try_get("submitted_at")?,
        reviewed_by: r.try_get("reviewed_by")?,
        reviewed_at: r.try_get("reviewed_at")?,
        review_note: r.try_get("review_note")?,
        published_at: r.try_get("published_at")?,
    })
}

fn evidence_from_row(r: &crate::db::Row) -> Result<EvidenceType> {
    let aliases: String = r.try_get(3)?;
    Ok(EvidenceType {
        code: r.try_get(0)?,
        name: r.try_get(1)?,
        agency_uscc: r.try_get(2)?,
        aliases: serde_json::from_str(&aliases).map_err(|e| StoreError::Corrupt(format!("aliases: {e}")))?,
    })
}

/// Filters for the staff list of items.
#[derive(Debug, Clone, Default)]
pub struct ItemFilter {
    /// Only these agencies (None: all).
    pub agencies: Option<Vec<String>>,
    /// Only items whose latest version is in this state.
    pub latest_state: Option<VersionState>,
    pub limit: i64,
    pub offset: i64,
}

impl Store {
    pub async fn item_head(&self, code: &str) -> Result<Option<ItemHead>> {
        let row = crate::db::query(safe(format!("{HEAD_SELECT} WHERE i.implementation_code = $1")))
            .bind(code)
            .fetch_optional(self.read())
            .await?;
        row.as_ref().map(head_from_row).transpose()
    }

    /// Items for the console, newest change first.
    pub async fn list_items(&self, f: &ItemFilter) -> Result<(Vec<ItemHead>, i64)> {
        let mut wh = vec!["1 = 1".to_string()];
        let mut binds: Vec<String> = Vec::new();
        if let Some(agencies) = &f.agencies {
            if agencies.is_empty() {
                return Ok((vec![], 0));
            }
            let start = binds.len() + 1;
            let ph: Vec<String> = (0..agencies.len()).map(|i| format!("${}", start + i)).collect();
            wh.push(format!("i.agency_uscc IN ({})", ph.join(", ")));
            binds.extend(agencies.iter().cloned());
        }
        if let Some(s) = f.latest_state {
            binds.push(s.code().to_string());
            wh.push(format!("v.state = ${}", binds.len()));
        }
        let where_sql = wh.join(" AND ");
        let count_sql = format!(
            "SELECT COUNT(*) FROM catalog_items i JOIN catalog_item_versions v ON v.implementation_code = i.implementation_code \
             AND v.version = i.latest_version WHERE {where_sql}"
        );
        let mut q = sqlx::query_scalar::<_, i64>(safe(count_sql));
        for b in &binds {
            q = q.bind(b);
        }
        let total = q.fetch_one(self.pool()).await?;
        let sql = format!(
            "{HEAD_SELECT} WHERE {where_sql} ORDER BY i.updated_at DESC, i.implementation_code LIMIT {} OFFSET {}",
            f.limit.clamp(1, 500),
            f.offset.max(0)
        );
        let mut q = crate::db::query(safe(sql));
        for b in &binds {
            q = q.bind(b);
        }
        let rows = q.fetch_all(self.pool()).await?;
        Ok((rows.iter().map(head_from_row).collect::<Result<_>>()?, total))
    }

    pub async fn item_versions(&self, code: &str) -> Result<Vec<VersionMeta>> {
        let rows = crate::db::query(safe(format!(
            "SELECT {META_COLUMNS} FROM catalog_item_versions v WHERE v.implementation_code = $1 ORDER BY v.version DESC"
        )))
        .bind(code)
        .fetch_all(self.read())
        .await?;
        rows.iter().map(meta_from_row).collect()
    }

    /// One version with its document (any state: old versions stay readable).
    pub async fn item_version(&self, code: &str, version: i64) -> Result<Option<ItemVersion>> {
        let row = crate::db::query(safe(format!(
            "SELECT {META_COLUMNS}, v.doc, i.status FROM catalog_item_versions v JOIN catalog_items i ON i.implementation_code = v.implementation_code \
             WHERE v.implementation_code = $1 AND v.version = $2"
        )))
        .bind(code)
        .bind(version)
        .fetch_optional(self.read())
        .await?;
        row.map(|r| {
            Ok(ItemVersion {
                meta: meta_from_row(&r)?,
                status: status_of(&r.try_get::<String, _>("status")?)?,
                doc: doc_of(&r.try_get::<String, _>("doc")?)?,
            })
        })
        .transpose()
    }

    /// The document of the item version a case was filed under. Versions that
    /// were published never change, so this holds for the case's whole life.
    pub async fn filed_item(&self, code: &str, version: i64) -> Result<Option<ItemDoc>> {
        let row = crate::db::query("SELECT doc FROM catalog_item_versions WHERE implementation_code = $1 AND version = $2")
            .bind(code)
            .bind(version)
            .fetch_optional(self.read())
            .await?;
        row.map(|r| doc_of(&r.try_get::<String, _>("doc")?)).transpose()
    }

    /// The item version a case was filed under (`filed_item` for its row).
    pub async fn case_item(&self, c: &crate::CaseRow) -> Result<Option<ItemDoc>> {
        self.filed_item(&c.item_code, c.item_version).await
    }

    /// The published version of one item (also when suspended; not when never published).
    pub async fn published_item(&self, code: &str) -> Result<Option<PublishedItem>> {
        let rows = self.published_where("i.implementation_code = $1", Some(code)).await?;
        Ok(rows.into_iter().next())
    }

    /// Every item with a published version, not cancelled.
    pub async fn published_items(&self) -> Result<Vec<PublishedItem>> {
        self.published_where("i.status <> 'cancelled'", None).await
    }

    async fn published_where(&self, cond: &str, bind: Option<&str>) -> Result<Vec<PublishedItem>> {
        let sql = format!(
            "SELECT v.version, i.status, v.published_at, a.division_code, v.doc FROM catalog_items i \
             JOIN catalog_item_versions v ON v.implementation_code = i.implementation_code AND v.version = i.published_version \
             JOIN agencies a ON a.uscc = i.agency_uscc WHERE {cond} ORDER BY i.implementation_code"
        );
        let mut q = crate::db::query(safe(sql));
        if let Some(b) = bind {
            q = q.bind(b);
        }
        let rows = q.fetch_all(self.read()).await?;
        rows.iter()
            .map(|r| {
                Ok(PublishedItem {
                    version: r.try_get(0)?,
                    status: status_of(&r.try_get::<String, _>(1)?)?,
                    published_at: r.try_get::<Option<String>, _>(2)?.unwrap_or_default(),
                    agency_division: r.try_get(3)?,
                    doc: doc_of(&r.try_get::<String, _>(4)?)?,
                })
            })
            .collect()
    }

    pub async fn catalog_generation(&self) -> Result<i64> {
        Ok(crate::db::query("SELECT generation FROM catalog_generation WHERE id = 1")
            .fetch_one(self.read())
            .await?
            .try_get("generation")?)
    }

    pub async fn license_types(&self) -> Result<Vec<EvidenceType>> {
        let rows =
            crate::db::query("SELECT code, name, agency_uscc, aliases FROM license_types ORDER BY code").fetch_all(self.read()).await?;
        rows.iter().map(evidence_from_row).collect()
    }

    pub async fn data_resources(&self) -> Result<Vec<EvidenceType>> {
        let rows =
            crate::db::query("SELECT code, name, provider_uscc, aliases FROM data_resources ORDER BY code").fetch_all(self.read()).await?;
        rows.iter().map(evidence_from_row).collect()
    }
}

impl Tx {
    /// The item's head, read inside the transaction (locked on PostgreSQL), so
    /// the decision made on it holds until commit.
    pub async fn item_head_for_update(&mut self, code: &str) -> Result<Option<ItemHead>> {
        let lock = if self.is_postgres() { " FOR UPDATE OF i" } else { "" };
        let row = crate::db::query(safe(format!("{HEAD_SELECT} WHERE i.implementation_code = $1{lock}")))
            .bind(code)
            .fetch_optional(&mut *self)
            .await?;
        row.as_ref().map(head_from_row).transpose()
    }

    /// Insert the basic-catalog row for a document if it is missing.
    async fn ensure_basic(&mut self, doc: &ItemDoc, at: &str) -> Result<()> {
        crate::db::query(
            "INSERT INTO catalog_basic (basic_code, name, task_type, by_law, use_levels, local_code, task_version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, NULL, 1, $6, $6) ON CONFLICT (basic_code) DO NOTHING",
        )
        .bind(&doc.basic_code)
        .bind(&doc.name)
        .bind(doc.task_type.code())
        .bind(&doc.by_law)
        .bind(doc.use_level.digit().to_string())
        .bind(at)
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    /// Create an item with version 1 as a draft. `Conflict` if the code exists.
    pub async fn create_item(&mut self, doc: &ItemDoc, actor: &str, now: jiff::Timestamp) -> Result<()> {
        let at = ts(now);
        self.ensure_basic(doc, &at).await?;
        let inserted = crate::db::query(
            "INSERT INTO catalog_items (implementation_code, basic_code, agency_uscc, status, published_version, latest_version, name, created_at, updated_at) \
             VALUES ($1, $2, $3, 'active', NULL, 1, $4, $5, $5) ON CONFLICT (implementation_code) DO NOTHING RETURNING implementation_code",
        )
        .bind(&doc.implementation_code)
        .bind(&doc.basic_code)
        .bind(&doc.agency.uscc)
        .bind(&doc.name)
        .bind(&at)
        .fetch_optional(&mut *self)
        .await?;
        if inserted.is_none() {
            return Err(StoreError::Conflict(format!("item {} exists", doc.implementation_code)));
        }
        self.insert_version(&doc.implementation_code, 1, VersionState::Draft, doc, actor, &at).await?;
        self.append_audit(audit_rec(
            &at,
            actor,
            "catalog.item.created",
            "catalog_item",
            &doc.implementation_code,
            serde_json::json!({ "version": 1, "name": doc.name }),
        ))
        .await?;
        Ok(())
    }

    async fn insert_version(&mut self, code: &str, version: i64, state: VersionState, doc: &ItemDoc, actor: &str, at: &str) -> Result<()> {
        crate::db::query(
            "INSERT INTO catalog_item_versions (implementation_code, version, state, doc, edited_by, edited_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(code)
        .bind(version)
        .bind(state.code())
        .bind(doc_json(doc)?)
        .bind(actor)
        .bind(at)
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    /// Save a draft: overwrite the latest version if it is a draft, otherwise
    /// (the latest is published or superseded) open a new draft version. The
    /// caller checked the lifecycle on `head`; the conditional updates make the
    /// check hold against concurrent writers. Returns the draft's version.
    pub async fn save_draft(&mut self, head: &ItemHead, doc: &ItemDoc, actor: &str, now: jiff::Timestamp) -> Result<i64> {
        let at = ts(now);
        let code = &head.implementation_code;
        let version = if head.latest_state == VersionState::Draft {
            let done = crate::db::query(
                "UPDATE catalog_item_versions SET doc = $1, edited_by = $2, edited_at = $3, review_note = NULL \
                 WHERE implementation_code = $4 AND version = $5 AND state = 'draft'",
            )
            .bind(doc_json(doc)?)
            .bind(actor)
            .bind(&at)
            .bind(code)
            .bind(head.latest_version)
            .execute(&mut *self)
            .await?;
            if done.rows_affected() != 1 {
                return Err(StoreError::Conflict(format!("draft {code} v{} changed", head.latest_version)));
            }
            head.latest_version
        } else {
            let next = head.latest_version + 1;
            let moved = crate::db::query(
                "UPDATE catalog_items SET latest_version = $1, updated_at = $2 WHERE implementation_code = $3 AND latest_version = $4",
            )
            .bind(next)
            .bind(&at)
            .bind(code)
            .bind(head.latest_version)
            .execute(&mut *self)
            .await?;
            if moved.rows_affected() != 1 {
                return Err(StoreError::Conflict(format!("item {code} moved on")));
            }
            self.insert_version(code, next, VersionState::Draft, doc, actor, &at).await?;
            next
        };
        crate::db::query("UPDATE catalog_items SET name = $1, updated_at = $2 WHERE implementation_code = $3")
            .bind(&doc.name)
            .bind(&at)
            .bind(code)
            .execute(&mut *self)
            .await?;
        self.append_audit(audit_rec(
            &at,
            actor,
            "catalog.item.draft_saved",
            "catalog_item",
            code,
            serde_json::json!({ "version": version }),
        ))
        .await?;
        Ok(version)
    }

    /// Move one version along `(from, to)`, recording who and why. `Conflict` if
    /// the version is no longer in `from`.
    pub async fn move_version(
        &mut self,
        code: &str,
        version: i64,
        (from, to): (VersionState, VersionState),
        actor: &str,
        note: Option<&str>,
        now: jiff::Timestamp,
    ) -> Result<()> {
        let at = ts(now);
        let (sql, action) = match to {
            VersionState::Submitted => {
                ("UPDATE catalog_item_versions SET state = $1, submitted_by = $2, submitted_at = $3, review_note = $4", "submitted")
            }
            VersionState::Published => (
                "UPDATE catalog_item_versions SET state = $1, reviewed_by = $2, reviewed_at = $3, review_note = $4, published_at = $3",
                "published",
            ),
            _ => ("UPDATE catalog_item_versions SET state = $1, reviewed_by = $2, reviewed_at = $3, review_note = $4", "returned"),
        };
        let done = crate::db::query(safe(format!("{sql} WHERE implementation_code = $5 AND version = $6 AND state = $7")))
            .bind(to.code())
            .bind(actor)
            .bind(&at)
            .bind(note)
            .bind(code)
            .bind(version)
            .bind(from.code())
            .execute(&mut *self)
            .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict(format!("{code} v{version} is no longer {}", from.code())));
        }
        if to == VersionState::Published {
            crate::db::query(
                "UPDATE catalog_item_versions SET state = 'superseded' WHERE implementation_code = $1 AND state = 'published' AND version <> $2",
            )
            .bind(code)
            .bind(version)
            .execute(&mut *self)
            .await?;
            crate::db::query("UPDATE catalog_items SET published_version = $1, updated_at = $2 WHERE implementation_code = $3")
                .bind(version)
                .bind(&at)
                .bind(code)
                .execute(&mut *self)
                .await?;
            self.bump_catalog_generation().await?;
            let doc: String = crate::db::query("SELECT doc FROM catalog_item_versions WHERE implementation_code = $1 AND version = $2")
                .bind(code)
                .bind(version)
                .fetch_one(&mut *self)
                .await?
                .try_get("doc")?;
            self.queue_item_record(&doc_of(&doc)?, version, &at).await?;
        } else {
            crate::db::query("UPDATE catalog_items SET updated_at = $1 WHERE implementation_code = $2")
                .bind(&at)
                .bind(code)
                .execute(&mut *self)
                .await?;
        }
        self.append_audit(audit_rec(
            &at,
            actor,
            &format!("catalog.item.{action}"),
            "catalog_item",
            code,
            serde_json::json!({ "version": version, "note": note }),
        ))
        .await?;
        Ok(())
    }

    /// Suspend, resume or cancel an item. `Conflict` if it is no longer in `from`.
    pub async fn set_item_status(
        &mut self,
        code: &str,
        from: ItemStatus,
        to: ItemStatus,
        actor: &str,
        reason: &str,
        now: jiff::Timestamp,
    ) -> Result<()> {
        let at = ts(now);
        let done = crate::db::query("UPDATE catalog_items SET status = $1, updated_at = $2 WHERE implementation_code = $3 AND status = $4")
            .bind(to.code())
            .bind(&at)
            .bind(code)
            .bind(from.code())
            .execute(&mut *self)
            .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict(format!("{code} is no longer {}", from.code())));
        }
        if to == ItemStatus::Cancelled {
            // Pending drafts die with the item; published versions stay readable.
            crate::db::query(
                "UPDATE catalog_item_versions SET state = 'discarded' WHERE implementation_code = $1 AND state IN ('draft', 'submitted')",
            )
            .bind(code)
            .execute(&mut *self)
            .await?;
        }
        self.bump_catalog_generation().await?;
        let mut rec =
            audit_rec(&at, actor, &format!("catalog.item.{}", to.code()), "catalog_item", code, serde_json::json!({ "from": from.code() }));
        rec.reason = reason.to_string();
        self.append_audit(rec).await?;
        Ok(())
    }

    async fn bump_catalog_generation(&mut self) -> Result<()> {
        crate::db::query("UPDATE catalog_generation SET generation = generation + 1 WHERE id = 1").execute(&mut *self).await?;
        Ok(())
    }

    /// Load an item from an import: create it, or add a new version if its
    /// content changed. With `publish` the version is published at once (the
    /// province's list was approved where it came from); otherwise it is a draft.
    pub async fn import_item(&mut self, doc: &ItemDoc, publish: bool, actor: &str, now: jiff::Timestamp) -> Result<ImportOutcome> {
        let at = ts(now);
        self.ensure_basic(doc, &at).await?;
        let head = self.item_head_for_update(&doc.implementation_code).await?;
        let state = if publish { VersionState::Published } else { VersionState::Draft };
        let (outcome, version) = match head {
            None => {
                crate::db::query(
                    "INSERT INTO catalog_items (implementation_code, basic_code, agency_uscc, status, published_version, latest_version, name, created_at, updated_at) \
                     VALUES ($1, $2, $3, 'active', $4, 1, $5, $6, $6)",
                )
                .bind(&doc.implementation_code)
                .bind(&doc.basic_code)
                .bind(&doc.agency.uscc)
                .bind(if publish { Some(1i64) } else { None })
                .bind(&doc.name)
                .bind(&at)
                .execute(&mut *self)
                .await?;
                (ImportOutcome::Created, 1)
            }
            Some(head) => {
                let latest: String =
                    crate::db::query("SELECT doc FROM catalog_item_versions WHERE implementation_code = $1 AND version = $2")
                        .bind(&doc.implementation_code)
                        .bind(head.latest_version)
                        .fetch_one(&mut *self)
                        .await?
                        .try_get("doc")?;
                if doc_of(&latest)? == *doc {
                    return Ok(ImportOutcome::Unchanged);
                }
                if head.status == ItemStatus::Cancelled {
                    return Err(StoreError::Conflict(format!("item {} is cancelled", doc.implementation_code)));
                }
                let next = head.latest_version + 1;
                if publish {
                    crate::db::query(
                        "UPDATE catalog_item_versions SET state = 'superseded' WHERE implementation_code = $1 AND state = 'published'",
                    )
                    .bind(&doc.implementation_code)
                    .execute(&mut *self)
                    .await?;
                }
                crate::db::query(
                    "UPDATE catalog_items SET latest_version = $1, published_version = COALESCE($2, published_version), name = $3, updated_at = $4 \
                     WHERE implementation_code = $5",
                )
                .bind(next)
                .bind(if publish { Some(next) } else { None })
                .bind(&doc.name)
                .bind(&at)
                .bind(&doc.implementation_code)
                .execute(&mut *self)
                .await?;
                (ImportOutcome::Updated, next)
            }
        };
        self.insert_version(&doc.implementation_code, version, state, doc, actor, &at).await?;
        if publish {
            crate::db::query(
                "UPDATE catalog_item_versions SET reviewed_by = $1, reviewed_at = $2, published_at = $2, review_note = 'imported' \
                 WHERE implementation_code = $3 AND version = $4",
            )
            .bind(actor)
            .bind(&at)
            .bind(&doc.implementation_code)
            .bind(version)
            .execute(&mut *self)
            .await?;
            self.bump_catalog_generation().await?;
            self.queue_item_record(doc, version, &at).await?;
        }
        self.append_audit(audit_rec(
            &at,
            actor,
            "catalog.item.imported",
            "catalog_item",
            &doc.implementation_code,
            serde_json::json!({ "version": version, "state": state.code() }),
        ))
        .await?;
        Ok(outcome)
    }

    pub async fn upsert_license_type(&mut self, t: &EvidenceType, actor: &str, now: jiff::Timestamp) -> Result<()> {
        self.upsert_evidence("license_types", "agency_uscc", "license_type", t, actor, now).await
    }

    pub async fn upsert_data_resource(&mut self, t: &EvidenceType, actor: &str, now: jiff::Timestamp) -> Result<()> {
        self.upsert_evidence("data_resources", "provider_uscc", "data_resource", t, actor, now).await
    }

    async fn upsert_evidence(
        &mut self,
        table: &str,
        owner: &str,
        kind: &str,
        t: &EvidenceType,
        actor: &str,
        now: jiff::Timestamp,
    ) -> Result<()> {
        let at = ts(now);
        let aliases = serde_json::to_string(&t.aliases).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        crate::db::query(safe(format!(
            "INSERT INTO {table} (code, name, {owner}, aliases, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (code) DO UPDATE SET name = excluded.name, {owner} = excluded.{owner}, aliases = excluded.aliases"
        )))
        .bind(&t.code)
        .bind(&t.name)
        .bind(&t.agency_uscc)
        .bind(&aliases)
        .bind(&at)
        .execute(&mut *self)
        .await?;
        self.append_audit(audit_rec(&at, actor, &format!("{kind}.upserted"), kind, &t.code, serde_json::json!({ "name": t.name }))).await?;
        Ok(())
    }
}
