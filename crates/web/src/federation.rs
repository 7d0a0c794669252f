//! Federated login (一次认证、多点互联): this node as a relying party of another
//! node's OIDC provider, through the `openidconnect` client library. A person
//! registered in province A signs in at province B; B links the remote identity
//! to a local account by citizen ID, creating it on first visit.

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

use crate::auth::{Auth, safe_next, see_other};
use crate::pages::{error_page, start_session};
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
}

impl yiwang_errors::Coded for FederationError {
    fn code(&self) -> &'static str {
        match self {
            FederationError::UnknownProvider(_) => "federation.unknown_provider",
            FederationError::Provider(..) => "federation.provider_error",
            FederationError::Refused(_) => "federation.refused",
            FederationError::StaleFlow => "federation.stale",
            FederationError::NoCitizenId => "federation.no_citizen_id",
        }
    }

    fn kind(&self) -> yiwang_errors::ErrorKind {
        use yiwang_errors::ErrorKind;
        match self {
            FederationError::UnknownProvider(_) => ErrorKind::NotFound,
            // The other node failing is a dependency being down, not the caller's fault.
            FederationError::Provider(..) => ErrorKind::Unavailable,
            FederationError::Refused(_) | FederationError::StaleFlow | FederationError::NoCitizenId => ErrorKind::Forbidden,
        }
    }

    fn message_zh(&self) -> String {
        match self {
            FederationError::UnknownProvider(p) => format!("未配置的身份认证提供方“{p}”"),
            FederationError::Provider(p, _) => format!("身份认证提供方 {p} 暂不可用，请稍后重试"),
            FederationError::Refused(_) => "对方平台拒绝或未完成本次登录".into(),
            FederationError::StaleFlow => "登录请求已过期或已使用，请重新登录".into(),
            FederationError::NoCitizenId => "对方平台未提供有效的身份证号，无法关联本地账号".into(),
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
    let flow = FederationFlow {
        provider: p.name.clone(),
        nonce: nonce.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
        next_url: safe_next(next),
    };
    let saved = async {
        let mut tx = state.store().begin().await?;
        tx.create_federation_flow(csrf.secret(), &flow, SignedDuration::from_mins(10), Timestamp::now()).await?;
        tx.commit().await
    }
    .await;
    saved.map_err(|e| FederationError::Provider(p.label.clone(), e.to_string()))?;
    Ok(see_other(url.as_str()))
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

pub async fn callback(State(state): State<AppState>, auth: Auth, Path(name): Path<String>, Query(q): Query<CallbackQuery>) -> Response {
    match callback_inner(&state, &name, q).await {
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

async fn callback_inner(state: &AppState, name: &str, q: CallbackQuery) -> Result<Response, CallbackError> {
    let p = provider(state, name)?;
    let now = Timestamp::now();
    let flow = state.store().take_federation_flow(q.state.as_deref().unwrap_or(""), now).await?;
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
    let level = remote_level.min(RealNameLevel::from_u8(p.max_level).unwrap_or(RealNameLevel::L2));

    let store = state.store();
    let mut tx = store.begin().await?;
    let account_id = match store.federated_link(&p.issuer, &remote_sub).await? {
        Some(id) => id,
        None => match store.account_by_citizen_id(citizen_id.as_str()).await? {
            Some(a) => a.id,
            None => {
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
                tx.create_account(&new, &format!("federation:{}", p.name), now).await?.id
            }
        },
    };
    if let Some(acc) = store.account(&account_id).await?
        && acc.level < level
    {
        tx.set_account_level(&account_id, level, &format!("federated:{}", p.name), "system", "跨地区登录，采信对方节点实名等级", now)
            .await?;
    }
    tx.link_federated(&p.issuer, &remote_sub, &account_id, now).await?;
    tx.commit().await?;
    start_session(state, &account_id, "fed", &flow.next_url).await.map_err(CallbackError::Api)
}
