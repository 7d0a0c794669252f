//! Item catalog codes (domain.md §1.6): 基本编码 (12), 实施编码 (31 = USCC 18 +
//! 行使层级 1 + 基本编码 12) and 办件编号 (实施编码 + YYYYMMDD + sequence, ≤ 50).

use jiff::civil::Date;
use serde::Serialize;

use crate::citizen::parse_yyyymmdd;
use crate::error::CodeError;
use crate::uscc::{Uscc, UsccInfo};

/// Maximum 办件编号 length (GB/T 39046 an..50).
pub const CASE_NO_MAX: usize = 50;

fn check_alnum_upper(what: &'static str, s: &str, offset: usize) -> Result<(), CodeError> {
    match s.chars().enumerate().find(|(_, c)| !(c.is_ascii_digit() || c.is_ascii_uppercase())) {
        Some((position, found)) => Err(CodeError::Charset { what, position: position + offset, found, allowed: "0-9, A-Z" }),
        None => Ok(()),
    }
}

/// 基本编码: opaque 12 characters `[0-9A-Z]`. Only the `00` national prefix means anything.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "String")]
pub struct BasicCode(String);

impl From<BasicCode> for String {
    fn from(b: BasicCode) -> String {
        b.0
    }
}

impl std::fmt::Display for BasicCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl BasicCode {
    pub fn parse(s: &str) -> Result<BasicCode, CodeError> {
        const WHAT: &str = "basic_code";
        let s = s.trim();
        if s.is_empty() {
            return Err(CodeError::Empty { what: WHAT });
        }
        let len = s.chars().count();
        if len != 12 {
            return Err(CodeError::Length { what: WHAT, expected: "12", actual: len });
        }
        check_alnum_upper(WHAT, s, 0)?;
        Ok(BasicCode(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Items defined nationally start with `00`; local items with a province code.
    pub fn is_national(&self) -> bool {
        self.0.starts_with("00")
    }
}

/// 行使层级代码 (GB/T 39046 A.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UseLevel {
    National = 1,
    Provincial = 2,
    Municipal = 3,
    County = 4,
    Township = 5,
    Village = 6,
    Graded = 7,
}

impl UseLevel {
    pub fn from_digit(c: char) -> Option<UseLevel> {
        Some(match c {
            '1' => UseLevel::National,
            '2' => UseLevel::Provincial,
            '3' => UseLevel::Municipal,
            '4' => UseLevel::County,
            '5' => UseLevel::Township,
            '6' => UseLevel::Village,
            '7' => UseLevel::Graded,
            _ => return None,
        })
    }

    pub fn digit(self) -> char {
        char::from(b'0' + self as u8)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            UseLevel::National => "国家级",
            UseLevel::Provincial => "省级",
            UseLevel::Municipal => "市级",
            UseLevel::County => "县级",
            UseLevel::Township => "镇（乡、街道）级",
            UseLevel::Village => "村（社区）级",
            UseLevel::Graded => "分级管理",
        }
    }
}

/// 实施编码: implementing agency USCC + use level + basic code.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "String")]
pub struct ImplementationCode(String);

impl From<ImplementationCode> for String {
    fn from(c: ImplementationCode) -> String {
        c.0
    }
}

impl std::fmt::Display for ImplementationCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ImplementationCodeInfo {
    pub code: String,
    pub uscc: UsccInfo,
    pub level: UseLevel,
    pub level_name: &'static str,
    pub basic_code: String,
    pub national_item: bool,
}

impl ImplementationCode {
    pub const LEN: usize = 31;

    /// Validate: length, characters, the embedded USCC's check character, the
    /// level digit (1–7) and the basic code.
    pub fn parse(s: &str) -> Result<ImplementationCode, CodeError> {
        const WHAT: &str = "implementation_code";
        let s = s.trim();
        if s.is_empty() {
            return Err(CodeError::Empty { what: WHAT });
        }
        let len = s.chars().count();
        if len != Self::LEN {
            return Err(CodeError::Length { what: WHAT, expected: "31", actual: len });
        }
        check_alnum_upper(WHAT, s, 0)?;
        Uscc::parse(&s[..18]).map_err(|e| match e {
            CodeError::CheckChar { expected, found, .. } => CodeError::CheckChar { what: "uscc", expected, found },
            other => CodeError::Format {
                what: WHAT,
                detail: format!("前18位不是有效的统一社会信用代码 / first 18 characters are not a valid USCC: {other}"),
            },
        })?;
        let level_char = char::from(s.as_bytes()[18]);
        if UseLevel::from_digit(level_char).is_none() {
            return Err(CodeError::Charset { what: WHAT, position: 18, found: level_char, allowed: "行使层级 1-7 / use level 1-7" });
        }
        BasicCode::parse(&s[19..])?;
        Ok(ImplementationCode(s.to_string()))
    }

