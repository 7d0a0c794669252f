//! 一件事一次办 / 并联审批 persistence. A bundle application is one row
//! (`bundle_cases`: the applicant, the one form) and one child case per item
//! (`cases.bundle_no`), all written in one transaction. What the applicant
//! does once — save the form, upload a material, sign a commitment, submit —
//! becomes the same typed event on every child it concerns, in one
//! transaction; each department then handles its child in parallel. The join
//! is `completed_at`, set in the transaction that brings the last child to
//! an end (办结 or ended), under a lock on the bundle row so that two children
//! concluding at once cannot both miss it.

use crate::db::RowLike;
use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use yiwang_calendar::Calendar;
use yiwang_case::{Envelope, Event, State};
use yiwang_catalog::{Bundle, BundleMaterial, MaterialSource};
use yiwang_form::Schema;

use crate::case_forms::{changed_fields, checked_file};
use crate::cases::{CResult, CaseStoreError, query_code};
use crate::{Applicant, CaseRow, FileUpload, FormContext, NewCase, Result, Store, StoreError, Tx, safe, ts};

/// A bundle with its items as published now, its one form and material set.
#[derive(Debug, Clone)]
pub struct BundlePlan {
    pub bundle: Bundle,
    /// The bundle's version: published now (a new application) or the one an
    /// application was opened under.
    pub version: i64,
    /// In the bundle's item order.
    pub items: Vec<PlanItem>,
    pub form: Schema,
    pub materials: Vec<BundleMaterial>,
}

/// One version of a bundle, as its history lists it.
#[derive(Debug, Clone, Serialize)]
pub struct BundleVersion {
    pub version: i64,
    /// `draft`, `published` or `superseded`.
    pub status: String,
    pub drafted_by: String,
    pub drafted_at: String,
    pub published_by: Option<String>,
    pub published_at: Option<String>,
    pub bundle: Bundle,
}

/// One item of a bundle plan: the version published now (a new application)
/// or the version a child case was filed under (an application in hand).
#[derive(Debug, Clone)]
pub struct PlanItem {
    pub version: i64,
    pub doc: yiwang_catalog::ItemDoc,
}

/// A new application for a bundle (its children start as drafts).
#[derive(Debug, Clone)]
pub struct NewBundleCase {
    pub bundle_code: String,
    pub applicant: Applicant,
    pub account_id: String,
    pub form: Value,
    pub hall_id: Option<String>,
    /// As for a case (`NewCase::level`, `NewCase::assured`).
    pub level: yiwang_identity::RealNameLevel,
    pub assured: bool,
}

/// Where a bundle application stands, from its children.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BundleState {
    /// 暂存: every child is a draft.
    Draft,
    /// 办理中: handed in; the departments work on their children.
    InProgress,
    /// 已办结: every child has come to an end (the join).
    Completed,
}

