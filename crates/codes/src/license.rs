//! 电子证照标识 (GB/T 36904, reconstructed in domain.md §3.2):
//! `1.2.156.3005.2.<type: USCC+3>.<issuer: 6–18>.<number>.<version: 3 digits>.<check>`,
//! check = ISO/IEC 7064 MOD 37,36 over the four segments with dots removed.

use serde::Serialize;

use crate::error::CodeError;
use crate::uscc::Uscc;

const WHAT: &str = "license_id";
pub const LICENSE_ROOT: &str = "1.2.156.3005.2";
const ALNUM: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

fn alnum_value(c: char) -> Option<u32> {
    match c {
        '0'..='9' | 'A'..='Z' => c.to_digit(36),
        _ => None,
    }
}

/// ISO/IEC 7064 MOD 37,36 (hybrid) check character; `None` on a character outside `0-9A-Z`.
pub fn mod37_36_check_char(payload: &str) -> Option<char> {
    let mut p = 36;
    for ch in payload.chars() {
        let mut s = (p + alnum_value(ch)?) % 36;
        if s == 0 {
            s = 36;
        }
        p = (2 * s) % 37;
    }
    Some(char::from(ALNUM[((37 - p) % 36) as usize]))
}

/// Whether `payload` followed by its last character as check character is valid.
pub fn mod37_36_is_valid(with_check: &str) -> bool {
    let mut chars: Vec<char> = with_check.chars().collect();
    match chars.pop() {
        Some(check) => mod37_36_check_char(&chars.iter().collect::<String>()) == Some(check),
        None => false,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "String")]
pub struct LicenseId(String);

impl From<LicenseId> for String {
    fn from(l: LicenseId) -> String {
        l.0
    }
}

impl std::fmt::Display for LicenseId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LicenseIdInfo {
    pub id: String,
    pub type_code: String,
    pub defining_agency: String,
    pub type_sequence: String,
    pub issuer_code: String,
    pub number: String,
    pub version: u16,
    pub check_char: char,
}

fn segment_alnum(s: &str, offset: usize) -> Result<(), CodeError> {
    match s.chars().enumerate().find(|(_, c)| alnum_value(*c).is_none()) {
        Some((position, found)) => Err(CodeError::Charset { what: WHAT, position: position + offset, found, allowed: "0-9, A-Z" }),
        None => Ok(()),
    }
}

impl LicenseId {
    /// Compose an identifier with its check character.
    pub fn compose(type_code: &str, issuer: &str, number: &str, version: u16) -> Result<LicenseId, CodeError> {
        if version == 0 || version > 999 {
            return Err(CodeError::Format { what: WHAT, detail: "版本号须为001–999 / version must be 001–999".into() });
        }
        let payload = format!("{type_code}{issuer}{number}{version:03}");
        let check = mod37_36_check_char(&payload)
            .ok_or(CodeError::Format { what: WHAT, detail: "只允许大写字母和数字 / only 0-9 A-Z allowed".into() })?;
        let id = format!("{LICENSE_ROOT}.{type_code}.{issuer}.{number}.{version:03}.{check}");
        Self::parse(&id)
    }

    pub fn info(&self) -> LicenseIdInfo {
        let parts: Vec<&str> = self.0[LICENSE_ROOT.len() + 1..].split('.').collect();
        let get = |i: usize| parts.get(i).copied().unwrap_or("");
        let type_code = get(0);
        LicenseIdInfo {
            id: self.0.clone(),
            type_code: type_code.to_string(),
            defining_agency: type_code.get(..18).unwrap_or("").to_string(),
            type_sequence: type_code.get(18..).unwrap_or("").to_string(),
            issuer_code: get(1).to_string(),
            number: get(2).to_string(),
            version: get(3).parse().unwrap_or(0),
            check_char: get(4).chars().next().unwrap_or('?'),
        }
    }

