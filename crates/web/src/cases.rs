//! The case API (办件), first part: an applicant opens, submits and withdraws
//! an application and follows it; agency staff move it through acceptance and
//! handling with typed events, each checked by the case state machine and by
//! the caller's role; anyone can follow a case's progress with its number and
//! 查询码. Citizens see only their own cases, staff only their agencies'.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use yiwang_case::Event;
use yiwang_identity::{Principal, Role};
use yiwang_store::{Applicant, CaseRow, NewCase};

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, WebError, forbidden, json_body};

/// The staff who may see an agency's cases.
pub const CASE_STAFF: &[Role] = &[Role::WindowClerk, Role::Reviewer, Role::DepartmentHead, Role::Supervisor];
/// Staff who handle a case (a supervisor reads, and does not act).
pub const CASE_HANDLERS: &[Role] = &[Role::WindowClerk, Role::Reviewer, Role::DepartmentHead];

/// The staff who see and close 告知承诺 verification tasks.
pub const CHECK_STAFF: &[Role] = &[Role::Reviewer, Role::DepartmentHead, Role::Supervisor];

pub(crate) fn not_found() -> ApiError {
    ApiError::new(&WebError::NotFound("办件".into()))
}

/// Whether the caller is the case's applicant as far as they may see: the ID
/// they gave (or the enterprise they act for) is the applicant's, and they
/// either reach held data (`Principal::assured`) or opened this application
/// themselves, online. A case a clerk (or anyone else) opened for an ID shows
/// only to an account of that ID at the personal-data level, even when the
/// clerk filed it under that account.
pub(crate) fn is_applicant(p: &Principal, c: &CaseRow) -> bool {
    let (id_type, id, _) = crate::wallet::holder_of(p);
    c.applicant.id_type == id_type
        && yiwang_identity::ct_eq(c.applicant.id.as_bytes(), id.as_bytes())
        && (p.assured || (c.channel == "online" && c.account_id == p.account_id))
}

/// `Some(account)` when the caller sees only what they opened themselves.
pub(crate) fn opened_by(p: &Principal) -> Option<&str> {
    (!p.assured).then_some(p.account_id.as_str())
}

/// The case if the caller may see it: its applicant, or staff of its agency.
pub(crate) async fn visible_case(state: &AppState, p: &Principal, case_no: &str) -> Result<CaseRow, ApiError> {
    let c = match state.store().case(case_no).await {
        Ok(c) => c,
        Err(yiwang_store::StoreError::NotFound(_)) => return Err(not_found()),
        Err(e) => return Err(e.into()),
    };
    // Staff of an agency asked to countersign a step see the case too (会签).
    let countersigner = c.case.countersign_agencies().any(|a| p.has_role_in(a, CASE_STAFF));
    // An administrator reads an agency's cases only through a live support grant.
    let support = p.supports(&c.agency_uscc);
    if is_applicant(p, &c) || p.has_role_in(&c.agency_uscc, CASE_STAFF) || countersigner || support || supervises(state, p, &c).await? {
        Ok(c)
    } else {
        Err(not_found())
    }
}

/// Whether the caller is a supervisor whose region takes in the case's
/// agency (电子监察 reads the cases it supervises; it records nothing on them).
pub(crate) async fn supervises(state: &AppState, p: &Principal, c: &CaseRow) -> Result<bool, ApiError> {
    if p.agencies_with(&[Role::Supervisor]).is_empty() {
        return Ok(false);
    }
    Ok(crate::supervision_orders::Scope::of(state.store(), p).await?.supervises(&c.agency_uscc))
}

pub(crate) fn view(c: &CaseRow) -> Value {
    json!({
        "case_no": c.case_no, "item_code": c.item_code, "item_version": c.item_version, "item_name": c.item_name, "agency_uscc": c.agency_uscc,
        "state": c.state.code(), "state_zh": c.state.name_zh(), "version": c.version, "form": c.form, "materials": c.materials,
        "correction_items": c.case.correction_items, "pending": c.case.pending, "steps": c.case.steps,
        "special_procedures": c.case.specials, "decision": c.case.decision,
        "uploads": c.case.uploads, "commitments": c.case.commitments, "shared": c.case.shared,
        "accepted_on": c.case.accepted_on, "promised_due": c.promised_due, "legal_due": c.legal_due,
        "bundle_no": c.bundle_no, "created_at": c.created_at, "updated_at": c.updated_at,
    })
}

