//! The portal's 一件事一次办 pages, without JavaScript: the list of bundles,
//! one bundle's guide (its items, departments and one material set), the one
//! application form filled from held data, and the applicant's bundle page —
//! the form, one upload per material for every item that asks for it, the
//! commitments, one hand-in, and each department's child case as it moves.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;
use yiwang_case::materials::{MaterialStatus, ProvidedBy};
use yiwang_form::{FieldProblem, FieldView, coerce_pairs, field_views};
use yiwang_store::{BundleCase, BundlePlan, CaseStoreError, NewBundleCase};

use crate::AppState;
use crate::application_pages::{ApplyPage, Created, DoneQuery, created_page_of, pairs, refusal};
use crate::auth::Auth;
use crate::cases::applicant_of;
use crate::error::ApiError;
use crate::pages::{Layout, problem_page, render};

fn back_to_list() -> Option<(String, String)> {
    Some(("/bundles".to_string(), "一件事一次办".to_string()))
}

struct BundleLine {
    code: String,
    name: String,
    description: String,
    items: usize,
}

#[derive(askama::Template)]
#[template(path = "bundles.html")]
struct BundlesPage {
    l: Layout,
    bundles: Vec<BundleLine>,
}

/// `GET /bundles`: the 一件事 this node offers.
pub async fn list_page(State(state): State<AppState>, auth: Auth) -> Response {
    let bundles = match state.store().bundles().await {
        Ok(b) => b,
        Err(e) => return problem_page(&state, &auth, "一件事一次办", e.into(), None).await,
    };
    let bundles =
        bundles.into_iter().map(|b| BundleLine { items: b.items.len(), code: b.code, name: b.name, description: b.description }).collect();
    render(StatusCode::OK, &BundlesPage { l: Layout::new(&state, &auth, "一件事一次办").await, bundles })
}

struct ItemLine {
    code: String,
    name: String,
    agency: String,
    lead: bool,
    promised_days: u32,
}

struct SetLine {
    name: String,
    required: bool,
    source_zh: &'static str,
    items: String,
}

#[derive(askama::Template)]
#[template(path = "bundle.html")]
struct BundlePageT {
    l: Layout,
    code: String,
    description: String,
    promised_days: Option<u32>,
    issue_together: bool,
    items: Vec<ItemLine>,
    materials: Vec<SetLine>,
}

fn item_names(plan: &BundlePlan, codes: &[String]) -> String {
    codes
        .iter()
        .filter_map(|c| plan.items.iter().find(|i| &i.doc.implementation_code == c).map(|i| i.doc.name.as_str()))
        .collect::<Vec<_>>()
        .join("、")
}

/// `GET /bundles/{code}`: one 一件事's guide.
pub async fn bundle_page(State(state): State<AppState>, auth: Auth, Path(code): Path<String>) -> Response {
    let plan = match state.store().bundle_plan(&code).await {
        Ok(p) => p,
        Err(e) => return problem_page(&state, &auth, "一件事一次办", ApiError::new(&e), back_to_list()).await,
    };
    let items = plan
        .items
        .iter()
        .map(|i| ItemLine {
            code: i.doc.implementation_code.clone(),
            name: i.doc.name.clone(),
            agency: i.doc.agency.name.clone(),
            lead: i.doc.implementation_code == plan.bundle.lead_item,
            promised_days: i.doc.promised_limit.amount,
        })
        .collect();
    let materials = plan
        .materials
        .iter()
        .map(|m| SetLine {
            name: m.name.clone(),
            required: m.required,
            source_zh: match m.source {
                yiwang_catalog::MaterialSource::License { .. } => "电子证照，持有即免提交",
                yiwang_catalog::MaterialSource::Shared { .. } => "数据共享，免提交",
                yiwang_catalog::MaterialSource::Applicant if m.commitment_allowed => "上传，或以告知承诺代替",
                yiwang_catalog::MaterialSource::Applicant => "上传一次，各事项共用",
            },
            items: item_names(&plan, &m.items),
        })
        .collect();
    let page = BundlePageT {
        l: Layout::new(&state, &auth, &plan.bundle.name).await,
        code: plan.bundle.code.clone(),
        description: plan.bundle.description.clone(),
        promised_days: plan.bundle.promised_days,
        issue_together: plan.bundle.issue_together,
        items,
        materials,
    };
    render(StatusCode::OK, &page)
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
    let back = Some((format!("/bundles/{code}"), "返回一件事".to_string()));
    let Ok(p) = auth.require() else { return crate::auth::see_other(&format!("/login?next=/bundles/{code}/apply")) };
    let plan = match state.store().bundle_plan(code).await {
        Ok(p) => p,
        Err(e) => return problem_page(state, auth, "在线申请", ApiError::new(&e), back).await,
    };
    let applicant = applicant_of(p);
    let ctx = yiwang_store::FormContext { applicant: &applicant, account_id: &p.account_id, case_no: None, assured: p.assured };
    let fields = match state.store().fill_form(&plan.form, submitted, ctx, jiff::Timestamp::now()).await {
        Ok(filled) => field_views(&plan.form, &filled, problems),
        Err(e) => return problem_page(state, auth, "在线申请", e.into(), back).await,
    };
    let page = ApplyPage {
        l: Layout::new(state, auth, &format!("在线申请：{}", plan.bundle.name)).await,
        action: format!("/bundles/{code}/apply"),
        back_url: format!("/bundles/{code}"),
        back_label: "一件事指南",
        subject_label: "一件事",
        subject: plan.bundle.name.clone(),
        agency: format!("{} 个事项，一张表单", plan.items.len()),
        fields,
        message,
    };
    render(status, &page)
}

