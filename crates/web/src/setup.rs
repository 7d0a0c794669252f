//! The operator's setup of a node through the API and the console: halls and
//! the agencies their windows serve, data resources, and 一件事 bundles. The
//! same checked store calls as `yiwang hall|resource|bundle`, audited there.
//! Admins set up anything; a data officer registers their own agency's resources.

use askama::Template;
use axum::Form;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use yiwang_catalog::setup::{HallInput, ResourceInput};
use yiwang_catalog::{Bundle, FieldError};
use yiwang_identity::{IdentityError, Principal, Role};

use crate::auth::{Auth, see_other};
use crate::catalog::invalid;
use crate::pages::{Layout, render};
use crate::{ApiError, AppState};

fn may_register_resource(p: &Principal, provider: &str) -> bool {
    p.is_admin() || p.has_role_in(provider.trim(), &[Role::DataOfficer])
}

/// `GET /api/v1/halls`: every hall and the agencies its windows serve (public).
pub async fn halls(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "halls": state.store().halls().await? })))
}

/// `POST /api/v1/halls`: add or replace a hall (admins).
pub async fn save_hall(State(state): State<AppState>, auth: Auth, Json(h): Json<HallInput>) -> Result<Response, ApiError> {
    let p = auth.require()?;
    match state.store().register_hall(&h, &p.account_id, jiff::Timestamp::now()).await? {
        Ok(hall) => Ok((StatusCode::CREATED, Json(json!({ "hall": hall }))).into_response()),
        Err(problems) => Err(invalid(problems)),
    }
}

/// `GET /api/v1/data-resources`: the registry of shared data resources (public).
pub async fn resources(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "resources": state.store().data_resources().await? })))
}

/// `POST /api/v1/data-resources`: add or replace a resource (admins, or the
/// providing agency's data officer).
pub async fn save_resource(State(state): State<AppState>, auth: Auth, Json(r): Json<ResourceInput>) -> Result<Response, ApiError> {
    let p = auth.require()?;
    if !may_register_resource(p, &r.provider_uscc) {
        return Err(ApiError::new(&IdentityError::Forbidden("not a data officer of the providing agency".into())));
    }
    match state.store().register_data_resource(&r, &p.account_id, jiff::Timestamp::now()).await? {
        Ok(t) => Ok((StatusCode::CREATED, Json(json!({ "resource": t }))).into_response()),
        Err(problems) => Err(invalid(problems)),
    }
}

/// `PUT /api/v1/bundles/{code}`: draft a 一件事 or a new version of one
/// (admins). Every item must be published and their forms must merge. New
/// applications use it once a catalog reviewer (another person) publishes it.
pub async fn define_bundle(
    State(state): State<AppState>,
    auth: Auth,
    Path(code): Path<String>,
    Json(b): Json<Bundle>,
) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    if b.code != code {
        return Err(invalid(vec![FieldError::new(
            "code",
            "mismatch",
            "请求体中的代码与地址不一致",
            "the body's code differs from the URL's",
        )]));
    }
    let plan = state.store().draft_bundle(&b, &p.account_id, jiff::Timestamp::now()).await?;
    Ok(Json(json!({ "code": b.code, "name": b.name, "items": plan.items.len(), "version": plan.version, "status": "draft" })))
}

/// `POST /api/v1/bundles/{code}/publish`: publish the bundle's draft (a catalog
/// reviewer who did not draft it); checked again against the catalog.
pub async fn publish_bundle(State(state): State<AppState>, auth: Auth, Path(code): Path<String>) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    let plan = state.store().publish_bundle(&code, &p.account_id, jiff::Timestamp::now()).await?;
    Ok(Json(json!({ "code": code, "version": plan.version, "status": "published" })))
}

/// `GET /api/v1/bundles/{code}/versions`: the bundle's versions, newest first.
pub async fn bundle_versions(State(state): State<AppState>, auth: Auth, Path(code): Path<String>) -> Result<Json<Value>, ApiError> {
    auth.require()?;
    let versions = state.store().bundle_versions(&code).await?;
    if versions.is_empty() {
        return Err(ApiError::new(&crate::WebError::NotFound(format!("bundle {code}"))));
    }
    Ok(Json(json!({ "code": code, "versions": versions })))
}

#[derive(Template)]
#[template(path = "console_setup.html")]
struct SetupPage {
    l: Layout,
    notice: Option<&'static str>,
    errors: Vec<FieldError>,
    halls: Vec<yiwang_store::Hall>,
    resources: Vec<yiwang_store::EvidenceType>,
    bundles: Vec<Bundle>,
    /// Drafts awaiting a catalog reviewer.
    drafts: Vec<yiwang_store::BundleVersion>,
    admin: bool,
    publisher: bool,
    bundle_json: String,
}

#[derive(Debug, Deserialize)]
pub struct SetupQuery {
    pub done: Option<String>,
}

async fn page_with(
    state: &AppState,
    auth: &Auth,
    status: StatusCode,
    notice: Option<&'static str>,
    errors: Vec<FieldError>,
    bundle_json: String,
) -> Result<Response, ApiError> {
    let p = auth.require()?;
    Ok(render(
        status,
        &SetupPage {
            l: Layout::new(state, auth, "节点配置：大厅、数据资源、一件事").await,
            notice,
            errors,
            halls: state.store().halls().await?,
            resources: state.store().data_resources().await?,
            bundles: state.store().bundles().await?,
            drafts: state.store().bundle_drafts().await?,
            admin: p.is_admin(),
            publisher: p.has_role(Role::CatalogReviewer),
            bundle_json,
        },
    ))
}

