//! The policy layer. Every route is registered through [`crate::routes`] with an
//! [`Access`]; [`enforce`] runs before its handler: it resolves the caller from
//! the session cookie, refuses callers the route's access does not admit, and
//! checks the CSRF token on every state-changing request that carries cookies.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use yiwang_identity::{Access, Denial, IdentityError, Principal, ct_eq, new_token};
use yiwang_store::SessionRow;

use crate::{ApiError, AppState, WebError};

pub const SESSION_COOKIE: &str = "yiwang_session";
pub const CSRF_COOKIE: &str = "yiwang_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";
const FORM_LIMIT: usize = 1 << 20;

/// What the policy layer learnt about the caller; every handler behind it can extract this.
#[derive(Clone, Debug)]
pub struct Auth {
    pub principal: Option<Principal>,
    pub session: Option<SessionRow>,
    /// The CSRF token forms must echo (the session's, or the anonymous cookie's).
    pub csrf: String,
    pub client_addr: String,
}

impl Auth {
    /// The caller, or 401.
    pub fn require(&self) -> Result<&Principal, ApiError> {
        self.principal.as_ref().ok_or_else(|| ApiError::new(&IdentityError::Unauthenticated))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // Absent only if a handler was mounted outside the route table: a bug, so 500.
        parts.extensions.get::<Auth>().cloned().ok_or_else(|| ApiError::new(&WebError::Panic))
    }
}

pub fn cookies(headers: &HeaderMap) -> HashMap<String, String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Secure when the node is served over https.
pub fn cookie(state: &AppState, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let secure = if state.identity().secure_cookies { "; Secure" } else { "" };
    let age = max_age.map(|s| format!("; Max-Age={s}")).unwrap_or_default();
    let s = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax{secure}{age}");
    HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

/// The client's address: the peer, or behind a trusted proxy the address it forwarded.
fn client_addr(state: &AppState, req: &Request) -> String {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    state.security().client_ip(peer, req.headers()).map_or_else(|| "local".to_string(), |ip| ip.to_string())
}

fn wants_html(req: &Request) -> bool {
    req.method() == Method::GET && req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"))
}

fn is_state_changing(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The route's declared policy, carried into the middleware.
#[derive(Clone, Copy)]
pub struct RoutePolicy {
    pub access: Access,
    /// False only for endpoints that authenticate the client by other means (OIDC token endpoint).
    pub csrf: bool,
    /// Whether a machine client's bearer token authenticates on this route.
    pub machine: bool,
}

pub async fn enforce(State((state, policy)): State<(AppState, RoutePolicy)>, req: Request, next: Next) -> Response {
    match enforce_inner(state, policy, req, next).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn enforce_inner(state: AppState, policy: RoutePolicy, mut req: Request, next: Next) -> Result<Response, ApiError> {
    let now = Timestamp::now();
    let jar = cookies(req.headers());
    let mut session = None;
    let mut principal = None;
    if let Some(token) = jar.get(SESSION_COOKIE)
        && let Some(s) = state.store().session(token, &state.identity().session, now).await?
    {
        principal = state.store().principal_capped(&s.account_id, s.acting_for.as_deref(), &s.sid, s.level_cap, now).await?;
        if let Some(p) = principal.as_mut() {
            // Whether this caller reaches held personal data: the node's level rule.
            p.assure(state.security().personal_data_level);
        }
        if principal.is_some() {
            session = Some(s);
        }
    }
    // A department system's bearer token, on the routes open to machines only
    // (elsewhere a bearer header authenticates nobody). No cookies: no CSRF.
    let mut by_bearer = false;
    if principal.is_none()
        && policy.machine
        && let Some(token) = bearer_token(req.headers())
    {
        match state.store().machine_token(&yiwang_identity::token_hash(token), now).await? {
            Some((c, agency_name)) => {
                principal = Some(yiwang_identity::machine_principal(&c.client_id, &c.name, &c.agency_uscc, &agency_name));
                by_bearer = true;
            }
            None => return Ok(invalid_bearer()),
        }
    }
    let (csrf, new_csrf_cookie) = match (&session, jar.get(CSRF_COOKIE)) {
        (Some(s), _) => (s.csrf.clone(), false),
        (None, Some(c)) if c.len() == 43 => (c.clone(), false),
        (None, _) => (new_token(), true),
    };

    if let Err(denial) = policy.access.check(principal.as_ref()) {
        return Ok(match denial {
            Denial::Unauthenticated if wants_html(&req) => {
                let next_url = req.uri().path_and_query().map_or("/", |p| p.as_str());
                see_other(&format!("/login?next={}", urlencode(next_url)))
            }
            Denial::Unauthenticated => ApiError::new(&IdentityError::Unauthenticated).into_response(),
            Denial::Forbidden => ApiError::new(&IdentityError::Forbidden("route".into())).into_response(),
        });
    }

    if policy.csrf && !by_bearer && is_state_changing(req.method()) {
        let (parts, body) = req.into_parts();
        let (presented, body) = if let Some(h) = parts.headers.get(CSRF_HEADER) {
            (h.to_str().ok().map(str::to_string), body)
        } else if parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
        {
            let bytes = axum::body::to_bytes(body, FORM_LIMIT)
                .await
                .map_err(|_| WebError::BadParam {
                    name: "body", detail: "表单过大或不完整 / form too large or truncated".into()
                })?;
            let field = form_urlencoded::parse(&bytes).find(|(k, _)| k == "csrf").map(|(_, v)| v.into_owned());
            (field, Body::from(bytes))
        } else if parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("multipart/form-data"))
        {
            // An HTML file upload cannot set a header and its body is not read
            // here: the page puts the token in the form's action URL.
            let field = parts
                .uri
                .query()
                .and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "csrf").map(|(_, v)| v.into_owned()));
            (field, body)
        } else {
            (None, body)
        };
        if !presented.is_some_and(|p| ct_eq(p.as_bytes(), csrf.as_bytes())) {
            return Err(ApiError::new(&WebError::Csrf));
        }
        req = Request::from_parts(parts, body);
    }

    let addr = client_addr(&state, &req);
    req.extensions_mut().insert(Auth { principal, session, csrf: csrf.clone(), client_addr: addr });
    let mut resp = next.run(req).await;
    if new_csrf_cookie {
        resp.headers_mut().append(header::SET_COOKIE, cookie(&state, CSRF_COOKIE, &csrf, None));
    }
    Ok(resp)
}

