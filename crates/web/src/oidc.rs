//! The OpenID Connect provider: discovery, JWKS, authorization code + PKCE (S256
//! only), token endpoint with refresh-token rotation and reuse detection,
//! userinfo by scope, RP-initiated logout.
//!
//! Access and refresh tokens are opaque (revocable at once, e.g. on logout); the
//! ID token is an ES256 JWT signed with the node's current key.

use std::collections::BTreeSet;

use askama::Template;
use axum::Form;
use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use base64::Engine;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use serde_json::{Value, json};
use yiwang_identity::{RealNameLevel, ct_eq, new_token, token_hash, verify_es256, verify_pkce_s256};
use yiwang_store::{CodeGrant, CodeUse, OidcClient, RefreshUse, TokenRow};

use crate::auth::{Auth, see_other, urlencode};
use crate::pages::{Layout, error_page, render};
use crate::{ApiError, AppState, WebError};

/// Scopes this provider knows, with what the person is told on the consent page.
pub const SCOPES: &[(&str, &str)] = &[
    ("openid", "确认您的身份（唯一标识）"),
    ("profile", "姓名、脱敏身份证号、实名等级"),
    ("phone", "手机号"),
    ("email", "邮箱"),
    ("idcard", "完整身份证号（敏感个人信息）"),
    ("offline_access", "在您离开后继续访问（刷新令牌）"),
];

/// Scopes a first-party client (the node's own portal and console) gets without asking.
const IMPLIED_FOR_FIRST_PARTY: &[&str] = &["openid", "profile", "offline_access"];
const CODE_TTL: SignedDuration = SignedDuration::from_secs(120);

pub async fn discovery(State(state): State<AppState>) -> Json<Value> {
    let iss = &state.identity().issuer;
    Json(json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/oidc/authorize"),
        "token_endpoint": format!("{iss}/oidc/token"),
        "userinfo_endpoint": format!("{iss}/oidc/userinfo"),
        "jwks_uri": format!("{iss}/oidc/jwks"),
        "end_session_endpoint": format!("{iss}/oidc/logout"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["ES256"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": SCOPES.iter().map(|s| s.0).collect::<Vec<_>>(),
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "sid", "acr", "amr", "name", "id_number_masked", "id_number", "real_name_level", "phone_number", "phone_number_verified", "email", "email_verified"],
        "acr_values_supported": [RealNameLevel::L1.acr(), RealNameLevel::L2.acr(), RealNameLevel::L3.acr()],
        "authorization_response_iss_parameter_supported": true,
        "ui_locales_supported": ["zh-CN", "en"],
    }))
}

pub async fn jwks(State(state): State<AppState>) -> Result<Response, ApiError> {
    let keys = state.identity().jwks(state.store()).await?;
    Ok(([(header::CACHE_CONTROL, "public, max-age=60")], Json(json!({ "keys": keys }))).into_response())
}

// ---- authorization endpoint ---------------------------------------------------

#[derive(Debug, Deserialize, Clone, Default)]
pub struct AuthorizeParams {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    prompt: Option<String>,
}

/// A request whose client and redirect URI are trusted: from here on errors go back to the client.
struct ValidRequest {
    client: OidcClient,
    redirect_uri: String,
    scopes: BTreeSet<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: String,
    prompt: Option<String>,
}

impl ValidRequest {
    /// The granted scopes as the space-separated string OAuth stores and returns.
    fn scope(&self) -> String {
        self.scopes.iter().cloned().collect::<Vec<_>>().join(" ")
    }
}

fn redirect_with(uri: &str, params: &[(&str, &str)]) -> Response {
    let mut url = uri.to_string();
    let mut sep = if url.contains('?') { '&' } else { '?' };
    for (k, v) in params {
        url.push(sep);
        url.push_str(k);
        url.push('=');
        url.push_str(&urlencode(v));
        sep = '&';
    }
    see_other(&url)
}

fn error_redirect(v: &ValidRequest, iss: &str, error: &str, description: &str) -> Response {
    let mut p = vec![("error", error), ("error_description", description), ("iss", iss)];
    if let Some(s) = &v.state {
        p.push(("state", s));
    }
    redirect_with(&v.redirect_uri, &p)
}

