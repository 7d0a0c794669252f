//! Federated login (一次认证、多点互联): this node as a relying party of another
//! node's OIDC provider, through the `openidconnect` client library. A person
//! registered in province A signs in at province B; B links the remote identity
//! to a local account by citizen ID, creating it on first visit.
//!
//! Safety (issue 19): a flow is bound to the browser that started it (a cookie
//! whose hash the flow keeps), so nobody can log a victim into the attacker's
//! identity; an existing local account is linked without its owner only when
//! the other node vouches for at least L2 and the account has no password and
//! no staff roles (`yiwang_identity::link_decision`), otherwise the owner
//! confirms with the local password (or in person); and a federated session's
//! level is at most what the other node vouched for, capped by `max_level`.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreJwsSigningAlgorithm, CoreProviderMetadata};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, UserInfoClaims,
};
use serde::{Deserialize, Serialize};
use yiwang_codes::CitizenId;
use yiwang_identity::RealNameLevel;
use yiwang_store::{AccountStatus, FederationFlow, NewAccount};

use crate::auth::{Auth, cookie, cookies, safe_next, see_other};
use crate::pages::{Layout, error_page, render};
use crate::settings::TrustedProvider;
use crate::{ApiError, AppState};

/// The yiwang claims the remote userinfo carries besides the standard ones.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct YiwangClaims {
    id_number: Option<String>,
    real_name_level: Option<u8>,
}
impl AdditionalClaims for YiwangClaims {}

#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    #[error("unknown identity provider {0:?}")]
    UnknownProvider(String),
    #[error("identity provider {0} is unreachable or misbehaving: {1}")]
    Provider(String, String),
    #[error("the login was refused or failed at the provider: {0}")]
    Refused(String),
    #[error("the login request expired or was already used")]
    StaleFlow,
    #[error("the provider did not release a valid citizen ID (scope idcard)")]
    NoCitizenId,
    #[error("the link confirmation expired or was already used")]
    StalePending,
}

impl yiwang_errors::Coded for FederationError {
    fn code(&self) -> &'static str {
        match self {
            FederationError::UnknownProvider(_) => "federation.unknown_provider",
            FederationError::Provider(..) => "federation.provider_error",
            FederationError::Refused(_) => "federation.refused",
            FederationError::StaleFlow => "federation.stale",
            FederationError::NoCitizenId => "federation.no_citizen_id",
            FederationError::StalePending => "federation.stale_pending",
        }
    }

    fn kind(&self) -> yiwang_errors::ErrorKind {
        use yiwang_errors::ErrorKind;
        match self {
            FederationError::UnknownProvider(_) => ErrorKind::NotFound,
            // The other node failing is a dependency being down, not the caller's fault.
            FederationError::Provider(..) => ErrorKind::Unavailable,
            FederationError::Refused(_) | FederationError::StaleFlow | FederationError::NoCitizenId | FederationError::StalePending => {
                ErrorKind::Forbidden
            }
        }
    }

    fn message_zh(&self) -> String {
        match self {
            FederationError::UnknownProvider(p) => format!("未配置的身份认证提供方“{p}”"),
            FederationError::Provider(p, _) => format!("身份认证提供方 {p} 暂不可用，请稍后重试"),
            FederationError::Refused(_) => "对方平台拒绝或未完成本次登录".into(),
            FederationError::StaleFlow => "登录请求已过期或已使用，请重新登录".into(),
            FederationError::NoCitizenId => "对方平台未提供有效的身份证号，无法关联本地账号".into(),
            FederationError::StalePending => "关联确认已过期或已使用，请重新从对方平台登录".into(),
        }
    }
}

fn provider<'a>(state: &'a AppState, name: &str) -> Result<&'a TrustedProvider, FederationError> {
    state.identity().federation.iter().find(|p| p.name == name).ok_or_else(|| FederationError::UnknownProvider(name.to_string()))
}

