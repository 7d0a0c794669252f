//! Case (办件) persistence. A case is a row with its folded state
//! (`yiwang_case::Case` as JSON) and the columns lists and supervision need,
//! plus its typed events. `record_case_event` reads the row (locked on
//! PostgreSQL; SQLite's `BEGIN IMMEDIATE` serialises writers), applies the
//! event with the pure state machine, and writes the event and the new state
//! in one transaction; an event the state refuses writes nothing. A caller
//! acknowledges an application only after this commit, so an acknowledged
//! application survives a crash.

use crate::db::RowLike;
use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Value, json};

use yiwang_calendar::{Calendar, china_today};
use yiwang_case::{Case, CaseError, Envelope, State};

use crate::{Result, Store, StoreError, safe, ts};

/// Why a case operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CaseStoreError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Case(#[from] CaseError),
    #[error("case {case_no} is at version {actual}, not {expected}: reload it and try again")]
    Stale { case_no: String, expected: i64, actual: i64 },
    #[error("no published item {0} to apply for")]
    NoItem(String),
    #[error("the item does not serve this kind of applicant (natural person: {natural})")]
    ApplicantType { natural: bool },
    #[error("the form has {} problem(s)", .0.len())]
    Form(Vec<yiwang_form::FieldProblem>),
    #[error("required materials are missing: {}", .0.join(", "))]
    MaterialsMissing(Vec<String>),
    #[error("the item has no material {0} the applicant can provide")]
    NoSuchMaterial(String),
    #[error("the item does not accept a commitment instead of {0}")]
    CommitmentNotAllowed(String),
    #[error("{0} came through data sharing: there is nothing to upload")]
    SharedProvided(String),
    #[error("the applicant has a credit record in force: {0} must be proved, not promised")]
    CommitmentNotOffered(String),
    #[error("a file must be PDF, PNG or JPEG (judged by its content)")]
    FileType,
    #[error("a file must have 1 byte to 10 MiB, not {0}")]
    FileSize(usize),
    #[error("no bundle {0}")]
    NoBundle(String),
    #[error("the bundle's definition has {} problem(s)", .0.len())]
    BundleInvalid(Vec<yiwang_catalog::FieldError>),
    #[error("bundle application {0}: {1}")]
    BundleState(String, &'static str),
    #[error("bundle {0} has no draft to publish")]
    BundleNoDraft(String),
    #[error("the one who drafted a bundle version cannot publish it (four eyes)")]
    BundleSamePerson,
    #[error("this Idempotency-Key was used for a different request")]
    KeyReused,
    /// 多证同发: another child of the bundle ended while this conclusion was
    /// prepared, so this one completes the bundle after all (retried).
    #[error("another child of bundle application {0} ended meanwhile: try again")]
    BundleJoinRaced(String),
    #[error(transparent)]
    Level(yiwang_identity::IdentityError),
    #[error("the account's upload quota is used up ({used} of {quota} bytes)")]
    Quota { used: i64, quota: i64 },
    #[error(transparent)]
    Process(#[from] yiwang_case::process::ProcessError),
    #[error(transparent)]
    Workflow(#[from] crate::WorkflowError),
    #[error("the item names process {0}, which is not deployed")]
    NoProcess(String),
    /// 办结出证 could not issue the item's license.
    #[error(transparent)]
    License(Box<crate::licenses::LicenseStoreError>),
}

impl yiwang_errors::Coded for CaseStoreError {
    fn code(&self) -> &'static str {
        match self {
            CaseStoreError::Store(e) => e.code(),
            CaseStoreError::Case(e) => e.code(),
            CaseStoreError::Stale { .. } => "case.stale",
            CaseStoreError::NoItem(_) => "case.no_item",
            CaseStoreError::ApplicantType { .. } => "case.applicant_type",
            CaseStoreError::Form(_) => "case.form_invalid",
            CaseStoreError::MaterialsMissing(_) => "case.materials_missing",
            CaseStoreError::NoSuchMaterial(_) => "case.no_such_material",
            CaseStoreError::CommitmentNotAllowed(_) => "case.commitment_not_allowed",
            CaseStoreError::SharedProvided(_) => "case.shared_provided",
            CaseStoreError::CommitmentNotOffered(_) => "case.commitment_not_offered",
            CaseStoreError::FileType => "case.file_type",
            CaseStoreError::FileSize(_) => "case.file_size",
            CaseStoreError::NoBundle(_) => "bundle.not_found",
            CaseStoreError::BundleInvalid(_) => "bundle.invalid",
            CaseStoreError::BundleState(..) => "bundle.state",
            CaseStoreError::BundleNoDraft(_) => "bundle.no_draft",
            CaseStoreError::BundleSamePerson => "bundle.four_eyes",
            CaseStoreError::KeyReused => "integration.key_reused",
            CaseStoreError::BundleJoinRaced(_) => "bundle.join_raced",
            CaseStoreError::Level(e) => e.code(),
            CaseStoreError::Quota { .. } => "case.upload_quota",
            CaseStoreError::Process(e) => e.code(),
            CaseStoreError::Workflow(e) => e.code(),
            CaseStoreError::NoProcess(_) => "case.no_process",
            CaseStoreError::License(e) => e.code(),
        }
    }
    fn kind(&self) -> yiwang_errors::ErrorKind {
        match self {
            CaseStoreError::Store(e) => e.kind(),
            CaseStoreError::Case(e) => e.kind(),
            CaseStoreError::Stale { .. } | CaseStoreError::SharedProvided(_) | CaseStoreError::CommitmentNotOffered(_) => {
                yiwang_errors::ErrorKind::Conflict
            }
            CaseStoreError::NoItem(_) | CaseStoreError::NoBundle(_) => yiwang_errors::ErrorKind::NotFound,
            CaseStoreError::MaterialsMissing(_)
            | CaseStoreError::BundleState(..)
            | CaseStoreError::KeyReused
            | CaseStoreError::BundleJoinRaced(_)
            | CaseStoreError::BundleNoDraft(_) => yiwang_errors::ErrorKind::Conflict,
            CaseStoreError::BundleSamePerson => yiwang_errors::ErrorKind::Forbidden,
            CaseStoreError::Level(e) => e.kind(),
            CaseStoreError::Process(e) => e.kind(),
            CaseStoreError::Workflow(e) => e.kind(),
            CaseStoreError::License(e) => e.kind(),
            _ => yiwang_errors::ErrorKind::Unprocessable,
        }
    }
    fn message_zh(&self) -> String {
        match self {
            CaseStoreError::Store(e) => e.message_zh(),
            CaseStoreError::Case(e) => e.message_zh(),
            CaseStoreError::Stale { .. } => "办件已被他人更新，请刷新后重试".into(),
            CaseStoreError::NoItem(code) => format!("事项 {code} 不存在或未发布，不能申请"),
            CaseStoreError::ApplicantType { natural: true } => "本事项面向法人或其他组织，请切换到您代理的企业后再申请".into(),
            CaseStoreError::ApplicantType { natural: false } => "本事项面向自然人，请以个人身份申请".into(),
            CaseStoreError::Form(p) => {
                let first = p.first().map(|p| p.message_zh.as_str()).unwrap_or_default();
                format!("申请表有 {} 处需要修改：{first}", p.len())
            }
            CaseStoreError::MaterialsMissing(m) => format!("以下必要材料尚未提供：{}", m.join("、")),
            CaseStoreError::NoSuchMaterial(m) => format!("本事项没有需要申请人提供的材料“{m}”"),
            CaseStoreError::CommitmentNotAllowed(m) => format!("“{m}”不适用告知承诺，须提交材料"),
            CaseStoreError::SharedProvided(m) => format!("“{m}”已通过数据共享获取，无需上传"),
            CaseStoreError::CommitmentNotOffered(m) => {
                format!("申请人存在失信记录或告知承诺不实记录，“{m}”不适用告知承诺，请提交材料")
            }
            CaseStoreError::FileType => "文件须为 PDF、PNG 或 JPEG 格式（按文件内容判断，而非文件名）".into(),
            CaseStoreError::FileSize(_) => "文件大小须在 1 字节至 10 MB 之间".into(),
            CaseStoreError::NoBundle(code) => format!("“一件事”{code} 不存在"),
            CaseStoreError::BundleInvalid(p) => {
                let first = p.first().map(|p| p.message_zh.as_str()).unwrap_or_default();
                format!("“一件事”的定义有 {} 处问题：{first}", p.len())
            }
            CaseStoreError::BundleState(_, what) => format!("“一件事”申请当前不能办理此操作（{what}）"),
            CaseStoreError::BundleNoDraft(code) => format!("“一件事”{code} 没有待发布的草稿"),
            CaseStoreError::BundleSamePerson => "“一件事”草稿须由起草人以外的审核人员发布（双人复核）".into(),
            CaseStoreError::KeyReused => "该幂等键（Idempotency-Key）已用于另一请求，请换用新的键".into(),
            CaseStoreError::BundleJoinRaced(_) => "同一“一件事”的另一办件刚刚办结，请重试".into(),
            CaseStoreError::Level(e) => e.message_zh(),
            CaseStoreError::Quota { quota, .. } => {
                format!("您的上传空间（{} MB）已用完：请撤下不需要的材料，或等办件办结后再上传", quota >> 20)
            }
            CaseStoreError::Process(e) => e.message_zh(),
            CaseStoreError::Workflow(e) => e.message_zh(),
            CaseStoreError::NoProcess(p) => format!("事项指定的办理流程 {p} 尚未部署，暂不能申请"),
            CaseStoreError::License(e) => format!("办结出证未能签发电子证照：{}", e.message_zh()),
        }
    }
    fn detail(&self) -> Option<Value> {
        match self {
            CaseStoreError::Form(p) => Some(json!({ "problems": p })),
            CaseStoreError::MaterialsMissing(m) => Some(json!({ "missing": m })),
            CaseStoreError::BundleInvalid(p) => Some(json!({ "problems": p })),
            CaseStoreError::License(e) => e.detail(),
            _ => None,
        }
    }
}

pub(crate) type CResult<T> = std::result::Result<T, CaseStoreError>;

/// Who applies: a person (111 居民身份证) or an enterprise (049 统一社会信用代码).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Applicant {
    pub id_type: String,
    pub id: String,
    pub name: String,
}