/// `GET /bundles/{code}/apply`: the one form, filled from held data.
pub async fn apply_page(State(state): State<AppState>, auth: Auth, Path(code): Path<String>) -> Response {
    apply_form(&state, &auth, &code, &Value::Null, &[], None, StatusCode::OK).await
}

/// `POST /bundles/{code}/apply`: open the bundle application (a draft child
/// per item); the page shows the 查询码 once.
pub async fn apply_submit(State(state): State<AppState>, auth: Auth, Path(code): Path<String>, body: String) -> Response {
    let Ok(p) = auth.require() else { return crate::auth::see_other(&format!("/login?next=/bundles/{code}/apply")) };
    let form = match state.store().bundle_plan(&code).await {
        Ok(plan) => coerce_pairs(&plan.form, &pairs(&body)),
        Err(e) => return problem_page(&state, &auth, "在线申请", ApiError::new(&e), back_to_list()).await,
    };
    let new = NewBundleCase {
        bundle_code: code.clone(),
        applicant: applicant_of(p),
        account_id: p.account_id.clone(),
        form: form.clone(),
        hall_id: None,
        level: p.level,
        assured: p.assured,
    };
    match state.store().create_bundle_case(&new, jiff::Timestamp::now()).await {
        Ok((b, query_code)) => {
            let b = crate::shared_materials::bundle_fetched(&state, b, &p.account_id).await;
            let created = Created {
                number_label: "一件事申请编号",
                continue_url: format!("/me/bundles/{}", b.bundle_no),
                case_no: b.bundle_no,
                query_code,
                receipt_url: None,
            };
            created_page_of(&state, &auth, "申请已暂存", created).await
        }
        Err(e) => {
            let (problems, message, status) = refusal(&e);
            apply_form(&state, &auth, &code, &form, &problems, Some(message), status).await
        }
    }
}

struct ChildLine {
    case_no: String,
    item_name: String,
    state_zh: &'static str,
    promised_due: Option<String>,
}

struct MaterialLine {
    name: String,
    required: bool,
    provided_zh: &'static str,
    can_upload: bool,
    can_commit: bool,
    commitment_text: String,
}

#[derive(askama::Template)]
#[template(path = "bundle_case.html")]
struct BundleCasePage {
    l: Layout,
    bundle_no: String,
    state_zh: &'static str,
    children: Vec<ChildLine>,
    editable: bool,
    fields: Vec<FieldView>,
    materials: Vec<MaterialLine>,
    can_submit: bool,
    notice: Option<&'static str>,
    message: Option<String>,
}

/// What a material of the one set stands at, from each child's material
/// statuses: provided for every item that asks (the first child's way), or
/// still missing somewhere.
fn provided_by(statuses: &[Vec<MaterialStatus>], name: &str) -> ProvidedBy {
    let mut way = ProvidedBy::Missing;
    for status in statuses.iter().filter_map(|child| child.iter().find(|m| m.name == name)) {
        if status.provided_by == ProvidedBy::Missing {
            return ProvidedBy::Missing;
        }
        way = status.provided_by;
    }
    way
}

