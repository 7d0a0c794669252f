//! The portal's application pages (网上申请): the item's e-form, filled from
//! held data, to start an application; the case page, where the applicant
//! edits the form, uploads materials or signs commitments while the case is
//! a draft or under correction, and submits; every change goes through the
//! same store calls as the API, and a refused change re-renders the page with
//! the reasons beside the fields. Works without JavaScript.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::Value;
use yiwang_form::{FieldProblem, FieldView, coerce_pairs, field_views};
use yiwang_store::{CaseRow, CaseStoreError, NewCase};

use crate::AppState;
use crate::auth::Auth;
use crate::cases::{applicant_of, describe, is_applicant, visible_case};
use crate::error::ApiError;
use crate::pages::{Layout, problem_page, render};

fn pairs(body: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(body.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

#[derive(askama::Template)]
#[template(path = "apply.html")]
struct ApplyPage {
    l: Layout,
    code: String,
    item_name: String,
    agency: String,
    fields: Vec<FieldView>,
    message: Option<String>,
}

async fn apply_form(
    state: &AppState,
    auth: &Auth,
    code: &str,
    submitted: &Value,
    problems: &[FieldProblem],
    message: Option<String>,
    status: StatusCode,
) -> Response {
    let back = Some((format!("/items/{code}"), "返回办事指南".to_string()));
    let Ok(p) = auth.require() else { return Redirect::to(&format!("/login?next=/items/{code}/apply")).into_response() };
    let item = match state.store().published_item(code).await {
        Ok(Some(i)) => i,
        Ok(None) => return problem_page(state, auth, "在线申请", ApiError::new(&CaseStoreError::NoItem(code.into())), back).await,
        Err(e) => return problem_page(state, auth, "在线申请", e.into(), back).await,
    };
    let fields = match &item.doc.form {
        Some(schema) => {
            let applicant = applicant_of(p);
            let ctx = yiwang_store::FormContext { applicant: &applicant, account_id: &p.account_id, case_no: None };
            match state.store().fill_form(schema, submitted, ctx, jiff::Timestamp::now()).await {
                Ok(filled) => field_views(schema, &filled, problems),
                Err(e) => return problem_page(state, auth, "在线申请", e.into(), back).await,
            }
        }
        None => Vec::new(),
    };
    let page = ApplyPage {
        l: Layout::new(state, auth, &format!("在线申请：{}", item.doc.name)).await,
        code: code.to_string(),
        item_name: item.doc.name.clone(),
        agency: item.doc.agency.name.clone(),
        fields,
        message,
    };
    render(status, &page)
}

/// `GET /items/{code}/apply`: the application form, filled from held data.
pub async fn apply_page(State(state): State<AppState>, auth: Auth, Path(code): Path<String>) -> Response {
    apply_form(&state, &auth, &code, &Value::Null, &[], None, StatusCode::OK).await
}

#[derive(askama::Template)]
#[template(path = "case_created.html")]
struct CreatedPage {
    l: Layout,
    case_no: String,
    query_code: String,
    receipt_url: String,
}

/// `POST /items/{code}/apply`: open the application as a draft; the page shows
/// the 查询码 once.
pub async fn apply_submit(State(state): State<AppState>, auth: Auth, Path(code): Path<String>, body: String) -> Response {
    let Ok(p) = auth.require() else { return Redirect::to(&format!("/login?next=/items/{code}/apply")).into_response() };
    let schema = match state.store().published_item(&code).await {
        Ok(Some(i)) => i.doc.form,
        Ok(None) => None,
        Err(e) => return problem_page(&state, &auth, "在线申请", e.into(), None).await,
    };
    let form = match &schema {
        Some(s) => coerce_pairs(s, &pairs(&body)),
        None => Value::Object(Default::default()),
    };
    let new = NewCase { item_code: code.clone(), applicant: applicant_of(p), account_id: p.account_id.clone(), form: form.clone() };
    match state.store().create_case(&new, jiff::Timestamp::now()).await {
        Ok((c, query_code)) => {
            let receipt_url = format!("/cases/{}/receipt.pdf?code={query_code}", c.case_no);
            let page = CreatedPage { l: Layout::new(&state, &auth, "申请已暂存").await, case_no: c.case_no, query_code, receipt_url };
            let mut resp = render(StatusCode::CREATED, &page);
            resp.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
            resp
        }
        Err(CaseStoreError::Form(problems)) => {
            let message = Some(format!("申请表有 {} 处需要修改，请看各栏提示。", problems.len()));
            apply_form(&state, &auth, &code, &form, &problems, message, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => {
            let e = ApiError::new(&e);
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            apply_form(&state, &auth, &code, &form, &[], Some(e.message_zh().to_string()), status).await
        }
    }
}

struct TimelineLine {
    what: String,
    at: String,
    reason: String,
}

struct UploadLine {
    file_name: String,
    digest: String,
    size_kb: u64,
}

struct MaterialLine {
    name: String,
    required: bool,
    provided_zh: &'static str,
    uploads: Vec<UploadLine>,
    can_upload: bool,
    can_commit: bool,
    commitment_text: String,
}

#[derive(askama::Template)]
#[template(path = "case.html")]
struct CasePage {
    l: Layout,
    case_no: String,
    item_name: String,
    state_zh: &'static str,
    promised_due: Option<String>,
    legal_due: Option<String>,
    correction_items: Vec<String>,
    editable: bool,
    fields: Vec<FieldView>,
    material_lines: Vec<MaterialLine>,
    submit_label: Option<&'static str>,
    timeline: Vec<TimelineLine>,
    notice: Option<&'static str>,
    message: Option<String>,
}

/// What the page says after a successful change (`?done=`).
fn notice_of(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "saved" => Some("申请表已保存。"),
        "uploaded" => Some("材料已上传。"),
        "committed" => Some("已签署告知承诺，受理后将进行核查。"),
        "submitted" => Some("申请已提交，请等待预审。"),
        "corrected" => Some("补正材料已提交。"),
        _ => None,
    }
}

/// The case page, for its applicant (with editing while allowed) and its
/// agency's staff (read only).
#[allow(clippy::too_many_arguments)]
async fn case_view(
    state: &AppState,
    auth: &Auth,
    c: &CaseRow,
    submitted: Option<&Value>,
    problems: &[FieldProblem],
    notice: Option<&'static str>,
    message: Option<String>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let applicant = is_applicant(p, c);
    let editable = applicant && c.state.applicant_may_edit();
    let item = state.store().published_item(&c.item_code).await?;
    let fields = match (editable, item.as_ref().and_then(|i| i.doc.form.as_ref())) {
        (true, Some(schema)) => {
            let filled = state
                .store()
                .fill_form(schema, submitted.unwrap_or(&c.form), yiwang_store::FormContext::of_case(c), jiff::Timestamp::now())
                .await?;
            field_views(schema, &filled, problems)
        }
        _ => Vec::new(),
    };
    let material_lines = match &item {
        Some(item) => yiwang_store::material_statuses(&item.doc, c)
            .into_iter()
            .map(|m| {
                let pending = c.case.pending.iter().any(|p| p.name == m.name);
                let own = matches!(m.provided_by, "upload" | "missing");
                MaterialLine {
                    provided_zh: match m.provided_by {
                        "license" => "电子证照免提交",
                        "shared" => "数据共享免提交",
                        "upload" => "已上传",
                        "commitment" => "已签署告知承诺",
                        _ if pending => "容缺，待补交",
                        _ if m.required => "尚未提供",
                        _ => "非必要，可不提供",
                    },
                    can_upload: applicant && own && (editable || pending),
                    can_commit: editable && m.commitment_allowed && m.provided_by == "missing",
                    commitment_text: yiwang_store::commitment_text(&item.doc.name, &m.name),
                    uploads: m
                        .uploads
                        .iter()
                        .map(|u| UploadLine { file_name: u.file_name.clone(), digest: u.digest.clone(), size_kb: u.size.div_ceil(1024) })
                        .collect(),
                    required: m.required,
                    name: m.name,
                }
            })
            .collect(),
        None => Vec::new(),
    };
    let timeline = state
        .store()
        .case_events(&c.case_no)
        .await?
        .iter()
        .map(|e| TimelineLine { what: describe(&e.event), at: crate::pages::china_time(&yiwang_store::ts(e.at)), reason: e.reason.clone() })
        .collect();
    let submit_label = match c.state {
        yiwang_case::State::Draft if applicant => Some("提交申请"),
        yiwang_case::State::CorrectionNotice if applicant => Some("提交补正"),
        _ => None,
    };
    let page = CasePage {
        l: Layout::new(state, auth, &format!("办件 {}", c.case_no)).await,
        case_no: c.case_no.clone(),
        item_name: c.item_name.clone(),
        state_zh: c.state.name_zh(),
        promised_due: c.promised_due.clone(),
        legal_due: c.legal_due.clone(),
        // The list stays visible while the applicant still has to act on it.
        correction_items: if c.state == yiwang_case::State::CorrectionNotice { c.case.correction_items.clone() } else { Vec::new() },
        editable,
        fields,
        material_lines,
        submit_label,
        timeline,
        notice,
        message,
    };
    Ok(render(status, &page))
}

#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    pub done: Option<String>,
}

/// `GET /me/cases/{no}`: the case page.
pub async fn case_page(State(state): State<AppState>, auth: Auth, Path(no): Path<String>, Query(q): Query<DoneQuery>) -> Response {
    let result = async {
        let p = auth.require()?;
        let c = visible_case(&state, p, &no).await?;
        case_view(&state, &auth, &c, None, &[], notice_of(q.done.as_deref()), None, StatusCode::OK).await
    }
    .await;
    match result {
        Ok(r) => r,
        Err(e) => problem_page(&state, &auth, "办件", e, Some(("/me/cases".into(), "我的办件".into()))).await,
    }
}

/// After a change: back to the case page (303), or the page again with why not.
async fn after_change(
    state: &AppState,
    auth: &Auth,
    no: &str,
    outcome: Result<CaseRow, CaseStoreError>,
    done: &str,
    submitted: Option<&Value>,
) -> Response {
    let back = Some(("/me/cases".to_string(), "我的办件".to_string()));
    let failed = match outcome {
        Ok(_) => return Redirect::to(&format!("/me/cases/{no}?done={done}")).into_response(),
        Err(e) => e,
    };
    let Ok(p) = auth.require() else { return Redirect::to("/login").into_response() };
    let c = match visible_case(state, p, no).await {
        Ok(c) => c,
        Err(e) => return problem_page(state, auth, "办件", e, back).await,
    };
    let (problems, message) = match &failed {
        CaseStoreError::Form(problems) => (problems.clone(), format!("申请表有 {} 处需要修改，请看各栏提示。", problems.len())),
        e => (Vec::new(), ApiError::new(e).message_zh().to_string()),
    };
    let status = StatusCode::from_u16(ApiError::new(&failed).status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match case_view(state, auth, &c, submitted, &problems, None, Some(message), status).await {
        Ok(r) => r,
        Err(e) => problem_page(state, auth, "办件", e, back).await,
    }
}

/// The case if the caller is its applicant, or the error page.
async fn own_case(state: &AppState, auth: &Auth, no: &str) -> Result<(CaseRow, String), Response> {
    let back = Some(("/me/cases".to_string(), "我的办件".to_string()));
    let Ok(p) = auth.require() else { return Err(Redirect::to("/login").into_response()) };
    match crate::cases::applicant_case(state, p, no).await {
        Ok(c) => Ok((c, p.account_id.clone())),
        Err(e) => Err(problem_page(state, auth, "办件", e, back).await),
    }
}

async fn calendar(state: &AppState) -> Result<yiwang_calendar::Calendar, CaseStoreError> {
    Ok(state.store().load_calendar().await?)
}

/// `POST /me/cases/{no}/form`: save the form (draft or correction).
pub async fn save_form(State(state): State<AppState>, auth: Auth, Path(no): Path<String>, body: String) -> Response {
    let (c, actor) = match own_case(&state, &auth, &no).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let item = state.store().published_item(&c.item_code).await.ok().flatten();
    let form = match item.as_ref().and_then(|i| i.doc.form.as_ref()) {
        Some(s) => coerce_pairs(s, &pairs(&body)),
        None => c.form.clone(),
    };
    let outcome = match calendar(&state).await {
        Ok(cal) => state.store().save_case_form(&no, &form, &actor, None, jiff::Timestamp::now(), &cal).await,
        Err(e) => Err(e),
    };
    after_change(&state, &auth, &no, outcome, "saved", Some(&form)).await
}

/// `POST /me/cases/{no}/materials?csrf=…` (multipart): upload a material.
pub async fn upload(State(state): State<AppState>, auth: Auth, Path(no): Path<String>, form: crate::cases::MultipartBody) -> Response {
    let (c, actor) = match own_case(&state, &auth, &no).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let u = match crate::cases::read_upload(form).await {
        Ok(u) => u,
        Err(e) => return problem_page(&state, &auth, "上传材料", e, Some((format!("/me/cases/{no}"), "返回办件".into()))).await,
    };
    let outcome = match calendar(&state).await {
        Ok(cal) => state.store().upload_case_material(&c.case_no, u.as_file(), &actor, jiff::Timestamp::now(), &cal).await,
        Err(e) => Err(e),
    };
    after_change(&state, &auth, &no, outcome, "uploaded", None).await
}

#[derive(Debug, Deserialize)]
pub struct CommitForm {
    pub material: String,
}

/// `POST /me/cases/{no}/commitments`: sign a 告知承诺 for a material.
pub async fn commit(State(state): State<AppState>, auth: Auth, Path(no): Path<String>, axum::Form(f): axum::Form<CommitForm>) -> Response {
    let (c, actor) = match own_case(&state, &auth, &no).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let outcome = match calendar(&state).await {
        Ok(cal) => state.store().sign_commitment(&c.case_no, f.material.trim(), &actor, jiff::Timestamp::now(), &cal).await,
        Err(e) => Err(e),
    };
    after_change(&state, &auth, &no, outcome, "committed", None).await
}

/// `POST /me/cases/{no}/submit`: submit the draft, or the correction.
pub async fn submit(State(state): State<AppState>, auth: Auth, Path(no): Path<String>) -> Response {
    let (c, actor) = match own_case(&state, &auth, &no).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (event, done) = match c.state {
        yiwang_case::State::CorrectionNotice => (yiwang_case::Event::CorrectionSubmitted, "corrected"),
        _ => (yiwang_case::Event::Submitted, "submitted"),
    };
    let envelope = yiwang_case::Envelope { at: jiff::Timestamp::now(), actor, reason: String::new(), event };
    let outcome = match calendar(&state).await {
        Ok(cal) => state.store().submit_case(&c.case_no, &envelope, Some(c.version), &cal).await,
        Err(e) => Err(e),
    };
    after_change(&state, &auth, &no, outcome, done, None).await
}