/// A material satisfied by reference instead of an upload (免提交).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct AttachedMaterial {
    pub material: String,
    /// `license`: an e-license the applicant holds.
    pub source: String,
    pub license_id: String,
    pub license_type: String,
}

/// A new application (a draft until it is submitted).
#[derive(Debug, Clone)]
pub struct NewCase {
    pub item_code: String,
    pub applicant: Applicant,
    pub account_id: String,
    pub form: Value,
    /// Taken at a comprehensive window of this hall (一窗受理); none: online.
    pub hall_id: Option<String>,
    /// The real-name level of whoever opens it (L3 for a window clerk, who sees
    /// the person): the item's 网上申请所需实名等级 is checked against it.
    pub level: yiwang_identity::RealNameLevel,
    /// Whether the opener reaches the data held under the applicant's ID
    /// (base data, licenses, previous applications): only then is the form
    /// filled from it and are held licenses attached.
    pub assured: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseRow {
    pub case_no: String,
    pub item_code: String,
    pub item_name: String,
    pub agency_uscc: String,
    pub applicant: Applicant,
    pub account_id: String,
    pub state: State,
    pub case: Case,
    pub form: Value,
    pub materials: Vec<AttachedMaterial>,
    /// The number of events recorded; a writer may require the version it read.
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    pub promised_due: Option<String>,
    pub legal_due: Option<String>,
    /// 申报来源: `online` or `window`.
    pub channel: String,
    /// The hall whose window took the application.
    pub hall_id: Option<String>,
    /// The 一件事 application this case is a child of.
    pub bundle_no: Option<String>,
    /// Opened by someone who reaches the applicant's held data (`NewCase::assured`).
    pub assured: bool,
    /// The item version the case was filed under: its form, materials, limits,
    /// process and result for the case's whole life.
    pub item_version: i64,
    /// The deployed process (id, version) that drives its handling; none for
    /// cases filed before processes drove them.
    pub process: Option<(String, i64)>,
    /// The process instance, from acceptance on.
    pub workflow_instance: Option<String>,
}

pub(crate) const CASE_COLUMNS: &str = "case_no, item_code, item_name, agency_uscc, applicant_id_type, applicant_id, applicant_name, account_id, \
     folded, form, materials, version, created_at, updated_at, promised_due, legal_due, channel, hall_id, bundle_no, assured, item_version, process_id, process_version, workflow_instance";

/// The applicant columns of a case or bundle-application row.
pub(crate) fn applicant_row(r: &crate::db::Row) -> Result<Applicant> {
    Ok(Applicant { id_type: r.try_get("applicant_id_type")?, id: r.try_get("applicant_id")?, name: r.try_get("applicant_name")? })
}

/// A stored case event (columns `at, actor, reason, event`).
pub(crate) fn envelope_row(r: &crate::db::Row) -> Result<Envelope> {
    let at: String = r.try_get("at")?;
    let event: String = r.try_get("event")?;
    Ok(Envelope {
        at: at.parse().map_err(|e| StoreError::Corrupt(format!("case event time: {e}")))?,
        actor: r.try_get("actor")?,
        reason: r.try_get("reason")?,
        event: serde_json::from_str(&event).map_err(|e| StoreError::Corrupt(format!("case event: {e}")))?,
    })
}

pub(crate) fn case_row(r: &crate::db::Row) -> Result<CaseRow> {
    let folded: String = r.try_get("folded")?;
    let form: String = r.try_get("form")?;
    let case: Case = serde_json::from_str(&folded).map_err(|e| StoreError::Corrupt(format!("case state: {e}")))?;
    Ok(CaseRow {
        case_no: r.try_get("case_no")?,
        item_code: r.try_get("item_code")?,
        item_name: r.try_get("item_name")?,
        agency_uscc: r.try_get("agency_uscc")?,
        applicant: applicant_row(r)?,
        account_id: r.try_get("account_id")?,
        state: case.state,
        case,
        form: serde_json::from_str(&form).map_err(|e| StoreError::Corrupt(format!("case form: {e}")))?,
        materials: serde_json::from_str(&r.try_get::<String, _>("materials")?)
            .map_err(|e| StoreError::Corrupt(format!("case materials: {e}")))?,
        version: r.try_get("version")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        promised_due: r.try_get("promised_due")?,
        legal_due: r.try_get("legal_due")?,
        channel: r.try_get("channel")?,
        hall_id: r.try_get("hall_id")?,
        bundle_no: r.try_get("bundle_no")?,
        assured: r.try_get::<i64, _>("assured")? != 0,
        item_version: r.try_get("item_version")?,
        process: match (r.try_get::<Option<String>, _>("process_id")?, r.try_get::<Option<i64>, _>("process_version")?) {
            (Some(id), Some(v)) => Some((id, v)),
            _ => None,
        },
        workflow_instance: r.try_get("workflow_instance")?,
    })
}

fn json_text(v: &impl Serialize) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// `$first, $first+1, …`: `n` placeholders for an `IN (…)` list.
pub(crate) fn in_list(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// A new case checked and ready to write (`Store::prepare_case`).
pub(crate) struct CaseDraft<'a> {
    pub(crate) new: &'a NewCase,
    pub(crate) item_name: String,
    pub(crate) item_version: i64,
    pub(crate) process: (String, i64),
    pub(crate) agency: String,
    pub(crate) form: Value,
    pub(crate) attached: Vec<AttachedMaterial>,
}

/// An 8-digit 查询码 from the OS generator.
pub(crate) fn query_code() -> String {
    use rand::Rng;
    format!("{:08}", rand::rng().random_range(0..100_000_000u32))
}

impl Store {
    /// Open a draft application for a published item. The materials the item
    /// accepts as an e-license are attached by reference when the applicant
    /// holds a valid one of that type (never uploaded again). Returns the case
    /// and its 查询码, which is shown once (only its hash is kept).
    pub async fn create_case(&self, new: &NewCase, now: Timestamp) -> CResult<(CaseRow, String)> {
        let draft = self.prepare_case(new, now).await?;
        let code = query_code();
        let mut tx = self.begin().await?;
        let case_no = tx.next_case_no(&draft.agency, now).await?;
        let row = tx.insert_case(&draft, &case_no, &yiwang_identity::token_hash(&code), now, None).await?;
        tx.commit().await?;
        Ok((row, code))
    }

