//! 公民身份号码 (GB 11643-1999): 6 address + 8 birth date + 3 sequence + 1 check.

use jiff::civil::Date;
use serde::Serialize;

use crate::division::{DivisionCode, province_name};
use crate::error::{CodeError, Warning};

const WHAT: &str = "citizen_id";
/// ISO 7064 MOD 11-2 weights, left to right over the first 17 digits.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: &[u8; 11] = b"10X98765432";

/// ISO 7064 MOD 11-2 check character for 17 digits. `None` if not 17 ASCII digits.
pub fn citizen_check_char(body17: &str) -> Option<char> {
    if body17.len() != 17 || !body17.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let s: u32 = body17.bytes().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    Some(char::from(CHECK_CHARS[(s % 11) as usize]))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Male,
    Female,
}

/// A validated 18-character citizen ID number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "String")]
pub struct CitizenId(String);

impl From<CitizenId> for String {
    fn from(c: CitizenId) -> String {
        c.0
    }
}

impl std::fmt::Display for CitizenId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parsed fields of a citizen ID.
#[derive(Debug, Clone, Serialize)]
pub struct CitizenIdInfo {
    pub number: String,
    pub masked: String,
    /// True when the input was a 15-digit legacy number upgraded to 18.
    pub upgraded_from_15: bool,
    pub region: String,
    pub region_name: String,
    pub birth_date: String,
    pub sex: Sex,
    pub sequence: String,
    pub check_char: char,
    pub warnings: Vec<Warning>,
}

impl CitizenId {
    /// Validate an 18-digit number, or upgrade and validate a 15-digit legacy one.
    /// `today` bounds the birth date (time is a parameter: this crate reads no clock).
    /// Checks length, characters, a known province, a real birth date not in the
    /// future, and the check character. Use [`CitizenId::info`] for the fields.
    pub fn parse(input: &str, today: Date) -> Result<CitizenId, CodeError> {
        Self::validate(input, today).map(|(id, _)| id)
    }

    /// [`CitizenId::parse`] and, only on success, [`CitizenId::info`] with the
    /// `upgraded_from_15` flag set.
    pub fn parse_with_info(input: &str, today: Date) -> Result<(CitizenId, CitizenIdInfo), CodeError> {
        let (id, upgraded) = Self::validate(input, today)?;
        let mut info = id.info();
        info.upgraded_from_15 = upgraded;
        Ok((id, info))
    }