pub(crate) async fn record(
    state: &AppState,
    case_no: &str,
    envelope: yiwang_case::Envelope,
    expected: Option<i64>,
) -> Result<CaseRow, ApiError> {
    let calendar = state.store().load_calendar().await?;
    if matches!(envelope.event, Event::Concluded { .. }) {
        // 办结出证: the item version's license is issued in the conclusion's transaction.
        let master = state.master_key().ok();
        return Ok(state.store().conclude_case(case_no, &envelope, expected, &calendar, master).await?.0);
    }
    Ok(state.store().record_case_event(case_no, &envelope, expected, &calendar).await?)
}

#[derive(Debug, Deserialize)]
pub struct ApplyBody {
    pub item_code: String,
    #[serde(default)]
    pub form: Value,
}

/// The largest application form accepted (its JSON text).
const MAX_FORM_BYTES: usize = 256 * 1024;

/// A request body that carries an application form: bounded, then parsed.
pub(crate) fn form_request<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, ApiError> {
    if body.len() > MAX_FORM_BYTES {
        return Err(WebError::BadParam {
            name: "form",
            detail: format!("申请表过大（上限 {} KB）/ the form is too large", MAX_FORM_BYTES / 1024),
        }
        .into());
    }
    json_body(body)
}

fn not_a_form_object() -> ApiError {
    WebError::BadParam { name: "form", detail: "申请表须为 JSON 对象 / the form must be a JSON object".into() }.into()
}

/// A new application's form: an object, or nothing (an empty form).
pub(crate) fn new_form(form: Value) -> Result<Value, ApiError> {
    match form {
        Value::Null => Ok(json!({})),
        Value::Object(o) => Ok(Value::Object(o)),
        _ => Err(not_a_form_object()),
    }
}

/// `POST /api/v1/cases`: open an application (a draft) for a published item,
/// as the caller or the enterprise they act for. 201 with the case number and
/// the 查询码 (shown once).
pub async fn apply(State(state): State<AppState>, auth: Auth, body: String) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let apply: ApplyBody = form_request(&body)?;
    let form = new_form(apply.form)?;
    let new = NewCase {
        item_code: apply.item_code.trim().to_string(),
        applicant: applicant_of(p),
        account_id: p.account_id.clone(),
        form,
        hall_id: None,
        level: p.level,
        assured: p.assured,
    };
    let (c, query_code) = state.store().create_case(&new, jiff::Timestamp::now()).await?;
    let c = crate::shared_materials::opened(&state, c, &p.account_id).await;
    let receipt_url = format!("/cases/{}/receipt.pdf?code={query_code}", c.case_no);
    Ok((StatusCode::CREATED, Json(json!({ "case": view(&c), "query_code": query_code, "receipt_url": receipt_url }))).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct ApplicantAction {
    #[serde(default)]
    pub reason: String,
    pub expected_version: Option<i64>,
}

async fn applicant_event(state: &AppState, auth: &Auth, case_no: &str, event: Event, body: &str) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let action: ApplicantAction = match body.trim() {
        "" | "null" => ApplicantAction::default(),
        text => json_body(text)?,
    };
    applicant_case(state, p, case_no).await?;
    let envelope = yiwang_case::Envelope { at: jiff::Timestamp::now(), actor: p.account_id.clone(), reason: action.reason, event };
    let c = match envelope.event {
        // Handing in the application (or the correction) checks the form and materials.
        Event::Submitted | Event::CorrectionSubmitted => {
            let expected = crate::shared_materials::before_hand_in(state, case_no, &p.account_id, action.expected_version).await?;
            let calendar = state.store().load_calendar().await?;
            state.store().submit_case(case_no, &envelope, expected, &calendar).await?
        }
        _ => record(state, case_no, envelope, action.expected_version).await?,
    };
    Ok(Json(json!({ "case": view(&c) })).into_response())
}

