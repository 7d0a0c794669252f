//! Catalog pages: the portal's search page and service guides, and the console
//! for editors and reviewers (list, create, edit, diff, submit, publish,
//! suspend, cancel, the once-only analysis). Every state change goes through the
//! operations in `catalog.rs`.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use yiwang_catalog::guide::{Guide, guide};
use yiwang_catalog::{Action, AgencyRef, ItemDoc, ItemStatus, MaterialSource, VersionState};
use yiwang_codes::{BasicCode, ImplementationCode, Uscc, UseLevel};
use yiwang_identity::Role;
use yiwang_store::{ItemFilter, ItemHead, VersionMeta};

use crate::auth::{Auth, see_other};
use crate::catalog::{self, SearchParams};
use crate::pages::{Layout, problem_page, render};
use crate::{ApiError, AppState};

/// The guide of a published (or a given public) version.
pub async fn load_guide(state: &AppState, code: &str, version: Option<i64>) -> Result<Guide, ApiError> {
    let (doc, number, published_at, status) = catalog::public_version(state.store(), code, version).await?;
    let current = match version {
        Some(_) => state.store().item_head(code).await?.and_then(|h| h.published_version),
        None => Some(number),
    };
    let notice = match status {
        ItemStatus::Suspended => Some("本事项已暂停办理，暂不受理申请。".to_string()),
        ItemStatus::Cancelled => Some("本事项已取消，不再受理申请。".to_string()),
        ItemStatus::Active if current != Some(number) => {
            Some(format!("这是第 {number} 版（历史版本），仅供查阅；现行版本请见本页不带版本号的地址。"))
        }
        ItemStatus::Active => None,
    };
    let names = evidence_names(state).await?;
    let label = |s: &MaterialSource| match s {
        MaterialSource::License { license_type } => names.get(license_type).cloned(),
        MaterialSource::Shared { resource } => names.get(resource).cloned(),
        MaterialSource::Applicant => None,
    };
    let mut g = guide(&doc, number, published_at.get(..10).unwrap_or(&published_at), &label);
    g.notice = notice;
    Ok(g)
}

async fn evidence_names(state: &AppState) -> Result<std::collections::HashMap<String, String>, ApiError> {
    let mut m = std::collections::HashMap::new();
    for e in state.store().license_types().await?.into_iter().chain(state.store().data_resources().await?) {
        m.insert(e.code, e.name);
    }
    Ok(m)
}

#[derive(Template)]
#[template(path = "items.html")]
struct ItemsPage {
    l: Layout,
    p: SearchParams,
    result: yiwang_search::SearchResult,
    themes: Vec<String>,
    next_page: Option<String>,
}

/// `GET /items`: search and browse.
pub async fn items_page(State(state): State<AppState>, auth: Auth, Query(p): Query<SearchParams>) -> Response {
    let result = match catalog::search(&state, &p).await {
        Ok(r) => r,
        Err(e) => return e.into_response_page(&state, &auth).await,
    };
    let themes = match state.catalog().index(state.store()).await {
        Ok(i) => i.themes(),
        Err(_) => vec![],
    };
    let page = usize::try_from(p.page.unwrap_or(1).max(1)).unwrap_or(1);
    let per = p.query().map_or(20, |q| q.limit);
    let next_page = (page * per < result.total && (page + 1) * per <= crate::bounds::MAX_WINDOW as usize).then(|| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [("q", &p.q), ("audience", &p.audience), ("theme", &p.theme), ("region", &p.region), ("online", &p.online)] {
            if !v.is_empty() {
                s.append_pair(k, v);
            }
        }
        s.append_pair("page", &(page + 1).to_string());
        format!("/items?{}", s.finish())
    });
    let title = if p.q.is_empty() { "办事服务".to_string() } else { format!("“{}”的搜索结果", p.q) };
    render(StatusCode::OK, &ItemsPage { l: Layout::new(&state, &auth, &title).await, p, result, themes, next_page })
}

#[derive(Template)]
#[template(path = "guide.html")]
struct GuidePage {
    l: Layout,
    g: Guide,
    pdf: String,
    /// The online application, for the version in force.
    apply: Option<String>,
}

