//! The portal's application pages (网上申请): the item's e-form, filled from
//! held data, to start an application; the case page, where the applicant
//! edits the form, uploads materials or signs commitments while the case is
//! a draft or under correction, and submits; every change goes through the
//! same store calls as the API, and a refused change re-renders the page with
//! the reasons beside the fields. Works without JavaScript.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;
use yiwang_case::materials::ProvidedBy;
use yiwang_form::{FieldProblem, FieldView, coerce_pairs, field_views};
use yiwang_store::{CaseRow, CaseStoreError, NewCase};

use crate::AppState;
use crate::auth::Auth;
use crate::cases::{acts_as_applicant, applicant_of, is_applicant, visible_case};
use crate::error::ApiError;
use crate::pages::{Layout, problem_page, render};

pub(crate) fn pairs(body: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(body.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

#[derive(askama::Template)]
#[template(path = "apply.html")]
pub(crate) struct ApplyPage {
    pub l: Layout,
    /// Where the form posts, and the way back.
    pub action: String,
    pub back_url: String,
    pub back_label: &'static str,
    /// 事项 or 一件事, and its name.
    pub subject_label: &'static str,
    pub subject: String,
    pub agency: String,
    pub fields: Vec<FieldView>,
    pub message: Option<String>,
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
    let Ok(p) = auth.require() else { return crate::auth::see_other(&format!("/login?next=/items/{code}/apply")) };
    let item = match state.store().published_item(code).await {
        Ok(Some(i)) => i,
        Ok(None) => return problem_page(state, auth, "在线申请", ApiError::new(&CaseStoreError::NoItem(code.into())), back).await,
        Err(e) => return problem_page(state, auth, "在线申请", e.into(), back).await,
    };
    let fields = match &item.doc.form {
        Some(schema) => {
            let applicant = applicant_of(p);
            let ctx = yiwang_store::FormContext { applicant: &applicant, account_id: &p.account_id, case_no: None, assured: p.assured };
            match state.store().fill_form(schema, submitted, ctx, jiff::Timestamp::now()).await {
                Ok(filled) => field_views(schema, &filled, problems),
                Err(e) => return problem_page(state, auth, "在线申请", e.into(), back).await,
            }
        }
        None => Vec::new(),
    };
    let page = ApplyPage {
        l: Layout::new(state, auth, &format!("在线申请：{}", item.doc.name)).await,
        action: format!("/items/{code}/apply"),
        back_url: format!("/items/{code}"),
        back_label: "办事指南",
        subject_label: "事项",
        subject: item.doc.name.clone(),
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

/// A new application (or 一件事 application) whose 查询码 is shown once.
pub(crate) struct Created {
    pub number_label: &'static str,
    pub case_no: String,
    pub query_code: String,
    pub continue_url: String,
    pub receipt_url: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "case_created.html")]
struct CreatedPage {
    l: Layout,
    c: Created,
}

/// The page of a new application, which shows its 查询码 once (kept out of caches).
async fn created_page(state: &AppState, auth: &Auth, title: &str, case_no: String, query_code: String, continue_url: String) -> Response {
    let receipt_url = Some(format!("/cases/{case_no}/receipt.pdf?code={query_code}"));
    created_page_of(state, auth, title, Created { number_label: "办件编号", case_no, query_code, continue_url, receipt_url }).await
}

pub(crate) async fn created_page_of(state: &AppState, auth: &Auth, title: &str, c: Created) -> Response {
    let page = CreatedPage { l: Layout::new(state, auth, title).await, c };
    let mut resp = render(StatusCode::CREATED, &page);
    resp.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    resp
}

/// `POST /items/{code}/apply`: open the application as a draft; the page shows
/// the 查询码 once.
pub async fn apply_submit(State(state): State<AppState>, auth: Auth, Path(code): Path<String>, body: String) -> Response {
    let Ok(p) = auth.require() else { return crate::auth::see_other(&format!("/login?next=/items/{code}/apply")) };
    let schema = match state.store().published_item(&code).await {
        Ok(Some(i)) => i.doc.form,
        Ok(None) => None,
        Err(e) => return problem_page(&state, &auth, "在线申请", e.into(), None).await,
    };
    let form = match &schema {
        Some(s) => coerce_pairs(s, &pairs(&body)),
        None => Value::Object(Default::default()),
    };
    let new = NewCase {
        item_code: code.clone(),
        applicant: applicant_of(p),
        account_id: p.account_id.clone(),
        form: form.clone(),
        hall_id: None,
        level: p.level,
        assured: p.assured,
    };
    match state.store().create_case(&new, jiff::Timestamp::now()).await {
        Ok((c, query_code)) => {
            let c = crate::shared_materials::opened(&state, c, &p.account_id).await;
            let continue_url = format!("/me/cases/{}", c.case_no);
            created_page(&state, &auth, "申请已暂存", c.case_no, query_code, continue_url).await
        }
        Err(e) => {
            let (problems, message, status) = refusal(&e);
            apply_form(&state, &auth, &code, &form, &problems, Some(message), status).await
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
    /// A shared material: where it came from, or why it must be uploaded.
    shared_note: Option<String>,
    uploads: Vec<UploadLine>,
    can_upload: bool,
    can_commit: bool,
    commitment_text: String,
}

/// The window clerk's part of the case page (一窗受理).
struct ClerkPanel {
    /// The 一件事 the case belongs to, when its children can be accepted at once.
    bundle_no: Option<String>,
    /// The 查询码, carried in the console's URL from the application (never stored).
    code: String,
    receipt_url: Option<String>,
    accepted: bool,
    can_pre_review: bool,
    can_accept: bool,
}

#[derive(askama::Template)]
#[template(path = "case.html")]
struct CasePage {
    l: Layout,
    back_url: String,
    back_label: &'static str,
    clerk: Option<ClerkPanel>,
    case_no: String,
    item_name: String,
    state_zh: &'static str,
    promised_due: Option<String>,
    legal_due: Option<String>,
    correction_items: Vec<String>,
    editable: bool,
    fields: Vec<FieldView>,
    material_lines: Vec<MaterialLine>,
    /// 免提交: what the data resources gave (identifiers masked for a clerk).
    shared: Vec<crate::shared_materials::SharedLine>,
    submit_label: Option<&'static str>,
    timeline: Vec<TimelineLine>,
    /// 办结出证: the e-licenses this case issued, as (wallet ref, type name).
    results: Vec<(String, String)>,
    /// 好差评: the ratings given, and the stage the applicant may rate now.
    rating: RatingPanel,
    notice: Option<&'static str>,
    message: Option<String>,
}

/// The case page's 好差评 part (the applicant who filed the case online).
#[derive(Default)]
struct RatingPanel {
    /// (stage, level) of each rating given.
    given: Vec<(&'static str, &'static str)>,
    /// The stage to rate now: (code, name).
    open: Option<(&'static str, &'static str)>,
    /// The reasons to choose from, grouped by the levels they go with: (legend, [(field, reason)]).
    groups: Vec<(&'static str, Vec<(String, String)>)>,
}

async fn rating_panel(state: &AppState, p: &yiwang_identity::Principal, c: &CaseRow) -> Result<RatingPanel, ApiError> {
    use yiwang_supervision::ratings::{Channel, Stage};
    if c.account_id != p.account_id {
        return Ok(RatingPanel::default());
    }
    let given = state.store().case_ratings(&c.case_no).await?;
    let rated: Vec<Stage> = given.iter().map(|r| r.rating.stage).collect();
    // The latest stage open: 办结 before 受理.
    let open = yiwang_supervision::ratings::open_stages(&c.case, &rated).last().map(|s| (s.code(), s.name_zh()));
    let groups = if open.is_some() { rating_groups(state.rating_content(), Channel::Pc) } else { Vec::new() };
    Ok(RatingPanel { given: given.iter().map(|r| (r.rating.stage.name_zh(), r.rating.level.name_zh())).collect(), open, groups })
}

/// The rating form's reason checkboxes, grouped by the levels they go with,
/// from the content of `channel` (online, or the hall's set): (legend,
/// [(field name, reason)]).
pub(crate) fn rating_groups(
    content: &yiwang_supervision::ratings::Content,
    channel: yiwang_supervision::ratings::Channel,
) -> Vec<(&'static str, Vec<(String, String)>)> {
    use yiwang_supervision::ratings::Satisfaction;
    let mut n = 0;
    let mut group = |legend: &'static str, level: u8| {
        let reasons = Satisfaction::new(level).map_or(&[][..], |l| content.reasons(channel, l));
        let fields = reasons
            .iter()
            .map(|r| {
                n += 1;
                (format!("reason_{n}"), r.clone())
            })
            .collect();
        (legend, fields)
    };
    vec![
        group("满意之处（选“非常满意”“满意”时）", 1),
        group("不足之处（选“基本满意”时）", 3),
        group("不满意的原因（选“不满意”“非常不满意”时，至少选一项或填写意见）", 4),
    ]
}

/// A rating form's fields as posted: the level, the checked reasons in
/// order, the comment.
pub(crate) fn rating_fields(f: &std::collections::HashMap<String, String>) -> Result<(u8, Vec<String>, String), ApiError> {
    let field = |k: &str| f.get(k).map(String::as_str).unwrap_or_default();
    let level = field("level").parse().map_err(|_| crate::WebError::BadParam { name: "level", detail: "请选择满意程度".into() })?;
    let mut reasons: Vec<(&String, &String)> = f.iter().filter(|(k, _)| k.starts_with("reason_")).collect();
    // reason_2 before reason_10: by number, not by text.
    reasons.sort_by_key(|(k, _)| k.trim_start_matches("reason_").parse::<u32>().unwrap_or(u32::MAX));
    Ok((level, reasons.into_iter().map(|(_, v)| v.clone()).collect(), field("comment").to_string()))
}

/// What the page says after a successful change (`?done=`).
fn notice_of(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "saved" => Some("申请表已保存。"),
        "uploaded" => Some("材料已上传。"),
        "committed" => Some("已签署告知承诺，受理后将进行核查。"),
        "submitted" => Some("申请已提交，请等待预审。"),
        "corrected" => Some("补正材料已提交。"),
        "pre_review" => Some("已开始预审。"),
        "accepted" => Some("已受理，承诺办结日已按工作日计算。"),
        "noticed" => Some("已出具补齐补正告知书（一次性告知）。"),
        "refused" => Some("已不予受理。"),
        "rated" => Some("感谢您的评价。差评将由办理部门核实整改，并向您反馈。"),
        _ => None,
    }
}

/// How to show the case page.
#[derive(Default)]
struct ViewOpts<'a> {
    /// The form as last posted (after a refused save).
    submitted: Option<&'a Value>,
    problems: &'a [FieldProblem],
    notice: Option<&'static str>,
    message: Option<String>,
    status: Option<StatusCode>,
    /// The window console, with the 查询码 if the clerk has it.
    console: Option<String>,
}

/// Where a case's page is for this caller: the applicant's, or the window console.
fn page_of(p: &yiwang_identity::Principal, c: &CaseRow) -> String {
    if is_applicant(p, c) { format!("/me/cases/{}", c.case_no) } else { format!("/console/window/cases/{}", c.case_no) }
}

/// The case page, for whoever acts as its applicant (with editing while
/// allowed: the applicant, or a window clerk for a window case), its agency's
/// staff (read only), and in the window console with the clerk's actions.
async fn case_view(state: &AppState, auth: &Auth, c: &CaseRow, o: ViewOpts<'_>) -> Result<Response, ApiError> {
    let ViewOpts { submitted, problems, notice, message, status, console } = o;
    let status = status.unwrap_or(StatusCode::OK);
    let p = auth.require()?;
    let applicant = acts_as_applicant(p, c);
    let editable = applicant && c.state.applicant_may_edit();
    let item = state.store().case_item(c).await?;
    let fields = match (editable, item.as_ref().and_then(|i| i.form.as_ref())) {
        (true, Some(schema)) => {
            let filled = state
                .store()
                .fill_form(schema, submitted.unwrap_or(&c.form), yiwang_store::FormContext::of_case(c), jiff::Timestamp::now())
                .await?;
            field_views(schema, &filled, problems)
        }
        _ => Vec::new(),
    };
    // 信用: a commitment is offered only to an applicant with no credit record in force.
    let offers_commitments = item.as_ref().is_some_and(|i| i.materials.iter().any(|m| m.commitment_allowed));
    let credit_ok = !offers_commitments || state.store().commitment_offered(&c.applicant, jiff::Timestamp::now()).await?;
    let material_lines = match &item {
        Some(item) => yiwang_store::material_statuses(item, c)
            .into_iter()
            .map(|m| {
                let pending = c.case.pending.iter().any(|p| p.name == m.name);
                let own = matches!(m.provided_by, ProvidedBy::Upload | ProvidedBy::Missing);
                let shared_note = match (&m.upload_reason_zh, &m.shared) {
                    (Some(why), _) => Some(why.clone()),
                    (None, Some(s)) if m.provided_by == ProvidedBy::Shared => {
                        Some(format!("已于{}由数据共享获取", crate::pages::china_time(&yiwang_store::ts(s.at))))
                    }
                    _ => None,
                };
                MaterialLine {
                    shared_note,
                    provided_zh: m.provided_by.shown_zh(m.required, pending),
                    can_upload: applicant && own && (editable || pending),
                    can_commit: editable && credit_ok && m.commitment_allowed && m.provided_by == ProvidedBy::Missing,
                    commitment_text: yiwang_case::materials::commitment_text(&item.name, &m.name),
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
        .map(|e| TimelineLine {
            what: e.event.describe_zh(),
            at: crate::pages::china_time(&yiwang_store::ts(e.at)),
            reason: e.reason.clone(),
        })
        .collect();
    // The licenses its conclusion issued, linked into the holder's wallet.
    let mut results = Vec::new();
    if applicant && matches!(c.state, yiwang_case::State::Concluded | yiwang_case::State::Delivered) {
        let issued = state.store().licenses_of_case(&c.case_no).await?;
        if !issued.is_empty() {
            let types = state.store().license_types().await?;
            for l in issued.into_iter().filter(|l| l.status == yiwang_store::LicenseStatus::Valid) {
                let name = types.iter().find(|t| t.code == l.type_code).map_or_else(|| l.type_code.clone(), |t| t.name.clone());
                results.push((l.public_ref.unwrap_or_default(), name));
            }
        }
    }
    let submit_label = match c.state {
        yiwang_case::State::Draft if applicant => Some("提交申请"),
        yiwang_case::State::CorrectionNotice if applicant => Some("提交补正"),
        _ => None,
    };
    let clerk = console.filter(|_| p.has_role_in(&c.agency_uscc, &[yiwang_identity::Role::WindowClerk])).map(|code| {
        use yiwang_case::State::*;
        ClerkPanel {
            bundle_no: c.bundle_no.clone().filter(|_| matches!(c.state, Submitted | PreReview | CorrectionReceived)),
            receipt_url: (!code.is_empty()).then(|| format!("/cases/{}/receipt.pdf?code={code}", c.case_no)),
            code,
            accepted: c.case.accepted_on.is_some(),
            can_pre_review: c.state == Submitted,
            can_accept: matches!(c.state, Submitted | PreReview | CorrectionReceived),
        }
    });
    let (back_url, back_label) = if clerk.is_some() || !is_applicant(p, c) {
        ("/console/window".to_string(), "综合窗口")
    } else {
        ("/me/cases".to_string(), "我的办件")
    };
    let page = CasePage {
        l: Layout::new(state, auth, &format!("办件 {}", c.case_no)).await,
        back_url,
        back_label,
        clerk,
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
        shared: crate::shared_materials::shared_lines(state, c, is_applicant(p, c))
            .await?
            .into_iter()
            .filter(|s| !s.items.is_empty())
            .collect(),
        submit_label,
        timeline,
        results,
        rating: rating_panel(state, p, c).await?,
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
        case_view(&state, &auth, &c, ViewOpts { notice: notice_of(q.done.as_deref()), ..ViewOpts::default() }).await
    }
    .await;
    match result {
        Ok(r) => r,
        Err(e) => problem_page(&state, &auth, "办件", e, Some(("/me/cases".into(), "我的办件".into()))).await,
    }
}

/// `POST /me/cases/{no}/rating`: the applicant's 好差评 from the case page
/// (the reasons come as `reason_N` checkboxes).
pub async fn rate_submit(
    State(state): State<AppState>,
    auth: Auth,
    Path(no): Path<String>,
    axum::Form(f): axum::Form<std::collections::HashMap<String, String>>,
) -> Response {
    let back = Some(("/me/cases".to_string(), "我的办件".to_string()));
    let Ok(p) = auth.require() else { return crate::auth::see_other("/login") };
    let field = |k: &str| f.get(k).map(String::as_str).unwrap_or_default();
    let parsed = (|| -> Result<crate::ratings::RateInput, ApiError> {
        let stage = serde_json::from_value(serde_json::json!(field("stage")))
            .map_err(|_| crate::WebError::BadParam { name: "stage", detail: "accepted or concluded".into() })?;
        let (level, reasons, comment) = rating_fields(&f)?;
        Ok(crate::ratings::RateInput {
            case_no: no.clone(),
            stage,
            channel: yiwang_supervision::ratings::Channel::Pc,
            level,
            reasons,
            comment,
        })
    })();
    let outcome = match parsed {
        Ok(input) => crate::ratings::rate(&state, p, &input).await.map(|_| ()),
        Err(e) => Err(e),
    };
    let failed = match outcome {
        Ok(()) => return crate::auth::see_other(&format!("/me/cases/{no}?done=rated")),
        Err(e) => e,
    };
    let c = match visible_case(&state, p, &no).await {
        Ok(c) => c,
        Err(e) => return problem_page(&state, &auth, "办件", e, back).await,
    };
    let status = StatusCode::from_u16(failed.status()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
    let opts = ViewOpts { message: Some(failed.message_zh().to_string()), status: Some(status), ..ViewOpts::default() };
    match case_view(&state, &auth, &c, opts).await {
        Ok(r) => r,
        Err(e) => problem_page(&state, &auth, "办件", e, back).await,
    }
}

/// Why a change was refused, for the page that shows it again: each field's
/// problem (a refused form), the message and the status. One `ApiError`, so a
/// server fault is logged once.
pub(crate) fn refusal(e: &CaseStoreError) -> (Vec<FieldProblem>, String, StatusCode) {
    let api = ApiError::new(e);
    let status = StatusCode::from_u16(api.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match e {
        CaseStoreError::Form(problems) => (problems.clone(), format!("申请表有 {} 处需要修改，请看各栏提示。", problems.len()), status),
        _ => (Vec::new(), api.message_zh().to_string(), status),
    }
}

/// After a change: back to the case page (303), or the page again with why not.
/// The 查询码 a window console form carries along (digits only), so the clerk
/// can still print the receipts after a change.
fn console_code(code: Option<&str>) -> String {
    code.unwrap_or_default().chars().filter(char::is_ascii_digit).take(8).collect()
}

async fn after_change(
    state: &AppState,
    auth: &Auth,
    no: &str,
    outcome: Result<CaseRow, CaseStoreError>,
    done: &str,
    submitted: Option<&Value>,
    code: String,
) -> Response {
    let back = Some(("/me/cases".to_string(), "我的办件".to_string()));
    let Ok(p) = auth.require() else { return crate::auth::see_other("/login") };
    let failed = match outcome {
        Ok(c) if is_applicant(p, &c) => return crate::auth::see_other(&format!("{}?done={done}", page_of(p, &c))),
        Ok(c) => return crate::auth::see_other(&format!("{}?code={code}&done={done}", page_of(p, &c))),
        Err(e) => e,
    };
    let c = match visible_case(state, p, no).await {
        Ok(c) => c,
        Err(e) => return problem_page(state, auth, "办件", e, back).await,
    };
    let (problems, message, status) = refusal(&failed);
    let console = (!is_applicant(p, &c)).then_some(code);
    let opts = ViewOpts { submitted, problems: &problems, message: Some(message), status: Some(status), console, ..ViewOpts::default() };
    match case_view(state, auth, &c, opts).await {
        Ok(r) => r,
        Err(e) => problem_page(state, auth, "办件", e, back).await,
    }
}

/// The case if the caller is its applicant, or the error page.
async fn own_case(state: &AppState, auth: &Auth, no: &str) -> Result<(CaseRow, String), Response> {
    let back = Some(("/me/cases".to_string(), "我的办件".to_string()));
    let Ok(p) = auth.require() else { return Err(crate::auth::see_other("/login")) };
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
    let item = state.store().case_item(&c).await.ok().flatten();
    let posted = pairs(&body);
    let code = console_code(posted.iter().find(|(k, _)| k == "code").map(|(_, v)| v.as_str()));
    let form = match item.as_ref().and_then(|i| i.form.as_ref()) {
        Some(s) => coerce_pairs(s, &posted),
        None => c.form.clone(),
    };
    let outcome = match calendar(&state).await {
        Ok(cal) => state.store().save_case_form(&no, &form, &actor, None, jiff::Timestamp::now(), &cal).await,
        Err(e) => Err(e),
    };
    after_change(&state, &auth, &no, outcome, "saved", Some(&form), code).await
}

/// `POST /me/cases/{no}/materials?csrf=…` (multipart): upload a material.
pub async fn upload(
    State(state): State<AppState>,
    auth: Auth,
    Path(no): Path<String>,
    Query(q): Query<ConsoleQuery>,
    form: crate::cases::MultipartBody,
) -> Response {
    let (c, actor) = match own_case(&state, &auth, &no).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let u = match crate::cases::read_upload(form).await {
        Ok(u) => u,
        Err(e) => return problem_page(&state, &auth, "上传材料", e, Some((format!("/me/cases/{no}"), "返回办件".into()))).await,
    };
    let outcome = match calendar(&state).await {
        Ok(cal) => state.store().upload_case_material(&c.case_no, u.as_file(&state), &actor, jiff::Timestamp::now(), &cal).await,
        Err(e) => Err(e),
    };
    after_change(&state, &auth, &no, outcome, "uploaded", None, console_code(q.code.as_deref())).await
}

#[derive(Debug, Deserialize)]
pub struct CommitForm {
    pub material: String,
    pub code: Option<String>,
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
    after_change(&state, &auth, &no, outcome, "committed", None, console_code(f.code.as_deref())).await
}

/// `POST /me/cases/{no}/submit`: submit the draft, or the correction.
pub async fn submit(State(state): State<AppState>, auth: Auth, Path(no): Path<String>, body: String) -> Response {
    let posted = pairs(&body);
    let code = console_code(posted.iter().find(|(k, _)| k == "code").map(|(_, v)| v.as_str()));
    let (c, actor) = match own_case(&state, &auth, &no).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (event, done) = match c.state {
        yiwang_case::State::CorrectionNotice => (yiwang_case::Event::CorrectionSubmitted, "corrected"),
        _ => (yiwang_case::Event::Submitted, "submitted"),
    };
    let expected = match crate::shared_materials::before_hand_in(&state, &c.case_no, &actor, Some(c.version)).await {
        Ok(v) => v,
        Err(e) => return problem_page(&state, &auth, "提交申请", e, None).await,
    };
    let envelope = yiwang_case::Envelope { at: jiff::Timestamp::now(), actor, reason: String::new(), event };
    let outcome = match calendar(&state).await {
        Ok(cal) => state.store().submit_case(&c.case_no, &envelope, expected, &cal).await,
        Err(e) => Err(e),
    };
    after_change(&state, &auth, &no, outcome, done, None, code).await
}

#[derive(Debug, Deserialize)]
pub struct BundleAcceptForm {
    /// The child case whose page the clerk came from (and returns to).
    pub case_no: String,
    #[serde(default)]
    pub reason: String,
}

/// `POST /console/window/bundles/{no}/accept`: 一次受理 of a whole 一件事 at the window.
pub async fn window_accept_bundle(
    State(state): State<AppState>,
    auth: Auth,
    Path(no): Path<String>,
    axum::Form(f): axum::Form<BundleAcceptForm>,
) -> Response {
    let Ok(p) = auth.require() else { return crate::auth::see_other("/login") };
    // Back to the child case the clerk came from (a case number: letters and digits).
    let back: String = f.case_no.chars().filter(char::is_ascii_alphanumeric).take(64).collect();
    match crate::bundles::accept_bundle(&state, p, &no, f.reason.trim()).await {
        Ok(_) => crate::auth::see_other(&format!("/console/window/cases/{back}?done=accepted")),
        Err(e) => problem_page(&state, &auth, "一次受理", e, Some(("/console/window".into(), "综合窗口".into()))).await,
    }
}

// ---- the comprehensive window console (综合窗口, 一窗受理) ---------------------------

#[derive(Debug, Default, Deserialize)]
pub struct WindowForm {
    #[serde(default)]
    pub applicant_id: String,
    #[serde(default)]
    pub applicant_name: String,
    #[serde(default)]
    pub item_code: String,
    #[serde(default)]
    pub reason: String,
}

#[derive(askama::Template)]
#[template(path = "console_window.html")]
struct WindowPage {
    l: Layout,
    halls: Vec<yiwang_store::Hall>,
    agency_count: usize,
    /// (implementation code, item name, agency name)
    items: Vec<(String, String, String)>,
    /// (case number, item name, applicant, state)
    waiting: Vec<(String, String, String, &'static str)>,
    message: Option<String>,
    applicant_id: String,
    applicant_name: String,
    item_code: String,
}

async fn window_page(
    state: &AppState,
    auth: &Auth,
    form: WindowForm,
    message: Option<String>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    use yiwang_case::State::*;
    let p = auth.require()?;
    let halls = state.store().halls_run_by(&p.agencies_with(&[yiwang_identity::Role::WindowClerk])).await?;
    let mut agencies: Vec<&str> = halls.iter().flat_map(|h| h.agencies.iter().map(String::as_str)).collect();
    agencies.sort_unstable();
    agencies.dedup();
    let items = state
        .store()
        .published_items()
        .await?
        .into_iter()
        .filter(|i| agencies.contains(&i.doc.agency.uscc.as_str()))
        .map(|i| (i.doc.implementation_code, i.doc.name, i.doc.agency.name))
        .collect();
    let hall_ids: Vec<&str> = halls.iter().map(|h| h.id.as_str()).collect();
    let waiting = state
        .store()
        .agency_cases(&agencies, None, None, 200)
        .await?
        .into_iter()
        .filter(|c| match c.state {
            Submitted | PreReview | CorrectionReceived => true,
            Draft | CorrectionNotice => c.hall_id.as_deref().is_some_and(|h| hall_ids.contains(&h)),
            _ => false,
        })
        .map(|c| (c.case_no, c.item_name, yiwang_identity::mask_name(&c.applicant.name), c.state.name_zh()))
        .collect();
    let page = WindowPage {
        l: Layout::new(state, auth, "综合窗口（一窗受理）").await,
        agency_count: agencies.len(),
        halls,
        items,
        waiting,
        message,
        applicant_id: form.applicant_id,
        applicant_name: form.applicant_name,
        item_code: form.item_code,
    };
    Ok(render(status, &page))
}

/// `GET /console/window`: the window clerk's console: open an application for
/// the person at the counter, and the applications waiting for acceptance.
pub async fn window_home(State(state): State<AppState>, auth: Auth) -> Response {
    match window_page(&state, &auth, WindowForm { reason: String::new(), ..WindowForm::default() }, None, StatusCode::OK).await {
        Ok(r) => r,
        Err(e) => problem_page(&state, &auth, "综合窗口", e, None).await,
    }
}

/// `POST /console/window`: open the application; the page shows the 查询码
/// once and leads on to the case in the console.
pub async fn window_open(State(state): State<AppState>, auth: Auth, axum::Form(f): axum::Form<WindowForm>) -> Response {
    let Ok(p) = auth.require() else { return crate::auth::see_other("/login") };
    let w = crate::case_staff::WindowApply {
        item_code: f.item_code.clone(),
        applicant_id: f.applicant_id.clone(),
        applicant_name: f.applicant_name.clone(),
        reason: f.reason.clone(),
        form: Value::Null,
        hall_id: None,
    };
    match crate::case_staff::open_window_case(&state, p, w).await {
        Ok((c, query_code)) => {
            let continue_url = format!("/console/window/cases/{}?code={query_code}", c.case_no);
            created_page(&state, &auth, "申请已建立", c.case_no, query_code, continue_url).await
        }
        Err(e) => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let message = Some(e.message_zh().to_string());
            match window_page(&state, &auth, f, message, status).await {
                Ok(r) => r,
                Err(e) => problem_page(&state, &auth, "综合窗口", e, None).await,
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ConsoleQuery {
    pub code: Option<String>,
    pub done: Option<String>,
}

/// `GET /console/window/cases/{no}[?code=…]`: the case at the window: the
/// applicant's form and materials (the clerk fills and scans them in), and
/// pre-review, the one-time notice, acceptance or refusal.
pub async fn window_case(State(state): State<AppState>, auth: Auth, Path(no): Path<String>, Query(q): Query<ConsoleQuery>) -> Response {
    let back = Some(("/console/window".to_string(), "综合窗口".to_string()));
    let result = async {
        let p = auth.require()?;
        let c = visible_case(&state, p, &no).await?;
        // The window's data-entry page for the person at the counter: audited like any staff view.
        crate::personal::audit_staff_read(&state, p, &c, "window_page", None).await?;
        let opts = ViewOpts { notice: notice_of(q.done.as_deref()), console: Some(q.code.unwrap_or_default()), ..ViewOpts::default() };
        case_view(&state, &auth, &c, opts).await
    }
    .await;
    match result {
        Ok(r) => r,
        Err(e) => problem_page(&state, &auth, "办件", e, back).await,
    }
}

#[derive(Debug, Deserialize)]
pub struct ClerkAction {
    pub action: String,
    #[serde(default)]
    pub items: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub legal_basis: String,
    #[serde(default)]
    pub code: String,
}

/// `POST /console/window/cases/{no}/events`: the clerk's decision at the window.
pub async fn window_event(
    State(state): State<AppState>,
    auth: Auth,
    Path(no): Path<String>,
    axum::Form(a): axum::Form<ClerkAction>,
) -> Response {
    use yiwang_case::Event;
    let Ok(p) = auth.require() else { return crate::auth::see_other("/login") };
    let (event, done) = match a.action.as_str() {
        "pre_review" => (Event::PreReviewStarted, "pre_review"),
        // The limits are the item's; `record_staff_event` fills them in.
        "accept" => (
            Event::Accepted { promised_days: 0, legal_days: 0, pending: vec![], commitment_check_days: 0, units: Default::default() },
            "accepted",
        ),
        "notice" => (Event::CorrectionNotified { items: a.items.lines().map(|l| l.trim().to_string()).collect() }, "noticed"),
        "refuse" => (Event::NotAccepted { legal_basis: a.legal_basis.trim().to_string() }, "refused"),
        _ => {
            let e = crate::error::WebError::BadParam { name: "action", detail: "未知的操作 / unknown action".into() };
            return problem_page(&state, &auth, "窗口受理", e.into(), None).await;
        }
    };
    let staff = crate::case_staff::StaffEvent { event, reason: a.reason.clone(), expected_version: None };
    let code = a.code.trim().chars().filter(char::is_ascii_digit).collect::<String>();
    match crate::case_staff::record_staff_event(&state, p, &no, staff).await {
        Ok(_) => crate::auth::see_other(&format!("/console/window/cases/{no}?code={code}&done={done}")),
        Err(e) => {
            let back = Some(("/console/window".to_string(), "综合窗口".to_string()));
            let c = match visible_case(&state, p, &no).await {
                Ok(c) => c,
                Err(e) => return problem_page(&state, &auth, "办件", e, back).await,
            };
            let status = StatusCode::from_u16(e.status()).ok();
            let opts = ViewOpts { message: Some(e.message_zh().to_string()), status, console: Some(code), ..ViewOpts::default() };
            match case_view(&state, &auth, &c, opts).await {
                Ok(r) => r,
                Err(e) => problem_page(&state, &auth, "办件", e, back).await,
            }
        }
    }
}
