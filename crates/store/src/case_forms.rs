//! Application forms and materials: the item's e-form filled from held data
//! and checked on the server, uploads stored by content, 告知承诺, and the
//! completeness check at submission. Each change is a case event written in
//! the same transaction as the state (and, for an upload, as the file).

use crate::db::RowLike;
use crate::safe;
use base64::Engine;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::Digest;
use yiwang_calendar::{Calendar, china_today};
use yiwang_case::materials::MaterialStatus;
use yiwang_case::{Envelope, Event, StoredFile};
use yiwang_catalog::ItemDoc;
use yiwang_form::{Binding, Filled, Schema, Sources, fill};

use crate::cases::{CResult, CaseStoreError};
use crate::licenses::LicenseStatus;
use crate::{Applicant, CaseRow, Result, Store, StoreError, ts};

/// The largest file accepted for one material.
pub const MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;

/// Whose form is being filled: the applicant, the account that applies (for
/// the profile and the person's base data), the case itself (which
/// `previous.*` bindings skip), and whether the data held under the
/// applicant's ID may be used (`NewCase::assured`): without it only the
/// applicant's own typed name and ID and the account's profile fill the form.
#[derive(Debug, Clone, Copy)]
pub struct FormContext<'a> {
    pub applicant: &'a Applicant,
    pub account_id: &'a str,
    pub case_no: Option<&'a str>,
    pub assured: bool,
}

impl<'a> FormContext<'a> {
    pub fn of_case(c: &'a CaseRow) -> FormContext<'a> {
        FormContext { applicant: &c.applicant, account_id: &c.account_id, case_no: Some(&c.case_no), assured: c.assured }
    }
}

/// A file as uploaded for a material.
#[derive(Debug, Clone, Copy)]
pub struct FileUpload<'a> {
    pub material: &'a str,
    pub file_name: &'a str,
    pub bytes: &'a [u8],
    /// The applicant account's quota over the files of its open applications
    /// (`[security] upload_quota_mb`); none: unlimited (window cases, tools).
    pub quota_bytes: Option<i64>,
}

/// An open 告知承诺 verification task (事后核查).
#[derive(Debug, Clone, Serialize)]
pub struct CommitmentCheck {
    pub case_no: String,
    pub material: String,
    pub agency_uscc: String,
    pub due: String,
}

/// Each material of `doc` and what provides it on the case (the rule is
/// `yiwang_case::materials`; the store knows which licenses are attached).
pub fn material_statuses(doc: &ItemDoc, c: &CaseRow) -> Vec<MaterialStatus> {
    let attached: Vec<&str> = c.materials.iter().map(|a| a.material.as_str()).collect();
    yiwang_case::materials::material_statuses(doc, &c.case, &attached)
}

/// How many of an applicant's newest applications (drafts included) the
/// 来自您上次的申请 prefill looks through for submitted ones.
const PREVIOUS_WINDOW: usize = 50;

impl Store {
    /// The item version the case was filed under.
    async fn item_of(&self, c: &CaseRow) -> CResult<ItemDoc> {
        self.filed_item(&c.item_code, c.item_version).await?.ok_or_else(|| CaseStoreError::NoItem(c.item_code.clone()))
    }

