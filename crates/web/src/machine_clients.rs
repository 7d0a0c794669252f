//! Department systems' machine clients (OAuth 2.0 client credentials), set up
//! by the node's administrators: register one for an agency (its secret is
//! shown this once), list them, revoke one (its tokens die with it). The same
//! checked store calls as `yiwang client`, audited there.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use yiwang_store::MachineClientInput;

use crate::auth::Auth;
use crate::catalog::invalid;
use crate::{ApiError, AppState, WebError};

/// `GET /api/v1/machine-clients`: every machine client (never a secret).
pub async fn list(State(state): State<AppState>, auth: Auth) -> Result<Json<Value>, ApiError> {
    auth.require()?;
    Ok(Json(json!({ "clients": state.store().machine_clients(None).await? })))
}

/// `POST /api/v1/machine-clients`: register a client for an agency; 201 with
/// its id, and its `client_secret` once for `client_secret_basic`.
pub async fn create(State(state): State<AppState>, auth: Auth, Json(input): Json<MachineClientInput>) -> Result<Response, ApiError> {
    let p = auth.require()?;
    match state.store().add_machine_client(&input, &p.account_id, jiff::Timestamp::now()).await? {
        Ok((client, secret)) => {
            let mut body = json!({ "client": client });
            if let Some(s) = secret {
                body["client_secret"] = json!(s);
            }
            Ok((StatusCode::CREATED, [(axum::http::header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
        }
        Err(problems) => Err(invalid(problems)),
    }
}

#[derive(Debug, Deserialize)]
pub struct RevokeQuery {
    #[serde(default)]
    pub reason: String,
}

/// `DELETE /api/v1/machine-clients/{id}?reason=…`: revoke a client and its tokens.
pub async fn revoke(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<RevokeQuery>,
) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    let reason = q.reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(WebError::BadParam {
            name: "reason", detail: "请说明撤销原因（200字以内） / give a reason (≤ 200 characters)".into()
        }
        .into());
    }
    if state.store().revoke_machine_client(&id, &p.account_id, reason, jiff::Timestamp::now()).await? {
        Ok(Json(json!({ "client_id": id, "revoked": true })))
    } else {
        Err(WebError::NotFound(format!("machine client {id}")).into())
    }
}
