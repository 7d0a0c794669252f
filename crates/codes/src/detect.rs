//! Detect which identifier a string is and validate it: the engine behind `yiwang codes`.

use jiff::civil::Date;
use serde::Serialize;

use crate::catalog::{BasicCode, CaseNo, CaseNoInfo, ImplementationCode, ImplementationCodeInfo};
use crate::citizen::{CitizenId, CitizenIdInfo, parse_yyyymmdd};
use crate::division::{DivisionCode, DivisionInfo, province_name};
use crate::error::{CodeError, Warning};
use crate::license::{LICENSE_ROOT, LicenseId, LicenseIdInfo};
use crate::uscc::{Uscc, UsccInfo, validate_org_code};

/// The kinds `detect` knows, as printed in `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeKind {
    CitizenId,
    Uscc,
    OrgCode,
    Division,
    BasicCode,
    ImplementationCode,
    CaseNo,
    LicenseId,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Parsed {
    CitizenId(CitizenIdInfo),
    Uscc(UsccInfo),
    OrgCode {
        code: String,
    },
    Division {
        #[serde(flatten)]
        info: DivisionInfo,
        warnings: Vec<Warning>,
        /// Other kinds this string is also well-formed as.
        also_valid_as: Vec<CodeKind>,
    },
    BasicCode {
        code: String,
        national_item: bool,
    },
    ImplementationCode(ImplementationCodeInfo),
    CaseNo(CaseNoInfo),
    LicenseId(LicenseIdInfo),
}

impl std::str::FromStr for CodeKind {
    type Err = ();

    /// The same snake_case names the JSON output uses (`citizen_id`, `uscc`…).
    fn from_str(s: &str) -> Result<Self, ()> {
        use serde::Deserialize;
        use serde::de::IntoDeserializer;
        CodeKind::deserialize(IntoDeserializer::<serde::de::value::Error>::into_deserializer(s)).map_err(|_| ())
    }
}

/// A failed detection: the most plausible kind and its reason.
#[derive(Debug, Clone, Serialize)]
pub struct DetectError {
    pub kind: Option<CodeKind>,
    pub error: CodeError,
}

/// Parse `s` as `kind`.
pub fn parse_as(kind: CodeKind, s: &str, today: Date) -> Result<Parsed, CodeError> {
    Ok(match kind {
        CodeKind::CitizenId => Parsed::CitizenId(CitizenId::parse_with_info(s, today)?.1),
        CodeKind::Uscc => Parsed::Uscc(Uscc::parse(s)?.info()),
        CodeKind::OrgCode => {
            validate_org_code(s.trim())?;
            Parsed::OrgCode { code: s.trim().to_string() }
        }
        CodeKind::Division => {
            let (d, warnings) = DivisionCode::parse(s)?;
            let also_valid_as = if s.trim().len() == 12 { vec![CodeKind::BasicCode] } else { vec![] };
            Parsed::Division { info: d.info(), warnings, also_valid_as }
        }
        CodeKind::BasicCode => {
            let b = BasicCode::parse(s)?;
            Parsed::BasicCode { national_item: b.is_national(), code: b.as_str().to_string() }
        }
        CodeKind::ImplementationCode => Parsed::ImplementationCode(ImplementationCode::parse(s)?.info()),
        CodeKind::CaseNo => Parsed::CaseNo(CaseNo::parse(s)?.info()),
        CodeKind::LicenseId => Parsed::LicenseId(LicenseId::parse(s)?.info()),
    })
}

/// Whether an 18-character string looks like a citizen ID (rather than a USCC):
/// 17 digits, a known province and a plausible birth date.
fn looks_like_citizen_id(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 18
        && b[..17].iter().all(u8::is_ascii_digit)
        && matches!(b[17], b'0'..=b'9' | b'X' | b'x')
        && province_name(s).is_some()
        && parse_yyyymmdd(&s[6..14]).is_some_and(|d| (1800..=2200).contains(&d.year()))
}

/// Detect the kind of `s` from its shape, then validate it as that kind.
pub fn detect(input: &str, today: Date) -> Result<Parsed, DetectError> {
    let s = input.trim();
    let kind = guess_kind(s).ok_or(DetectError { kind: None, error: CodeError::Unrecognized { len: s.chars().count() } })?;
    detect_as(Some(kind), s, today)
}

/// Validate `s` as `kind` when one is given, else as the kind its shape suggests.
pub fn detect_as(kind: Option<CodeKind>, s: &str, today: Date) -> Result<Parsed, DetectError> {
    match kind {
        Some(kind) => parse_as(kind, s, today).map_err(|error| DetectError { kind: Some(kind), error }),
        None => detect(s, today),
    }
}

/// Guess the most plausible kind of `s` by its shape alone.
pub fn guess_kind(s: &str) -> Option<CodeKind> {
    if s.is_empty() {
        return None;
    }
    if s.starts_with(LICENSE_ROOT) {
        return Some(CodeKind::LicenseId);
    }
    let all_digits = s.bytes().all(|b| b.is_ascii_digit());
    Some(match s.chars().count() {
        6 if all_digits => CodeKind::Division,
        9 => CodeKind::OrgCode,
        12 if all_digits && DivisionCode::parse(s).is_ok() => CodeKind::Division,
        12 => CodeKind::BasicCode,
        15 if all_digits => CodeKind::CitizenId,
        18 if looks_like_citizen_id(s) => CodeKind::CitizenId,
        18 => CodeKind::Uscc,
        31 => CodeKind::ImplementationCode,
        40..=50 => CodeKind::CaseNo,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    const TODAY: Date = date(2026, 11, 23);

    #[test]
    fn detects_each_kind() {
        let k = |s: &str| match detect(s, TODAY) {
            Ok(p) => serde_json::to_value(&p).unwrap()["kind"].as_str().unwrap().to_string(),
            Err(e) => panic!("{s}: {:?}", e),
        };
        assert_eq!(k("11010519491231002X"), "citizen_id");
        assert_eq!(k("115113010833722043"), "uscc");
        assert_eq!(k("91350100M000100Y43"), "uscc");
        assert_eq!(k("M000100Y4"), "org_code");
        assert_eq!(k("110105"), "division");
        assert_eq!(k("220581102201"), "division");
        assert_eq!(k("00010400200A"), "basic_code");
        assert_eq!(k("11370800MB285591843370117002011"), "implementation_code");
        assert_eq!(k("12441500196720244T3442199806003202206230068"), "case_no");
        assert_eq!(k("1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F"), "license_id");
    }

    #[test]
    fn kinds_parse_from_their_json_names() {
        assert_eq!("citizen_id".parse::<CodeKind>(), Ok(CodeKind::CitizenId));
        assert_eq!("license_id".parse::<CodeKind>(), Ok(CodeKind::LicenseId));
        assert!("CitizenId".parse::<CodeKind>().is_err());
        let e = detect_as(Some(CodeKind::Uscc), "110105194912310021", TODAY).unwrap_err();
        assert_eq!(e.kind, Some(CodeKind::Uscc));
    }

    #[test]
    fn bad_id_names_check_char() {
        let e = detect("110105194912310021", TODAY).unwrap_err();
        assert_eq!(e.kind, Some(CodeKind::CitizenId));
        assert_eq!(e.error.reason(), "check_char");
        assert!(detect("12345", TODAY).is_err());
    }
}