    /// Everything a new case needs before it is written: the published item
    /// (serving this kind of applicant), the filled and checked form, and the
    /// e-licenses attached by reference.
    pub(crate) async fn prepare_case<'a>(&self, new: &'a NewCase, now: Timestamp) -> CResult<CaseDraft<'a>> {
        let item = self.published_item(&new.item_code).await?.ok_or_else(|| CaseStoreError::NoItem(new.item_code.clone()))?;
        self.draft_of(&item.doc, item.version, new, now).await
    }

    /// `prepare_case` for an item the caller has already read.
    pub(crate) async fn draft_of<'a>(
        &self,
        doc: &yiwang_catalog::ItemDoc,
        item_version: i64,
        new: &'a NewCase,
        now: Timestamp,
    ) -> CResult<CaseDraft<'a>> {
        let natural = new.applicant.id_type == "111";
        if (natural && !doc.for_natural_persons()) || (!natural && !doc.for_legal_persons()) {
            return Err(CaseStoreError::ApplicantType { natural });
        }
        // 网上申请所需实名等级: the item's floor for whoever opens the application.
        if new.level.as_u8() < doc.min_real_name_level {
            return Err(CaseStoreError::Level(yiwang_identity::IdentityError::LevelTooLow {
                required: doc.min_real_name_level,
                have: new.level.as_u8(),
            }));
        }
        let ctx = crate::FormContext { applicant: &new.applicant, account_id: &new.account_id, case_no: None, assured: new.assured };
        let form = self.checked_form(doc, &new.form, ctx, false, now).await?;
        let holder = (new.applicant.id_type.as_str(), new.applicant.id.as_str());
        // Held licenses are attached only for an opener who reaches them.
        let materials = if new.assured { self.license_materials_of(doc, holder, china_today(now)).await? } else { Vec::new() };
        let attached: Vec<AttachedMaterial> = materials
            .into_iter()
            .filter_map(|m| {
                m.license.map(|l| AttachedMaterial {
                    material: m.material,
                    source: "license".into(),
                    license_id: l.id,
                    license_type: m.license_type,
                })
            })
            .collect();
        let process = self.pinned_process(doc).await?;
        Ok(CaseDraft { new, item_name: doc.name.clone(), item_version, process, agency: doc.agency.uscc.clone(), form, attached })
    }

    /// The process a new case of this item version runs, pinned to a deployed
    /// version: the item's, or the node's default; without a version, the
    /// latest deployed now.
    pub(crate) async fn pinned_process(&self, doc: &yiwang_catalog::ItemDoc) -> CResult<(String, i64)> {
        let id = doc.workflow.as_ref().map_or(crate::DEFAULT_PROCESS_ID, |w| w.id.as_str());
        let version = self.deployed_process_version(id, doc.workflow.as_ref().and_then(|w| w.version)).await?;
        let named = || doc.workflow.as_ref().and_then(|w| w.version).map_or_else(|| id.to_string(), |v| format!("{id} v{v}"));
        Ok((id.to_string(), version.ok_or_else(|| CaseStoreError::NoProcess(named()))?))
    }

    pub async fn case(&self, case_no: &str) -> Result<CaseRow> {
        let row = crate::db::query(safe(format!("SELECT {CASE_COLUMNS} FROM cases WHERE case_no = $1")))
            .bind(case_no)
            .fetch_optional(self.read())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("case {case_no}")))?;
        case_row(&row)
    }

    /// Record one event: apply it to the case's state and write both, or
    /// nothing. With `expected_version`, a case changed since the caller read
    /// it is refused as stale.
    pub async fn record_case_event(
        &self,
        case_no: &str,
        event: &Envelope,
        expected_version: Option<i64>,
        calendar: &Calendar,
    ) -> CResult<CaseRow> {
        let mut tx = self.begin().await?;
        let current = tx.case_for_update(case_no).await?;
        let row = tx.write_case_event(current, event, expected_version, calendar, None).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// A case's events in order.
    pub async fn case_events(&self, case_no: &str) -> Result<Vec<Envelope>> {
        let rows = crate::db::query("SELECT at, actor, reason, event FROM case_events WHERE case_no = $1 ORDER BY seq")
            .bind(case_no)
            .fetch_all(self.read())
            .await?;
        rows.iter().map(envelope_row).collect()
    }

    /// A page of the cases active in a period (changed at or after `since`,
    /// opened at or before `until`), by case number after `after`, with their
    /// events: the history a supervision replay reads.
    pub async fn cases_active_between(&self, since: &str, until: &str, after: &str, limit: i64) -> Result<Vec<(CaseRow, Vec<Envelope>)>> {
        let rows = crate::db::query(safe(format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE updated_at >= $1 AND created_at <= $2 AND case_no > $3 ORDER BY case_no LIMIT $4"
        )))
        .bind(since)
        .bind(until)
        .bind(after)
        .bind(limit.clamp(1, 10_000))
        .fetch_all(self.read())
        .await?;
        let cases = rows.iter().map(case_row).collect::<Result<Vec<_>>>()?;
        self.with_events(cases, self.read()).await
    }

    /// Cases with their events in order, every case's events read in one statement.
    pub(crate) async fn with_events(&self, cases: Vec<CaseRow>, on: crate::db::On<'_>) -> Result<Vec<(CaseRow, Vec<Envelope>)>> {
        if cases.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = (1..=cases.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT case_no, at, actor, reason, event FROM case_events WHERE case_no IN ({}) ORDER BY case_no, seq",
            marks.join(", ")
        );
        let mut q = crate::db::query(safe(sql));
        for c in &cases {
            q = q.bind(&c.case_no);
        }
        let mut events: std::collections::HashMap<String, Vec<Envelope>> = std::collections::HashMap::new();
        for r in &q.fetch_all(on).await? {
            events.entry(r.try_get("case_no")?).or_default().push(envelope_row(r)?);
        }
        Ok(cases
            .into_iter()
            .map(|c| {
                let e = events.remove(&c.case_no).unwrap_or_default();
                (c, e)
            })
            .collect())
    }

    /// An applicant's cases, newest application first; with `opened_by`, only
    /// those that account opened itself online (what a caller below the
    /// personal-data level may see of an ID).
    pub async fn cases_of(&self, id_type: &str, id: &str, opened_by: Option<&str>, limit: i64) -> Result<Vec<CaseRow>> {
        // Opened by the account itself: online (a window case filed under the account was opened by a clerk).
        let by = if opened_by.is_some() { " AND account_id = $4 AND channel = 'online'" } else { "" };
        let rows = crate::db::query(safe(format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE applicant_id_type = $1 AND applicant_id = $2{by} ORDER BY created_at DESC, case_no DESC LIMIT $3"
        )))
        .bind(id_type)
        .bind(id)
        .bind(limit)
        .bind(opened_by.unwrap_or_default())
        .fetch_all(self.read())
        .await?;
        rows.iter().map(case_row).collect()
    }

    /// The cases of some agencies (a workbench's inbox), optionally in one
    /// state, most recently changed first, `limit` at a time. `after` is the
    /// last row of the previous page (keyset paging on `(updated_at, case_no)`).
    pub async fn agency_cases(
        &self,
        agencies: &[&str],
        state: Option<State>,
        after: Option<(&str, &str)>,
        limit: i64,
    ) -> Result<Vec<CaseRow>> {
        self.agency_cases_claimed(agencies, state, Claim::Any, after, limit).await
    }

    /// `agency_cases`, also by claim (认领): anyone's, one person's, or unclaimed.
    pub async fn agency_cases_claimed(
        &self,
        agencies: &[&str],
        state: Option<State>,
        claim: Claim<'_>,
        after: Option<(&str, &str)>,
        limit: i64,
    ) -> Result<Vec<CaseRow>> {
        if agencies.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE agency_uscc IN ({})", in_list(1, agencies.len()));
        let mut n = agencies.len();
        if state.is_some() {
            n += 1;
            sql.push_str(&format!(" AND state = ${n}"));
        }
        match claim {
            Claim::Any => {}
            Claim::Unclaimed => sql.push_str(" AND claimed_by IS NULL"),
            Claim::By(_) => {
                n += 1;
                sql.push_str(&format!(" AND claimed_by = ${n}"));
            }
        }
        if after.is_some() {
            sql.push_str(&format!(" AND (updated_at < ${} OR (updated_at = ${} AND case_no < ${}))", n + 1, n + 1, n + 2));
            n += 2;
        }
        sql.push_str(&format!(" ORDER BY updated_at DESC, case_no DESC LIMIT ${}", n + 1));
        let mut q = crate::db::query(safe(sql));
        for a in agencies {
            q = q.bind(a.to_string());
        }
        if let Some(s) = state {
            q = q.bind(s.code());
        }
        if let Claim::By(who) = claim {
            q = q.bind(who.to_string());
        }
        if let Some((updated, no)) = after {
            q = q.bind(updated.to_string()).bind(no.to_string());
        }
        let rows = q.bind(limit).fetch_all(self.read()).await?;
        rows.iter().map(case_row).collect()
    }

    /// The countersignatures some agencies are asked for and have not given:
    /// (case number, step, agency), oldest request first.
    pub async fn awaited_countersigns(&self, agencies: &[&str], limit: i64) -> Result<Vec<(String, String, String)>> {
        if agencies.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT case_no, step, agency_uscc FROM case_countersigns WHERE agency_uscc IN ({}) AND signed_at IS NULL \
             ORDER BY requested_at, case_no LIMIT ${}",
            in_list(1, agencies.len()),
            agencies.len() + 1
        );
        let mut q = crate::db::query(safe(sql));
        for a in agencies {
            q = q.bind(a.to_string());
        }
        let rows = q.bind(limit).fetch_all(self.read()).await?;
        rows.iter().map(|r| Ok((r.try_get("case_no")?, r.try_get("step")?, r.try_get("agency_uscc")?))).collect()
    }

    /// After a bulk load: refresh the planner's statistics (and on PostgreSQL
    /// the visibility map, so counts can use index-only scans), as an operator
    /// does after an import.
    pub async fn after_bulk_load(&self) -> Result<()> {
        let sql = if self.backend() == crate::Backend::Postgres { "VACUUM (ANALYZE) cases" } else { "ANALYZE cases" };
        sqlx::raw_sql(sql).execute(&self.pool).await?;
        Ok(())
    }

    /// How many cases some agencies have (in one state).
    pub async fn count_agency_cases(&self, agencies: &[&str], state: Option<State>) -> Result<i64> {
        if agencies.is_empty() {
            return Ok(0);
        }
        // The counters the triggers keep (migration 13), not the rows.
        let mut sql = format!(
            "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n FROM case_counts WHERE agency_uscc IN ({})",
            in_list(1, agencies.len())
        );
        if state.is_some() {
            sql.push_str(&format!(" AND state = ${}", agencies.len() + 1));
        }
        let mut q = crate::db::query(safe(sql));
        for a in agencies {
            q = q.bind(a.to_string());
        }
        if let Some(s) = state {
            q = q.bind(s.code());
        }
        Ok(q.fetch_one(self.read()).await?.try_get("n")?)
    }

    /// Check a 查询码 against a case, in one read: the case number is unknown,
    /// or the code is wrong, or it is right and here is the case.
    pub async fn case_by_query_code(&self, case_no: &str, code: &str) -> Result<QueryCodeMatch> {
        let row = crate::db::query(safe(format!("SELECT {CASE_COLUMNS}, query_code_hash FROM cases WHERE case_no = $1")))
            .bind(case_no.trim())
            .fetch_optional(self.read())
            .await?;
        let Some(row) = row else { return Ok(QueryCodeMatch::UnknownCase) };
        let hash: String = row.try_get("query_code_hash")?;
        let given = yiwang_identity::token_hash(code.trim());
        if !yiwang_identity::ct_eq(hash.as_bytes(), given.as_bytes()) {
            return Ok(QueryCodeMatch::WrongCode);
        }
        Ok(QueryCodeMatch::Case(Box::new(case_row(&row)?)))
    }
}

