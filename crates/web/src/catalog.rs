//! The item catalog at the HTTP edge: the search index and printer each process
//! keeps, the public API (search, published items, exports) and the staff API
//! (drafts, the lifecycle, versions, diffs, the once-only analysis). Pages in
//! `catalog_pages.rs` call the same operations, so the console and the API
//! cannot disagree about who may do what.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use yiwang_catalog::exchange::{to_cpsv_ap, to_yiwang_json};
use yiwang_catalog::{
    Action, CatalogError, Evidence, Holdings, ItemDoc, ItemStatus, Owner, VersionState, authorize, publishable, transition, validate,
};
use yiwang_identity::{Principal, Role};
use yiwang_print::{Printer, Template};
use yiwang_search::{Audience, CatalogIndex, SearchQuery, SearchResult};
use yiwang_store::{ItemFilter, ItemHead, Store, StoreError};

use crate::auth::Auth;
use crate::{ApiError, AppState};

/// How often a process asks whether the published catalog changed.
const GENERATION_CHECK: Duration = Duration::from_secs(2);

/// Per-process catalog state: the search index of the current generation and
/// the PDF printer.
pub struct CatalogRuntime {
    printer: Printer,
    index: Mutex<Arc<CatalogIndex>>,
    checked: Mutex<Option<Instant>>,
    rebuild: tokio::sync::Mutex<()>,
}