struct ViewOpts<'a> {
    submitted: Option<&'a Value>,
    problems: &'a [FieldProblem],
    notice: Option<&'static str>,
    message: Option<String>,
    status: StatusCode,
}

async fn bundle_view(state: &AppState, auth: &Auth, b: &BundleCase, o: ViewOpts<'_>) -> Result<Response, ApiError> {
    let plan = state.store().bundle_case_plan(b).await?;
    let editable = b.children.iter().any(|c| c.state.applicant_may_edit());
    let fields = if editable {
        let ctx = yiwang_store::FormContext {
            applicant: &b.applicant,
            account_id: &b.account_id,
            case_no: b.children.first().map(|c| c.case_no.as_str()),
            assured: b.children.iter().all(|c| c.assured),
        };
        let filled = state.store().fill_form(&plan.form, o.submitted.unwrap_or(&b.form), ctx, jiff::Timestamp::now()).await?;
        field_views(&plan.form, &filled, o.problems)
    } else {
        Vec::new()
    };
    // 信用: a commitment is offered only to an applicant with no credit record in force.
    let offers_commitments = plan.materials.iter().any(|m| m.commitment_allowed);
    let credit_ok = !offers_commitments || state.store().commitment_offered(&b.applicant, jiff::Timestamp::now()).await?;
    // Each child's material statuses, once.
    let statuses: Vec<Vec<MaterialStatus>> = b
        .children
        .iter()
        .filter_map(|child| {
            let item = plan.items.iter().find(|i| i.doc.implementation_code == child.item_code)?;
            Some(yiwang_store::material_statuses(&item.doc, child))
        })
        .collect();
    let materials = plan
        .materials
        .iter()
        .map(|m| {
            let way = provided_by(&statuses, &m.name);
            MaterialLine {
                provided_zh: way.shown_zh(m.required, false),
                can_upload: editable && matches!(way, ProvidedBy::Upload | ProvidedBy::Missing),
                can_commit: editable && credit_ok && m.commitment_allowed && way == ProvidedBy::Missing,
                commitment_text: yiwang_case::materials::commitment_text(&plan.bundle.name, &m.name),
                required: m.required,
                name: m.name.clone(),
            }
        })
        .collect();
    let children = b
        .children
        .iter()
        .map(|c| ChildLine {
            case_no: c.case_no.clone(),
            item_name: c.item_name.clone(),
            state_zh: c.state.name_zh(),
            promised_due: c.promised_due.clone(),
        })
        .collect();
    let page = BundleCasePage {
        l: Layout::new(state, auth, &format!("一件事：{}", b.bundle_name)).await,
        bundle_no: b.bundle_no.clone(),
        state_zh: b.state().name_zh(),
        children,
        editable,
        fields,
        materials,
        can_submit: editable,
        notice: o.notice,
        message: o.message,
    };
    Ok(render(o.status, &page))
}

/// The bundle application if the caller is its applicant (else 404).
async fn own_bundle(state: &AppState, auth: &Auth, no: &str) -> Result<(BundleCase, String), ApiError> {
    let p = auth.require()?;
    let b = crate::bundles::bundle_or_404(state, no).await?;
    if crate::bundles::is_bundle_applicant(p, &b) { Ok((b, p.account_id.clone())) } else { Err(crate::bundles::not_found()) }
}

fn back_to_mine() -> Option<(String, String)> {
    Some(("/me/cases".to_string(), "我的办件".to_string()))
}

/// `GET /me/bundles/{no}`: the applicant's bundle page.
pub async fn case_page(State(state): State<AppState>, auth: Auth, Path(no): Path<String>, Query(q): Query<DoneQuery>) -> Response {
    let result = async {
        let (b, _) = own_bundle(&state, &auth, &no).await?;
        let notice = match q.done.as_deref() {
            Some("saved") => Some("申请表已保存，已同步到各事项。"),
            Some("uploaded") => Some("材料已上传，需要它的各事项共用这一份。"),
            Some("committed") => Some("已签署告知承诺，受理后将进行核查。"),
            Some("submitted") => Some("已一次提交全部事项，各部门将并联办理。"),
            _ => None,
        };
        let opts = ViewOpts { submitted: None, problems: &[], notice, message: None, status: StatusCode::OK };
        bundle_view(&state, &auth, &b, opts).await
    }
    .await;
    match result {
        Ok(r) => r,
        Err(e) => problem_page(&state, &auth, "一件事", e, back_to_mine()).await,
    }
}