/// Which cases a list wants by claim (认领).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim<'a> {
    Any,
    Unclaimed,
    By(&'a str),
}

/// A case written whole by a bulk load (the synthetic-data generator): its
/// state as its events made it, without the event rows.
#[derive(Debug, Clone)]
pub struct LoadedCase {
    pub case_no: String,
    pub item_code: String,
    pub item_name: String,
    pub agency_uscc: String,
    pub applicant: Applicant,
    pub account_id: String,
    pub query_code: String,
    pub case: Case,
    pub form: Value,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub promised_due: Option<String>,
    pub legal_due: Option<String>,
    pub channel: String,
    pub hall_id: Option<String>,
    pub item_version: i64,
}

impl crate::Tx {
    /// Move an agency's daily case-number counter to at least `seq`, so new
    /// cases do not take a loaded case's number.
    pub async fn reserve_case_numbers(&mut self, agency: &str, day: &str, seq: i64) -> Result<()> {
        crate::db::query(
            "INSERT INTO case_numbers (agency_uscc, day, next_seq) VALUES ($1, $2, $3) ON CONFLICT (agency_uscc, day) \
             DO UPDATE SET next_seq = CASE WHEN case_numbers.next_seq > excluded.next_seq THEN case_numbers.next_seq ELSE excluded.next_seq END",
        )
        .bind(agency)
        .bind(day)
        .bind(seq)
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    /// Insert cases in multi-row statements (400 rows each). The caller
    /// reserves their numbers (`reserve_case_numbers`).
    pub async fn load_cases(&mut self, cases: &[LoadedCase]) -> Result<()> {
        const COLS: usize = 20;
        for chunk in cases.chunks(400) {
            let mut sql = String::from(
                "INSERT INTO cases (case_no, item_code, item_name, agency_uscc, applicant_id_type, applicant_id, applicant_name, \
                 account_id, query_code_hash, state, folded, form, materials, version, created_at, updated_at, accepted_on, \
                 promised_due, legal_due, channel, hall_id, item_version) VALUES ",
            );
            for i in 0..chunk.len() {
                let b = i * COLS;
                sql.push_str(if i == 0 { "(" } else { ", (" });
                for c in 1..=COLS {
                    // `materials` and `version` are constants between columns 12 and 13.
                    if c == 13 {
                        sql.push_str("'[]', 0, ");
                    }
                    sql.push_str(&format!("${}{}", b + c, if c == COLS { ")" } else { ", " }));
                }
            }
            let mut q = crate::db::query(safe(sql));
            for c in chunk {
                q = q
                    .bind(&c.case_no)
                    .bind(&c.item_code)
                    .bind(&c.item_name)
                    .bind(&c.agency_uscc)
                    .bind(&c.applicant.id_type)
                    .bind(&c.applicant.id)
                    .bind(&c.applicant.name)
                    .bind(&c.account_id)
                    .bind(yiwang_identity::token_hash(&c.query_code))
                    .bind(c.case.state.code())
                    .bind(json_text(&c.case)?)
                    .bind(json_text(&c.form)?)
                    .bind(ts(c.created_at))
                    .bind(ts(c.updated_at))
                    .bind(c.case.accepted_on.map(|d| d.to_string()))
                    .bind(&c.promised_due)
                    .bind(&c.legal_due)
                    .bind(&c.channel)
                    .bind(&c.hall_id)
                    .bind(c.item_version);
            }
            q.execute(&mut *self).await?;
        }
        Ok(())
    }
}

/// The outcome of checking a 查询码.
#[derive(Debug)]
pub enum QueryCodeMatch {
    UnknownCase,
    WrongCode,
    Case(Box<CaseRow>),
}

/// What the public progress query may show: no applicant data.
pub fn public_progress(c: &CaseRow) -> Value {
    json!({
        "case_no": c.case_no, "item_name": c.item_name, "state": c.state.code(), "state_zh": c.state.name_zh(),
        "updated_at": c.updated_at, "promised_due": c.promised_due,
    })
}

impl crate::Tx {
    /// The case, locked for this transaction (row lock on PostgreSQL; SQLite's
    /// `BEGIN IMMEDIATE` already serialises writers).
    /// The next 办件编号 of `agency` today: its USCC, the date, a 6-digit
    /// daily sequence.
    pub(crate) async fn next_case_no(&mut self, agency: &str, now: Timestamp) -> Result<String> {
        let day = china_today(now).strftime("%Y%m%d").to_string();
        crate::db::query(
            "INSERT INTO case_numbers (agency_uscc, day, next_seq) VALUES ($1, $2, 0) ON CONFLICT (agency_uscc, day) DO NOTHING",
        )
        .bind(agency)
        .bind(&day)
        .execute(&mut *self)
        .await?;
        let seq: i64 =
            crate::db::query("UPDATE case_numbers SET next_seq = next_seq + 1 WHERE agency_uscc = $1 AND day = $2 RETURNING next_seq")
                .bind(agency)
                .bind(&day)
                .fetch_one(&mut *self)
                .await?
                .try_get("next_seq")?;
        Ok(format!("{agency}{day}{seq:06}"))
    }