    /// Validate layout, segments and the MOD 37,36 check character.
    pub fn parse(s: &str) -> Result<LicenseId, CodeError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(CodeError::Empty { what: WHAT });
        }
        let Some(rest) = s.strip_prefix(LICENSE_ROOT).and_then(|r| r.strip_prefix('.')) else {
            return Err(CodeError::Format { what: WHAT, detail: format!("须以{LICENSE_ROOT}.开头 / must start with {LICENSE_ROOT}.") });
        };
        let parts: Vec<&str> = rest.split('.').collect();
        if parts.len() != 5 {
            return Err(CodeError::Format {
                what: WHAT,
                detail: format!("根之后应有5段，实际{}段 / expected 5 segments after the root, found {}", parts.len(), parts.len()),
            });
        }
        let (type_code, issuer, number, version, check) = (parts[0], parts[1], parts[2], parts[3], parts[4]);
        let mut offset = LICENSE_ROOT.len() + 1;
        if type_code.len() != 21 {
            return Err(CodeError::Length { what: WHAT, expected: "证照类型代码21位 / type code 21", actual: type_code.len() });
        }
        segment_alnum(type_code, offset)?;
        Uscc::parse(&type_code[..18]).map_err(|e| CodeError::Format {
            what: WHAT,
            detail: format!("证照类型代码前18位不是有效的统一社会信用代码 / type code does not start with a valid USCC: {e}"),
        })?;
        if !type_code[18..].bytes().all(|b| b.is_ascii_digit()) {
            return Err(CodeError::Format {
                what: WHAT, detail: "类型顺序号须为3位数字 / type sequence must be 3 digits".into()
            });
        }
        offset += type_code.len() + 1;
        if !(6..=18).contains(&issuer.len()) {
            return Err(CodeError::Length { what: WHAT, expected: "颁发机构代码6–18位 / issuer 6–18", actual: issuer.len() });
        }
        segment_alnum(issuer, offset)?;
        offset += issuer.len() + 1;
        if number.is_empty() {
            return Err(CodeError::Format { what: WHAT, detail: "证照编号为空 / empty license number".into() });
        }
        segment_alnum(number, offset)?;
        offset += number.len() + 1;
        if version.len() != 3 || !version.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CodeError::Format { what: WHAT, detail: "版本号须为3位数字 / version must be 3 digits".into() });
        }
        let _ = offset;
        let mut check_chars = check.chars();
        let (Some(found), None) = (check_chars.next(), check_chars.next()) else {
            return Err(CodeError::Length { what: WHAT, expected: "校验位1位 / check 1", actual: check.len() });
        };
        let payload = format!("{type_code}{issuer}{number}{version}");
        let expected = mod37_36_check_char(&payload).ok_or(CodeError::Format { what: WHAT, detail: "bad payload".into() })?;
        if expected != found {
            return Err(CodeError::CheckChar { what: WHAT, expected, found });
        }
        Ok(LicenseId(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mod37_36_vectors() {
        for (payload, check) in [
            ("11100000000013338W03211220000013544541J2430599001", 'F'),
            ("11100000000013338W01111430000006122244L20230000403002", 'S'),
            ("11100000000013338W01111430000006122244L20230000403001", 'U'),
            ("11100000000013338W00911330105002500287C2025052201002", '0'),
            ("11100000000013338W08711370800MB2855918437080001202411010001001", '3'),
        ] {
            assert_eq!(mod37_36_check_char(payload), Some(check), "{payload}");
            assert!(mod37_36_is_valid(&format!("{payload}{check}")));
        }
    }

    #[test]
    fn license_id_vector() {
        let info = LicenseId::parse("1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F").unwrap().info();
        assert_eq!(info.defining_agency, "11100000000013338W");
        assert_eq!(info.version, 1);
        let v2 = LicenseId::compose("11100000000013338W032", "11220000013544541J", "2430599", 2).unwrap();
        assert!(!v2.as_str().ends_with(".F"), "a new version changes the check char");
        let err = LicenseId::parse("1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.002.F").unwrap_err();
        assert_eq!(err.reason(), "check_char");
    }
}