/// After a change: back to the page (303), or the page again with why not.
async fn after_change(
    state: &AppState,
    auth: &Auth,
    no: &str,
    outcome: Result<BundleCase, CaseStoreError>,
    done: &str,
    submitted: Option<&Value>,
) -> Response {
    let failed = match outcome {
        Ok(b) => return crate::auth::see_other(&format!("/me/bundles/{}?done={done}", b.bundle_no)),
        Err(e) => e,
    };
    let b = match own_bundle(state, auth, no).await {
        Ok((b, _)) => b,
        Err(e) => return problem_page(state, auth, "一件事", e, back_to_mine()).await,
    };
    let (problems, message, status) = refusal(&failed);
    let opts = ViewOpts { submitted, problems: &problems, notice: None, message: Some(message), status };
    match bundle_view(state, auth, &b, opts).await {
        Ok(r) => r,
        Err(e) => problem_page(state, auth, "一件事", e, back_to_mine()).await,
    }
}

/// The applicant's bundle, the node calendar and the actor; or the error page.
async fn start(state: &AppState, auth: &Auth, no: &str) -> Result<(BundleCase, yiwang_calendar::Calendar, String), Response> {
    let loaded = async {
        let (b, actor) = own_bundle(state, auth, no).await?;
        let calendar = state.store().load_calendar().await?;
        Ok::<_, ApiError>((b, calendar, actor))
    }
    .await;
    match loaded {
        Ok(x) => Ok(x),
        Err(e) => Err(problem_page(state, auth, "一件事", e, back_to_mine()).await),
    }
}

/// `POST /me/bundles/{no}/form`: save the one form.
pub async fn save_form(State(state): State<AppState>, auth: Auth, Path(no): Path<String>, body: String) -> Response {
    let (b, calendar, actor) = match start(&state, &auth, &no).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let form = match state.store().bundle_case_plan(&b).await {
        Ok(plan) => coerce_pairs(&plan.form, &pairs(&body)),
        Err(e) => return after_change(&state, &auth, &no, Err(e), "saved", None).await,
    };
    let outcome = state.store().save_bundle_form(&b.bundle_no, &form, &actor, jiff::Timestamp::now(), &calendar).await;
    after_change(&state, &auth, &no, outcome, "saved", Some(&form)).await
}

/// `POST /me/bundles/{no}/materials?csrf=…` (multipart): one upload for every item that asks.
pub async fn upload(State(state): State<AppState>, auth: Auth, Path(no): Path<String>, form: crate::cases::MultipartBody) -> Response {
    let (b, calendar, actor) = match start(&state, &auth, &no).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let u = match crate::cases::read_upload(form).await {
        Ok(u) => u,
        Err(e) => return problem_page(&state, &auth, "上传材料", e, Some((format!("/me/bundles/{no}"), "返回一件事".into()))).await,
    };
    let outcome = state.store().upload_bundle_material(&b.bundle_no, u.as_file(&state), &actor, jiff::Timestamp::now(), &calendar).await;
    after_change(&state, &auth, &no, outcome, "uploaded", None).await
}

/// `POST /me/bundles/{no}/commitments`: 告知承诺 once for every item that allows it.
pub async fn commit(
    State(state): State<AppState>,
    auth: Auth,
    Path(no): Path<String>,
    axum::Form(f): axum::Form<crate::application_pages::CommitForm>,
) -> Response {
    let (b, calendar, actor) = match start(&state, &auth, &no).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let outcome = state.store().sign_bundle_commitment(&b.bundle_no, f.material.trim(), &actor, jiff::Timestamp::now(), &calendar).await;
    after_change(&state, &auth, &no, outcome, "committed", None).await
}

/// `POST /me/bundles/{no}/submit`: hand in every item at once.
pub async fn submit(State(state): State<AppState>, auth: Auth, Path(no): Path<String>) -> Response {
    let (b, calendar, actor) = match start(&state, &auth, &no).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let b = crate::shared_materials::bundle_fetched(&state, b, &actor).await;
    let outcome = state.store().submit_bundle(&b.bundle_no, &actor, jiff::Timestamp::now(), &calendar).await;
    after_change(&state, &auth, &no, outcome, "submitted", None).await
}