/// The case if the caller may act as its applicant: the applicant, or for an
/// application taken at a window, a window clerk serving the case's agency
/// (others get 404 or 403).
pub(crate) async fn applicant_case(state: &AppState, p: &Principal, case_no: &str) -> Result<CaseRow, ApiError> {
    let c = visible_case(state, p, case_no).await?;
    if acts_as_applicant(p, &c) { Ok(c) } else { Err(forbidden("only the applicant may do this")) }
}

/// The applicant, or a window clerk of the case's agency for a window case.
pub(crate) fn acts_as_applicant(p: &Principal, c: &CaseRow) -> bool {
    is_applicant(p, c) || (c.channel == "window" && p.has_role_in(&c.agency_uscc, &[Role::WindowClerk]))
}

#[derive(Debug, Deserialize)]
pub struct FormBody {
    #[serde(default)]
    pub form: Value,
    pub expected_version: Option<i64>,
}

/// `PUT /api/v1/cases/{no}/form`: the applicant saves the form of a draft, or
/// corrects it after the one-time notice. Bound fields take the held values;
/// what is given must be valid (422 `case.form_invalid` with every problem).
pub async fn save_form(State(state): State<AppState>, auth: Auth, Path(no): Path<String>, body: String) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let b: FormBody = form_request(&body)?;
    if !b.form.is_object() {
        return Err(not_a_form_object());
    }
    let c = applicant_case(&state, p, &no).await?;
    let calendar = state.store().load_calendar().await?;
    let c = state.store().save_case_form(&c.case_no, &b.form, &p.account_id, b.expected_version, jiff::Timestamp::now(), &calendar).await?;
    Ok(Json(json!({ "case": view(&c) })).into_response())
}

/// The request body limit of an upload route: one file and a little form.
pub const UPLOAD_BODY_LIMIT: usize = yiwang_store::MAX_UPLOAD_BYTES + 64 * 1024;

/// A material upload as posted (multipart: `material`, `file`).
pub(crate) struct Upload {
    pub material: String,
    pub file_name: String,
    pub bytes: Vec<u8>,
}

impl Upload {
    /// The upload for the store, with the node's per-account quota.
    pub fn as_file(&self, state: &AppState) -> yiwang_store::FileUpload<'_> {
        yiwang_store::FileUpload {
            material: &self.material,
            file_name: &self.file_name,
            bytes: &self.bytes,
            quota_bytes: Some(state.security().upload_quota_bytes),
        }
    }
}

/// A multipart body as the extractor gave it; read only after the caller's
/// access to the case is known, so an unknown case is 404 whatever was sent.
pub(crate) type MultipartBody = Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>;

pub(crate) async fn read_upload(form: MultipartBody) -> Result<Upload, ApiError> {
    let bad = |detail: &str| ApiError::from(WebError::BadParam { name: "file", detail: detail.to_string() });
    let mut form = form.map_err(|_| bad("须以 multipart/form-data 上传 / expected multipart/form-data"))?;
    let (mut material, mut file) = (None, None);
    while let Some(field) = form.next_field().await.map_err(|_| bad("上传内容不完整或过大 / the upload is truncated or too large"))?
    {
        match field.name() {
            Some("material") => material = Some(field.text().await.map_err(|_| bad("材料名称无效 / bad material name"))?),
            Some("file") => {
                let name = field.file_name().unwrap_or("附件").to_string();
                let bytes = field.bytes().await.map_err(|_| bad("文件过大（上限 10 MB）或不完整 / file too large or truncated"))?;
                file = Some((name, bytes.to_vec()));
            }
            _ => {}
        }
    }
    let material =
        material.map(|m| m.trim().to_string()).filter(|m| !m.is_empty()).ok_or_else(|| bad("须指明材料名称 / material is required"))?;
    let (file_name, bytes) = file.ok_or_else(|| bad("须选择文件 / file is required"))?;
    Ok(Upload { material, file_name, bytes })
}