/// `GET /items/{code}`: the service guide.
pub async fn guide_page(
    State(state): State<AppState>,
    auth: Auth,
    Path(code): Path<String>,
    Query(v): Query<catalog::VersionParam>,
) -> Response {
    let started = std::time::Instant::now();
    let g = match load_guide(&state, &code, v.version).await {
        Ok(g) => g,
        Err(e) => return e.into_response_page(&state, &auth).await,
    };
    let pdf = match v.version {
        Some(n) => format!("/items/{code}/guide.pdf?version={n}"),
        None => format!("/items/{code}/guide.pdf"),
    };
    let title = format!("{} 办事指南", g.title);
    let apply = v.version.is_none().then(|| format!("/items/{code}/apply"));
    let resp = render(StatusCode::OK, &GuidePage { l: Layout::new(&state, &auth, &title).await, g, pdf, apply });
    metrics::histogram!("yiwang_guide_page_seconds").record(started.elapsed().as_secs_f64());
    resp
}

// ---------------------------------------------------------------------------
// Console
// ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "console_catalog.html")]
struct ConsoleCatalog {
    l: Layout,
    items: Vec<ItemHead>,
    total: i64,
    edit_agencies: Vec<(String, String)>,
    state_filter: String,
}

#[derive(Debug, Deserialize, Default)]
pub struct ConsoleListParams {
    #[serde(default)]
    pub state: String,
}

/// `GET /console/catalog`
pub async fn console_list(State(state): State<AppState>, auth: Auth, Query(q): Query<ConsoleListParams>) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let latest_state = VersionState::from_code(&q.state);
    let filter = ItemFilter { agencies: catalog::visible_agencies(state.store(), p).await?, latest_state, limit: 500, offset: 0 };
    let (items, total) = state.store().list_items(&filter).await?;
    let edit_agencies =
        p.staff.iter().filter(|s| s.role == Role::CatalogEditor).map(|s| (s.agency.clone(), s.agency_name.clone())).collect();
    Ok(render(
        StatusCode::OK,
        &ConsoleCatalog { l: Layout::new(&state, &auth, "事项管理").await, items, total, edit_agencies, state_filter: q.state },
    ))
}

#[derive(Debug, Deserialize)]
pub struct NewItemForm {
    pub agency: String,
    pub basic_code: String,
    pub name: String,
}

fn level_of(agency_level: &str) -> UseLevel {
    match agency_level {
        "national" => UseLevel::National,
        "provincial" => UseLevel::Provincial,
        "county" => UseLevel::County,
        "township" => UseLevel::Township,
        _ => UseLevel::Municipal,
    }
}

/// `POST /console/catalog`: start a new item as a draft and open its editor.
pub async fn console_create(State(state): State<AppState>, auth: Auth, Form(f): Form<NewItemForm>) -> Response {
    let Some(p) = auth.principal.as_ref() else { return see_other("/login") };
    let result: Result<String, ApiError> = async {
        let agency =
            state.store().agency(&f.agency).await?.ok_or_else(|| ApiError::new(&yiwang_catalog::CatalogError::Forbidden(Action::Edit)))?;
        let uscc = Uscc::parse(&agency.uscc)?;
        let basic = BasicCode::parse(&f.basic_code.to_uppercase())?;
        let level = level_of(&agency.level);
        let code = ImplementationCode::compose(&uscc, level, &basic);
        let mut doc = ItemDoc::blank(
            code.as_str(),
            basic.as_str(),
            AgencyRef { uscc: agency.uscc.clone(), name: agency.name.clone(), division_code: agency.division_code.clone() },
            level,
        );
        doc.name = f.name.trim().to_string();
        catalog::create(&state, p, doc, jiff::Timestamp::now()).await?;
        Ok(code.as_str().to_string())
    }
    .await;
    match result {
        Ok(code) => see_other(&format!("/console/catalog/{code}/edit")),
        Err(e) => e.into_response_page(&state, &auth).await,
    }
}