impl Default for CatalogRuntime {
    fn default() -> Self {
        CatalogRuntime::new()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl CatalogRuntime {
    pub fn new() -> CatalogRuntime {
        let empty = CatalogIndex::build(std::iter::empty(), -1).map(Arc::new);
        CatalogRuntime {
            printer: Printer::new(),
            index: Mutex::new(empty.unwrap_or_else(|_| unreachable_index())),
            checked: Mutex::new(None),
            rebuild: tokio::sync::Mutex::new(()),
        }
    }

    pub fn printer(&self) -> &Printer {
        &self.printer
    }

    /// Forget when we last checked, so the next search reloads if needed.
    pub fn invalidate(&self) {
        *lock(&self.checked) = None;
    }

    /// The index of the current catalog generation, rebuilt when it changed.
    pub async fn index(&self, store: &Store) -> Result<Arc<CatalogIndex>, ApiError> {
        let fresh = lock(&self.checked).is_some_and(|t| t.elapsed() < GENERATION_CHECK);
        let current = lock(&self.index).clone();
        if fresh {
            return Ok(current);
        }
        // One rebuild at a time. While it runs, other searches are answered from
        // the previous index instead of queueing behind it; only before the first
        // build is there nothing to answer from.
        let _one_at_a_time = match self.rebuild.try_lock() {
            Ok(guard) => guard,
            Err(_) if current.generation() >= 0 => return Ok(current),
            Err(_) => self.rebuild.lock().await,
        };
        let generation = store.catalog_generation().await?;
        let current = lock(&self.index).clone();
        if current.generation() == generation {
            *lock(&self.checked) = Some(Instant::now());
            return Ok(current);
        }
        let items = store.published_items().await?;
        let built = tokio::task::spawn_blocking(move || {
            CatalogIndex::build(
                items.iter().map(|p| yiwang_search::Indexable {
                    doc: &p.doc,
                    version: p.version,
                    suspended: p.status == ItemStatus::Suspended,
                    division: &p.agency_division,
                }),
                generation,
            )
        })
        .await
        .map_err(|_| ApiError::new(&crate::WebError::Panic))??;
        let built = Arc::new(built);
        *lock(&self.index) = built.clone();
        *lock(&self.checked) = Some(Instant::now());
        Ok(built)
    }
}

/// An index with nothing in it, should building even an empty one fail.
fn unreachable_index() -> Arc<CatalogIndex> {
    // Building an empty in-memory index cannot fail short of allocation failure;
    // try once more, and stop the process (logged) rather than serve without search.
    match CatalogIndex::build(std::iter::empty(), -1) {
        Ok(i) => Arc::new(i),
        Err(e) => {
            tracing::error!(error = %e, "empty search index");
            std::process::abort()
        }
    }
}

// ---------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------

#[derive(Debug, Deserialize, Default)]
pub struct SearchParams {
    #[serde(default)]
    pub q: String,
    /// `natural` (自然人) or `legal` (法人).
    #[serde(default)]
    pub audience: String,
    #[serde(default)]
    pub theme: String,
    #[serde(default)]
    pub agency: String,
    #[serde(default)]
    pub region: String,
    /// `1` for 全程网办 only.
    #[serde(default)]
    pub online: String,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

impl SearchParams {
    /// The search this asks for, or 400 for a page size or page out of bounds.
    pub fn query(&self) -> Result<SearchQuery, ApiError> {
        let per_page = crate::bounds::page_size("per_page", self.per_page, 20, yiwang_search::MAX_LIMIT as i64)?;
        let offset = crate::bounds::page_offset("page", self.page, per_page)?;
        Ok(SearchQuery {
            q: self.q.chars().take(100).collect(),
            audience: match self.audience.as_str() {
                "natural" => Some(Audience::Natural),
                "legal" => Some(Audience::Legal),
                _ => None,
            },
            theme: Some(self.theme.clone()).filter(|s| !s.is_empty()),
            agency: Some(self.agency.clone()).filter(|s| !s.is_empty()),
            region: Some(self.region.clone()).filter(|s| !s.is_empty()),
            fully_online: self.online == "1",
            limit: usize::try_from(per_page).unwrap_or(20),
            offset: usize::try_from(offset).unwrap_or(0),
        })
    }
}

pub async fn search(state: &AppState, params: &SearchParams) -> Result<SearchResult, ApiError> {
    let index = state.catalog().index(state.store()).await?;
    let query = params.query()?;
    Ok(index.search(&query)?)
}

/// `GET /api/v1/items?q=…`
pub async fn search_api(State(state): State<AppState>, Query(params): Query<SearchParams>) -> Result<Json<SearchResult>, ApiError> {
    Ok(Json(search(&state, &params).await?))
}

#[derive(Debug, Deserialize)]
pub struct VersionParam {
    pub version: Option<i64>,
}

/// A published or superseded version, readable by anyone (cases cite old versions).
pub async fn public_version(store: &Store, code: &str, version: Option<i64>) -> Result<(ItemDoc, i64, String, ItemStatus), ApiError> {
    let v = match version {
        None => store.published_item(code).await?.map(|p| (p.doc, p.version, p.published_at, p.status)),
        Some(n) => store
            .item_version(code, n)
            .await?
            .filter(|v| matches!(v.meta.state, VersionState::Published | VersionState::Superseded))
            .map(|v| (v.doc, v.meta.version, v.meta.published_at.unwrap_or_default(), v.status)),
    };
    v.ok_or_else(|| ApiError::new(&CatalogError::NotFound))
}

/// `GET /api/v1/items/{code}`
pub async fn item_api(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(v): Query<VersionParam>,
) -> Result<Response, ApiError> {
    let (doc, version, published_at, status) = public_version(state.store(), &code, v.version).await?;
    Ok(Json(serde_json::json!({ "version": version, "published_at": published_at, "status": status.code(), "item": doc })).into_response())
}

#[derive(Debug, Deserialize)]
pub struct ExportParams {
    #[serde(default)]
    pub format: String,
}

/// `GET /api/v1/catalog/export?format=cpsv-ap|yiwang`: every published item.
pub async fn export_api(State(state): State<AppState>, Query(p): Query<ExportParams>) -> Result<Response, ApiError> {
    let items: Vec<ItemDoc> = state.store().published_items().await?.into_iter().map(|p| p.doc).collect();
    match p.format.as_str() {
        "cpsv-ap" | "jsonld" => {
            let base = state.identity().issuer.trim_end_matches('/').to_string();
            Ok(([(header::CONTENT_TYPE, "application/ld+json")], to_cpsv_ap(&items, &base).to_string()).into_response())
        }
        "" | "yiwang" => Ok(Json(to_yiwang_json(&items)).into_response()),
        other => Err(ApiError::new(&crate::WebError::BadParam {
            name: "format",
            detail: format!("unknown format {other:?}; use yiwang or cpsv-ap"),
        })),
    }
}

// ---------------------------------------------------------------------------
// Staff operations, shared by the API and the console
// ---------------------------------------------------------------------------

/// The roles that see the staff side of the catalog.
pub const CATALOG_STAFF: &[Role] = &[Role::CatalogEditor, Role::CatalogReviewer];
/// Who may read the once-only analysis.
pub const ANALYSIS_READERS: &[Role] = &[Role::CatalogEditor, Role::CatalogReviewer, Role::Supervisor, Role::DataOfficer];

/// (agency, division) of every agency where `p` is a catalog reviewer.
async fn reviewer_divisions(store: &Store, p: &Principal) -> Result<Vec<(String, String)>, ApiError> {
    let mut out = Vec::new();
    for agency in p.agencies_with(&[Role::CatalogReviewer]) {
        if let Some(a) = store.agency(agency).await? {
            out.push((a.uscc, a.division_code));
        }
    }
    Ok(out)
}

/// The agencies whose items `p` may see on the staff side: where they edit, and
/// every agency within a division they review.
pub async fn visible_agencies(store: &Store, p: &Principal) -> Result<Option<Vec<String>>, ApiError> {
    if p.is_admin() {
        return Ok(None);
    }
    let reviews = reviewer_divisions(store, p).await?;
    let mut v: Vec<String> = p.agencies_with(&[Role::CatalogEditor]).into_iter().map(String::from).collect();
    if !reviews.is_empty() {
        for a in store.agencies().await? {
            if reviews.iter().any(|(_, d)| yiwang_catalog::lifecycle::division_contains(d, &a.division_code)) {
                v.push(a.uscc);
            }
        }
    }
    v.sort();
    v.dedup();
    Ok(Some(v))
}

fn actor(p: &Principal) -> &str {
    &p.account_id
}

/// 422 with every field's problem (also the operator setup's).
pub(crate) fn invalid(errors: Vec<yiwang_catalog::FieldError>) -> ApiError {
    let e = CatalogError::Invalid(errors);
    ApiError::new(&e).with_detail(serde_json::json!({ "errors": e.field_errors() }))
}

async fn check(store: &Store, p: &Principal, action: Action, head: &ItemHead) -> Result<(), ApiError> {
    let reviews = if action.roles().contains(&Role::CatalogReviewer) { reviewer_divisions(store, p).await? } else { vec![] };
    authorize(p, action, &Owner { agency: &head.agency_uscc, division: &head.agency_division }, &reviews)?;
    Ok(())
}

/// The head, or 404 if the item does not exist or the caller may not see it.
pub async fn visible_head(store: &Store, p: &Principal, code: &str) -> Result<ItemHead, ApiError> {
    let head = store.item_head(code).await?.ok_or_else(|| ApiError::new(&CatalogError::NotFound))?;
    match visible_agencies(store, p).await? {
        Some(v) if !v.contains(&head.agency_uscc) => Err(ApiError::new(&CatalogError::NotFound)),
        _ => Ok(head),
    }
}

/// Create an item (version 1, draft) for an agency the caller edits for.
pub async fn create(state: &AppState, p: &Principal, mut doc: ItemDoc, now: jiff::Timestamp) -> Result<(), ApiError> {
    let store = state.store();
    let agency = store.agency(&doc.agency.uscc).await?;
    let Some(agency) = agency else {
        return Err(invalid(vec![yiwang_catalog::FieldError::new(
            "agency.uscc",
            "unknown",
            "实施主体不是本节点登记的部门",
            "the agency is not registered on this node",
        )]));
    };
    authorize(p, Action::Edit, &Owner { agency: &agency.uscc, division: &agency.division_code }, &[])?;
    doc.agency.name = agency.name;
    doc.agency.division_code = agency.division_code;
    let errors = validate(&doc);
    if !errors.is_empty() {
        return Err(invalid(errors));
    }
    let mut tx = store.begin().await?;
    match tx.create_item(&doc, actor(p), now).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return Err(ApiError::new(&CatalogError::Exists)),
        Err(e) => return Err(e.into()),
    }
    tx.commit().await?;
    Ok(())
}

/// Save a draft (a new version if the latest is published). Returns the version.
pub async fn save(state: &AppState, p: &Principal, code: &str, doc: ItemDoc, now: jiff::Timestamp) -> Result<i64, ApiError> {
    let store = state.store();
    let head = visible_head(store, p, code).await?;
    check(store, p, Action::Edit, &head).await?;
    if doc.implementation_code != code || doc.agency.uscc != head.agency_uscc {
        return Err(invalid(vec![yiwang_catalog::FieldError::new(
            "implementation_code",
            "mismatch",
            "不能修改实施编码或实施主体（请新建事项）",
            "the implementation code and agency cannot change; create a new item",
        )]));
    }
    let errors = validate(&doc);
    if !errors.is_empty() {
        return Err(invalid(errors));
    }
    let mut tx = store.begin().await?;
    let head = tx.item_head_for_update(code).await?.ok_or_else(|| ApiError::new(&CatalogError::NotFound))?;
    let state_now = if head.latest_state == VersionState::Superseded { VersionState::Published } else { head.latest_state };
    transition(Action::Edit, state_now, head.status)?;
    let version = tx.save_draft(&head, &doc, actor(p), now).await?;
    tx.commit().await?;
    Ok(version)
}

/// What publishing adds for case handling: the process the item names is
/// deployed, and a license result's mapping fills the license type's schema
/// from the item's form (checked now, never at conclusion).
async fn handling_problems(
    store: &yiwang_store::Store,
    doc: &yiwang_catalog::ItemDoc,
) -> Result<Vec<yiwang_catalog::FieldError>, ApiError> {
    use yiwang_catalog::FieldError;
    let mut out = Vec::new();
    if let Some(w) = &doc.workflow
        && store.deployed_process_version(&w.id, w.version).await?.is_none()
    {
        out.push(FieldError::new(
            "workflow",
            "invalid_code",
            format!("办理流程 {} 尚未部署", w.id),
            format!("process {} is not deployed", w.id),
        ));
    }
    for (i, r) in doc.results.iter().enumerate() {
        let Some(code) = r.license_type.as_deref().filter(|_| !r.license_data.is_empty()) else { continue };
        match store.license_type(code).await {
            Ok(t) => out.extend(yiwang_catalog::result::mapping_problems(i, r, &t.data_schema, doc.form.as_ref())),
            Err(yiwang_store::StoreError::NotFound(_)) => out.push(FieldError::new(
                format!("results[{i}].license_type"),
                "invalid_code",
                format!("证照类型 {code} 尚未定义（电子证照库中没有其数据项定义）"),
                format!("license type {code} is not defined in the license library"),
            )),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

/// Take a lifecycle action on an item's latest version (or the item itself).
pub async fn act(state: &AppState, p: &Principal, code: &str, action: Action, note: &str, now: jiff::Timestamp) -> Result<(), ApiError> {
    let store = state.store();
    let head = visible_head(store, p, code).await?;
    check(store, p, action, &head).await?;
    let latest = store.item_version(code, head.latest_version).await?.ok_or_else(|| ApiError::new(&CatalogError::NotFound))?;
    if matches!(action, Action::Submit | Action::Publish) {
        let mut errors = publishable(&latest.doc);
        errors.extend(handling_problems(store, &latest.doc).await?);
        if !errors.is_empty() {
            return Err(invalid(errors));
        }
    }
    if action == Action::Publish && latest.meta.submitted_by.as_deref() == Some(actor(p)) {
        return Err(ApiError::new(&CatalogError::FourEyes));
    }
    let note = Some(note.trim()).filter(|n| !n.is_empty());
    let mut tx = store.begin().await?;
    let head = tx.item_head_for_update(code).await?.ok_or_else(|| ApiError::new(&CatalogError::NotFound))?;
    match action {
        Action::Submit | Action::Publish | Action::Return => {
            let to = transition(action, head.latest_state, head.status)?;
            tx.move_version(code, head.latest_version, (head.latest_state, to), actor(p), note, now).await?;
        }
        Action::Suspend | Action::Resume | Action::Cancel => {
            let published = if head.published_version.is_some() { VersionState::Published } else { head.latest_state };
            transition(action, published, head.status)?;
            let to = match action {
                Action::Suspend => ItemStatus::Suspended,
                Action::Resume => ItemStatus::Active,
                _ => ItemStatus::Cancelled,
            };
            if note.is_none() && action != Action::Resume {
                return Err(invalid(vec![yiwang_catalog::FieldError::new("note", "required", "请填写原因", "a reason is required")]));
            }
            tx.set_item_status(code, head.status, to, actor(p), note.unwrap_or(""), now).await?;
        }
        Action::Edit => return Err(ApiError::new(&CatalogError::WrongState { action, state: head.latest_state })),
    }
    tx.commit().await?;
    state.catalog().invalidate();
    Ok(())
}

/// What the analyzer knows the government holds, and which agencies may read
/// which resources: this node's grants in force, and those its agencies hold
/// from providers on other nodes.
pub async fn holdings(store: &Store) -> Result<Holdings, ApiError> {
    let to =
        |v: Vec<yiwang_store::EvidenceType>| v.into_iter().map(|e| Evidence { code: e.code, name: e.name, aliases: e.aliases }).collect();
    let now = jiff::Timestamp::now();
    let uscc = |consumer: &str| yiwang_exchange::ClientId::parse(consumer).ok().map(|c| c.uscc().to_string());
    let mut grants: Vec<(String, String)> = store
        .grants()
        .await?
        .into_iter()
        .filter(|g| g.revoked_at.is_none() && g.valid_from <= now && now < g.valid_until)
        .filter_map(|g| Some((g.resource.clone(), uscc(&g.consumer)?)))
        .collect();
    let approved: Vec<_> =
        store.sharing_applications().await?.into_iter().filter(|a| a.state == yiwang_sharing::RequestState::Approved).collect();
    grants.extend(approved.iter().filter_map(|a| Some((a.resource_code.clone(), uscc(&a.consumer)?))));
    let held_items = approved.iter().flat_map(|a| a.application.fields.iter().cloned()).collect();
    Ok(Holdings {
        license_types: to(store.license_types().await?),
        resources: to(store.data_resources().await?),
        grants,
        basic: store.upstream_basic().await?,
        held_items,
    })
}

pub async fn analysis(store: &Store) -> Result<yiwang_catalog::Report, ApiError> {
    let items = store.published_items().await?;
    let holdings = holdings(store).await?;
    Ok(yiwang_catalog::analyze(items.iter().map(|p| &p.doc), &holdings))
}

// ---------------------------------------------------------------------------
// Staff API handlers
// ---------------------------------------------------------------------------

#[derive(Debug, Deserialize, Default)]
pub struct ListParams {
    pub state: Option<String>,
    pub page: Option<i64>,
}

pub async fn list_api(State(state): State<AppState>, auth: Auth, Query(q): Query<ListParams>) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let latest_state = match q.state.as_deref() {
        None | Some("") => None,
        Some(s) => Some(
            VersionState::from_code(s)
                .ok_or_else(|| ApiError::new(&crate::WebError::BadParam { name: "state", detail: format!("unknown state {s:?}") }))?,
        ),
    };
    let offset = crate::bounds::page_offset("page", q.page, 100)?;
    let filter = ItemFilter { agencies: visible_agencies(state.store(), p).await?, latest_state, limit: 100, offset };
    let (items, total) = state.store().list_items(&filter).await?;
    Ok(Json(serde_json::json!({ "total": total, "items": items })).into_response())
}

pub async fn create_api(State(state): State<AppState>, auth: Auth, Json(doc): Json<ItemDoc>) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let code = doc.implementation_code.clone();
    create(&state, p, doc, jiff::Timestamp::now()).await?;
    Ok((axum::http::StatusCode::CREATED, Json(serde_json::json!({ "implementation_code": code, "version": 1, "state": "draft" })))
        .into_response())
}

pub async fn save_api(
    State(state): State<AppState>,
    auth: Auth,
    Path(code): Path<String>,
    Json(doc): Json<ItemDoc>,
) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let version = save(&state, p, &code, doc, jiff::Timestamp::now()).await?;
    Ok(Json(serde_json::json!({ "implementation_code": code, "version": version, "state": "draft" })).into_response())
}

#[derive(Debug, Deserialize, Default)]
pub struct ActionBody {
    #[serde(default)]
    pub note: String,
}

pub fn parse_action(s: &str) -> Result<Action, ApiError> {
    Ok(match s {
        "submit" => Action::Submit,
        "publish" => Action::Publish,
        "return" => Action::Return,
        "suspend" => Action::Suspend,
        "resume" => Action::Resume,
        "cancel" => Action::Cancel,
        other => {
            return Err(ApiError::new(&crate::WebError::BadParam {
                name: "action",
                detail: format!("unknown action {other:?}; use submit, publish, return, suspend, resume or cancel"),
            }));
        }
    })
}

pub async fn action_api(
    State(state): State<AppState>,
    auth: Auth,
    Path((code, action)): Path<(String, String)>,
    body: Option<Json<ActionBody>>,
) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let action = parse_action(&action)?;
    let note = body.map(|b| b.0.note).unwrap_or_default();
    act(&state, p, &code, action, &note, jiff::Timestamp::now()).await?;
    let head = state.store().item_head(&code).await?.ok_or_else(|| ApiError::new(&CatalogError::NotFound))?;
    Ok(Json(head).into_response())
}

pub async fn versions_api(State(state): State<AppState>, auth: Auth, Path(code): Path<String>) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let head = visible_head(state.store(), p, &code).await?;
    let versions = state.store().item_versions(&code).await?;
    Ok(Json(serde_json::json!({ "item": head, "versions": versions })).into_response())
}