impl BundleState {
    pub fn code(self) -> &'static str {
        match self {
            BundleState::Draft => "draft",
            BundleState::InProgress => "in_progress",
            BundleState::Completed => "completed",
        }
    }
    pub fn name_zh(self) -> &'static str {
        match self {
            BundleState::Draft => "暂存",
            BundleState::InProgress => "并联办理中",
            BundleState::Completed => "已办结",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct BundleCase {
    pub bundle_no: String,
    pub bundle_code: String,
    /// The bundle version it was opened under, for its whole life.
    pub bundle_version: i64,
    pub bundle_name: String,
    pub applicant: Applicant,
    pub account_id: String,
    pub form: Value,
    pub channel: String,
    pub hall_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub completed_at: Option<String>,
    /// One case per item, in case-number order.
    pub children: Vec<CaseRow>,
}

impl BundleCase {
    pub fn state(&self) -> BundleState {
        if self.completed_at.is_some() {
            BundleState::Completed
        } else if self.children.iter().all(|c| c.state == State::Draft) {
            BundleState::Draft
        } else {
            BundleState::InProgress
        }
    }
}

const BUNDLE_CASE_COLUMNS: &str = "bundle_no, bundle_code, bundle_version, bundle_name, applicant_id_type, applicant_id, applicant_name, account_id, \
     form, channel, hall_id, created_at, updated_at, completed_at";

fn bundle_row(r: &crate::db::Row) -> Result<Bundle> {
    let items: String = r.try_get("items")?;
    Ok(Bundle {
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        division_code: r.try_get("division_code")?,
        lead_item: r.try_get("lead_item")?,
        items: serde_json::from_str(&items).map_err(|e| StoreError::Corrupt(format!("bundle items: {e}")))?,
        promised_days: promised_days(r)?,
        issue_together: r.try_get::<i64, _>("issue_together")? != 0,
    })
}

/// A bundle's combined promised limit, as stored.
fn promised_days(r: &crate::db::Row) -> Result<Option<u32>> {
    Ok(r.try_get::<Option<i64>, _>("promised_days")?.map(|d| d.clamp(0, i64::from(u32::MAX)) as u32))
}

fn bundle_case_row(r: &crate::db::Row, children: Vec<CaseRow>) -> Result<BundleCase> {
    let form: String = r.try_get("form")?;
    Ok(BundleCase {
        bundle_no: r.try_get("bundle_no")?,
        bundle_code: r.try_get("bundle_code")?,
        bundle_version: r.try_get("bundle_version")?,
        bundle_name: r.try_get("bundle_name")?,
        applicant: crate::cases::applicant_row(r)?,
        account_id: r.try_get("account_id")?,
        form: serde_json::from_str(&form).map_err(|e| StoreError::Corrupt(format!("bundle form: {e}")))?,
        channel: r.try_get("channel")?,
        hall_id: r.try_get("hall_id")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        completed_at: r.try_get("completed_at")?,
        children,
    })
}

impl Tx {
    /// Write version `version` of a bundle as a draft (replacing an unpublished
    /// draft of that number), audited.
    async fn write_bundle_draft(&mut self, b: &Bundle, version: i64, actor: &str, now: Timestamp) -> Result<()> {
        let items = serde_json::to_string(&b.items).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        crate::db::query("DELETE FROM bundle_versions WHERE code = $1 AND version = $2 AND status = 'draft'")
            .bind(&b.code)
            .bind(version)
            .execute(&mut *self)
            .await?;
        crate::db::query(
            "INSERT INTO bundle_versions (code, version, name, description, division_code, lead_item, items, promised_days, issue_together, \
             status, drafted_by, drafted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'draft', $10, $11)",
        )
        .bind(&b.code)
        .bind(version)
        .bind(&b.name)
        .bind(&b.description)
        .bind(&b.division_code)
        .bind(&b.lead_item)
        .bind(items)
        .bind(b.promised_days.map(i64::from))
        .bind(i64::from(b.issue_together))
        .bind(actor)
        .bind(ts(now))
        .execute(&mut *self)
        .await?;
        let data = serde_json::json!({
            "version": version, "name": b.name, "lead_item": b.lead_item, "items": b.items,
            "promised_days": b.promised_days, "issue_together": b.issue_together,
        });
        self.append_audit(crate::accounts::audit_rec(&ts(now), actor, "bundle.drafted", "bundle", &b.code, data)).await?;
        Ok(())
    }

    /// Publish version `version` (a draft): it becomes the head new
    /// applications use, copied from the version row; the version before it is
    /// superseded. Audited.
    async fn publish_bundle_version(&mut self, code: &str, version: i64, actor: &str, now: Timestamp) -> Result<()> {
        crate::db::query("UPDATE bundle_versions SET status = 'superseded' WHERE code = $1 AND status = 'published'")
            .bind(code)
            .execute(&mut *self)
            .await?;
        crate::db::query(
            "UPDATE bundle_versions SET status = 'published', published_by = $1, published_at = $2 WHERE code = $3 AND version = $4",
        )
        .bind(actor)
        .bind(ts(now))
        .bind(code)
        .bind(version)
        .execute(&mut *self)
        .await?;
        crate::db::query(
            "INSERT INTO bundles (code, name, description, division_code, lead_item, items, promised_days, issue_together, updated_at, version) \
             SELECT code, name, description, division_code, lead_item, items, promised_days, issue_together, $1, version FROM bundle_versions \
             WHERE code = $2 AND version = $3 ON CONFLICT (code) DO UPDATE SET name = excluded.name, \
             description = excluded.description, division_code = excluded.division_code, lead_item = excluded.lead_item, \
             items = excluded.items, promised_days = excluded.promised_days, issue_together = excluded.issue_together, \
             updated_at = excluded.updated_at, version = excluded.version",
        )
        .bind(ts(now))
        .bind(code)
        .bind(version)
        .execute(&mut *self)
        .await?;
        let data = serde_json::json!({ "version": version });
        self.append_audit(crate::accounts::audit_rec(&ts(now), actor, "bundle.published", "bundle", code, data)).await?;
        Ok(())
    }

    /// The version number a new draft of a bundle takes: the open draft's
    /// (which it replaces), else one past the latest.
    async fn next_bundle_version(&mut self, code: &str) -> Result<i64> {
        Ok(self.latest_bundle_version(code).await?.map_or(1, |(v, status, _)| if status == "draft" { v } else { v + 1 }))
    }

    /// The latest version number of a bundle and its status, if any.
    async fn latest_bundle_version(&mut self, code: &str) -> Result<Option<(i64, String, String)>> {
        let row = crate::db::query("SELECT version, status, drafted_by FROM bundle_versions WHERE code = $1 ORDER BY version DESC LIMIT 1")
            .bind(code)
            .fetch_optional(&mut *self)
            .await?;
        row.map(|r| Ok((r.try_get("version")?, r.try_get("status")?, r.try_get("drafted_by")?))).transpose()
    }

    /// The join: when no child of the bundle is still open, the bundle is
    /// complete. The bundle row is locked first, so that on PostgreSQL a
    /// second child ending at the same time waits and then sees the first.
    pub(crate) async fn join_bundle(&mut self, bundle_no: &str, at: Timestamp) -> Result<()> {
        let lock = if self.is_postgres() { " FOR UPDATE" } else { "" };
        let row = crate::db::query(safe(format!("SELECT completed_at FROM bundle_cases WHERE bundle_no = $1{lock}")))
            .bind(bundle_no)
            .fetch_optional(&mut *self)
            .await?;
        let Some(row) = row else { return Err(StoreError::Corrupt(format!("bundle {bundle_no} of a child case is missing"))) };
        if row.try_get::<Option<String>, _>("completed_at")?.is_some() {
            return Ok(());
        }
        let over: Vec<&str> = State::OVER.iter().map(|s| s.code()).collect();
        let sql =
            format!("SELECT COUNT(*) AS n FROM cases WHERE bundle_no = $1 AND state NOT IN ({})", crate::cases::in_list(2, over.len()));
        let mut q = crate::db::query(safe(sql)).bind(bundle_no);
        for s in &over {
            q = q.bind(*s);
        }
        let open: i64 = q.fetch_one(&mut *self).await?.try_get("n")?;
        if open == 0 {
            crate::db::query("UPDATE bundle_cases SET completed_at = $1, updated_at = $1 WHERE bundle_no = $2")
                .bind(ts(at))
                .bind(bundle_no)
                .execute(&mut *self)
                .await?;
        }
        Ok(())
    }

    /// Whether a bundle application is complete (its join has happened).
    pub(crate) async fn bundle_completed(&mut self, bundle_no: &str) -> Result<bool> {
        let row = crate::db::query("SELECT completed_at FROM bundle_cases WHERE bundle_no = $1")
            .bind(bundle_no)
            .fetch_optional(&mut *self)
            .await?;
        Ok(row.map(|r| r.try_get::<Option<String>, _>("completed_at")).transpose()?.flatten().is_some())
    }

    async fn touch_bundle(&mut self, bundle_no: &str, form: Option<&Value>, at: Timestamp) -> Result<()> {
        let form = form.map(|f| serde_json::to_string(f).map_err(|e| StoreError::Corrupt(e.to_string()))).transpose()?;
        crate::db::query("UPDATE bundle_cases SET form = COALESCE($1, form), updated_at = $2 WHERE bundle_no = $3")
            .bind(form)
            .bind(ts(at))
            .bind(bundle_no)
            .execute(&mut *self)
            .await?;
        Ok(())
    }
}

impl Store {
    /// The operator's path (`yiwang bundle define`, the demo): check a bundle
    /// against the published catalog (every item published, their forms merge
    /// into one) and publish it at once as a new version, drafted and
    /// published by the operator. Unchanged: nothing is written.
    pub async fn define_bundle(&self, b: &Bundle, actor: &str, now: Timestamp) -> CResult<BundlePlan> {
        let mut plan = self.checked_plan(b).await?;
        if let Ok((head, version)) = self.bundle_def(&b.code).await
            && &head == b
        {
            plan.version = version;
            return Ok(plan);
        }
        let mut tx = self.begin().await?;
        let version = tx.next_bundle_version(&b.code).await?;
        tx.write_bundle_draft(b, version, actor, now).await?;
        tx.publish_bundle_version(&b.code, version, actor, now).await?;
        tx.commit().await?;
        plan.version = version;
        Ok(plan)
    }

    async fn checked_plan(&self, b: &Bundle) -> CResult<BundlePlan> {
        let problems = b.problems();
        if !problems.is_empty() {
            return Err(CaseStoreError::BundleInvalid(problems));
        }
        self.plan_of(b.clone(), 0).await
    }

    /// Four eyes, first pair: check a bundle and save it as a draft version
    /// (the open draft is replaced). New applications keep using the
    /// published version until another person publishes this one.
    pub async fn draft_bundle(&self, b: &Bundle, actor: &str, now: Timestamp) -> CResult<BundlePlan> {
        let mut plan = self.checked_plan(b).await?;
        let mut tx = self.begin().await?;
        let version = tx.next_bundle_version(&b.code).await?;
        tx.write_bundle_draft(b, version, actor, now).await?;
        tx.commit().await?;
        plan.version = version;
        Ok(plan)
    }

    /// Four eyes, second pair: publish a bundle's draft, checked again against
    /// the catalog as it is now; not by the one who drafted it.
    pub async fn publish_bundle(&self, code: &str, actor: &str, now: Timestamp) -> CResult<BundlePlan> {
        let versions = self.bundle_versions(code).await?;
        let Some(draft) = versions.into_iter().next() else { return Err(CaseStoreError::NoBundle(code.into())) };
        if draft.status != "draft" {
            return Err(CaseStoreError::BundleNoDraft(code.into()));
        }
        if draft.drafted_by == actor {
            return Err(CaseStoreError::BundleSamePerson);
        }
        let mut plan = self.checked_plan(&draft.bundle).await?;
        let mut tx = self.begin().await?;
        // Still the draft that was checked (no one redrafted or published it meanwhile).
        match tx.latest_bundle_version(code).await? {
            Some((v, status, _)) if v == draft.version && status == "draft" => {}
            _ => return Err(CaseStoreError::BundleNoDraft(code.into())),
        }
        tx.publish_bundle_version(code, draft.version, actor, now).await?;
        tx.commit().await?;
        plan.version = draft.version;
        Ok(plan)
    }

    /// Every version of a bundle, newest first.
    pub async fn bundle_versions(&self, code: &str) -> Result<Vec<BundleVersion>> {
        crate::db::query("SELECT * FROM bundle_versions WHERE code = $1 ORDER BY version DESC")
            .bind(code)
            .fetch_all(self.read())
            .await?
            .iter()
            .map(|r| {
                Ok(BundleVersion {
                    version: r.try_get("version")?,
                    status: r.try_get("status")?,
                    drafted_by: r.try_get("drafted_by")?,
                    drafted_at: r.try_get("drafted_at")?,
                    published_by: r.try_get("published_by")?,
                    published_at: r.try_get("published_at")?,
                    bundle: bundle_row(r)?,
                })
            })
            .collect()
    }

    /// Every bundle draft awaiting publication, oldest first.
    pub async fn bundle_drafts(&self) -> Result<Vec<BundleVersion>> {
        let codes: Vec<String> = crate::db::query("SELECT code FROM bundle_versions WHERE status = 'draft' ORDER BY drafted_at, code")
            .fetch_all(self.read())
            .await?
            .iter()
            .map(|r| r.try_get("code"))
            .collect::<std::result::Result<_, _>>()?;
        let mut out = Vec::with_capacity(codes.len());
        for code in codes {
            out.extend(self.bundle_versions(&code).await?.into_iter().filter(|v| v.status == "draft"));
        }
        Ok(out)
    }

    /// A version's definition.
    async fn bundle_version_def(&self, code: &str, version: i64) -> CResult<Bundle> {
        let row = crate::db::query("SELECT * FROM bundle_versions WHERE code = $1 AND version = $2")
            .bind(code)
            .bind(version)
            .fetch_optional(self.read())
            .await
            .map_err(StoreError::from)?;
        Ok(bundle_row(&row.ok_or_else(|| CaseStoreError::NoBundle(format!("{code} v{version}")))?)?)
    }

    pub async fn bundles(&self) -> Result<Vec<Bundle>> {
        let rows = crate::db::query("SELECT * FROM bundles ORDER BY code").fetch_all(self.read()).await?;
        rows.iter().map(bundle_row).collect()
    }

    /// A bundle as it can be applied for now (its published version).
    pub async fn bundle_plan(&self, code: &str) -> CResult<BundlePlan> {
        let (b, version) = self.bundle_def(code).await?;
        self.plan_of(b, version).await
    }

    /// A bundle's published definition and its version.
    async fn bundle_def(&self, code: &str) -> CResult<(Bundle, i64)> {
        let row = crate::db::query("SELECT * FROM bundles WHERE code = $1")
            .bind(code)
            .fetch_optional(self.read())
            .await
            .map_err(StoreError::from)?;
        let row = row.ok_or_else(|| CaseStoreError::NoBundle(code.into()))?;
        Ok((bundle_row(&row)?, row.try_get("version").map_err(StoreError::from)?))
    }

    async fn plan_of(&self, bundle: Bundle, version: i64) -> CResult<BundlePlan> {
        let mut items = Vec::with_capacity(bundle.items.len());
        for code in &bundle.items {
            let p = self.published_item(code).await?.ok_or_else(|| CaseStoreError::NoItem(code.clone()))?;
            items.push(PlanItem { version: p.version, doc: p.doc });
        }
        Self::plan_with(bundle, version, items)
    }

    /// The plan of an application in hand: the bundle version it was opened
    /// under and each child's item as the version it was filed under, so
    /// republishing either changes nothing for it.
    pub async fn bundle_case_plan(&self, b: &BundleCase) -> CResult<BundlePlan> {
        let mut bundle = self.bundle_version_def(&b.bundle_code, b.bundle_version).await?;
        let mut items = Vec::with_capacity(b.children.len());
        for c in &b.children {
            let doc = self.case_item(c).await?.ok_or_else(|| CaseStoreError::NoItem(c.item_code.clone()))?;
            items.push(PlanItem { version: c.item_version, doc });
        }
        bundle.items = b.children.iter().map(|c| c.item_code.clone()).collect();
        Self::plan_with(bundle, b.bundle_version, items)
    }

    fn plan_with(bundle: Bundle, version: i64, items: Vec<PlanItem>) -> CResult<BundlePlan> {
        let docs: Vec<&yiwang_catalog::ItemDoc> = items.iter().map(|i| &i.doc).collect();
        let form = bundle.merged_form(&docs).map_err(CaseStoreError::BundleInvalid)?;
        let materials = Bundle::merged_materials(&docs);
        Ok(BundlePlan { bundle, version, items, form, materials })
    }

    /// Apply for a bundle: one draft child case per item, each with its part
    /// of the one form and the e-licenses it can attach, and the bundle row,
    /// in one transaction. The 查询码 (shown once) opens the bundle and every
    /// child.
    pub async fn create_bundle_case(&self, new: &NewBundleCase, now: Timestamp) -> CResult<(BundleCase, String)> {
        let plan = self.bundle_plan(&new.bundle_code).await?;
        let ctx = FormContext { applicant: &new.applicant, account_id: &new.account_id, case_no: None, assured: new.assured };
        let form = self.checked_against(&plan.form, &new.form, ctx, false, now).await?;
        let children: Vec<NewCase> = plan
            .items
            .iter()
            .map(|i| NewCase {
                item_code: i.doc.implementation_code.clone(),
                applicant: new.applicant.clone(),
                account_id: new.account_id.clone(),
                form: i.doc.form.as_ref().map_or_else(|| form.clone(), |s| s.project(&form)),
                hall_id: new.hall_id.clone(),
                level: new.level,
                assured: new.assured,
            })
            .collect();
        let mut drafts = Vec::with_capacity(children.len());
        for (child, item) in children.iter().zip(&plan.items) {
            drafts.push(self.draft_of(&item.doc, item.version, child, now).await?);
        }
        let lead = plan.items.iter().find(|i| i.doc.implementation_code == plan.bundle.lead_item).unwrap_or(&plan.items[0]);
        let code = query_code();
        let code_hash = yiwang_identity::token_hash(&code);
        let at = ts(now);
        let mut tx = self.begin().await?;
        // Numbered in the lead agency's sequence, so it never equals a case number.
        let bundle_no = tx.next_case_no(&lead.doc.agency.uscc, now).await?;
        crate::db::query(
            "INSERT INTO bundle_cases (bundle_no, bundle_code, bundle_name, applicant_id_type, applicant_id, applicant_name, account_id, \
             query_code_hash, form, channel, hall_id, created_at, updated_at, bundle_version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13)",
        )
        .bind(&bundle_no)
        .bind(&plan.bundle.code)
        .bind(&plan.bundle.name)
        .bind(&new.applicant.id_type)
        .bind(&new.applicant.id)
        .bind(&new.applicant.name)
        .bind(&new.account_id)
        .bind(&code_hash)
        .bind(serde_json::to_string(&form).map_err(|e| StoreError::Corrupt(e.to_string()))?)
        .bind(if new.hall_id.is_some() { "window" } else { "online" })
        .bind(&new.hall_id)
        .bind(&at)
        .bind(plan.version)
        .execute(&mut tx)
        .await
        .map_err(StoreError::from)?;
        for d in &drafts {
            let case_no = tx.next_case_no(&d.agency, now).await?;
            tx.insert_case(d, &case_no, &code_hash, now, Some(&bundle_no)).await?;
        }
        tx.commit().await?;
        Ok((self.bundle_case(&bundle_no).await?, code))
    }

    /// The combined promised limit of the bundle an application belongs to, if it sets one.
    pub async fn bundle_promised_days(&self, bundle_no: &str) -> Result<Option<u32>> {
        Ok(self.bundle_version_row(bundle_no).await?.as_ref().map(promised_days).transpose()?.flatten())
    }

    /// The version row of the bundle an application was opened under.
    async fn bundle_version_row(&self, bundle_no: &str) -> Result<Option<crate::db::Row>> {
        let sql = "SELECT v.promised_days, v.issue_together FROM bundle_cases c \
                   JOIN bundle_versions v ON v.code = c.bundle_code AND v.version = c.bundle_version WHERE c.bundle_no = $1";
        Ok(crate::db::query(sql).bind(bundle_no).fetch_optional(self.read()).await?)
    }

    pub async fn bundle_case(&self, bundle_no: &str) -> Result<BundleCase> {
        let row = crate::db::query(safe(format!("SELECT {BUNDLE_CASE_COLUMNS} FROM bundle_cases WHERE bundle_no = $1")))
            .bind(bundle_no)
            .fetch_optional(self.read())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("bundle application {bundle_no}")))?;
        let children = self.bundle_children(bundle_no).await?;
        bundle_case_row(&row, children)
    }

    /// Whether the bundle an application belongs to issues its licenses
    /// together at the join (多证同发), by the version it was opened under.
    pub(crate) async fn bundle_issues_together(&self, bundle_no: &str) -> Result<bool> {
        let row = self.bundle_version_row(bundle_no).await?;
        Ok(row.map(|r| r.try_get::<i64, _>("issue_together")).transpose()?.unwrap_or(0) != 0)
    }

    pub(crate) async fn bundle_children(&self, bundle_no: &str) -> Result<Vec<CaseRow>> {
        let sql = format!("SELECT {} FROM cases WHERE bundle_no = $1 ORDER BY case_no", crate::cases::CASE_COLUMNS);
        crate::db::query(safe(sql)).bind(bundle_no).fetch_all(self.read()).await?.iter().map(crate::cases::case_row).collect()
    }

    /// An applicant's bundle applications, newest first (without children).
    /// An applicant's 一件事 applications; with `opened_by`, only that account's own.
    pub async fn bundle_cases_of(&self, id_type: &str, id: &str, opened_by: Option<&str>, limit: i64) -> Result<Vec<BundleCase>> {
        let by = if opened_by.is_some() { " AND account_id = $4 AND channel = 'online'" } else { "" };
        let rows = crate::db::query(safe(format!(
            "SELECT {BUNDLE_CASE_COLUMNS} FROM bundle_cases WHERE applicant_id_type = $1 AND applicant_id = $2{by} \
             ORDER BY created_at DESC, bundle_no LIMIT $3"
        )))
        .bind(id_type)
        .bind(id)
        .bind(limit)
        .bind(opened_by.unwrap_or_default())
        .fetch_all(self.read())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let no: String = r.try_get("bundle_no")?;
            out.push(bundle_case_row(r, self.bundle_children(&no).await?)?);
        }
        Ok(out)
    }

    /// Save the one form: filled, checked as a draft, and written to every
    /// child the applicant may still edit (its part, with a `FormSaved`
    /// event where it changed).
    pub async fn save_bundle_form(
        &self,
        bundle_no: &str,
        submitted: &Value,
        actor: &str,
        now: Timestamp,
        calendar: &Calendar,
    ) -> CResult<BundleCase> {
        let b = self.bundle_case(bundle_no).await?;
        let plan = self.bundle_case_plan(&b).await?;
        let ctx = FormContext {
            applicant: &b.applicant,
            account_id: &b.account_id,
            case_no: b.children.first().map(|c| c.case_no.as_str()),
            assured: b.children.iter().all(|c| c.assured),
        };
        let form = self.checked_against(&plan.form, submitted, ctx, false, now).await?;
        if !b.children.iter().any(|c| c.state.applicant_may_edit()) {
            return Err(CaseStoreError::BundleState(bundle_no.into(), "no child may be edited"));
        }
        let mut tx = self.begin().await?;
        for child in &b.children {
            let current = tx.case_for_update(&child.case_no).await?;
            if !current.state.applicant_may_edit() {
                continue;
            }
            let part = part_of(&plan, &current.item_code, &form);
            let fields = changed_fields(&current.form, &part);
            if fields.is_empty() {
                continue;
            }
            let envelope = Envelope { at: now, actor: actor.into(), reason: String::new(), event: Event::FormSaved { fields } };
            tx.write_case_event(current, &envelope, None, calendar, Some(&part)).await?;
        }
        tx.touch_bundle(bundle_no, Some(&form), now).await?;
        tx.commit().await?;
        Ok(self.bundle_case(bundle_no).await?)
    }

    /// Upload a material once for every child that asks for it and may take
    /// it now (a draft, an open correction, a pending 容缺 material).
    pub async fn upload_bundle_material(
        &self,
        bundle_no: &str,
        upload: FileUpload<'_>,
        actor: &str,
        now: Timestamp,
        calendar: &Calendar,
    ) -> CResult<BundleCase> {
        let file = checked_file(&upload)?;
        let event = Event::MaterialUploaded { material: upload.material.into(), file: file.clone() };
        let b = self.bundle_case(bundle_no).await?;
        let plan = self.bundle_case_plan(&b).await?;
        // Not to a child whose resource gave the material already.
        let asking =
            children_asking(&plan, &b, upload.material, |child, source| !source.is_exempt() || !child.case.shared_fetched(upload.material));
        let envelope = Envelope { at: now, actor: actor.into(), reason: String::new(), event };
        let mut tx = self.begin().await?;
        if let Some(first) = b.children.first() {
            tx.check_quota(first, upload.quota_bytes, &file).await?;
        }
        tx.put_blob(&file, upload.bytes, now).await?;
        record_on_children(&mut tx, &asking, upload.material, &envelope, calendar).await?;
        tx.touch_bundle(bundle_no, None, now).await?;
        tx.commit().await?;
        Ok(self.bundle_case(bundle_no).await?)
    }

    /// 告知承诺 once for every child whose item allows it for this material.
    pub async fn sign_bundle_commitment(
        &self,
        bundle_no: &str,
        material: &str,
        actor: &str,
        now: Timestamp,
        calendar: &Calendar,
    ) -> CResult<BundleCase> {
        let b = self.bundle_case(bundle_no).await?;
        let plan = self.bundle_case_plan(&b).await?;
        let merged = plan.materials.iter().find(|m| m.name == material).ok_or_else(|| CaseStoreError::NoSuchMaterial(material.into()))?;
        if !merged.commitment_allowed {
            return Err(CaseStoreError::CommitmentNotAllowed(material.into()));
        }
        if !self.commitment_offered(&b.applicant, now).await? {
            return Err(CaseStoreError::CommitmentNotOffered(material.into()));
        }
        let asking = children_asking(&plan, &b, material, |_, _| true);
        let envelope = Envelope {
            at: now,
            actor: actor.into(),
            reason: yiwang_case::materials::commitment_text(&plan.bundle.name, material),
            event: Event::CommitmentSigned { material: material.into() },
        };
        let mut tx = self.begin().await?;
        record_on_children(&mut tx, &asking, material, &envelope, calendar).await?;
        tx.touch_bundle(bundle_no, None, now).await?;
        tx.commit().await?;
        Ok(self.bundle_case(bundle_no).await?)
    }

    /// Hand in the bundle: every draft child is submitted, every child with an
    /// open correction hands it in, each with its form complete and its
    /// materials provided — all of them or none (409 with every missing
    /// material of every child).
    pub async fn submit_bundle(&self, bundle_no: &str, actor: &str, now: Timestamp, calendar: &Calendar) -> CResult<BundleCase> {
        let b = self.bundle_case(bundle_no).await?;
        let plan = self.bundle_case_plan(&b).await?;
        let mut ready = Vec::new();
        let mut missing: Vec<String> = Vec::new();
        for child in b.children.iter().filter(|c| c.state.applicant_may_edit()) {
            let doc = &plan
                .items
                .iter()
                .find(|i| i.doc.implementation_code == child.item_code)
                .ok_or_else(|| CaseStoreError::NoItem(child.item_code.clone()))?
                .doc;
            match self.complete_form(doc, child, now).await {
                Ok(form) => ready.push((child, form)),
                Err(CaseStoreError::MaterialsMissing(m)) => {
                    for name in m {
                        if !missing.contains(&name) {
                            missing.push(name);
                        }
                    }
                }
                Err(e) => return Err(e),
            }
        }
        if !missing.is_empty() {
            return Err(CaseStoreError::MaterialsMissing(missing));
        }
        if ready.is_empty() {
            return Err(CaseStoreError::BundleState(bundle_no.into(), "nothing to hand in"));
        }
        let mut tx = self.begin().await?;
        for (child, form) in ready {
            let event = if child.state == State::Draft { Event::Submitted } else { Event::CorrectionSubmitted };
            let envelope = Envelope { at: now, actor: actor.into(), reason: String::new(), event };
            let current = tx.case_for_update(&child.case_no).await?;
            tx.write_case_event(current, &envelope, Some(child.version), calendar, Some(&form)).await?;
        }
        tx.touch_bundle(bundle_no, None, now).await?;
        tx.commit().await?;
        Ok(self.bundle_case(bundle_no).await?)
    }

    /// Record events on several children in one transaction (the window's
    /// one acceptance of the whole bundle): all or none.
    pub async fn record_bundle_events(&self, bundle_no: &str, events: &[(String, Envelope)], calendar: &Calendar) -> CResult<BundleCase> {
        let mut tx = self.begin().await?;
        let mut at = None;
        for (case_no, envelope) in events {
            let current = tx.case_for_update(case_no).await?;
            if current.bundle_no.as_deref() != Some(bundle_no) {
                return Err(CaseStoreError::BundleState(bundle_no.into(), "a case of another bundle"));
            }
            tx.write_case_event(current, envelope, None, calendar, None).await?;
            at = Some(envelope.at);
        }
        if let Some(at) = at {
            tx.touch_bundle(bundle_no, None, at).await?;
        }
        tx.commit().await?;
        Ok(self.bundle_case(bundle_no).await?)
    }
}

