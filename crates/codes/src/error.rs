use serde::Serialize;
use yiwang_errors::{Coded, ErrorKind};

/// Why an identifier is invalid. Each variant names one precise reason so a
/// caller can tell the applicant exactly what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum CodeError {
    #[error("{what}: empty input")]
    Empty { what: &'static str },
    #[error("{what}: length {actual}, expected {expected}")]
    Length { what: &'static str, expected: &'static str, actual: usize },
    #[error("{what}: character {found:?} at position {position} is not allowed ({allowed})")]
    Charset { what: &'static str, position: usize, found: char, allowed: &'static str },
    #[error("{what}: check character is {found:?}, expected {expected:?}")]
    CheckChar { what: &'static str, expected: char, found: char },
    #[error("{what}: {value:?} is not a valid date")]
    Date { what: &'static str, value: String },
    #[error("{what}: date {value} is in the future")]
    FutureDate { what: &'static str, value: String },
    #[error("{what}: region code {value} is unknown")]
    Region { what: &'static str, value: String },
    /// A region field that must be digits holds something else (GB 32100 positions 3–8).
    #[error("{what}: region code {value:?} at positions 3-8 must be six digits")]
    RegionNotDigits { what: &'static str, value: String },
    #[error("{what}: {detail}")]
    Format { what: &'static str, detail: String },
    #[error("no identifier format matches {len} characters")]
    Unrecognized { len: usize },
}

impl CodeError {
    /// The short reason code printed by `yiwang codes` (e.g. `check_char`).
    pub fn reason(&self) -> &'static str {
        match self {
            CodeError::Empty { .. } => "empty",
            CodeError::Length { .. } => "length",
            CodeError::Charset { .. } => "charset",
            CodeError::CheckChar { .. } => "check_char",
            CodeError::Date { .. } => "date",
            CodeError::FutureDate { .. } => "future_date",
            CodeError::Region { .. } | CodeError::RegionNotDigits { .. } => "region",
            CodeError::Format { .. } => "format",
            CodeError::Unrecognized { .. } => "unrecognized",
        }
    }
}

fn what_zh(what: &str) -> &'static str {
    match what {
        "citizen_id" => "公民身份号码",
        "uscc" => "统一社会信用代码",
        "org_code" => "组织机构代码",
        "division" => "行政区划代码",
        "basic_code" => "事项基本编码",
        "implementation_code" => "事项实施编码",
        "case_no" => "办件编号",
        "license_id" => "电子证照标识",
        _ => "编码",
    }
}

impl Coded for CodeError {
    fn code(&self) -> &'static str {
        match self {
            CodeError::Empty { .. } => "codes.empty",
            CodeError::Length { .. } => "codes.length",
            CodeError::Charset { .. } => "codes.charset",
            CodeError::CheckChar { .. } => "codes.check_char",
            CodeError::Date { .. } => "codes.date",
            CodeError::FutureDate { .. } => "codes.future_date",
            CodeError::Region { .. } | CodeError::RegionNotDigits { .. } => "codes.region",
            CodeError::Format { .. } => "codes.format",
            CodeError::Unrecognized { .. } => "codes.unrecognized",
        }
    }

    fn kind(&self) -> ErrorKind {
        ErrorKind::BadRequest
    }

    fn message_zh(&self) -> String {
        match self {
            CodeError::Empty { what } => format!("{}为空", what_zh(what)),
            CodeError::Length { what, expected, actual } => {
                format!("{}长度为{actual}位，应为{expected}位", what_zh(what))
            }
            CodeError::Charset { what, position, found, allowed } => {
                format!("{}第{}位字符“{found}”不合法（允许：{allowed}）", what_zh(what), position + 1)
            }
            CodeError::CheckChar { what, expected, found } => {
                format!("{}校验码错误：末位为“{found}”，应为“{expected}”", what_zh(what))
            }
            CodeError::Date { what, value } => format!("{}中的日期“{value}”不存在", what_zh(what)),
            CodeError::FutureDate { what, value } => {
                format!("{}中的日期{value}晚于今天", what_zh(what))
            }
            CodeError::Region { what, value } => {
                format!("{}中的行政区划代码“{value}”不存在", what_zh(what))
            }
            CodeError::RegionNotDigits { what, value } => {
                format!("{}第3–8位登记管理机关行政区划码“{value}”须为6位数字", what_zh(what))
            }
            CodeError::Format { what, detail } => format!("{}格式错误：{detail}", what_zh(what)),
            CodeError::Unrecognized { len } => format!("无法识别长度为{len}位的编码"),
        }
    }
}

/// Something suspicious that does not make the identifier invalid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub code: &'static str,
    pub message_zh: String,
    pub message_en: String,
}