#[derive(Template)]
#[template(path = "console_item.html")]
struct ConsoleItem {
    l: Layout,
    head: ItemHead,
    versions: Vec<VersionMeta>,
    actions: Vec<(&'static str, &'static str)>,
    diff_url: Option<String>,
    notice: String,
}

#[derive(Debug, Deserialize, Default)]
pub struct NoticeParam {
    #[serde(default)]
    pub done: String,
}

/// `GET /console/catalog/{code}`
pub async fn console_item(
    State(state): State<AppState>,
    auth: Auth,
    Path(code): Path<String>,
    Query(n): Query<NoticeParam>,
) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let head = catalog::visible_head(state.store(), p, &code).await?;
    let versions = state.store().item_versions(&code).await?;
    let editor = p.has_role_in(&head.agency_uscc, &[Role::CatalogEditor]);
    let reviewer = !p.agencies_with(&[Role::CatalogReviewer]).is_empty() || p.is_admin();
    let mut actions = Vec::new();
    use yiwang_catalog::ItemStatus::*;
    if head.status != Cancelled {
        if editor && head.latest_state == VersionState::Draft {
            actions.push(("submit", "提交审核"));
        }
        if reviewer && head.latest_state == VersionState::Submitted {
            actions.push(("publish", "审核通过并发布"));
            actions.push(("return", "退回修改"));
        }
        if reviewer && head.published_version.is_some() {
            if head.status == Active {
                actions.push(("suspend", "暂停办理"));
            } else {
                actions.push(("resume", "恢复办理"));
            }
        }
        if reviewer {
            actions.push(("cancel", "取消事项"));
        }
    }
    let diff_url = match (head.published_version, head.latest_version) {
        (Some(pv), lv) if lv != pv => Some(format!("/console/catalog/{code}/diff?from={pv}&to={lv}")),
        (_, lv) if lv > 1 => Some(format!("/console/catalog/{code}/diff?from={}&to={lv}", lv - 1)),
        _ => None,
    };
    let notice = match n.done.as_str() {
        "saved" => "草稿已保存。",
        "submit" => "已提交审核。",
        "publish" => "已发布，办事指南和检索已更新。",
        "return" => "已退回修改。",
        "suspend" => "已暂停办理。",
        "resume" => "已恢复办理。",
        "cancel" => "事项已取消。",
        _ => "",
    }
    .to_string();
    let title = format!("事项：{}", head.name);
    Ok(render(StatusCode::OK, &ConsoleItem { l: Layout::new(&state, &auth, &title).await, head, versions, actions, diff_url, notice }))
}

#[derive(Debug, Deserialize)]
pub struct ActionForm {
    pub action: String,
    #[serde(default)]
    pub note: String,
}

/// `POST /console/catalog/{code}/action`
pub async fn console_action(State(state): State<AppState>, auth: Auth, Path(code): Path<String>, Form(f): Form<ActionForm>) -> Response {
    let Some(p) = auth.principal.as_ref() else { return see_other("/login") };
    let result = async {
        let action = catalog::parse_action(&f.action)?;
        catalog::act(&state, p, &code, action, &f.note, jiff::Timestamp::now()).await
    }
    .await;
    match result {
        Ok(()) => see_other(&format!("/console/catalog/{code}?done={}", f.action)),
        Err(e) => e.into_response_page(&state, &auth).await,
    }
}

#[derive(Template)]
#[template(path = "console_edit.html")]
struct ConsoleEdit {
    l: Layout,
    code: String,
    /// The processes an item can run: (form value, label).
    processes: Vec<(String, String)>,
    f: EditForm,
    errors: Vec<yiwang_catalog::FieldError>,
    message: String,
}

/// The editor's form: the elements people edit most as fields, and the whole
/// record as JSON for the rest (materials, fees, FAQ…).
#[derive(Debug, Deserialize, Default, Clone)]
pub struct EditForm {
    pub name: String,
    #[serde(default)]
    pub aliases: String,
    #[serde(default)]
    pub by_law: String,
    #[serde(default)]
    pub accept_conditions: String,
    #[serde(default)]
    pub legal_days: String,
    #[serde(default)]
    pub promised_days: String,
    #[serde(default)]
    pub visits: String,
    #[serde(default)]
    pub place: String,
    #[serde(default)]
    pub hours: String,
    #[serde(default)]
    pub consult_phone: String,
    #[serde(default)]
    pub complaint_phone: String,
    /// The process that drives the item's cases: empty for the node's
    /// default, `id` for its latest deployed version, `id@N` for version N.
    #[serde(default)]
    pub workflow: String,
    #[serde(default)]
    pub doc_json: String,
}