    /// Write a new draft case (a child of a bundle application when `bundle_no` is given).
    pub(crate) async fn insert_case(
        &mut self,
        d: &CaseDraft<'_>,
        case_no: &str,
        query_code_hash: &str,
        now: Timestamp,
        bundle_no: Option<&str>,
    ) -> Result<CaseRow> {
        let case = Case::default();
        let at = ts(now);
        let channel = if d.new.hall_id.is_some() { "window" } else { "online" };
        crate::db::query(
            "INSERT INTO cases (case_no, item_code, item_name, agency_uscc, applicant_id_type, applicant_id, applicant_name, account_id, \
             query_code_hash, state, folded, form, materials, version, created_at, updated_at, channel, hall_id, bundle_no, assured, item_version, \
             process_id, process_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 0, $14, $14, $15, $16, $17, $18, $19, $20, $21)",
        )
        .bind(case_no)
        .bind(&d.new.item_code)
        .bind(&d.item_name)
        .bind(&d.agency)
        .bind(&d.new.applicant.id_type)
        .bind(&d.new.applicant.id)
        .bind(&d.new.applicant.name)
        .bind(&d.new.account_id)
        .bind(query_code_hash)
        .bind(case.state.code())
        .bind(json_text(&case)?)
        .bind(json_text(&d.form)?)
        .bind(json_text(&d.attached)?)
        .bind(&at)
        .bind(channel)
        .bind(&d.new.hall_id)
        .bind(bundle_no)
        .bind(i64::from(d.new.assured))
        .bind(d.item_version)
        .bind(&d.process.0)
        .bind(d.process.1)
        .execute(&mut *self)
        .await?;
        // What was written, without reading it back.
        Ok(CaseRow {
            case_no: case_no.to_string(),
            item_code: d.new.item_code.clone(),
            item_name: d.item_name.clone(),
            agency_uscc: d.agency.clone(),
            applicant: d.new.applicant.clone(),
            account_id: d.new.account_id.clone(),
            state: case.state,
            case,
            form: d.form.clone(),
            materials: d.attached.clone(),
            version: 0,
            created_at: at.clone(),
            updated_at: at,
            promised_due: None,
            legal_due: None,
            channel: channel.to_string(),
            hall_id: d.new.hall_id.clone(),
            bundle_no: bundle_no.map(str::to_string),
            assured: d.new.assured,
            item_version: d.item_version,
            process: Some(d.process.clone()),
            workflow_instance: None,
        })
    }