    pub fn info(&self) -> ImplementationCodeInfo {
        let s = &self.0;
        let level = UseLevel::from_digit(char::from(s.as_bytes()[18])).unwrap_or(UseLevel::Graded);
        ImplementationCodeInfo {
            code: s.clone(),
            uscc: Uscc::from_validated(&s[..18]).info(),
            level,
            level_name: level.name_zh(),
            basic_code: s[19..].to_string(),
            national_item: s[19..].starts_with("00"),
        }
    }

    pub fn compose(uscc: &Uscc, level: UseLevel, basic: &BasicCode) -> ImplementationCode {
        ImplementationCode(format!("{}{}{}", uscc.as_str(), level.digit(), basic.as_str()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 办件编号 generated by yiwang. Numbers from other systems are opaque strings and
/// should not go through this type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "String")]
pub struct CaseNo(String);

impl From<CaseNo> for String {
    fn from(c: CaseNo) -> String {
        c.0
    }
}

impl std::fmt::Display for CaseNo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseNoInfo {
    pub case_no: String,
    pub implementation_code: ImplementationCodeInfo,
    pub apply_date: String,
    pub sequence: u64,
}

impl CaseNo {
    /// Compose a case number; the daily sequence is zero-padded to 4 digits and
    /// may grow while the whole stays within 50 characters.
    pub fn new(code: &ImplementationCode, date: Date, sequence: u64) -> Result<CaseNo, CodeError> {
        let s = format!("{}{:04}{:02}{:02}{:04}", code.as_str(), date.year(), date.month(), date.day(), sequence);
        if s.len() > CASE_NO_MAX {
            return Err(CodeError::Length { what: "case_no", expected: "≤ 50", actual: s.len() });
        }
        Ok(CaseNo(s))
    }

    pub fn parse(s: &str) -> Result<CaseNo, CodeError> {
        const WHAT: &str = "case_no";
        let s = s.trim();
        if s.is_empty() {
            return Err(CodeError::Empty { what: WHAT });
        }
        let len = s.chars().count();
        if !(ImplementationCode::LEN + 8 + 1..=CASE_NO_MAX).contains(&len) {
            return Err(CodeError::Length { what: WHAT, expected: "40–50", actual: len });
        }
        check_alnum_upper(WHAT, s, 0)?;
        ImplementationCode::parse(&s[..31])?;
        let date_raw = &s[31..39];
        parse_yyyymmdd(date_raw).ok_or(CodeError::Date { what: WHAT, value: date_raw.to_string() })?;
        let seq_raw = &s[39..];
        if let Some((position, found)) = seq_raw.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
            return Err(CodeError::Charset { what: WHAT, position: position + 39, found, allowed: "序号为数字 / sequence digits" });
        }
        seq_raw.parse::<u64>().map_err(|_| CodeError::Format { what: WHAT, detail: "序号过大 / sequence too large".into() })?;
        Ok(CaseNo(s.to_string()))
    }

    pub fn info(&self) -> CaseNoInfo {
        let s = &self.0;
        let code = ImplementationCode(s[..31].to_string());
        CaseNoInfo {
            case_no: s.clone(),
            implementation_code: code.info(),
            apply_date: parse_yyyymmdd(&s[31..39]).map(|d| d.to_string()).unwrap_or_default(),
            sequence: s[39..].parse().unwrap_or(0),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn implementation_code_vectors() {
        let info = ImplementationCode::parse("11370800MB285591843370117002011").unwrap().info();
        assert_eq!(info.uscc.code, "11370800MB28559184");
        assert_eq!(info.level, UseLevel::Municipal);
        assert_eq!(info.basic_code, "370117002011");
        for real in [
            "11650000010183859F2650116013001",
            "1145072100811537184452004020000",
            "11450721MB155808114000104002000",
            "12441500196720244T3442199806003",
        ] {
            ImplementationCode::parse(real).unwrap();
        }
        let info = ImplementationCode::parse("11450721MB155808114000104002000").unwrap().info();
        assert!(info.national_item);
    }

    #[test]
    fn implementation_code_errors() {
        assert_eq!(ImplementationCode::parse("11370800MB28559184337011700201").unwrap_err().reason(), "length");
        assert_eq!(ImplementationCode::parse("11370800MB285591853370117002011").unwrap_err().reason(), "check_char");
        assert_eq!(ImplementationCode::parse("11370800MB285591848370117002011").unwrap_err().reason(), "charset");
    }

    #[test]
    fn case_no_roundtrip() {
        let info = CaseNo::parse("12441500196720244T3442199806003202206230068").unwrap().info();
        assert_eq!(info.apply_date, "2022-06-23");
        assert_eq!(info.sequence, 68);
        let code = ImplementationCode::parse("12441500196720244T3442199806003").unwrap();
        let n = CaseNo::new(&code, date(2022, 6, 23), 68).unwrap();
        assert_eq!(n.as_str(), "12441500196720244T3442199806003202206230068");
        assert_eq!(CaseNo::new(&code, date(2022, 6, 23), 123_456_789_012).unwrap_err().reason(), "length");
        assert_eq!(CaseNo::parse("12441500196720244T3442199806003202202300068").unwrap_err().reason(), "date");
    }
}