/// `POST /api/v1/cases/{no}/materials` (multipart `material`, `file`): the
/// applicant uploads a material: PDF, PNG or JPEG judged by content, up to 10 MB.
pub async fn upload(State(state): State<AppState>, auth: Auth, Path(no): Path<String>, form: MultipartBody) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let c = applicant_case(&state, p, &no).await?;
    let u = read_upload(form).await?;
    let calendar = state.store().load_calendar().await?;
    let c = state.store().upload_case_material(&c.case_no, u.as_file(&state), &p.account_id, jiff::Timestamp::now(), &calendar).await?;
    Ok((StatusCode::CREATED, Json(json!({ "case": view(&c) }))).into_response())
}

#[derive(Debug, Deserialize)]
pub struct MaterialQuery {
    pub material: Option<String>,
}

/// `DELETE /api/v1/cases/{no}/materials/{digest}?material=…`: the applicant
/// takes an upload back (draft or correction).
pub async fn remove_upload(
    State(state): State<AppState>,
    auth: Auth,
    Path((no, digest)): Path<(String, String)>,
    Query(q): Query<MaterialQuery>,
) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let c = applicant_case(&state, p, &no).await?;
    let material = match q.material {
        Some(m) => m,
        None => c.case.uploads.iter().find(|u| u.file.digest == digest).map(|u| u.material.clone()).ok_or_else(not_found)?,
    };
    let envelope = yiwang_case::Envelope {
        at: jiff::Timestamp::now(),
        actor: p.account_id.clone(),
        reason: String::new(),
        event: Event::MaterialRemoved { material, digest },
    };
    let c = record(&state, &c.case_no, envelope, None).await?;
    Ok(Json(json!({ "case": view(&c) })).into_response())
}

/// `GET /api/v1/cases/{no}/materials/{digest}`: an uploaded file, for the
/// applicant and the case's agency staff; served as a download with the
/// detected type, never sniffed by the browser.
pub async fn material_file(
    State(state): State<AppState>,
    auth: Auth,
    Path((no, digest)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let c = visible_case(&state, p, &no).await?;
    let (file, bytes) = state.store().case_file(&c, &digest).await?.ok_or_else(not_found)?;
    // A material is personal data: a staff download is audited before it is sent.
    crate::personal::audit_staff_read(&state, p, &c, &format!("material:{digest}"), None).await?;
    let disposition = format!("attachment; filename=\"{}\"; filename*=UTF-8''{}", ascii_name(&file.file_name), pct(&file.file_name));
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, file.content_type.clone()),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
            (axum::http::header::CACHE_CONTROL, "private, no-store".to_string()),
            (axum::http::header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        bytes,
    )
        .into_response())
}

/// A file name's ASCII fallback for `Content-Disposition`.
fn ascii_name(name: &str) -> String {
    let s: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '_' }).collect();
    if s.is_empty() { "file".into() } else { s }
}

fn pct(name: &str) -> String {
    name.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-_.".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

#[derive(Debug, Deserialize)]
pub struct CommitBody {
    pub material: String,
}

/// `POST /api/v1/cases/{no}/commitments {material}`: 告知承诺 instead of the
/// proof, where the item allows it. The 承诺书 text is recorded as the
/// event's reason; acceptance opens the verification task.
pub async fn commit(State(state): State<AppState>, auth: Auth, Path(no): Path<String>, body: String) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let b: CommitBody = json_body(&body)?;
    let c = applicant_case(&state, p, &no).await?;
    let calendar = state.store().load_calendar().await?;
    let c = state.store().sign_commitment(&c.case_no, b.material.trim(), &p.account_id, jiff::Timestamp::now(), &calendar).await?;
    Ok((StatusCode::CREATED, Json(json!({ "case": view(&c) }))).into_response())
}

