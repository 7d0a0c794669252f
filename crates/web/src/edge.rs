//! What every response of the node gets at the edge, whatever route made it:
//! the security headers (no framing, a Content-Security-Policy, no sniffing,
//! no referrer leaving the node), and errors in one shape. A framework
//! rejection (a query string that does not parse, a body too large, a method the
//! route lacks) would otherwise answer `text/plain`; it becomes problem+json with
//! a stable code, like every error of ours.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use yiwang_errors::Problem;

/// Scripts only from the node itself (htmx is served by us); inline styles are
/// allowed because the templates use a few. Nothing may frame a page: the
/// consent page releases the ID number (`idcard`), so clickjacking is out.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
                       object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// The largest rejection text carried into the problem's `detail`.
const MAX_DETAIL: usize = 2048;

pub async fn edge(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let resp = if resp.status().is_client_error() || resp.status().is_server_error() { as_problem(resp).await } else { resp };
    with_security_headers(resp)
}

fn with_security_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(CSP));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // Query codes and share tokens travel in URLs: never in a Referer to another site.
    h.entry(header::REFERRER_POLICY).or_insert(HeaderValue::from_static("same-origin"));
    resp
}

/// Bodies we already shape: problem+json, our HTML error pages, and the OAuth
/// JSON errors of the token and userinfo endpoints (RFC 6749 §5.2).
fn already_shaped(resp: &Response) -> bool {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/problem+json") || ct.starts_with("text/html") || ct.starts_with("application/json"))
}

async fn as_problem(resp: Response) -> Response {
    if already_shaped(&resp) {
        return resp;
    }
    let status = resp.status();
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, MAX_DETAIL).await.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let (code, zh, en) = match status {
        StatusCode::METHOD_NOT_ALLOWED => ("http.method_not_allowed", "此地址不支持该请求方法", "method not allowed for this path"),
        StatusCode::PAYLOAD_TOO_LARGE => ("http.too_large", "请求内容过大", "request body too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("http.media_type", "请求内容类型不受支持", "unsupported content type"),
        StatusCode::NOT_FOUND => ("http.not_found", "请求的资源不存在", "not found"),
        s if s.is_server_error() => ("http.internal", "服务器内部错误，已记录，请稍后重试", "internal server error"),
        _ => ("http.bad_parameter", "请求参数无效", "invalid request"),
    };
    if status.is_server_error() {
        tracing::error!(status = status.as_u16(), "an unshaped server error reached the edge");
    }
    let problem = Problem {
        type_uri: format!("urn:yiwang:error:{code}"),
        title: en.to_string(),
        status: status.as_u16(),
        code: code.to_string(),
        message_zh: zh.to_string(),
        message_en: en.to_string(),
        // A framework rejection's text says which parameter is wrong; ours never leaks.
        detail: (!status.is_server_error() && !text.trim().is_empty()).then(|| serde_json::json!(text.trim())),
    };
    let mut out = (status, axum::Json(problem)).into_response();
    out.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    for (name, value) in &parts.headers {
        // Keep what matters to the client (Allow on 405, Retry-After, WWW-Authenticate).
        if matches!(name.as_str(), "allow" | "retry-after" | "www-authenticate" | "set-cookie") {
            out.headers_mut().append(name, value.clone());
        }
    }
    out
}