/// A child's part of the one form (its item's fields).
fn part_of(plan: &BundlePlan, item_code: &str, form: &Value) -> Value {
    match plan.items.iter().find(|i| i.doc.implementation_code == item_code).and_then(|i| i.doc.form.as_ref()) {
        Some(schema) => schema.project(form),
        None => form.clone(),
    }
}

/// The children whose item asks for `material` from a source `fits` accepts.
fn children_asking<'b>(
    plan: &BundlePlan,
    b: &'b BundleCase,
    material: &str,
    fits: impl Fn(&CaseRow, &MaterialSource) -> bool,
) -> Vec<&'b CaseRow> {
    b.children
        .iter()
        .filter(|c| {
            plan.items
                .iter()
                .find(|i| i.doc.implementation_code == c.item_code)
                .is_some_and(|i| i.doc.materials.iter().any(|m| m.name == material && fits(c, &m.source)))
        })
        .collect()
}

/// Record `envelope` on each child whose state takes it now; refused
/// everywhere: the first child's refusal (or no such material).
async fn record_on_children(tx: &mut Tx, children: &[&CaseRow], material: &str, envelope: &Envelope, calendar: &Calendar) -> CResult<()> {
    let mut first_refusal = None;
    let mut recorded = 0;
    for child in children {
        let current = tx.case_for_update(&child.case_no).await?;
        if let Err(e) = current.case.apply(envelope) {
            first_refusal.get_or_insert(e);
            continue;
        }
        tx.write_case_event(current, envelope, None, calendar, None).await?;
        recorded += 1;
    }
    match (recorded, first_refusal) {
        (0, Some(e)) => Err(e.into()),
        (0, None) => Err(CaseStoreError::NoSuchMaterial(material.into())),
        _ => Ok(()),
    }
}