/// `GET /api/v1/me/items/{code}/form`: the item's form schema and the values
/// held data fills in for the caller (locked fields cannot be changed).
pub async fn my_item_form(State(state): State<AppState>, auth: Auth, Path(code): Path<String>) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    let item = state.store().published_item(&code).await?.ok_or_else(|| ApiError::new(&WebError::NotFound("事项".into())))?;
    let Some(schema) = &item.doc.form else {
        return Ok(Json(json!({ "item_code": code, "schema": null, "values": {}, "locked": [] })));
    };
    let applicant = applicant_of(p);
    let ctx = yiwang_store::FormContext { applicant: &applicant, account_id: &p.account_id, case_no: None, assured: p.assured };
    let filled = state.store().fill_form(schema, &Value::Null, ctx, jiff::Timestamp::now()).await?;
    Ok(Json(json!({
        "item_code": code, "schema": schema, "values": filled.values, "prefilled": filled.prefilled, "locked": filled.locked,
    })))
}

/// Who applies: the caller, or the enterprise they act for.
pub(crate) fn applicant_of(p: &Principal) -> Applicant {
    let (id_type, id, _) = crate::wallet::holder_of(p);
    let name = match &p.acting {
        yiwang_identity::Acting::Enterprise { name, .. } => name.clone(),
        yiwang_identity::Acting::Own => p.name.clone(),
    };
    Applicant { id_type: id_type.into(), id, name }
}

/// `GET /api/v1/workbench/countersigns`: the steps of other agencies' cases
/// that the caller's agencies are asked to countersign (会签), oldest first.
pub async fn countersigns(State(state): State<AppState>, auth: Auth) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    let agencies = p.agencies_with(&[Role::Reviewer, Role::DepartmentHead]);
    let awaited = state.store().awaited_countersigns(&agencies, 200).await?;
    let list: Vec<Value> =
        awaited.into_iter().map(|(case_no, step, agency)| json!({ "case_no": case_no, "step": step, "agency": agency })).collect();
    Ok(Json(json!({ "countersigns": list })))
}

/// `GET /api/v1/workbench/checks`: open 告知承诺 verification tasks of the
/// caller's agencies, earliest due first.
pub async fn commitment_checks(State(state): State<AppState>, auth: Auth) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    let agencies = p.agencies_with(CHECK_STAFF);
    let checks = state.store().open_commitment_checks(&agencies, 200).await?;
    Ok(Json(json!({ "checks": checks })))
}

/// `POST /api/v1/cases/{no}/submit`: the applicant submits the draft.
pub async fn submit(State(state): State<AppState>, auth: Auth, Path(no): Path<String>, body: String) -> Result<Response, ApiError> {
    applicant_event(&state, &auth, &no, Event::Submitted, &body).await
}

/// `POST /api/v1/cases/{no}/corrected`: the applicant has supplied what the
/// correction notice listed.
pub async fn corrected(State(state): State<AppState>, auth: Auth, Path(no): Path<String>, body: String) -> Result<Response, ApiError> {
    applicant_event(&state, &auth, &no, Event::CorrectionSubmitted, &body).await
}

/// `POST /api/v1/cases/{no}/withdraw`: the applicant withdraws before a decision.
pub async fn withdraw(State(state): State<AppState>, auth: Auth, Path(no): Path<String>, body: String) -> Result<Response, ApiError> {
    applicant_event(&state, &auth, &no, Event::Withdrawn, &body).await
}

/// `GET /api/v1/cases/{no}[?reveal=1&reason=…]`: the case, for its applicant
/// and its agency's staff. Staff reads are audited, and staff see ID and phone
/// numbers masked unless they give a reason to see them in full.
pub async fn case(
    State(state): State<AppState>,
    auth: Auth,
    Path(no): Path<String>,
    Query(r): Query<crate::personal::RevealQuery>,
) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    let (c, masked) = read_case(&state, p, &no, "case", &r).await?;
    let mut v = view(&c);
    // Where the case is in its process: the trail and the open steps.
    v["process"] = json!(state.store().case_process(&c).await?);
    v["licenses"] = issued(&state, &c).await?;
    Ok(Json(json!({ "case": if masked { crate::personal::masked(&v) } else { v } })))
}