/// Check the client and redirect URI first: if either is wrong, show an error here
/// and never redirect (an attacker's redirect URI must not receive anything).
async fn validate(
    state: &AppState,
    p: &AuthorizeParams,
) -> Result<Result<ValidRequest, (ValidRequest, &'static str, &'static str)>, String> {
    let client_id = p.client_id.as_deref().ok_or("缺少 client_id / missing client_id")?;
    let client = state
        .store()
        .oidc_client(client_id)
        .await
        .map_err(|_| "服务器内部错误".to_string())?
        .filter(|c| !c.disabled)
        .ok_or("未登记的应用 / unknown client")?;
    let redirect_uri = p.redirect_uri.clone().ok_or("缺少 redirect_uri / missing redirect_uri")?;
    if !client.redirect_uris.contains(&redirect_uri) {
        return Err("回调地址未登记 / redirect_uri is not registered for this client".into());
    }
    let requested: BTreeSet<String> = p.scope.as_deref().unwrap_or("").split_whitespace().map(String::from).collect();
    // Unknown scopes are ignored (OIDC Core §3.1.2.1).
    let scopes: BTreeSet<String> = requested.into_iter().filter(|s| SCOPES.iter().any(|k| k.0 == s)).collect();
    let v = ValidRequest {
        client,
        redirect_uri,
        scopes,
        state: p.state.clone(),
        nonce: p.nonce.clone(),
        code_challenge: p.code_challenge.clone().unwrap_or_default(),
        prompt: p.prompt.clone(),
    };
    if p.response_type.as_deref() != Some("code") {
        return Ok(Err((v, "unsupported_response_type", "only response_type=code is supported")));
    }
    if !v.scopes.contains("openid") {
        return Ok(Err((v, "invalid_scope", "the openid scope is required")));
    }
    if p.code_challenge_method.as_deref() != Some("S256") || !(43..=128).contains(&v.code_challenge.len()) {
        return Ok(Err((v, "invalid_request", "PKCE with code_challenge_method=S256 is required")));
    }
    Ok(Ok(v))
}

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage {
    l: Layout,
    client_name: String,
    scopes: Vec<String>,
    request: String,
}

fn needs_consent(v: &ValidRequest, granted: Option<&str>) -> bool {
    let granted: BTreeSet<&str> = granted.unwrap_or("").split_whitespace().collect();
    v.scopes.iter().any(|s| !(granted.contains(s.as_str()) || (v.client.first_party && IMPLIED_FOR_FIRST_PARTY.contains(&s.as_str()))))
}

/// A valid request, or the response that refuses it: an error page when the
/// client or redirect URI cannot be trusted, else an error redirect to the client.
async fn validated(state: &AppState, auth: &Auth, p: &AuthorizeParams) -> Result<ValidRequest, Response> {
    match validate(state, p).await {
        Err(msg) => Err(error_page(state, auth, "授权请求无效", &WebError::BadParam { name: "authorize", detail: msg }, None).await),
        Ok(Err((v, code, desc))) => Err(error_redirect(&v, &state.identity().issuer, code, desc)),
        Ok(Ok(v)) => Ok(v),
    }
}

pub async fn authorize(State(state): State<AppState>, auth: Auth, Query(p): Query<AuthorizeParams>, RawQuery(raw): RawQuery) -> Response {
    let iss = state.identity().issuer.clone();
    let v = match validated(&state, &auth, &p).await {
        Ok(v) => v,
        Err(refusal) => return refusal,
    };
    let Some(principal) = &auth.principal else {
        if v.prompt.as_deref() == Some("none") {
            return error_redirect(&v, &iss, "login_required", "no active session");
        }
        return see_other(&format!("/login?next={}", urlencode(&format!("/oidc/authorize?{}", raw.unwrap_or_default()))));
    };
    let granted = match state.store().consent(&principal.account_id, &v.client.client_id).await {
        Ok(g) => g,
        Err(e) => return ApiError::new(&e).into_response(),
    };
    if needs_consent(&v, granted.as_deref()) {
        if v.prompt.as_deref() == Some("none") {
            return error_redirect(&v, &iss, "consent_required", "the user has not consented to these scopes");
        }
        let scopes = SCOPES.iter().filter(|(s, _)| v.scopes.contains(*s)).map(|(_, d)| (*d).to_string()).collect();
        let page = ConsentPage {
            l: Layout::new(&state, &auth, "授权确认").await,
            client_name: v.client.name.clone(),
            scopes,
            request: raw.unwrap_or_default(),
        };
        return render(StatusCode::OK, &page);
    }
    issue_code(&state, &auth, &v).await
}