    /// The values `schema`'s bindings point to, for this applicant.
    pub async fn form_sources(&self, schema: &Schema, ctx: FormContext<'_>, today: Date) -> Result<Sources> {
        let (applicant, account_id, except_case) = (ctx.applicant, ctx.account_id, ctx.case_no);
        let mut sources = Sources::default();
        let bindings: Vec<Binding> = schema.bindings().into_values().collect();
        let wants = |f: fn(&Binding) -> bool| bindings.iter().any(f);
        sources.insert("applicant.name", json!(applicant.name));
        sources.insert("applicant.id", json!(applicant.id));
        sources.insert("applicant.id_type", json!(applicant.id_type));
        let account = if wants(|b| matches!(b, Binding::Profile(_) | Binding::Person(_))) { self.account(account_id).await? } else { None };
        if let Some(a) = &account {
            sources.insert("profile.name", json!(a.name));
            sources.insert("profile.phone", json!(a.phone));
            sources.insert("profile.email", json!(a.email));
            if ctx.assured
                && wants(|b| matches!(b, Binding::Person(_)))
                && let Some(p) = self.base_person(&a.citizen_id).await?
            {
                sources.insert("person.name", json!(p.name));
                sources.insert("person.citizen_id", json!(p.citizen_id));
                sources.insert("person.birth_date", json!(p.birth_date));
                sources.insert("person.address_division", json!(p.address_division));
            }
        }
        // Everything below is held under the applicant's ID: only for an assured opener.
        if !ctx.assured {
            return Ok(sources);
        }
        if applicant.id_type == "049"
            && wants(|b| matches!(b, Binding::Enterprise(_)))
            && let Some(e) = self.base_enterprise(&applicant.id).await?
        {
            sources.insert("enterprise.name", json!(e.name));
            sources.insert("enterprise.uscc", json!(e.uscc));
            sources.insert("enterprise.legal_rep_name", json!(e.legal_rep_name));
            sources.insert("enterprise.legal_rep_id", json!(e.legal_rep_id));
            sources.insert("enterprise.registration_status", json!(e.registration_status));
        }
        if wants(|b| matches!(b, Binding::License { .. })) {
            let held = self.licenses_of(&applicant.id_type, &applicant.id).await?;
            for b in &bindings {
                let Binding::License { license_type, field } = b else { continue };
                let Some(l) = held
                    .iter()
                    .filter(|l| &l.type_code == license_type && l.status == LicenseStatus::Valid && !l.expired_on(today))
                    .max_by(|a, b| a.issued_at.cmp(&b.issued_at))
                else {
                    continue;
                };
                let r = &l.sealed.record;
                let value = match field.as_str() {
                    "holder_name" => r["holder"]["name"].clone(),
                    "license_no" => json!(l.number),
                    "issuer_name" => r["issuer"]["name"].clone(),
                    "valid_until" => json!(l.valid_until),
                    data => r["data"][data].clone(),
                };
                sources.insert(b.path(), value);
            }
        }
        let previous: Vec<&str> = bindings
            .iter()
            .filter_map(|b| match b {
                Binding::Previous(f) => Some(f.as_str()),
                _ => None,
            })
            .collect();
        if !previous.is_empty() {
            // The submitted ones among the applicant's newest applications,
            // newest first. The window is bounded so that drafts, which an
            // applicant can open at will, never make this a long scan: on the
            // applicant index, skipping drafts row by row cost a read per
            // draft ever opened.
            let rows = crate::db::query(safe(format!(
                "SELECT case_no, form FROM (SELECT case_no, form, state, created_at FROM cases \
                 WHERE applicant_id_type = $1 AND applicant_id = $2 ORDER BY created_at DESC, case_no DESC LIMIT {PREVIOUS_WINDOW}) recent \
                 WHERE state <> 'draft' ORDER BY created_at DESC, case_no DESC LIMIT 20"
            )))
            .bind(&applicant.id_type)
            .bind(&applicant.id)
            .fetch_all(self.read())
            .await?;
            for field in previous {
                let found = rows.iter().find_map(|r| {
                    let no: String = r.try_get("case_no").ok()?;
                    if Some(no.as_str()) == except_case {
                        return None;
                    }
                    let form: Value = serde_json::from_str(&r.try_get::<String, _>("form").ok()?).ok()?;
                    form.get(field).filter(|v| !v.is_null()).cloned()
                });
                if let Some(v) = found {
                    sources.insert(format!("previous.{field}"), v);
                }
            }
        }
        Ok(sources)
    }

    /// A form for `item` filled from held data: what the portal shows for a
    /// new application (`submitted` null) or after a failed save.
    pub async fn fill_form(&self, schema: &Schema, submitted: &Value, ctx: FormContext<'_>, now: Timestamp) -> Result<Filled> {
        let sources = self.form_sources(schema, ctx, china_today(now)).await?;
        Ok(fill(schema, submitted, &sources))
    }