/// A case read through the API: visible to the caller, the read audited when it
/// is a staff member's; whether its identifiers must be masked for this caller.
async fn read_case(
    state: &AppState,
    p: &Principal,
    no: &str,
    what: &str,
    r: &crate::personal::RevealQuery,
) -> Result<(CaseRow, bool), ApiError> {
    let reveal = r.wanted()?;
    let c = visible_case(state, p, no).await?;
    let staff = crate::personal::audit_staff_read(state, p, &c, what, reveal.as_deref()).await?;
    Ok((c, staff && reveal.is_none()))
}

/// `GET /api/v1/cases/{no}/events`: the timeline (every event with its actor,
/// time and reason); for staff, audited and masked like the case.
pub async fn events(
    State(state): State<AppState>,
    auth: Auth,
    Path(no): Path<String>,
    Query(r): Query<crate::personal::RevealQuery>,
) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    let (c, masked) = read_case(&state, p, &no, "events", &r).await?;
    let events = serde_json::to_value(state.store().case_events(&c.case_no).await?).map_err(|_| ApiError::new(&WebError::Panic))?;
    let events = if masked { crate::personal::masked(&events) } else { events };
    Ok(Json(json!({ "case_no": c.case_no, "events": events })))
}

/// `GET /api/v1/me/cases`: the caller's cases (or the acting enterprise's).
pub async fn my_cases(State(state): State<AppState>, auth: Auth) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    let (id_type, id, _) = crate::wallet::holder_of(p);
    let list = state.store().cases_of(id_type, &id, opened_by(p), 200).await?;
    Ok(Json(json!({ "cases": list.iter().map(view).collect::<Vec<_>>() })))
}

#[derive(Debug, Deserialize)]
pub struct ProgressQuery {
    pub case_no: Option<String>,
    pub code: Option<String>,
}

/// `GET /api/v1/case-progress?case_no=…&code=…`: a case's progress without
/// logging in, with its 查询码; no applicant data. A wrong code answers 404,
/// like an unknown case.
pub async fn progress(State(state): State<AppState>, auth: Auth, Query(q): Query<ProgressQuery>) -> Result<Json<Value>, ApiError> {
    let (Some(no), Some(code)) = (q.case_no, q.code) else {
        return Err(WebError::BadParam {
            name: "case_no", detail: "须提供办件编号和查询码 / case_no and code are required".into()
        }
        .into());
    };
    match checked_progress(&state, &auth.client_addr, &no, &code).await? {
        Some(c) => Ok(Json(yiwang_store::public_progress(&c))),
        None => Err(not_found()),
    }
}

/// The 查询码 back-off: per client address, ten free tries, then a lock that
/// doubles; one wrong try is forgotten a minute. Keyed by the client, not the
/// case, so nobody can lock a stranger's case query by guessing at it.
const QUERY_THROTTLE: yiwang_store::ThrottlePolicy = yiwang_store::ThrottlePolicy {
    free_attempts: 10,
    base_lock: jiff::SignedDuration::from_secs(30),
    max_lock: jiff::SignedDuration::from_mins(15),
    decay_every: jiff::SignedDuration::from_mins(1),
};

