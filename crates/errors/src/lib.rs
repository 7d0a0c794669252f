//! The contract every yiwang error type fulfils so the edges (HTTP, CLI) can
//! report it the same way: a stable machine code, a Chinese and an English
//! message, and whose fault it is.

use serde::Serialize;

/// Whose fault an error is, and so which HTTP status class it maps to.
/// Only [`ErrorKind::Internal`] and [`ErrorKind::Unavailable`] are our faults (5xx).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Malformed input (400).
    BadRequest,
    /// Not logged in (401).
    Unauthenticated,
    /// Logged in but not allowed (403).
    Forbidden,
    /// No such thing, or not visible to the caller (404).
    NotFound,
    /// Conflicts with the current state (409).
    Conflict,
    /// Existed, but is no longer available (410), such as an expired share link.
    Gone,
    /// Well-formed but semantically invalid (422).
    Unprocessable,
    /// Larger than the receiver takes (413).
    PayloadTooLarge,
    /// Too many requests (429).
    RateLimited,
    /// Our fault (500). Logged, never detailed to the caller.
    Internal,
    /// A dependency (database) is down (503).
    Unavailable,
    /// A remote party (another node, a provider) failed or answered wrongly (502).
    BadGateway,
}

impl ErrorKind {
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::BadRequest => 400,
            ErrorKind::Unauthenticated => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::Gone => 410,
            ErrorKind::Unprocessable => 422,
            ErrorKind::PayloadTooLarge => 413,
            ErrorKind::RateLimited => 429,
            ErrorKind::Internal => 500,
            ErrorKind::Unavailable => 503,
            ErrorKind::BadGateway => 502,
        }
    }

    pub fn is_server_fault(self) -> bool {
        matches!(self, ErrorKind::Internal | ErrorKind::Unavailable | ErrorKind::BadGateway)
    }
}

/// Implemented by every crate's error enum.
pub trait Coded: std::fmt::Display {
    /// Stable, dotted, lower-case code such as `codes.check_char`. Never reworded.
    fn code(&self) -> &'static str;
    fn kind(&self) -> ErrorKind;
    fn message_zh(&self) -> String;
    /// English message; by default the `Display` text.
    fn message_en(&self) -> String {
        self.to_string()
    }
    /// Structured detail for the caller (field problems, missing items).
    fn detail(&self) -> Option<serde_json::Value> {
        None
    }
}

/// The serialised form of an error, used in HTTP problem bodies (RFC 9457
/// fields plus ours) and CLI JSON output.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// `urn:yiwang:error:<code>`
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    pub code: String,
    pub message_zh: String,
    pub message_en: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
}

impl Problem {
    pub fn from_error(e: &dyn Coded) -> Self {
        let kind = e.kind();
        // Our own faults never leak internals to the caller.
        let (zh, en) = if kind == ErrorKind::Internal {
            ("服务器内部错误，已记录，请稍后重试".to_string(), "internal server error; it has been logged, please retry later".to_string())
        } else {
            (e.message_zh(), e.message_en())
        };
        Problem {
            type_uri: format!("urn:yiwang:error:{}", e.code()),
            title: en.clone(),
            status: kind.http_status(),
            code: e.code().to_string(),
            message_zh: zh,
            message_en: en,
            detail: if kind == ErrorKind::Internal { None } else { e.detail() },
        }
    }

    pub fn with_detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(detail);
        self
    }
}