/// The async HTTP client openidconnect calls, built on our reqwest client.
fn http_client(
    state: &AppState,
) -> impl Fn(openidconnect::HttpRequest) -> std::pin::Pin<Box<dyn Future<Output = Result<openidconnect::HttpResponse, HttpError>> + Send>> {
    let client = state.identity().http.clone();
    move |req: openidconnect::HttpRequest| {
        let client = client.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let mut rb = client.request(parts.method, parts.uri.to_string()).body(body);
            for (k, v) in &parts.headers {
                rb = rb.header(k, v);
            }
            let resp = rb.send().await.map_err(|e| HttpError(e.to_string()))?;
            let mut out = http::Response::builder().status(resp.status());
            for (k, v) in resp.headers() {
                out = out.header(k, v);
            }
            let bytes = resp.bytes().await.map_err(|e| HttpError(e.to_string()))?;
            out.body(bytes.to_vec()).map_err(|e| HttpError(e.to_string()))
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

type Client = openidconnect::core::CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

async fn client_for(state: &AppState, p: &TrustedProvider) -> Result<Client, FederationError> {
    let err = |e: String| FederationError::Provider(p.label.clone(), e);
    let issuer = IssuerUrl::new(p.issuer.clone()).map_err(|e| err(e.to_string()))?;
    let http = http_client(state);
    let metadata = CoreProviderMetadata::discover_async(issuer, &http).await.map_err(|e| err(format!("discovery: {e}")))?;
    let redirect =
        RedirectUrl::new(format!("{}/federation/{}/callback", state.identity().issuer, p.name)).map_err(|e| err(e.to_string()))?;
    Ok(CoreClient::from_provider_metadata(metadata, ClientId::new(p.client_id.clone()), Some(ClientSecret::new(p.client_secret.clone())))
        .set_redirect_uri(redirect))
}

#[derive(Deserialize)]
pub struct StartQuery {
    next: Option<String>,
}

pub async fn start(State(state): State<AppState>, auth: Auth, Path(name): Path<String>, Query(q): Query<StartQuery>) -> Response {
    match start_inner(&state, &name, q.next.as_deref()).await {
        Ok(r) => r,
        Err(e) => error_page(&state, &auth, "跨地区登录", &e, Some(("/login".into(), "返回登录".into()))).await,
    }
}

async fn start_inner(state: &AppState, name: &str, next: Option<&str>) -> Result<Response, FederationError> {
    let p = provider(state, name)?;
    let client = client_for(state, p).await?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("idcard".into()))
        .set_pkce_challenge(challenge)
        .url();
    // The flow belongs to this browser: the callback must bring the same cookie.
    let browser = yiwang_identity::new_token();
    let flow = FederationFlow {
        provider: p.name.clone(),
        nonce: nonce.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
        next_url: safe_next(next),
        browser_hash: yiwang_identity::token_hash(&browser),
    };
    let saved = async {
        let mut tx = state.store().begin().await?;
        tx.create_federation_flow(csrf.secret(), &flow, SignedDuration::from_mins(10), Timestamp::now()).await?;
        tx.commit().await
    }
    .await;
    saved.map_err(|e| FederationError::Provider(p.label.clone(), e.to_string()))?;
    let mut resp = see_other(url.as_str());
    resp.headers_mut().append(axum::http::header::SET_COOKIE, cookie(state, FLOW_COOKIE, &browser, Some(600)));
    Ok(resp)
}

/// The cookie that binds a federated login to the browser that started it.
const FLOW_COOKIE: &str = "yiwang_fed";
/// The cookie that names a link waiting for the local owner's confirmation.
const PENDING_COOKIE: &str = "yiwang_fedlink";

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

pub async fn callback(
    State(state): State<AppState>,
    auth: Auth,
    headers: axum::http::HeaderMap,
    Path(name): Path<String>,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let browser = cookies(&headers).get(FLOW_COOKIE).cloned().unwrap_or_default();
    match callback_inner(&state, &auth, &name, &browser, q).await {
        Ok(r) => r,
        Err(CallbackError::Fed(e)) => error_page(&state, &auth, "跨地区登录", &e, Some(("/login".into(), "返回登录".into()))).await,
        Err(CallbackError::Api(e)) => e.into_response(),
    }
}

enum CallbackError {
    Fed(FederationError),
    Api(ApiError),
}

impl From<FederationError> for CallbackError {
    fn from(e: FederationError) -> Self {
        CallbackError::Fed(e)
    }
}

impl From<yiwang_store::StoreError> for CallbackError {
    fn from(e: yiwang_store::StoreError) -> Self {
        CallbackError::Api(e.into())
    }
}

async fn callback_inner(state: &AppState, auth: &Auth, name: &str, browser: &str, q: CallbackQuery) -> Result<Response, CallbackError> {
    let p = provider(state, name)?;
    let now = Timestamp::now();
    let flow = state.store().take_federation_flow(q.state.as_deref().unwrap_or(""), &yiwang_identity::token_hash(browser), now).await?;
    let flow = flow.filter(|f| f.provider == p.name).ok_or(FederationError::StaleFlow)?;
    if let Some(e) = q.error {
        return Err(FederationError::Refused(e).into());
    }
    let code = q.code.ok_or_else(|| FederationError::Refused("no code".into()))?;
    let client = client_for(state, p).await?;
    let http = http_client(state);
    let err = |e: String| FederationError::Provider(p.label.clone(), e);
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| err(e.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(flow.pkce_verifier.clone()))
        .request_async(&http)
        .await
        .map_err(|e| err(format!("token: {e}")))?;
    let id_token = tokens.id_token().ok_or_else(|| err("no id_token".into()))?;
    let verifier = client.id_token_verifier().set_allowed_algs([CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
    let claims = id_token.claims(&verifier, &Nonce::new(flow.nonce.clone())).map_err(|e| err(format!("id_token: {e}")))?;
    let remote_sub = claims.subject().to_string();
    let info: UserInfoClaims<YiwangClaims, CoreGenderClaim> = client
        .user_info(tokens.access_token().clone(), Some(claims.subject().clone()))
        .map_err(|e| err(e.to_string()))?
        .request_async(&http)
        .await
        .map_err(|e| err(format!("userinfo: {e}")))?;
    let today = yiwang_calendar::china_today(now);
    let citizen_id =
        info.additional_claims().id_number.as_deref().and_then(|s| CitizenId::parse(s, today).ok()).ok_or(FederationError::NoCitizenId)?;
    let person_name = info.name().and_then(|n| n.get(None)).map(|n| n.to_string()).unwrap_or_default();
    let remote_level = info.additional_claims().real_name_level.and_then(RealNameLevel::from_u8).unwrap_or(RealNameLevel::L1);
    let level = yiwang_identity::federated_level(remote_level, p.max_level);

    let store = state.store();
    // Already linked (by an earlier automatic link or the owner's confirmation).
    if let Some(account_id) = store.federated_link(&p.issuer, &remote_sub).await? {
        return finish(state, p, &remote_sub, &account_id, level, &flow.next_url).await;
    }
    let local = store.account_by_citizen_id(citizen_id.as_str()).await?;
    let facts = match &local {
        Some(a) => Some(yiwang_identity::LocalAccount {
            has_password: a.password_hash.is_some(),
            is_staff: !store.staff_roles(&a.id).await?.is_empty(),
        }),
        None => None,
    };
    match (yiwang_identity::link_decision(remote_level, facts), local) {
        (yiwang_identity::LinkDecision::Create, _) | (_, None) => {
            let new = NewAccount {
                citizen_id: citizen_id.to_string(),
                name: person_name,
                phone: None,
                email: None,
                password_hash: None,
                level,
                level_source: format!("federated:{}", p.name),
                status: AccountStatus::Active,
            };
            let mut tx = store.begin().await?;
            let account_id = tx.create_account(&new, &format!("federation:{}", p.name), now).await?.id;
            tx.commit().await?;
            finish(state, p, &remote_sub, &account_id, level, &flow.next_url).await
        }
        (yiwang_identity::LinkDecision::Link, Some(a)) => finish(state, p, &remote_sub, &a.id, level, &flow.next_url).await,
        (decision, Some(a)) => {
            // The owner must confirm: hold the identity for this browser, a few minutes.
            let token = yiwang_identity::new_token();
            let pending = yiwang_store::PendingLink {
                provider: p.name.clone(),
                issuer: p.issuer.clone(),
                subject: remote_sub,
                account_id: a.id.clone(),
                level,
                next_url: flow.next_url.clone(),
            };
            let mut tx = store.begin().await?;
            tx.create_federation_pending(&yiwang_identity::token_hash(&token), &pending, SignedDuration::from_mins(10), now).await?;
            tx.commit().await?;
            let by_password = decision == yiwang_identity::LinkDecision::ConfirmWithPassword;
            let mut resp = confirm_page(state, auth, p, &a.name, by_password, None).await;
            resp.headers_mut().append(axum::http::header::SET_COOKIE, cookie(state, PENDING_COOKIE, &token, Some(600)));
            Ok(resp)
        }
    }
}

/// Link (or refresh the link), raise the account to the federated level if it
/// is below it, and start a session whose level is capped at that level.
async fn finish(
    state: &AppState,
    p: &TrustedProvider,
    remote_sub: &str,
    account_id: &str,
    level: RealNameLevel,
    next: &str,
) -> Result<Response, CallbackError> {
    let now = Timestamp::now();
    let store = state.store();
    let mut tx = store.begin().await?;
    if let Some(acc) = store.account(account_id).await?
        && acc.level < level
    {
        tx.set_account_level(account_id, level, &format!("federated:{}", p.name), "system", "跨地区登录，采信对方节点实名等级", now)
            .await?;
    }
    tx.link_federated(&p.issuer, remote_sub, account_id, now).await?;
    let s = tx.create_session_capped(account_id, "fed", Some(level), &state.identity().session, now).await?;
    tx.commit().await?;
    let mut resp = see_other(next);
    resp.headers_mut().append(axum::http::header::SET_COOKIE, cookie(state, crate::auth::SESSION_COOKIE, &s.token, None));
    resp.headers_mut().append(axum::http::header::SET_COOKIE, cookie(state, FLOW_COOKIE, "", Some(0)));
    Ok(resp)
}

#[derive(askama::Template)]
#[template(path = "federation_confirm.html")]
struct ConfirmPage {
    l: Layout,
    provider: String,
    provider_label: String,
    masked_name: String,
    by_password: bool,
    error: Option<String>,
}

async fn confirm_page(
    state: &AppState,
    auth: &Auth,
    p: &TrustedProvider,
    local_name: &str,
    by_password: bool,
    error: Option<String>,
) -> Response {
    let page = ConfirmPage {
        l: Layout::new(state, auth, "确认关联账号").await,
        provider: p.name.clone(),
        provider_label: p.label.clone(),
        masked_name: yiwang_identity::mask_name(local_name),
        by_password,
        error: error.clone(),
    };
    render(if error.is_some() { axum::http::StatusCode::UNAUTHORIZED } else { axum::http::StatusCode::OK }, &page)
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    password: String,
}

/// `POST /federation/{provider}/confirm`: the local owner confirms the link
/// with the local password (throttled like a login). The pending identity is
/// the one held for this browser's cookie; it is used once.
pub async fn confirm(
    State(state): State<AppState>,
    auth: Auth,
    headers: axum::http::HeaderMap,
    Path(name): Path<String>,
    axum::Form(f): axum::Form<ConfirmForm>,
) -> Response {
    let back = Some(("/login".into(), "返回登录".into()));
    let p = match provider(&state, &name) {
        Ok(p) => p,
        Err(e) => return error_page(&state, &auth, "跨地区登录", &e, back).await,
    };
    let token = cookies(&headers).get(PENDING_COOKIE).cloned().unwrap_or_default();
    let now = Timestamp::now();
    let pending = match state.store().take_federation_pending(&yiwang_identity::token_hash(&token), now).await {
        Ok(Some(x)) if x.provider == p.name => x,
        Ok(_) => return error_page(&state, &auth, "跨地区登录", &FederationError::StalePending, back).await,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let account = match state.store().account(&pending.account_id).await {
        Ok(Some(a)) => a,
        Ok(None) => return error_page(&state, &auth, "跨地区登录", &FederationError::StalePending, back).await,
        Err(e) => return ApiError::from(e).into_response(),
    };
    match crate::pages::check_login(&state, &account.citizen_id, &f.password, &auth.client_addr).await {
        Ok(id) if id == pending.account_id => {
            finish(&state, p, &pending.subject, &id, pending.level, &pending.next_url).await.unwrap_or_else(|e| match e {
                CallbackError::Fed(e) => ApiError::from(e).into_response(),
                CallbackError::Api(e) => e.into_response(),
            })
        }
        Ok(_) => error_page(&state, &auth, "跨地区登录", &FederationError::StalePending, back).await,
        Err(e) => {
            // A wrong password: hold the identity again (the same cookie) so the owner may retry.
            let again = async {
                let mut tx = state.store().begin().await?;
                tx.create_federation_pending(&yiwang_identity::token_hash(&token), &pending, SignedDuration::from_mins(10), now).await?;
                tx.commit().await
            }
            .await;
            if let Err(e) = again {
                return ApiError::from(e).into_response();
            }
            confirm_page(&state, &auth, p, &account.name, true, Some(e.message_zh().to_string())).await
        }
    }
}