impl EditForm {
    fn from_doc(d: &ItemDoc) -> EditForm {
        EditForm {
            name: d.name.clone(),
            aliases: d.aliases.join("，"),
            by_law: d.by_law.clone(),
            accept_conditions: d.accept_conditions.clone(),
            legal_days: d.legal_limit.amount.to_string(),
            promised_days: d.promised_limit.amount.to_string(),
            visits: d.visits.to_string(),
            place: d.place.clone(),
            hours: d.hours.clone(),
            consult_phone: d.consult_phone.clone(),
            complaint_phone: d.complaint_phone.clone(),
            workflow: d.workflow.as_ref().map_or_else(String::new, |w| match w.version {
                Some(v) => format!("{}@{v}", w.id),
                None => w.id.clone(),
            }),
            doc_json: serde_json::to_string_pretty(d).unwrap_or_default(),
        }
    }

    /// The document: the JSON, with the fields laid over it.
    fn to_doc(&self) -> Result<ItemDoc, Vec<yiwang_catalog::FieldError>> {
        let one = |field: &str, zh: String, en: String| vec![yiwang_catalog::FieldError::new(field, "format", zh, en)];
        let mut d: ItemDoc = serde_json::from_str(&self.doc_json)
            .map_err(|e| one("doc_json", format!("完整要素（JSON）格式不正确：{e}"), format!("the JSON record is invalid: {e}")))?;
        let num = |field: &str, label: &str, s: &str| -> Result<u32, Vec<yiwang_catalog::FieldError>> {
            s.trim()
                .parse::<u32>()
                .map_err(|_| one(field, format!("{label}应为非负整数"), format!("{field} must be a non-negative integer")))
        };
        d.name = self.name.trim().to_string();
        d.aliases = yiwang_catalog::code_lists::split_multi(&self.aliases).map(String::from).collect();
        d.by_law = self.by_law.trim().to_string();
        d.accept_conditions = self.accept_conditions.trim().to_string();
        d.legal_limit.amount = num("legal_days", "法定办结时限", &self.legal_days)?;
        d.promised_limit.amount = num("promised_days", "承诺办结时限", &self.promised_days)?;
        d.visits = u8::try_from(num("visits", "到现场次数", &self.visits)?).unwrap_or(u8::MAX);
        d.place = self.place.trim().to_string();
        d.hours = self.hours.trim().to_string();
        d.consult_phone = self.consult_phone.trim().to_string();
        d.complaint_phone = self.complaint_phone.trim().to_string();
        d.workflow = match self.workflow.trim() {
            "" => None,
            w => {
                let (id, version) = match w.split_once('@') {
                    Some((id, v)) => (id, Some(num("workflow", "办理流程版本", v)?)),
                    None => (w, None),
                };
                Some(yiwang_catalog::ProcessRef { id: id.trim().to_string(), version: version.map(i64::from) })
            }
        };
        Ok(d)
    }
}

/// The processes deployed on the node, as the editor's choices: each process's
/// latest version (followed as it changes) and each version pinned. The
/// node's default process is the empty choice.
async fn process_choices(state: &AppState) -> Result<Vec<(String, String)>, ApiError> {
    let mut out = Vec::new();
    let mut last = String::new();
    for (id, version, name) in state.store().deployed_processes().await? {
        if id == yiwang_store::DEFAULT_PROCESS_ID {
            continue;
        }
        if id != last {
            out.push((id.clone(), format!("{name}（{id}，始终用最新版本）")));
            last = id.clone();
        }
        out.push((format!("{id}@{version}"), format!("{name}（{id}，第 {version} 版）")));
    }
    Ok(out)
}