async fn issue_code(state: &AppState, auth: &Auth, v: &ValidRequest) -> Response {
    let (Some(p), Some(session)) = (&auth.principal, &auth.session) else {
        return ApiError::new(&yiwang_identity::IdentityError::Unauthenticated).into_response();
    };
    let now = Timestamp::now();
    let code = new_token();
    let grant = CodeGrant {
        client_id: v.client.client_id.clone(),
        account_id: p.account_id.clone(),
        sid: session.sid.clone(),
        redirect_uri: v.redirect_uri.clone(),
        scope: v.scope(),
        nonce: v.nonce.clone(),
        code_challenge: v.code_challenge.clone(),
        auth_time: session.created_at.clone(),
    };
    let result = async {
        let mut tx = state.store().begin().await?;
        tx.create_code(&token_hash(&code), &grant, CODE_TTL, now).await?;
        tx.commit().await
    }
    .await;
    if let Err(e) = result {
        return ApiError::new(&e).into_response();
    }
    let iss = state.identity().issuer.clone();
    let mut params = vec![("code", code.as_str()), ("iss", iss.as_str())];
    if let Some(s) = &v.state {
        params.push(("state", s));
    }
    redirect_with(&v.redirect_uri, &params)
}

#[derive(Deserialize)]
pub struct ConsentForm {
    request: String,
    decision: String,
}

pub async fn consent(State(state): State<AppState>, auth: Auth, Form(f): Form<ConsentForm>) -> Response {
    // The consent form carries the original authorization request; it is checked again in full.
    let p: AuthorizeParams = serde_urlencoded::from_str(&f.request).unwrap_or_default();
    let iss = state.identity().issuer.clone();
    let v = match validated(&state, &auth, &p).await {
        Ok(v) => v,
        Err(refusal) => return refusal,
    };
    let Some(principal) = &auth.principal else {
        return ApiError::new(&yiwang_identity::IdentityError::Unauthenticated).into_response();
    };
    if f.decision != "allow" {
        return error_redirect(&v, &iss, "access_denied", "the user denied the request");
    }
    let scope = v.scope();
    let saved = async {
        let mut tx = state.store().begin().await?;
        tx.grant_consent(&principal.account_id, &v.client.client_id, &scope, Timestamp::now()).await?;
        tx.commit().await
    }
    .await;
    if let Err(e) = saved {
        return ApiError::new(&e).into_response();
    }
    issue_code(&state, &auth, &v).await
}

// ---- token endpoint ----------------------------------------------------------

/// An OAuth error response (RFC 6749 §5.2), not problem+json: clients parse `error`.
struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl OAuthError {
    fn new(error: &'static str, description: impl Into<String>) -> OAuthError {
        let status = if error == "invalid_client" { StatusCode::UNAUTHORIZED } else { StatusCode::BAD_REQUEST };
        OAuthError { status, error, description: description.into() }
    }
}

impl From<yiwang_store::StoreError> for OAuthError {
    fn from(e: yiwang_store::StoreError) -> Self {
        tracing::error!(error = %e, "token endpoint store failure");
        OAuthError { status: StatusCode::INTERNAL_SERVER_ERROR, error: "server_error", description: "internal error".into() }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut resp = (
            self.status,
            [(header::CACHE_CONTROL, "no-store")],
            Json(json!({ "error": self.error, "error_description": self.description })),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Basic realm=\"yiwang\""));
        }
        resp
    }
}

#[derive(Deserialize)]
pub struct TokenForm {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
}

/// HTTP Basic client credentials (RFC 6749 §2.3.1: each part form-urlencoded).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            let (id, secret) = s.split_once(':')?;
            let dec = |x: &str| form_urlencoded::parse(format!("x={x}").as_bytes()).next().map(|(_, v)| v.into_owned());
            Some((dec(id)?, dec(secret)?))
        })
}

