//! `/api/v1` JSON endpoints.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Json, Response};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use yiwang_codes::{CodeKind, Parsed};

use crate::{ApiError, AppState, WebError};

#[derive(Deserialize)]
pub struct CodesQuery {
    kind: Option<String>,
}

pub async fn codes(Path(value): Path<String>, Query(q): Query<CodesQuery>) -> Result<Json<Parsed>, ApiError> {
    let kind = match q.kind.as_deref() {
        Some(k) => Some(k.parse::<CodeKind>().map_err(|()| WebError::BadParam { name: "kind", detail: format!("unknown kind {k:?}") })?),
        None => None,
    };
    let today = yiwang_calendar::china_today(jiff::Timestamp::now());
    yiwang_codes::detect_as(kind, &value, today).map(Json).map_err(|e| {
        ApiError::new(&e.error).with_detail(serde_json::json!({ "kind": e.kind, "reason": e.error.reason(), "error": e.error }))
    })
}

fn parse_date(name: &'static str, s: &str) -> Result<Date, WebError> {
    s.parse().map_err(|_| WebError::BadParam { name, detail: format!("{s:?} is not a YYYY-MM-DD date / 不是有效日期") })
}

#[derive(Serialize)]
pub struct DayAnswer {
    date: Date,
    kind: yiwang_calendar::DayKind,
    kind_zh: &'static str,
    is_workday: bool,
    provisional: bool,
}

pub async fn calendar_day(State(state): State<AppState>, Path(date): Path<String>) -> Result<Json<DayAnswer>, ApiError> {
    let date = parse_date("date", &date)?;
    let cal = state.store().load_calendar().await?;
    let kind = cal.kind(date);
    Ok(Json(DayAnswer { date, kind, kind_zh: kind.name_zh(), is_workday: kind.is_workday(), provisional: !cal.is_covered(date.year()) }))
}

#[derive(Deserialize)]
pub struct AddQuery {
    start: String,
    n: u32,
}

#[derive(Serialize)]
pub struct AddAnswer {
    start: Date,
    workdays: u32,
    due: Date,
    provisional: bool,
}

pub async fn add_workdays(State(state): State<AppState>, Query(q): Query<AddQuery>) -> Result<Json<AddAnswer>, ApiError> {
    let start = parse_date("start", &q.start)?;
    let cal = state.store().load_calendar().await?;
    let due = cal.add_workdays(start, q.n)?;
    Ok(Json(AddAnswer { start, workdays: q.n, due: due.value, provisional: due.provisional }))
}

/// `GET /api/v1/seals`: every agency's seal public keys, current and retired
/// (a retired key still verifies what it sealed). The format is
/// `docs/license-format.md`.
pub async fn seals(State(state): State<AppState>) -> Result<Response, ApiError> {
    let keys = state.store().seal_keys().await?;
    Ok(Json(serde_json::json!({
        "algorithm": yiwang_license::ALGORITHM,
        "user_id": yiwang_crypto::seal::DEFAULT_USER_ID,
        "public_key_encoding": "uncompressed SEC1 point in hex (04 || x || y)",
        "keys": keys,
    }))
    .into_response())
}

#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    pub token: String,
}

fn china_today() -> Date {
    yiwang_calendar::china_today(jiff::Timestamp::now())
}

/// A verdict this node could not give for want of the seal's key (a license
/// sealed on another node) is asked of the issuer's node over the exchange,
/// when this node takes part in it. The local verdict stands otherwise.
async fn or_issuers_node(
    state: &AppState,
    local: yiwang_store::Verdict,
    presented: crate::exchange::PresentedLicense,
) -> yiwang_store::Verdict {
    match state.exchange() {
        Some(rt) => rt.or_issuers_verdict(state.store(), local, &presented).await,
        None => local,
    }
}

/// `GET /api/v1/licenses/verify?token=YL1.…`: the verdict on a QR token.
pub async fn verify_license_token(State(state): State<AppState>, Query(q): Query<TokenQuery>) -> Result<Response, ApiError> {
    let token = yiwang_license::token_in(&q.token);
    let verdict = state.store().verify_license(yiwang_store::Presented::Token(token.clone()), china_today()).await?;
    let verdict = or_issuers_node(&state, verdict, crate::exchange::PresentedLicense::Token(token)).await;
    Ok(Json(verdict).into_response())
}

/// `POST /api/v1/licenses/verify` with a sealed license (the downloaded JSON).
pub async fn verify_license_file(
    State(state): State<AppState>,
    Json(sealed): Json<yiwang_license::SealedLicense>,
) -> Result<Response, ApiError> {
    let verdict = state.store().verify_license(yiwang_store::Presented::Sealed(sealed.clone()), china_today()).await?;
    let verdict = or_issuers_node(&state, verdict, crate::exchange::PresentedLicense::Sealed(Box::new(sealed))).await;
    Ok(Json(verdict).into_response())
}

#[derive(askama::Template)]
#[template(path = "license_verify.html")]
struct VerifyPage {
    l: crate::pages::Layout,
    token: String,
    verdict: Option<yiwang_store::Verdict>,
}

/// `GET /licenses/verify[?token=…]`: the public verification page (the QR
/// code's link).
pub async fn verify_license_page(State(state): State<AppState>, auth: crate::auth::Auth, Query(q): Query<TokenQuery>) -> Response {
    // A pasted verification URL works as well as the bare token.
    let token = yiwang_license::token_in(&q.token);
    let verdict = if token.is_empty() {
        None
    } else {
        match state.store().verify_license(yiwang_store::Presented::Token(token.clone()), china_today()).await {
            Ok(v) => Some(or_issuers_node(&state, v, crate::exchange::PresentedLicense::Token(token.clone())).await),
            Err(e) => return ApiError::from(e).into_response_page(&state, &auth).await,
        }
    };
    let l = crate::pages::Layout::new(&state, &auth, "电子证照核验").await;
    crate::pages::render(axum::http::StatusCode::OK, &VerifyPage { l, token, verdict })
}