pub fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Only local paths are followed after login (no open redirect): an absolute
/// path on this node, without control characters, whitespace or backslashes
/// (browsers drop tabs and newlines and read `\\` as `/`, so `/\t/evil.example`
/// would become the scheme-relative `//evil.example`), and not scheme-relative.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if is_local_path(n) => n.to_string(),
        _ => "/account".to_string(),
    }
}

/// Whether `n` is a path on this node that is safe to send a browser to.
pub fn is_local_path(n: &str) -> bool {
    const MAX: usize = 2048;
    let shape_ok = n.len() <= MAX
        && n.starts_with('/')
        && !n.starts_with("//")
        && !n.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\');
    // Belt and braces: resolved against a placeholder origin, it must stay there.
    shape_ok
        && url::Url::parse("http://node.invalid/")
            .and_then(|base| base.join(n))
            .is_ok_and(|u| u.host_str() == Some("node.invalid") && u.scheme() == "http")
}

/// A value safe to put in a `Location` header: bytes outside visible ASCII are
/// percent-encoded (a path taken from a request can hold anything).
pub fn location_value(to: &str) -> String {
    let mut out = String::with_capacity(to.len());
    for b in to.bytes() {
        if (0x21..0x7f).contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// 303 See Other, the right answer to a form POST.
pub fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location_value(to))]).into_response()
}

/// The token of an `Authorization: Bearer …` header.
fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim).filter(|t| !t.is_empty())
}

/// 401 for a bearer token that is unknown, expired or revoked (RFC 6750 §3).
fn invalid_bearer() -> Response {
    let mut resp = ApiError::new(&IdentityError::Unauthenticated).into_response();
    resp.headers_mut()
        .insert(header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer realm=\"yiwang\", error=\"invalid_token\""));
    resp
}