    /// The case, locked for this transaction. On SQLite (one writer) its
    /// process instance comes in the same statement and is kept for the
    /// event's step; PostgreSQL locks the instance itself when it steps it.
    pub(crate) async fn case_for_update(&mut self, case_no: &str) -> Result<CaseRow> {
        static SQLITE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            let columns = CASE_COLUMNS.split(", ").map(|c| format!("c.{}", c.trim())).collect::<Vec<_>>().join(", ");
            format!(
                "SELECT {columns}, {} FROM cases c LEFT JOIN workflow_instances wi ON wi.id = c.workflow_instance WHERE c.case_no = $1",
                crate::workflow::joined_instance_columns()
            )
        });
        static POSTGRES: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| format!("SELECT {CASE_COLUMNS} FROM cases WHERE case_no = $1 FOR UPDATE"));
        let postgres = self.is_postgres();
        let sql = if postgres { POSTGRES.as_str() } else { SQLITE.as_str() };
        let row = crate::db::query(sql)
            .bind(case_no)
            .fetch_optional(&mut *self)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("case {case_no}")))?;
        self.read_instance = if postgres { None } else { crate::workflow::InstanceRow::joined(&row)? };
        case_row(&row)
    }

    /// Apply one event to `current` (read in this transaction) and write the
    /// event and the new state, and the form when it changes. Accepting a case
    /// with commitments opens their verification tasks; a finding closes one.
    /// The case's process, in the event's transaction: acceptance starts it
    /// (returning the new instance's id); steps, the decision and 办结 must
    /// follow it, and passing or returning a step completes its task.
    async fn drive_process(
        &mut self,
        current: &CaseRow,
        event: &Envelope,
        calendar: &Calendar,
        form: Option<&Value>,
    ) -> CResult<Option<String>> {
        let Some((process_id, version)) = &current.process else { return Ok(None) };
        let env = yiwang_workflow::engine::CalendarEnv(calendar);
        match &current.workflow_instance {
            None if matches!(event.event, yiwang_case::Event::Accepted { .. }) => {
                let def = self.definition(process_id, *version).await?;
                let about = serde_json::json!({
                    "case_no": current.case_no, "item_code": current.item_code, "item_version": current.item_version,
                    "applicant_type": current.applicant.id_type, "channel": current.channel,
                });
                let data = yiwang_case::process::start_data(form.unwrap_or(&current.form), about);
                let (id, _) = self.start_instance(&def, *version, Some(&current.case_no), data, event.at, &env).await?;
                Ok(Some(id))
            }
            // 办结 only asks whether the process has ended; a running one takes
            // the full path below, for the refusal naming its open steps.
            Some(id) if matches!(event.event, yiwang_case::Event::Concluded { .. }) && !self.instance_running(id).await? => Ok(None),
            Some(id) if yiwang_case::process::governs(&event.event) => {
                let (stored, def) = self.instance_for_update(id).await?;
                use yiwang_case::process::Drive;
                use yiwang_workflow::engine::Input;
                let input = match yiwang_case::process::drive(&def, &stored.state, &event.event)? {
                    Drive::Complete { wait, data } => Some(Input::CompleteTask { wait, data }),
                    Drive::Terminate => Some(Input::Terminate),
                    Drive::PauseTimers => Some(Input::PauseTimers),
                    Drive::ResumeTimers => Some(Input::ResumeTimers),
                    Drive::Message { name, data } => Some(Input::Message { name, data }),
                    Drive::Nothing => None,
                };
                if let Some(input) = input {
                    self.step_instance(&stored, &def, input, &event.actor, event.at, &env).await?;
                }
                Ok(None)
            }
            _ => Ok(None),
        }
    }

    pub(crate) async fn write_case_event(
        &mut self,
        current: CaseRow,
        event: &Envelope,
        expected_version: Option<i64>,
        calendar: &Calendar,
        form: Option<&Value>,
    ) -> CResult<CaseRow> {
        let case_no = current.case_no.clone();
        if let Some(expected) = expected_version
            && expected != current.version
        {
            return Err(CaseStoreError::Stale { case_no, expected, actual: current.version });
        }
        let next = current.case.apply(event)?;
        let deadlines = next.deadlines(calendar, china_today(event.at))?;
        let started = self.drive_process(&current, event, calendar, form).await?;
        let seq = current.version + 1;
        crate::db::query("INSERT INTO case_events (case_no, seq, at, actor, reason, kind, event) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&case_no)
            .bind(seq)
            .bind(ts(event.at))
            .bind(&event.actor)
            .bind(event.reason.trim())
            .bind(event.event.name())
            .bind(json_text(&event.event)?)
            .execute(&mut *self)
            .await
            .map_err(StoreError::from)?;
        let form_text = form.map(json_text).transpose()?;
        // The same round trip tells whether the agency has webhooks and whether
        // records go to the parent node, so the common case costs no extra query.
        let returned = crate::db::query(
            "UPDATE cases SET state = $1, folded = $2, version = $3, updated_at = $4, accepted_on = $5, promised_due = $6, legal_due = $7, \
             form = COALESCE($8, form), claimed_by = $9, workflow_instance = COALESCE($10, workflow_instance), supervise_pending = 1 \
             WHERE case_no = $11 \
             RETURNING (SELECT COUNT(*) FROM webhooks w WHERE w.agency_uscc = cases.agency_uscc AND w.active = 1) AS hooks, \
             (SELECT enabled FROM upward_aggregation WHERE id = 1) AS upward",
        )
        .bind(next.state.code())
        .bind(json_text(&next)?)
        .bind(seq)
        .bind(ts(event.at))
        .bind(next.accepted_on.map(|d| d.to_string()))
        .bind(deadlines.map(|d| d.promised_due.to_string()))
        .bind(deadlines.map(|d| d.legal_due.to_string()))
        .bind(form_text)
        .bind(&next.claimed_by)
        .bind(&started)
        .bind(&case_no)
        .fetch_one(&mut *self)
        .await
        .map_err(StoreError::from)?;
        let hooks: i64 = returned.try_get("hooks").map_err(StoreError::from)?;
        let upward = returned.try_get::<Option<i64>, _>("upward").map_err(StoreError::from)?.unwrap_or(0) == 1;
        if hooks > 0 || upward {
            let due = (deadlines.map(|d| d.promised_due.to_string()), deadlines.map(|d| d.legal_due.to_string()));
            if hooks > 0 {
                self.enqueue_webhooks(&current, &next, due.clone(), event, seq).await?;
            }
            if upward {
                self.queue_case_record(&current, &next, due, event, seq).await?;
            }
        }
        if let Some(bundle_no) = &current.bundle_no
            && next.state.is_over()
        {
            self.join_bundle(bundle_no, event.at).await?;
        }
        // Which case holds which file: a file no case holds any more is deleted.
        match &event.event {
            yiwang_case::Event::MaterialUploaded { material, file } => {
                crate::db::query(
                    "INSERT INTO blob_refs (case_no, material, digest, account_id, size, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (case_no, material, digest) DO NOTHING",
                )
                .bind(&case_no)
                .bind(material)
                .bind(&file.digest)
                .bind(&current.account_id)
                .bind(i64::try_from(file.size).unwrap_or(i64::MAX))
                .bind(ts(event.at))
                .execute(&mut *self)
                .await
                .map_err(StoreError::from)?;
            }
            yiwang_case::Event::MaterialRemoved { material, digest } => {
                crate::db::query("DELETE FROM blob_refs WHERE case_no = $1 AND material = $2 AND digest = $3")
                    .bind(&case_no)
                    .bind(material)
                    .bind(digest)
                    .execute(&mut *self)
                    .await
                    .map_err(StoreError::from)?;
                crate::db::query("DELETE FROM blobs WHERE digest = $1 AND NOT EXISTS (SELECT 1 FROM blob_refs r WHERE r.digest = $1)")
                    .bind(digest)
                    .execute(&mut *self)
                    .await
                    .map_err(StoreError::from)?;
            }
            _ => {}
        }
        match &event.event {
            yiwang_case::Event::Accepted { .. } => {
                let due = deadlines.and_then(|d| d.check_due).map(|d| d.to_string());
                for c in next.commitments.iter().filter(|_| due.is_some()) {
                    crate::db::query("INSERT INTO commitment_checks (case_no, material, agency_uscc, due) VALUES ($1, $2, $3, $4)")
                        .bind(&case_no)
                        .bind(&c.material)
                        .bind(&current.agency_uscc)
                        .bind(&due)
                        .execute(&mut *self)
                        .await
                        .map_err(StoreError::from)?;
                }
            }
            yiwang_case::Event::CountersignRequested { step, .. } => {
                let asked: Vec<&str> = next
                    .steps
                    .iter()
                    .rev()
                    .find(|s| &s.step == step && s.action.is_none())
                    .map(|s| s.countersigns.iter().filter(|c| c.agree.is_none()).map(|c| c.agency.as_str()).collect())
                    .unwrap_or_default();
                for agency in asked {
                    crate::db::query(
                        "INSERT INTO case_countersigns (case_no, step, agency_uscc, requested_at) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (case_no, step, agency_uscc) DO NOTHING",
                    )
                    .bind(&case_no)
                    .bind(step)
                    .bind(agency)
                    .bind(ts(event.at))
                    .execute(&mut *self)
                    .await
                    .map_err(StoreError::from)?;
                }
            }
            yiwang_case::Event::Countersigned { step, agency, .. } => {
                crate::db::query("UPDATE case_countersigns SET signed_at = $1 WHERE case_no = $2 AND step = $3 AND agency_uscc = $4")
                    .bind(ts(event.at))
                    .bind(&case_no)
                    .bind(step)
                    .bind(agency)
                    .execute(&mut *self)
                    .await
                    .map_err(StoreError::from)?;
            }
            yiwang_case::Event::CommitmentChecked { material, truthful } => {
                crate::db::query("UPDATE commitment_checks SET truthful = $1, checked_at = $2 WHERE case_no = $3 AND material = $4")
                    .bind(i64::from(*truthful))
                    .bind(ts(event.at))
                    .bind(&case_no)
                    .bind(material)
                    .execute(&mut *self)
                    .await
                    .map_err(StoreError::from)?;
                // 告知承诺不实: a credit record, in the finding's transaction.
                if !truthful {
                    let until = china_today(event.at).checked_add(jiff::Span::new().years(crate::credit::VIOLATION_YEARS)).ok();
                    let record = crate::CreditRecord {
                        subject_type: current.applicant.id_type.clone(),
                        subject_id: current.applicant.id.clone(),
                        kind: crate::COMMITMENT_VIOLATION.into(),
                        source: current.agency_uscc.clone(),
                        case_no: Some(case_no.clone()),
                        reason: format!("“{material}”告知承诺核查不实：{}", event.reason.trim()),
                        until_on: until.map(|d| d.to_string()),
                    };
                    self.record_credit(&record, event.at).await?;
                }
            }
            _ => {}
        }
        self.notify_case(&current, &next, event).await?;
        // What was written, without reading it back.
        let form_value = form.cloned().unwrap_or_else(|| current.form.clone());
        Ok(CaseRow {
            state: next.state,
            version: seq,
            updated_at: ts(event.at),
            promised_due: deadlines.map(|d| d.promised_due.to_string()),
            legal_due: deadlines.map(|d| d.legal_due.to_string()),
            case: next,
            form: form_value,
            workflow_instance: started.or(current.workflow_instance.clone()),
            ..current
        })
    }
}