/// The case for a progress query, with the back-off applied per client: the
/// attempt is counted before the code is compared, so concurrent guesses do not
/// slip past; a right code or an unknown case number gives the attempt back, so
/// ordinary use never adds up. An unknown case number is just not found.
pub(crate) async fn checked_progress(state: &AppState, client: &str, case_no: &str, code: &str) -> Result<Option<CaseRow>, ApiError> {
    let now = jiff::Timestamp::now();
    let key = format!("case-query:{}", crate::security::throttle_client(client));
    let failures = match state.store().throttle_attempt(&key, &QUERY_THROTTLE, now).await? {
        yiwang_store::Attempt::Go { failures } => failures,
        yiwang_store::Attempt::Wait(wait) => return Err(WebError::QueryThrottled(wait).into()),
    };
    match state.store().case_by_query_code(case_no, code).await? {
        yiwang_store::QueryCodeMatch::Case(c) => {
            state.store().throttle_refund(&key).await?;
            Ok(Some(*c))
        }
        yiwang_store::QueryCodeMatch::UnknownCase => {
            state.store().throttle_refund(&key).await?;
            Ok(None)
        }
        yiwang_store::QueryCodeMatch::WrongCode => {
            if let Some(wait) = state.store().throttle_failed(&key, &QUERY_THROTTLE, failures, now).await? {
                return Err(WebError::QueryThrottled(wait).into());
            }
            Ok(None)
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct InboxQuery {
    pub state: Option<String>,
    pub agency: Option<String>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    pub limit: Option<i64>,
    /// With `count=true`, the answer carries `total`, the number of cases matching.
    #[serde(default)]
    pub count: bool,
    /// `mine` (claimed by the caller) or `none` (unclaimed).
    pub claimed: Option<String>,
}

pub(crate) fn parse_state(s: &str) -> Option<yiwang_case::State> {
    serde_json::from_value(json!(s)).ok()
}

/// `GET /api/v1/workbench/cases?state=submitted&agency=…&after=…`: the cases of
/// the caller's agencies (or one of them), newest change first, 50 a page.
pub async fn inbox(State(state): State<AppState>, auth: Auth, Query(q): Query<InboxQuery>) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    let mine = p.agencies_with(CASE_STAFF);
    let agencies: Vec<&str> = match q.agency.as_deref() {
        Some(a) if mine.contains(&a) => vec![a],
        Some(_) => return Err(forbidden("another agency's cases")),
        None => mine,
    };
    let wanted = match q.state.as_deref() {
        None | Some("") => None,
        Some(s) => Some(
            parse_state(s)
                .ok_or_else(|| WebError::BadParam { name: "state", detail: format!("未知的办件状态 / unknown state {s}") })?,
        ),
    };
    let after = q
        .after
        .as_deref()
        .map(|c| c.split_once('|').ok_or(WebError::BadParam { name: "after", detail: "游标无效 / bad cursor".into() }))
        .transpose()?;
    let limit = crate::bounds::page_size("limit", q.limit, 50, 200)?;
    let claim = match q.claimed.as_deref() {
        None | Some("") => yiwang_store::Claim::Any,
        Some("mine") => yiwang_store::Claim::By(&p.account_id),
        Some("none") => yiwang_store::Claim::Unclaimed,
        Some(other) => {
            return Err(WebError::BadParam {
                name: "claimed", detail: format!("应为 mine 或 none / expected mine or none, not {other}")
            }
            .into());
        }
    };
    let rows = state.store().agency_cases_claimed(&agencies, wanted, claim, after, limit).await?;
    let next = (rows.len() as i64 == limit).then(|| rows.last().map(|c| format!("{}|{}", c.updated_at, c.case_no))).flatten();
    let cases: Vec<Value> = rows
        .iter()
        .map(|c| {
            json!({
                "case_no": c.case_no, "item_name": c.item_name, "agency_uscc": c.agency_uscc, "state": c.state.code(),
                "state_zh": c.state.name_zh(), "applicant": c.applicant.name, "promised_due": c.promised_due,
                "legal_due": c.legal_due, "updated_at": c.updated_at, "version": c.version, "claimed_by": c.case.claimed_by,
            })
        })
        .collect();
    // The total is by agency and state (not by claim).
    let total =
        if q.count && claim == yiwang_store::Claim::Any { Some(state.store().count_agency_cases(&agencies, wanted).await?) } else { None };
    Ok(Json(json!({ "cases": cases, "next": next, "total": total })))
}

/// The licenses the case's conclusion issued (办结出证), for its page.
pub(crate) async fn issued(state: &AppState, c: &CaseRow) -> Result<Value, ApiError> {
    if !c.state.is_over() {
        return Ok(json!([]));
    }
    let licenses = state.store().licenses_of_case(&c.case_no).await?;
    Ok(json!(
        licenses
            .iter()
            .map(|l| json!({ "id": l.id, "type_code": l.type_code, "number": l.number, "status": l.status.code() }))
            .collect::<Vec<_>>()
    ))
}