/// `GET /console/setup`.
pub async fn page(State(state): State<AppState>, auth: Auth, Query(q): Query<SetupQuery>) -> Result<Response, ApiError> {
    let notice = match q.done.as_deref() {
        Some("hall") => Some("大厅已保存。"),
        Some("resource") => Some("数据资源已保存。"),
        Some("bundle") => Some("“一件事”草稿已保存，由事项审核人员审核发布后生效。"),
        Some("bundle_published") => Some("“一件事”已发布，新的申请按此版本办理。"),
        _ => None,
    };
    page_with(&state, &auth, StatusCode::OK, notice, vec![], String::new()).await
}

#[derive(Debug, Deserialize)]
pub struct HallForm {
    pub id: String,
    pub name: String,
    pub division_code: String,
    pub agency_uscc: String,
    #[serde(default)]
    pub address: String,
    /// Other agencies, separated by commas, spaces or new lines.
    #[serde(default)]
    pub serves: String,
}

fn split_list(s: &str) -> Vec<String> {
    s.split(|c: char| c == ',' || c == '，' || c == '、' || c.is_whitespace()).filter(|x| !x.is_empty()).map(str::to_string).collect()
}

/// `POST /console/setup/halls` (admins).
pub async fn page_save_hall(State(state): State<AppState>, auth: Auth, Form(f): Form<HallForm>) -> Result<Response, ApiError> {
    let p = auth.require()?;
    if !p.is_admin() {
        return Err(ApiError::new(&IdentityError::Forbidden("admins set up halls".into())));
    }
    let h = HallInput {
        id: f.id,
        name: f.name,
        division_code: f.division_code,
        agency_uscc: f.agency_uscc,
        address: f.address,
        serves: split_list(&f.serves),
    };
    match state.store().register_hall(&h, &p.account_id, jiff::Timestamp::now()).await? {
        Ok(_) => Ok(see_other("/console/setup?done=hall")),
        Err(problems) => page_with(&state, &auth, StatusCode::UNPROCESSABLE_ENTITY, None, problems, String::new()).await,
    }
}

#[derive(Debug, Deserialize)]
pub struct ResourceForm {
    pub code: String,
    pub name: String,
    pub provider_uscc: String,
    #[serde(default)]
    pub aliases: String,
}

/// `POST /console/setup/resources` (admins, or the provider's data officer).
pub async fn page_save_resource(State(state): State<AppState>, auth: Auth, Form(f): Form<ResourceForm>) -> Result<Response, ApiError> {
    let p = auth.require()?;
    if !may_register_resource(p, &f.provider_uscc) {
        return Err(ApiError::new(&IdentityError::Forbidden("not a data officer of the providing agency".into())));
    }
    let r = ResourceInput { code: f.code, name: f.name, provider_uscc: f.provider_uscc, aliases: split_list(&f.aliases), sharing: None };
    match state.store().register_data_resource(&r, &p.account_id, jiff::Timestamp::now()).await? {
        Ok(_) => Ok(see_other("/console/setup?done=resource")),
        Err(problems) => page_with(&state, &auth, StatusCode::UNPROCESSABLE_ENTITY, None, problems, String::new()).await,
    }
}

#[derive(Debug, Deserialize)]
pub struct BundleForm {
    pub bundle_json: String,
}

/// `POST /console/setup/bundles` (admins): the bundle as JSON.
pub async fn page_save_bundle(State(state): State<AppState>, auth: Auth, Form(f): Form<BundleForm>) -> Result<Response, ApiError> {
    let p = auth.require()?;
    if !p.is_admin() {
        return Err(ApiError::new(&IdentityError::Forbidden("admins define bundles".into())));
    }
    let problems = match serde_json::from_str::<Bundle>(&f.bundle_json) {
        Err(e) => vec![FieldError::new("bundle_json", "format", format!("不是有效的“一件事”定义：{e}"), format!("not a bundle: {e}"))],
        Ok(b) => match state.store().draft_bundle(&b, &p.account_id, jiff::Timestamp::now()).await {
            Ok(_) => return Ok(see_other("/console/setup?done=bundle")),
            Err(e) => {
                use yiwang_errors::Coded;
                if e.kind().http_status() >= 500 {
                    return Err(e.into());
                }
                vec![FieldError::new("bundle_json", e.code(), e.message_zh(), e.message_en())]
            }
        },
    };
    page_with(&state, &auth, StatusCode::UNPROCESSABLE_ENTITY, None, problems, f.bundle_json).await
}

/// `POST /console/setup/bundles/{code}/publish` (catalog reviewers): publish a draft.
pub async fn page_publish_bundle(State(state): State<AppState>, auth: Auth, Path(code): Path<String>) -> Result<Response, ApiError> {
    let p = auth.require()?;
    match state.store().publish_bundle(&code, &p.account_id, jiff::Timestamp::now()).await {
        Ok(_) => Ok(see_other("/console/setup?done=bundle_published")),
        Err(e) => {
            use yiwang_errors::Coded;
            let status = StatusCode::from_u16(e.kind().http_status()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            let problem = FieldError::new("bundle", e.code(), e.message_zh(), e.message_en());
            page_with(&state, &auth, status, None, vec![problem], String::new()).await
        }
    }
}
