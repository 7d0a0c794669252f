use yiwang_errors::{Coded, ErrorKind};

/// Failures of identity rules. Login failures are deliberately vague towards the
/// caller (no hint whether the account exists).
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("login required")]
    Unauthenticated,
    #[error("not allowed: {0}")]
    Forbidden(String),
    #[error("wrong account or password")]
    BadCredentials,
    #[error("too many failed attempts; try again in {retry_after_s} s")]
    Throttled { retry_after_s: u64 },
    #[error("password too weak: {0}")]
    WeakPassword(String),
    #[error(
        "real-name level L{required} required, account has L{have}: a name and ID that match the population base data give L2, \
         an in-person check at a service hall window gives L3"
    )]
    LevelTooLow { required: u8, have: u8 },
    #[error("unknown role {0:?}")]
    UnknownRole(String),
    #[error("password hashing failed")]
    Hashing,
}

impl Coded for IdentityError {
    fn code(&self) -> &'static str {
        match self {
            IdentityError::Unauthenticated => "auth.unauthenticated",
            IdentityError::Forbidden(_) => "auth.forbidden",
            IdentityError::BadCredentials => "auth.bad_credentials",
            IdentityError::Throttled { .. } => "auth.throttled",
            IdentityError::WeakPassword(_) => "auth.weak_password",
            IdentityError::LevelTooLow { .. } => "auth.level_too_low",
            IdentityError::UnknownRole(_) => "auth.unknown_role",
            IdentityError::Hashing => "auth.hashing",
        }
    }

    fn kind(&self) -> ErrorKind {
        match self {
            IdentityError::Unauthenticated | IdentityError::BadCredentials => ErrorKind::Unauthenticated,
            IdentityError::Forbidden(_) | IdentityError::LevelTooLow { .. } => ErrorKind::Forbidden,
            IdentityError::Throttled { .. } => ErrorKind::RateLimited,
            IdentityError::WeakPassword(_) | IdentityError::UnknownRole(_) => ErrorKind::Unprocessable,
            IdentityError::Hashing => ErrorKind::Internal,
        }
    }

    fn message_zh(&self) -> String {
        match self {
            IdentityError::Unauthenticated => "请先登录".into(),
            IdentityError::Forbidden(_) => "无权执行此操作".into(),
            IdentityError::BadCredentials => "账号或密码错误".into(),
            IdentityError::Throttled { retry_after_s } => format!("登录失败次数过多，请在 {retry_after_s} 秒后重试"),
            IdentityError::WeakPassword(why) => format!("密码强度不足：{why}"),
            IdentityError::LevelTooLow { required, have } => format!(
                "此操作需要实名等级 L{required}，当前账号为 L{have}。提升方法：使用与人口库一致的姓名和身份证号注册即为 L2；\
                 携带身份证到任一政务服务大厅窗口现场核验即为 L3。"
            ),
            IdentityError::UnknownRole(r) => format!("未知的角色“{r}”"),
            IdentityError::Hashing => "服务器内部错误".into(),
        }
    }
}
