use yiwang_errors::{Coded, ErrorKind};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL {0:?}: use sqlite://… or postgres://…")]
    UnsupportedUrl(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("calendar: {0}")]
    Calendar(#[from] yiwang_calendar::CalendarError),
    /// A request the store refuses for its content ("中文 / English").
    #[error("invalid: {0}")]
    Invalid(String),
}

impl StoreError {
    fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Tls(_)))
    }
}

impl Coded for StoreError {
    fn code(&self) -> &'static str {
        match self {
            StoreError::UnsupportedUrl(_) => "store.unsupported_url",
            StoreError::Database(_) if self.is_unavailable() => "store.unavailable",
            StoreError::Database(_) => "store.database",
            StoreError::Migrate(_) => "store.migrate",
            StoreError::NotFound(_) => "store.not_found",
            StoreError::Conflict(_) => "store.conflict",
            StoreError::Corrupt(_) => "store.corrupt",
            StoreError::Calendar(e) => e.code(),
            StoreError::Invalid(_) => "store.invalid",
        }
    }

    fn kind(&self) -> ErrorKind {
        match self {
            StoreError::UnsupportedUrl(_) => ErrorKind::BadRequest,
            StoreError::NotFound(_) => ErrorKind::NotFound,
            StoreError::Conflict(_) => ErrorKind::Conflict,
            StoreError::Calendar(e) => e.kind(),
            StoreError::Invalid(_) => ErrorKind::Unprocessable,
            _ if self.is_unavailable() => ErrorKind::Unavailable,
            _ => ErrorKind::Internal,
        }
    }

    fn message_zh(&self) -> String {
        match self {
            StoreError::UnsupportedUrl(u) => format!("不支持的数据库地址“{u}”：请使用 sqlite://… 或 postgres://…"),
            StoreError::NotFound(what) => format!("未找到：{what}"),
            StoreError::Conflict(what) => format!("与当前状态冲突：{what}"),
            StoreError::Calendar(e) => e.message_zh(),
            StoreError::Invalid(what) => what.split(" / ").next().unwrap_or(what).to_string(),
            _ if self.is_unavailable() => "数据库暂不可用".into(),
            _ => "数据库错误".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_down_is_503_and_our_faults_are_500() {
        assert_eq!(StoreError::Database(sqlx::Error::PoolTimedOut).kind().http_status(), 503);
        assert_eq!(StoreError::Database(sqlx::Error::RowNotFound).kind().http_status(), 500);
        assert_eq!(StoreError::NotFound("x".into()).kind().http_status(), 404);
        assert_eq!(StoreError::UnsupportedUrl("mysql://x".into()).kind().http_status(), 400);
        assert!(StoreError::Database(sqlx::Error::PoolTimedOut).message_zh().contains("不可用"));
    }

    #[test]
    fn urls_are_redacted_and_backends_chosen_by_scheme() {
        assert_eq!(crate::Backend::from_url("sqlite://x.db").unwrap(), crate::Backend::Sqlite);
        assert_eq!(crate::Backend::from_url("postgresql://h/db").unwrap(), crate::Backend::Postgres);
        assert!(crate::Backend::from_url("mysql://h/db").is_err());
        assert!(!crate::redact_url("postgres://u:pw@h/db").contains("pw"));
    }
}