/// Authenticate the client: HTTP Basic or form fields; public clients (no secret) send only client_id.
async fn authenticate_client(state: &AppState, headers: &HeaderMap, f: &TokenForm) -> Result<OidcClient, OAuthError> {
    let (client_id, secret) = match basic_credentials(headers) {
        Some((id, secret)) => (id, Some(secret)),
        None => (
            f.client_id.clone().ok_or_else(|| OAuthError::new("invalid_client", "client authentication required"))?,
            f.client_secret.clone(),
        ),
    };
    let client = state
        .store()
        .oidc_client(&client_id)
        .await?
        .filter(|c| !c.disabled)
        .ok_or_else(|| OAuthError::new("invalid_client", "unknown client"))?;
    match (&client.secret_hash, secret) {
        (Some(h), Some(s)) if ct_eq(h.as_bytes(), token_hash(&s).as_bytes()) => Ok(client),
        (None, None) => Ok(client),
        _ => Err(OAuthError::new("invalid_client", "client authentication failed")),
    }
}

pub async fn token(State(state): State<AppState>, headers: HeaderMap, Form(f): Form<TokenForm>) -> Response {
    match token_inner(&state, &headers, &f).await {
        Ok(v) => ([(header::CACHE_CONTROL, "no-store"), (header::PRAGMA, "no-cache")], Json(v)).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn token_inner(state: &AppState, headers: &HeaderMap, f: &TokenForm) -> Result<Value, OAuthError> {
    if f.grant_type.as_deref() == Some("client_credentials") {
        return client_credentials(state, headers, f).await;
    }
    let client = authenticate_client(state, headers, f).await?;
    let now = Timestamp::now();
    // Before the write transaction: a node's first signature creates its key, in a transaction of its own.
    let signer = state.identity().signer(state.store()).await?.ok_or_else(|| OAuthError::new("server_error", "no signing key"))?;
    match f.grant_type.as_deref() {
        Some("authorization_code") => {
            let code = f.code.as_deref().ok_or_else(|| OAuthError::new("invalid_request", "code is required"))?;
            // Reads first (what the code stands for, the session, the account); then
            // redeeming the code and minting its tokens is one short write transaction.
            let peeked = state.store().peek_code(&token_hash(code), now).await?;
            let account = match &peeked {
                Some(g) => Some(live_account(state, &g.sid, &g.account_id).await?),
                None => None,
            };
            let mut tx = state.store().begin().await?;
            let grant = match tx.consume_code(&token_hash(code), now).await? {
                CodeUse::Fresh(g) => g,
                CodeUse::Replayed => {
                    tx.commit().await?;
                    return Err(OAuthError::new("invalid_grant", "authorization code already used; its tokens are revoked"));
                }
                CodeUse::Unknown => return Err(OAuthError::new("invalid_grant", "unknown or expired authorization code")),
            };
            let mismatch = if grant.client_id != client.client_id || f.redirect_uri.as_deref() != Some(grant.redirect_uri.as_str()) {
                Some("code was issued to another client or redirect_uri")
            } else if !f.code_verifier.as_deref().is_some_and(|v| verify_pkce_s256(v, &grant.code_challenge)) {
                Some("PKCE verification failed")
            } else {
                None
            };
            if let Some(why) = mismatch {
                // The code stays spent: a wrong guess must not leave it for the next one.
                tx.commit().await?;
                return Err(OAuthError::new("invalid_grant", why));
            }
            let row = TokenRow {
                family: token_hash(code),
                client_id: grant.client_id.clone(),
                account_id: grant.account_id.clone(),
                sid: grant.sid.clone(),
                scope: grant.scope.clone(),
                auth_time: grant.auth_time.clone(),
                expires_at: String::new(),
            };
            // The code redeemed is the one read above (codes never change), so its account is known.
            let account = account.ok_or_else(|| OAuthError::new("invalid_grant", "unknown or expired authorization code"))?;
            let v = issue_tokens(state, &mut tx, &signer, &account, &row, grant.nonce.as_deref(), now).await?;
            tx.commit().await?;
            Ok(v)
        }
        Some("refresh_token") => {
            let rt = f.refresh_token.as_deref().ok_or_else(|| OAuthError::new("invalid_request", "refresh_token is required"))?;
            let mut tx = state.store().begin().await?;
            match tx.use_refresh_token(&token_hash(rt), &client.client_id, now).await? {
                RefreshUse::Rotated(row) => {
                    let account = state
                        .store()
                        .account(&row.account_id)
                        .await?
                        .ok_or_else(|| OAuthError::new("invalid_grant", "account no longer exists"))?;
                    let v = issue_tokens(state, &mut tx, &signer, &account, &row, None, now).await?;
                    tx.commit().await?;
                    Ok(v)
                }
                RefreshUse::Reused => {
                    tx.commit().await?;
                    Err(OAuthError::new("invalid_grant", "refresh token reused; the grant has been revoked"))
                }
                RefreshUse::Invalid => Err(OAuthError::new("invalid_grant", "unknown, expired or revoked refresh token")),
            }
        }
        _ => Err(OAuthError::new("unsupported_grant_type", "use authorization_code, refresh_token or client_credentials")),
    }
}

/// The client credentials grant for department systems' machine clients:
/// `client_secret_basic`, or `private_key_jwt` with an ES256 assertion (its
/// `jti` spent in the token's transaction). The token carries the
/// `integration` scope and stands for the client on the machine routes only.
async fn client_credentials(state: &AppState, headers: &HeaderMap, f: &TokenForm) -> Result<Value, OAuthError> {
    use yiwang_identity::{ClientAuthMethod, JWT_BEARER_ASSERTION, MACHINE_SCOPE};
    let now = Timestamp::now();
    let refused = || OAuthError::new("invalid_client", "client authentication failed");
    if f.scope.as_deref().is_some_and(|s| s.split(' ').any(|x| !x.is_empty() && x != MACHINE_SCOPE)) {
        return Err(OAuthError::new("invalid_scope", format!("machine clients are granted the {MACHINE_SCOPE} scope only")));
    }
    let live = |c: Option<yiwang_store::MachineClient>, method: ClientAuthMethod| {
        c.filter(|c| c.revoked_at.is_none() && c.auth_method == method).ok_or_else(refused)
    };
    let (client, assertion) = match f.client_assertion_type.as_deref() {
        Some(JWT_BEARER_ASSERTION) => {
            let jwt = f.client_assertion.as_deref().ok_or_else(|| OAuthError::new("invalid_request", "client_assertion is required"))?;
            // Which client: the form's client_id, else the assertion's (unverified) issuer; the signature then decides.
            let claimed = match &f.client_id {
                Some(id) => id.clone(),
                None => unverified_issuer(jwt).ok_or_else(refused)?,
            };
            let client = live(state.store().machine_client(&claimed).await?, ClientAuthMethod::PrivateKeyJwt)?;
            let claims = yiwang_identity::verify_es256(jwt, &client.jwks).map_err(|_| refused())?;
            let iss = &state.identity().issuer;
            let endpoint = format!("{iss}/oidc/token");
            let (jti, exp) =
                yiwang_identity::check_assertion(&claims, &client.client_id, &[endpoint.as_str(), iss.as_str()], now.as_second())
                    .map_err(|e| OAuthError::new("invalid_client", e.to_string()))?;
            let until = Timestamp::from_second(exp).map_err(|_| refused())?;
            (client, Some((jti, until)))
        }
        Some(_) => return Err(OAuthError::new("invalid_request", format!("client_assertion_type must be {JWT_BEARER_ASSERTION}"))),
        None => {
            let (id, secret) = basic_credentials(headers).ok_or_else(refused)?;
            let client = live(state.store().machine_client(&id).await?, ClientAuthMethod::ClientSecretBasic)?;
            let matches = client.secret_hash.as_deref().is_some_and(|h| ct_eq(h.as_bytes(), token_hash(&secret).as_bytes()));
            if !matches {
                return Err(refused());
            }
            (client, None)
        }
    };
    let token = new_token();
    let ttl = state.identity().access_ttl;
    let spent = assertion.as_ref().map(|(jti, until)| (jti.as_str(), *until));
    if !state.store().issue_machine_token(&client, &token_hash(&token), now + ttl, spent, now).await? {
        return Err(OAuthError::new("invalid_client", "this client assertion was used before"));
    }
    Ok(json!({ "access_token": token, "token_type": "Bearer", "expires_in": ttl.as_secs(), "scope": MACHINE_SCOPE }))
}

/// The `iss` of a JWT, read without checking it (only to find whose keys check it).
fn unverified_issuer(jwt: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v["iss"].as_str().map(str::to_string)
}

/// The reads a token response needs, done before the write transaction.
async fn live_account(state: &AppState, base_sid: &str, account_id: &str) -> Result<yiwang_store::Account, OAuthError> {
    // The session must still be live: logging out ends every grant made in it
    // (use-time checks in the store close the race with a concurrent logout).
    match state.store().session_by_sid(base_sid).await? {
        Some((_, true)) => {}
        _ => return Err(OAuthError::new("invalid_grant", "the login session has ended")),
    }
    state.store().account(account_id).await?.ok_or_else(|| OAuthError::new("invalid_grant", "account no longer exists"))
}

/// Mint an access token, a refresh token (same family) and an ID token inside `tx`.
async fn issue_tokens(
    state: &AppState,
    tx: &mut yiwang_store::Tx,
    signer: &yiwang_identity::Es256Key,
    account: &yiwang_store::Account,
    base: &TokenRow,
    nonce: Option<&str>,
    now: Timestamp,
) -> Result<Value, OAuthError> {
    let id = state.identity();
    let access = new_token();
    let access_row = TokenRow { expires_at: crate::ts(now + id.access_ttl), ..base.clone() };
    // A refresh token only for a grant that asked for offline access (OIDC Core §11).
    let refresh = base.scope.split(' ').any(|s| s == "offline_access").then(new_token);
    let refresh_row = TokenRow { expires_at: crate::ts(now + id.refresh_ttl), ..base.clone() };
    let refresh_hash = refresh.as_deref().map(token_hash);
    tx.insert_token_pair(&token_hash(&access), &access_row, refresh_hash.as_deref().map(|h| (h, &refresh_row)), now).await?;
    let auth_time: Timestamp = base.auth_time.parse().unwrap_or(now);
    let mut claims = json!({
        "iss": id.issuer,
        "sub": account.subject,
        "aud": base.client_id,
        "exp": (now + id.access_ttl).as_second(),
        "iat": now.as_second(),
        "auth_time": auth_time.as_second(),
        "sid": base.sid,
        "acr": account.level.acr(),
        "amr": ["pwd"],
    });
    if let Some(n) = nonce {
        claims["nonce"] = json!(n);
    }
    let mut answer = json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": id.access_ttl.as_secs(),
        "id_token": signer.sign("JWT", &claims),
        "scope": base.scope,
    });
    if let Some(r) = refresh {
        answer["refresh_token"] = json!(r);
    }
    Ok(answer)
}

