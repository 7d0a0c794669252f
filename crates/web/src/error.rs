use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use yiwang_errors::{Coded, ErrorKind, Problem};

/// Any crate's error at the HTTP edge: a problem+json body with a stable code,
/// Chinese and English messages; 5xx are logged with their cause.
pub struct ApiError {
    problem: Box<Problem>,
}

impl ApiError {
    pub fn new(e: &dyn Coded) -> Self {
        if e.kind().is_server_fault() {
            tracing::error!(code = e.code(), error = %e, "request failed by our fault");
        }
        ApiError { problem: Box::new(Problem::from_error(e)) }
    }

    pub fn status(&self) -> u16 {
        self.problem.status
    }

    pub fn code(&self) -> &str {
        &self.problem.code
    }

    pub fn message_zh(&self) -> &str {
        &self.problem.message_zh
    }

    pub fn with_detail(mut self, detail: serde_json::Value) -> Self {
        self.problem = Box::new(self.problem.with_detail(detail));
        self
    }
}

impl std::fmt::Debug for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.problem.status, self.problem.code, self.problem.message_zh)
    }
}

impl<E: Coded> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError::new(&e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = (status, Json(*self.problem)).into_response();
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        resp
    }
}

/// Errors raised by the web layer itself.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("no such resource: {0}")]
    NotFound(String),
    #[error("invalid parameter {name}: {detail}")]
    BadParam { name: &'static str, detail: String },
    #[error("missing or wrong CSRF token: reload the page and try again")]
    Csrf,
    #[error("internal error")]
    Panic,
    #[error("this node has no master key configured, so it cannot sign")]
    NoMasterKey,
    #[error("this shared copy has expired or was withdrawn")]
    ShareClosed,
    #[error("too many wrong query codes for this case; retry in {0} s")]
    QueryThrottled(u64),
}

impl Coded for WebError {
    fn code(&self) -> &'static str {
        match self {
            WebError::NotFound(_) => "http.not_found",
            WebError::BadParam { .. } => "http.bad_parameter",
            WebError::Csrf => "http.csrf",
            WebError::Panic => "http.internal",
            WebError::NoMasterKey => "license.no_master_key",
            WebError::ShareClosed => "license.share_closed",
            WebError::QueryThrottled(_) => "case.query_throttled",
        }
    }

    fn kind(&self) -> ErrorKind {
        match self {
            WebError::NotFound(_) => ErrorKind::NotFound,
            WebError::BadParam { .. } => ErrorKind::BadRequest,
            WebError::Csrf => ErrorKind::Forbidden,
            WebError::Panic => ErrorKind::Internal,
            WebError::NoMasterKey => ErrorKind::Unavailable,
            WebError::ShareClosed => ErrorKind::Gone,
            WebError::QueryThrottled(_) => ErrorKind::RateLimited,
        }
    }

    fn message_zh(&self) -> String {
        match self {
            WebError::NotFound(p) => format!("请求的资源不存在：{p}"),
            WebError::BadParam { name, detail } => format!("参数 {name} 无效：{detail}"),
            WebError::Csrf => "页面已过期或请求来源无效，请刷新页面后重试".into(),
            WebError::Panic => "服务器内部错误".into(),
            WebError::NoMasterKey => "本节点未配置主密钥，暂不能签名".into(),
            WebError::ShareClosed => "此加注件已过期或已被撤回".into(),
            WebError::QueryThrottled(s) => format!("查询码错误次数过多，请在 {s} 秒后重试"),
        }
    }
}

/// A JSON request body parsed, or 400 `http.bad_parameter` naming what is wrong.
pub(crate) fn json_body<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, ApiError> {
    serde_json::from_str(body).map_err(|e| WebError::BadParam { name: "body", detail: e.to_string() }.into())
}

/// 403 for a caller the route admits but this resource does not.
pub(crate) fn forbidden(what: &str) -> ApiError {
    ApiError::new(&yiwang_identity::IdentityError::Forbidden(what.into()))
}