/// `GET /console/catalog/{code}/edit`: the latest version in the editor.
pub async fn console_edit_form(State(state): State<AppState>, auth: Auth, Path(code): Path<String>) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let head = catalog::visible_head(state.store(), p, &code).await?;
    let v = state
        .store()
        .item_version(&code, head.latest_version)
        .await?
        .ok_or_else(|| ApiError::new(&yiwang_catalog::CatalogError::NotFound))?;
    let message = match v.meta.state {
        VersionState::Published | VersionState::Superseded => "保存后将生成新版本草稿；已发布版本在新版本发布前继续有效。".to_string(),
        VersionState::Submitted => "该版本正在审核，审核结束前不能修改。".to_string(),
        _ => v.meta.review_note.map(|n| format!("审核意见：{n}")).unwrap_or_default(),
    };
    let title = format!("编辑事项：{}", head.name);
    Ok(render(
        StatusCode::OK,
        &ConsoleEdit {
            l: Layout::new(&state, &auth, &title).await,
            code,
            processes: process_choices(&state).await?,
            f: EditForm::from_doc(&v.doc),
            errors: vec![],
            message,
        },
    ))
}

/// `POST /console/catalog/{code}/edit`
pub async fn console_edit_save(State(state): State<AppState>, auth: Auth, Path(code): Path<String>, Form(f): Form<EditForm>) -> Response {
    let Some(p) = auth.principal.as_ref() else { return see_other("/login") };
    let outcome: Result<(), Vec<yiwang_catalog::FieldError>> = match f.to_doc() {
        Err(errors) => Err(errors),
        Ok(doc) => {
            let errors = yiwang_catalog::validate(&doc);
            if errors.is_empty() {
                match catalog::save(&state, p, &code, doc, jiff::Timestamp::now()).await {
                    Ok(_) => return see_other(&format!("/console/catalog/{code}?done=saved")),
                    Err(e) => return e.into_response_page(&state, &auth).await,
                }
            }
            Err(errors)
        }
    };
    let errors = outcome.err().unwrap_or_default();
    let title = "编辑事项（有错误）";
    render(
        StatusCode::UNPROCESSABLE_ENTITY,
        &ConsoleEdit {
            l: Layout::new(&state, &auth, title).await,
            code,
            processes: process_choices(&state).await.unwrap_or_default(),
            f,
            errors,
            message: "请修改以下错误后重新保存。".into(),
        },
    )
}

#[derive(Template)]
#[template(path = "console_diff.html")]
struct DiffFragment {
    from: i64,
    to: i64,
    changes: Vec<yiwang_catalog::diff::Change>,
}

/// `GET /console/catalog/{code}/diff?from=&to=` (an htmx fragment).
pub async fn console_diff(
    State(state): State<AppState>,
    auth: Auth,
    Path(code): Path<String>,
    Query(d): Query<catalog::DiffParams>,
) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let changes = catalog::diff(state.store(), p, &code, d.from, d.to).await?;
    Ok(render(StatusCode::OK, &DiffFragment { from: d.from, to: d.to, changes }))
}

#[derive(Template)]
#[template(path = "console_analysis.html")]
struct AnalysisPage {
    l: Layout,
    r: yiwang_catalog::Report,
}

/// `GET /console/catalog/analysis`
pub async fn console_analysis(State(state): State<AppState>, auth: Auth) -> Result<Response, ApiError> {
    let r = catalog::analysis(state.store()).await?;
    Ok(render(StatusCode::OK, &AnalysisPage { l: Layout::new(&state, &auth, "“三个凡是”免提交分析").await, r }))
}

/// `GET /static/htmx.min.js` (htmx 2.0.11, 0BSD), served from the binary.
pub async fn htmx() -> Response {
    use axum::response::IntoResponse;
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        include_str!("../static/htmx.min.js"),
    )
        .into_response()
}

impl ApiError {
    /// The error as an HTML page, for page handlers.
    pub async fn into_response_page(self, state: &AppState, auth: &Auth) -> Response {
        problem_page(state, auth, "出错了", self, None).await
    }
}