#[derive(Debug, Deserialize)]
pub struct DiffParams {
    pub from: i64,
    pub to: i64,
}

pub async fn diff(store: &Store, p: &Principal, code: &str, from: i64, to: i64) -> Result<Vec<yiwang_catalog::diff::Change>, ApiError> {
    visible_head(store, p, code).await?;
    let a = store.item_version(code, from).await?.ok_or_else(|| ApiError::new(&CatalogError::NotFound))?;
    let b = store.item_version(code, to).await?.ok_or_else(|| ApiError::new(&CatalogError::NotFound))?;
    Ok(yiwang_catalog::diff::diff(&a.doc, &b.doc))
}

pub async fn diff_api(
    State(state): State<AppState>,
    auth: Auth,
    Path(code): Path<String>,
    Query(d): Query<DiffParams>,
) -> Result<Response, ApiError> {
    let p = auth.require()?;
    Ok(Json(serde_json::json!({ "from": d.from, "to": d.to, "changes": diff(state.store(), p, &code, d.from, d.to).await? }))
        .into_response())
}

pub async fn analysis_api(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(Json(analysis(state.store()).await?).into_response())
}

/// `GET /items/{code}/guide.pdf`
pub async fn guide_pdf(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(v): Query<VersionParam>,
) -> Result<Response, ApiError> {
    let guide = crate::catalog_pages::load_guide(&state, &code, v.version).await?;
    let printer = state.catalog().printer().clone();
    let started = Instant::now();
    let pdf = tokio::task::spawn_blocking(move || printer.pdf(Template::Guide, &guide))
        .await
        .map_err(|_| ApiError::new(&crate::WebError::Panic))??;
    metrics::histogram!("yiwang_guide_pdf_seconds").record(started.elapsed().as_secs_f64());
    let disposition = format!("inline; filename=\"guide-{code}.pdf\"");
    Ok(([(header::CONTENT_TYPE, "application/pdf".to_string()), (header::CONTENT_DISPOSITION, disposition)], pdf).into_response())
}
