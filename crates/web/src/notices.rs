//! A person's 消息 (notices about their cases) and the channels they want them
//! on: the API under `/api/v1/me/notices`, and the page `/me/messages`. Each
//! person sees and marks only their own notices.

use askama::Template;
use axum::Form;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use yiwang_store::{NoticePreferences, NoticeRow};

use crate::auth::{Auth, see_other};
use crate::pages::{Layout, china_time, render};
use crate::{ApiError, AppState, WebError};

const PAGE_SIZE: i64 = 20;
const MAX_PAGE_SIZE: i64 = 100;

#[derive(Debug, Deserialize)]
pub struct NoticeQuery {
    pub page: Option<i64>,
    pub size: Option<i64>,
}

fn view(n: &NoticeRow) -> Value {
    json!({
        "id": n.id,
        "case_no": n.case_no,
        "kind": n.kind,
        "kind_zh": kind_zh(&n.kind),
        "title": n.title,
        "body": n.body,
        "created_at": n.created_at,
        "read_at": n.read_at,
    })
}

/// `GET /api/v1/me/notices`: the caller's notices, newest first.
pub async fn list(State(state): State<AppState>, auth: Auth, Query(q): Query<NoticeQuery>) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    let size = crate::bounds::page_size("size", q.size, PAGE_SIZE, MAX_PAGE_SIZE)?;
    let offset = crate::bounds::page_offset("page", q.page, size)?;
    let page = state.store().notices(&p.account_id, offset, size).await?;
    Ok(Json(json!({
        "notices": page.notices.iter().map(view).collect::<Vec<_>>(),
        "total": page.total,
        "unread": page.unread,
    })))
}

fn no_such_notice() -> ApiError {
    ApiError::new(&WebError::NotFound("消息 / notice".into()))
}

/// `POST /api/v1/me/notices/{id}/read`: mark one read (404 for another person's).
pub async fn mark_read(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let p = auth.require()?;
    if state.store().mark_notice_read(&p.account_id, &id, jiff::Timestamp::now()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(no_such_notice())
    }
}

/// `POST /api/v1/me/notices/read-all`.
pub async fn mark_all_read(State(state): State<AppState>, auth: Auth) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    let n = state.store().mark_all_notices_read(&p.account_id, jiff::Timestamp::now()).await?;
    Ok(Json(json!({ "marked": n })))
}

/// `GET /api/v1/me/notice-preferences`.
pub async fn preferences(State(state): State<AppState>, auth: Auth) -> Result<Json<NoticePreferences>, ApiError> {
    let p = auth.require()?;
    Ok(Json(state.store().notice_preferences(&p.account_id).await?))
}

/// `PUT /api/v1/me/notice-preferences`: `{"email": bool, "sms": bool}`.
pub async fn set_preferences(
    State(state): State<AppState>,
    auth: Auth,
    Json(prefs): Json<NoticePreferences>,
) -> Result<Json<NoticePreferences>, ApiError> {
    let p = auth.require()?;
    state.store().set_notice_preferences(&p.account_id, prefs, jiff::Timestamp::now()).await?;
    Ok(Json(prefs))
}

/// A notice's kind in Chinese: a case event's, 督办 (to staff), or 差评整改反馈 (to a rater).
fn kind_zh(kind: &str) -> &str {
    match kind {
        yiwang_store::SUPERVISION_ORDER_NOTICE => "督办",
        yiwang_store::RATING_FEEDBACK_NOTICE => "差评整改反馈",
        _ => yiwang_case::notice::kind_name(kind),
    }
}

struct NoticeLine {
    id: String,
    /// Where the notice leads: the applicant's case page, or the supervision console.
    link: Option<(String, String)>,
    kind_zh: String,
    title: String,
    body: String,
    at: String,
    unread: bool,
}

#[derive(Template)]
#[template(path = "messages.html")]
struct MessagesPage {
    l: Layout,
    notice: Option<&'static str>,
    notices: Vec<NoticeLine>,
    total: i64,
    unread: i64,
    page: i64,
    pages: i64,
    prefs: NoticePreferences,
    has_email: bool,
    has_phone: bool,
}

#[derive(Debug, Deserialize)]
pub struct MessagesQuery {
    pub page: Option<i64>,
    pub done: Option<String>,
}

/// `GET /me/messages`: the 消息 list and the channel preferences.
pub async fn page(State(state): State<AppState>, auth: Auth, Query(q): Query<MessagesQuery>) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let offset = crate::bounds::page_offset("page", q.page, PAGE_SIZE)?;
    let found = state.store().notices(&p.account_id, offset, PAGE_SIZE).await?;
    let prefs = state.store().notice_preferences(&p.account_id).await?;
    let account = state.store().account(&p.account_id).await?;
    let notice = match q.done.as_deref() {
        Some("read") => Some("已全部标为已读。"),
        Some("prefs") => Some("通知方式已保存。"),
        _ => None,
    };
    let notices = found
        .notices
        .into_iter()
        .map(|n| NoticeLine {
            kind_zh: kind_zh(&n.kind).to_string(),
            at: china_time(&n.created_at),
            unread: n.read_at.is_none(),
            link: n.case_no.map(|no| {
                if n.kind == yiwang_store::SUPERVISION_ORDER_NOTICE {
                    ("/console/supervision".to_string(), format!("电子监察 · 办件 {no}"))
                } else {
                    (format!("/me/cases/{no}"), format!("办件 {no}"))
                }
            }),
            id: n.id,
            title: n.title,
            body: n.body,
        })
        .collect();
    let page = offset / PAGE_SIZE + 1;
    let pages = ((found.total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    Ok(render(
        StatusCode::OK,
        &MessagesPage {
            l: Layout::new(&state, &auth, "我的消息").await,
            notice,
            notices,
            total: found.total,
            unread: found.unread,
            page,
            pages,
            prefs,
            has_email: account.as_ref().is_some_and(|a| a.email.is_some()),
            has_phone: account.as_ref().is_some_and(|a| a.phone.is_some()),
        },
    ))
}

/// `POST /me/messages/read`: mark everything read.
pub async fn page_mark_all(State(state): State<AppState>, auth: Auth) -> Result<Response, ApiError> {
    let p = auth.require()?;
    state.store().mark_all_notices_read(&p.account_id, jiff::Timestamp::now()).await?;
    Ok(see_other("/me/messages?done=read"))
}

#[derive(Debug, Deserialize)]
pub struct PreferencesForm {
    pub email: Option<String>,
    pub sms: Option<String>,
}

/// `POST /me/messages/preferences`: checkboxes (absent = off).
pub async fn page_preferences(State(state): State<AppState>, auth: Auth, Form(f): Form<PreferencesForm>) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let prefs = NoticePreferences { email: f.email.is_some(), sms: f.sms.is_some() };
    state.store().set_notice_preferences(&p.account_id, prefs, jiff::Timestamp::now()).await?;
    Ok(see_other("/me/messages?done=prefs"))
}