// ---- userinfo ----------------------------------------------------------------

fn bearer_error(error: &str) -> Response {
    let challenge = format!("Bearer realm=\"yiwang\", error=\"{error}\"");
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, challenge)],
        Json(json!({ "error": error, "error_description": "a valid bearer access token is required" })),
    )
        .into_response()
}

pub async fn userinfo(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")) else {
        return bearer_error("invalid_request");
    };
    let now = Timestamp::now();
    let row = match state.store().access_token(&token_hash(token.trim()), now).await {
        Ok(Some(r)) => r,
        Ok(None) => return bearer_error("invalid_token"),
        Err(e) => return ApiError::new(&e).into_response(),
    };
    match userinfo_claims(&state, &row, now).await {
        Ok(v) => ([(header::CACHE_CONTROL, "no-store")], Json(v)).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn userinfo_claims(state: &AppState, row: &TokenRow, now: Timestamp) -> Result<Value, ApiError> {
    let Some(acc) = state.store().account(&row.account_id).await? else { return Ok(json!({})) };
    let scopes: BTreeSet<&str> = row.scope.split_whitespace().collect();
    let mut v = json!({ "sub": acc.subject });
    if scopes.contains("profile") {
        v["name"] = json!(acc.name);
        v["id_number_masked"] = json!(yiwang_codes::mask_citizen_id(&acc.citizen_id));
        v["real_name_level"] = json!(acc.level.as_u8());
        v["acr"] = json!(acc.level.acr());
    }
    if scopes.contains("phone")
        && let Some(p) = &acc.phone
    {
        v["phone_number"] = json!(p);
        v["phone_number_verified"] = json!(true);
    }
    if scopes.contains("email")
        && let Some(e) = &acc.email
    {
        v["email"] = json!(e);
        v["email_verified"] = json!(true);
    }
    if scopes.contains("idcard") {
        v["id_number"] = json!(acc.citizen_id);
        // Releasing the full ID number to another party is a personal-data read: log it.
        let mut tx = state.store().begin().await?;
        tx.append_audit(yiwang_audit::AuditRecord {
            at: crate::ts(now),
            actor: format!("client:{}", row.client_id),
            action: "personal_data.released".into(),
            object_type: "account".into(),
            object_id: acc.id.clone(),
            reason: "OIDC userinfo, scope idcard, consented by the holder".into(),
            data: json!({ "fields": ["id_number"] }).to_string(),
        })
        .await?;
        tx.commit().await?;
    }
    Ok(v)
}

// ---- RP-initiated logout -----------------------------------------------------

#[derive(Deserialize, Default)]
pub struct LogoutParams {
    id_token_hint: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    client_id: Option<String>,
}

#[derive(Template)]
#[template(path = "logout.html")]
struct LogoutPage {
    l: Layout,
    client_name: Option<String>,
    id_token_hint: String,
    redirect: String,
    state: String,
}

/// The client named by the (signature-checked) ID token hint or client_id, and
/// the post-logout URI if it is registered for that client.
async fn logout_target(state: &AppState, p: &LogoutParams) -> Result<(Option<OidcClient>, Option<String>), ApiError> {
    let mut client_id = p.client_id.clone();
    if let Some(hint) = &p.id_token_hint {
        let keys = state.identity().jwks(state.store()).await?;
        let claims = verify_es256(hint, &keys).map_err(|_| WebError::BadParam {
            name: "id_token_hint",
            detail: "不是本节点签发的有效 ID 令牌 / not an ID token issued here".into(),
        })?;
        client_id = claims["aud"].as_str().map(String::from);
    }
    let client = match &client_id {
        Some(c) => state.store().oidc_client(c).await?,
        None => None,
    };
    let redirect = match (&client, &p.post_logout_redirect_uri) {
        (Some(c), Some(u)) if c.post_logout_redirect_uris.contains(u) => Some(u.clone()),
        (_, Some(_)) => {
            return Err(WebError::BadParam {
                name: "post_logout_redirect_uri", detail: "未登记的退出回调地址 / not registered".into()
            }
            .into());
        }
        _ => None,
    };
    Ok((client, redirect))
}

fn after_logout(redirect: Option<String>, state: Option<&str>) -> Response {
    match redirect {
        Some(u) => match state {
            Some(s) if !s.is_empty() => redirect_with(&u, &[("state", s)]),
            _ => see_other(&u),
        },
        None => see_other("/"),
    }
}

pub async fn logout_page(State(state): State<AppState>, auth: Auth, Query(p): Query<LogoutParams>) -> Result<Response, ApiError> {
    let (client, redirect) = logout_target(&state, &p).await?;
    if auth.principal.is_none() {
        return Ok(after_logout(redirect, p.state.as_deref()));
    }
    Ok(render(
        StatusCode::OK,
        &LogoutPage {
            l: Layout::new(&state, &auth, "退出登录").await,
            client_name: client.map(|c| c.name),
            id_token_hint: p.id_token_hint.unwrap_or_default(),
            redirect: redirect.unwrap_or_default(),
            state: p.state.unwrap_or_default(),
        },
    ))
}

pub async fn logout_confirm(State(state): State<AppState>, auth: Auth, Form(mut p): Form<LogoutParams>) -> Result<Response, ApiError> {
    p.id_token_hint = p.id_token_hint.filter(|s| !s.is_empty());
    p.post_logout_redirect_uri = p.post_logout_redirect_uri.filter(|s| !s.is_empty());
    let (_, redirect) = logout_target(&state, &p).await?;
    let mut resp = after_logout(redirect, p.state.as_deref());
    if let Some(principal) = &auth.principal {
        let mut tx = state.store().begin().await?;
        tx.revoke_session(principal.session_id(), &principal.account_id, Timestamp::now()).await?;
        tx.commit().await?;
        resp.headers_mut().append(header::SET_COOKIE, crate::auth::cookie(&state, crate::auth::SESSION_COOKIE, "", Some(0)));
    }
    Ok(resp)
}