    /// Fill and check an application form against its item's schema: a
    /// draft may miss required fields, a submission may not. No schema: the
    /// form is kept as given.
    pub(crate) async fn checked_form(
        &self,
        doc: &ItemDoc,
        submitted: &Value,
        ctx: FormContext<'_>,
        complete: bool,
        now: Timestamp,
    ) -> CResult<Value> {
        match &doc.form {
            Some(schema) => self.checked_against(schema, submitted, ctx, complete, now).await,
            None => Ok(submitted.clone()),
        }
    }

    /// Fill a form from held data and check it against `schema` (complete, or as a draft).
    pub(crate) async fn checked_against(
        &self,
        schema: &Schema,
        submitted: &Value,
        ctx: FormContext<'_>,
        complete: bool,
        now: Timestamp,
    ) -> CResult<Value> {
        let filled = self.fill_form(schema, submitted, ctx, now).await?;
        let form = Value::Object(filled.values);
        let today = china_today(now);
        let problems = if complete { schema.check(&form, today) } else { schema.check_draft(&form, today) };
        if problems.is_empty() { Ok(form) } else { Err(CaseStoreError::Form(problems)) }
    }

    /// Save the applicant's form on a draft or while correcting: filled,
    /// checked as a draft, and written with a `FormSaved` event naming the
    /// changed fields.
    pub async fn save_case_form(
        &self,
        case_no: &str,
        submitted: &Value,
        actor: &str,
        expected_version: Option<i64>,
        now: Timestamp,
        calendar: &Calendar,
    ) -> CResult<CaseRow> {
        let c = self.case(case_no).await?;
        let item = self.item_of(&c).await?;
        let form = self.checked_form(&item, submitted, FormContext::of_case(&c), false, now).await?;
        let fields = changed_fields(&c.form, &form);
        let envelope = Envelope { at: now, actor: actor.into(), reason: String::new(), event: Event::FormSaved { fields } };
        let mut tx = self.begin().await?;
        let current = tx.case_for_update(case_no).await?;
        let row = tx.write_case_event(current, &envelope, expected_version.or(Some(c.version)), calendar, Some(&form)).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Submit (or hand in the correction for) an application: the form is
    /// filled again from held data and must be complete, and every required
    /// material must be provided (an e-license, data its resource gave, an
    /// upload, or a commitment where the item allows one).
    pub async fn submit_case(
        &self,
        case_no: &str,
        envelope: &Envelope,
        expected_version: Option<i64>,
        calendar: &Calendar,
    ) -> CResult<CaseRow> {
        let c = self.case(case_no).await?;
        let item = self.item_of(&c).await?;
        let form = self.complete_form(&item, &c, envelope.at).await?;
        let mut tx = self.begin().await?;
        let current = tx.case_for_update(case_no).await?;
        let row = tx.write_case_event(current, envelope, expected_version.or(Some(c.version)), calendar, Some(&form)).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// The case's form filled again and checked as complete, and every
    /// required material provided: what handing in needs.
    pub(crate) async fn complete_form(&self, doc: &ItemDoc, c: &CaseRow, now: Timestamp) -> CResult<Value> {
        let form = self.checked_form(doc, &c.form, FormContext::of_case(c), true, now).await?;
        let missing = yiwang_case::materials::missing_required(&material_statuses(doc, c));
        if missing.is_empty() { Ok(form) } else { Err(CaseStoreError::MaterialsMissing(missing)) }
    }

    /// Store an uploaded file for one of the case's materials: its type is
    /// detected from the bytes (PDF, PNG, JPEG), it is kept once by SHA-256,
    /// and the upload is a `MaterialUploaded` event in the same transaction.
    pub async fn upload_case_material(
        &self,
        case_no: &str,
        upload: FileUpload<'_>,
        actor: &str,
        now: Timestamp,
        calendar: &Calendar,
    ) -> CResult<CaseRow> {
        let material = upload.material;
        let file = checked_file(&upload)?;
        let c = self.case(case_no).await?;
        let item = self.item_of(&c).await?;
        let m = item.materials.iter().find(|m| m.name == material).ok_or_else(|| CaseStoreError::NoSuchMaterial(material.into()))?;
        // A shared material the resource gave needs nothing; one it did not give is uploaded.
        if m.source.is_exempt() && c.case.shared_fetched(material) {
            return Err(CaseStoreError::SharedProvided(material.into()));
        }
        let envelope = Envelope {
            at: now,
            actor: actor.into(),
            reason: String::new(),
            event: Event::MaterialUploaded { material: material.into(), file: file.clone() },
        };
        let mut tx = self.begin().await?;
        let current = tx.case_for_update(case_no).await?;
        tx.check_quota(&current, upload.quota_bytes, &file).await?;
        tx.put_blob(&file, upload.bytes, now).await?;
        let row = tx.write_case_event(current, &envelope, None, calendar, None).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// 告知承诺: the applicant commits instead of proving, where the item allows it.
    pub async fn sign_commitment(
        &self,
        case_no: &str,
        material: &str,
        actor: &str,
        now: Timestamp,
        calendar: &Calendar,
    ) -> CResult<CaseRow> {
        let c = self.case(case_no).await?;
        let item = self.item_of(&c).await?;
        let m = item.materials.iter().find(|m| m.name == material).ok_or_else(|| CaseStoreError::NoSuchMaterial(material.into()))?;
        if !m.commitment_allowed {
            return Err(CaseStoreError::CommitmentNotAllowed(material.into()));
        }
        // 信用: a subject with a 失信 record or an untruthful commitment proves instead.
        if !self.commitment_offered(&c.applicant, now).await? {
            return Err(CaseStoreError::CommitmentNotOffered(material.into()));
        }
        let envelope = Envelope {
            at: now,
            actor: actor.into(),
            reason: yiwang_case::materials::commitment_text(&item.name, material),
            event: Event::CommitmentSigned { material: material.into() },
        };
        self.record_case_event(case_no, &envelope, None, calendar).await
    }

    /// A file of a case (the caller has checked the case is visible): its
    /// content type and bytes, if the case holds an upload with that digest.
    pub async fn case_file(&self, c: &CaseRow, digest: &str) -> Result<Option<(StoredFile, Vec<u8>)>> {
        let Some(upload) = c.case.uploads.iter().find(|u| u.file.digest == digest) else { return Ok(None) };
        let row = crate::db::query("SELECT content FROM blobs WHERE digest = $1").bind(digest).fetch_optional(self.read()).await?;
        let Some(row) = row else { return Err(StoreError::Corrupt(format!("blob {digest} of case {} is missing", c.case_no))) };
        let text: String = row.try_get("content")?;
        let bytes =
            base64::engine::general_purpose::STANDARD.decode(text).map_err(|e| StoreError::Corrupt(format!("blob {digest}: {e}")))?;
        Ok(Some((upload.file.clone(), bytes)))
    }

    /// How many distinct files are stored.
    pub async fn blob_count(&self) -> Result<i64> {
        Ok(crate::db::query("SELECT COUNT(*) AS n FROM blobs").fetch_one(&self.pool).await?.try_get("n")?)
    }

    /// Open 告知承诺 verification tasks of some agencies, earliest due first.
    pub async fn open_commitment_checks(&self, agencies: &[&str], limit: i64) -> Result<Vec<CommitmentCheck>> {
        if agencies.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT case_no, material, agency_uscc, due FROM commitment_checks WHERE agency_uscc IN ({}) AND checked_at IS NULL \
             ORDER BY due, case_no LIMIT ${}",
            crate::cases::in_list(1, agencies.len()),
            agencies.len() + 1
        );
        let mut q = crate::db::query(crate::safe(sql));
        for a in agencies {
            q = q.bind(a.to_string());
        }
        let rows = q.bind(limit).fetch_all(self.read()).await?;
        rows.iter()
            .map(|r| {
                Ok(CommitmentCheck {
                    case_no: r.try_get("case_no")?,
                    material: r.try_get("material")?,
                    agency_uscc: r.try_get("agency_uscc")?,
                    due: r.try_get("due")?,
                })
            })
            .collect()
    }
}

/// The keys whose values differ between two forms.
/// An upload checked (1 byte to 10 MiB, PDF/PNG/JPEG by its content) and
/// described as it will be stored (by SHA-256).
pub(crate) fn checked_file(upload: &FileUpload<'_>) -> CResult<StoredFile> {
    let bytes = upload.bytes;
    if bytes.is_empty() || bytes.len() > MAX_UPLOAD_BYTES {
        return Err(CaseStoreError::FileSize(bytes.len()));
    }
    let content_type = yiwang_case::detect_file_type(bytes).ok_or(CaseStoreError::FileType)?;
    Ok(StoredFile {
        digest: hex::encode(sha2::Sha256::digest(bytes)),
        file_name: clean_file_name(upload.file_name),
        content_type: content_type.into(),
        size: bytes.len() as u64,
    })
}

impl crate::Tx {
    /// Keep a file's bytes once per digest.
    /// Refuse an upload that would take the applicant's account past its quota:
    /// the files held by its applications that are not over. A window case (a
    /// clerk entering a walk-in's papers) counts against nobody.
    /// A file the account already holds costs nothing again.
    pub(crate) async fn check_quota(&mut self, case: &CaseRow, quota: Option<i64>, file: &StoredFile) -> CResult<()> {
        let Some(quota) = quota else { return Ok(()) };
        if case.channel == "window" {
            return Ok(());
        }
        let over = yiwang_case::State::OVER.iter().map(|s| format!("'{}'", s.code())).collect::<Vec<_>>().join(", ");
        let row = crate::db::query(safe(format!(
            // PostgreSQL sums BIGINT as NUMERIC: cast back.
            "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) AS used, CAST(COALESCE(SUM(CASE WHEN digest = $2 THEN 1 ELSE 0 END), 0) AS BIGINT) AS has \
             FROM (SELECT DISTINCT r.digest, r.size FROM blob_refs r \
             JOIN cases c ON c.case_no = r.case_no WHERE r.account_id = $1 AND c.state NOT IN ({over})) held"
        )))
        .bind(&case.account_id)
        .bind(&file.digest)
        .fetch_one(&mut *self)
        .await
        .map_err(StoreError::from)?;
        let used: i64 = row.try_get("used").map_err(StoreError::from)?;
        let has: i64 = row.try_get("has").map_err(StoreError::from)?;
        let adding = if has > 0 { 0 } else { i64::try_from(file.size).unwrap_or(i64::MAX) };
        if used.saturating_add(adding) > quota {
            return Err(CaseStoreError::Quota { used, quota });
        }
        Ok(())
    }

    pub(crate) async fn put_blob(&mut self, file: &StoredFile, bytes: &[u8], now: Timestamp) -> Result<()> {
        crate::db::query(
            "INSERT INTO blobs (digest, content_type, size, content, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (digest) DO NOTHING",
        )
        .bind(&file.digest)
        .bind(&file.content_type)
        .bind(file.size as i64)
        .bind(base64::engine::general_purpose::STANDARD.encode(bytes))
        .bind(ts(now))
        .execute(&mut *self)
        .await?;
        Ok(())
    }
}

pub(crate) fn changed_fields(before: &Value, after: &Value) -> Vec<String> {
    let empty = serde_json::Map::new();
    let (b, a) = (before.as_object().unwrap_or(&empty), after.as_object().unwrap_or(&empty));
    let mut keys: Vec<String> = b.keys().chain(a.keys()).filter(|k| b.get(*k) != a.get(*k)).cloned().collect();
    keys.sort();
    keys.dedup();
    keys
}

/// A file name as shown back: its last path part, without control
/// characters, at most 120 characters.
fn clean_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(120).collect();
    if cleaned.trim().is_empty() { "附件".into() } else { cleaned.trim().to_string() }
}