    fn validate(input: &str, today: Date) -> Result<(CitizenId, bool), CodeError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(CodeError::Empty { what: WHAT });
        }
        let len = s.chars().count();
        let (number, upgraded) = match len {
            18 => (s.to_ascii_uppercase(), false),
            15 => {
                if let Some((position, found)) = s.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
                    return Err(CodeError::Charset { what: WHAT, position, found, allowed: "0-9" });
                }
                let body = format!("{}19{}", &s[..6], &s[6..]);
                let check = citizen_check_char(&body)
                    .ok_or(CodeError::Format { what: WHAT, detail: "15位号码无法升位 / cannot upgrade 15-digit number".into() })?;
                (format!("{body}{check}"), true)
            }
            _ => return Err(CodeError::Length { what: WHAT, expected: "18（或旧版15）/ 18 (or legacy 15)", actual: len }),
        };
        for (position, c) in number.chars().enumerate() {
            let ok = if position < 17 { c.is_ascii_digit() } else { c.is_ascii_digit() || c == 'X' };
            if !ok {
                let allowed = if position < 17 { "0-9" } else { "0-9, X" };
                return Err(CodeError::Charset { what: WHAT, position, found: c, allowed });
            }
        }
        // All 18 are ASCII from here on. A county missing from the current table is
        // only a warning (see `info`); an unknown province is an error.
        if province_name(&number).is_none() {
            return Err(CodeError::Region { what: WHAT, value: number[..2].to_string() });
        }
        let birth_raw = &number[6..14];
        let birth = parse_yyyymmdd(birth_raw).ok_or(CodeError::Date { what: WHAT, value: birth_raw.to_string() })?;
        if birth > today {
            return Err(CodeError::FutureDate { what: WHAT, value: birth.to_string() });
        }
        if birth.year() < 1800 {
            return Err(CodeError::Date { what: WHAT, value: birth_raw.to_string() });
        }
        let expected = citizen_check_char(&number[..17])
            .ok_or(CodeError::Format { what: WHAT, detail: "前17位须为数字 / first 17 must be digits".into() })?;
        let found = char::from(number.as_bytes()[17]);
        if expected != found {
            return Err(CodeError::CheckChar { what: WHAT, expected, found });
        }
        Ok((CitizenId(number), upgraded))
    }

    /// The parsed fields, for display.
    pub fn info(&self) -> CitizenIdInfo {
        let number = &self.0;
        let seq_digit = number.as_bytes()[16].wrapping_sub(b'0');
        let sex = if seq_digit % 2 == 1 { Sex::Male } else { Sex::Female };
        let (region_name, warnings) = match DivisionCode::parse(&number[..6]) {
            Ok((code, warnings)) if code.name().is_some() => (code.full_name(), warnings),
            // A historic county: at least name the province.
            Ok((_, warnings)) => (province_name(number).unwrap_or("").to_string(), warnings),
            Err(_) => (String::new(), Vec::new()),
        };
        CitizenIdInfo {
            number: number.clone(),
            masked: mask_citizen_id(number),
            upgraded_from_15: false,
            region: number[..6].to_string(),
            region_name,
            birth_date: parse_yyyymmdd(&number[6..14]).map(|d| d.to_string()).unwrap_or_default(),
            sex,
            sequence: number[14..17].to_string(),
            check_char: char::from(number.as_bytes()[17]),
            warnings,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The display form: `1101**********002X`.
    pub fn masked(&self) -> String {
        mask_citizen_id(&self.0)
    }
}

/// Mask an ID number for display: keep the first 4 and last 4 characters.
pub fn mask_citizen_id(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let mut out: String = chars[..4].iter().collect();
    out.push_str(&"*".repeat(chars.len() - 8));
    out.extend(&chars[chars.len() - 4..]);
    out
}

pub(crate) fn parse_yyyymmdd(s: &str) -> Option<Date> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let y: i16 = s[..4].parse().ok()?;
    let m: i8 = s[4..6].parse().ok()?;
    let d: i8 = s[6..8].parse().ok()?;
    Date::new(y, m, d).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    const TODAY: Date = date(2026, 11, 23);

    #[test]
    fn domain_vectors() {
        let (id, info) = CitizenId::parse_with_info("11010519491231002X", TODAY).unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(info.birth_date, "1949-12-31");
        assert_eq!(info.sex, Sex::Female);
        assert_eq!(info.region_name, "北京市/市辖区/朝阳区");
        assert_eq!(id.masked(), "1101**********002X");
        let (_, info) = CitizenId::parse_with_info("440524188001010014", TODAY).unwrap();
        assert_eq!(info.sex, Sex::Male);
        assert_eq!(info.warnings.len(), 1, "440524 is a historic county code");
        let err = CitizenId::parse("110105194912310021", TODAY).unwrap_err();
        assert_eq!(err, CodeError::CheckChar { what: WHAT, expected: 'X', found: '1' });
    }

    #[test]
    fn lowercase_x_normalised() {
        let id = CitizenId::parse("11010519491231002x", TODAY).unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
    }

    #[test]
    fn upgrade_15() {
        // 15-digit form of 11010519491231002X is 110105491231002.
        let (id, info) = CitizenId::parse_with_info("110105491231002", TODAY).unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert!(info.upgraded_from_15);
    }

    #[test]
    fn precise_reasons() {
        let r = |s: &str| CitizenId::parse(s, TODAY).unwrap_err().reason();
        assert_eq!(r("1101051949123100"), "length");
        assert_eq!(r("11010519491231A02X"), "charset");
        assert_eq!(r("110105194902300020"), "date");
        assert_eq!(r("990105194912310020"), "region");
        let body = "11010520991231002";
        let full = format!("{body}{}", citizen_check_char(body).unwrap());
        assert_eq!(r(&full), "future_date");
    }
}
