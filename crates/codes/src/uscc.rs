//! 统一社会信用代码 (GB 32100-2015) and the embedded 组织机构代码 (GB 11714-1997).

use serde::Serialize;

use crate::division::DivisionCode;
use crate::error::{CodeError, Warning};

const WHAT: &str = "uscc";
/// The 31-character USCC alphabet (no I, O, S, V, Z); a character's value is its index.
pub const USCC_ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights 3^(i-1) mod 31, left to right over the first 17 characters.
const USCC_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// Character → value, 255 for characters outside the alphabet.
const USCC_VALUES: [u8; 128] = {
    let mut t = [255u8; 128];
    let a = USCC_ALPHABET.as_bytes();
    let mut i = 0;
    while i < a.len() {
        t[a[i] as usize] = i as u8;
        i += 1;
    }
    t
};

fn uscc_value(c: char) -> Option<u32> {
    match USCC_VALUES.get(c as usize) {
        Some(&v) if v != 255 => Some(u32::from(v)),
        _ => None,
    }
}

/// GB 32100 check character for the first 17 characters; `None` on a bad character.
pub fn uscc_check_char(body17: &str) -> Option<char> {
    if body17.chars().count() != 17 {
        return None;
    }
    let mut sum = 0;
    for (c, w) in body17.chars().zip(USCC_WEIGHTS) {
        sum += uscc_value(c)? * w;
    }
    USCC_ALPHABET.chars().nth(((31 - sum % 31) % 31) as usize)
}

/// GB 11714 check character for an 8-character organization code body.
pub fn org_code_check_char(body8: &str) -> Option<char> {
    if body8.len() != 8 {
        return None;
    }
    let mut sum = 0;
    for (c, w) in body8.chars().zip(ORG_WEIGHTS) {
        sum += c.to_digit(36)? * w;
    }
    Some(match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        n => char::from_digit(n, 10)?,
    })
}

/// Validate a 9-character organization code (8 body + check).
pub fn validate_org_code(s: &str) -> Result<(), CodeError> {
    const W: &str = "org_code";
    let len = s.chars().count();
    if len != 9 {
        return Err(CodeError::Length { what: W, expected: "9", actual: len });
    }
    for (position, c) in s.chars().enumerate() {
        let ok = if position < 8 { c.is_ascii_digit() || c.is_ascii_uppercase() } else { c.is_ascii_digit() || c == 'X' };
        if !ok {
            return Err(CodeError::Charset { what: W, position, found: c, allowed: "0-9, A-Z" });
        }
    }
    let expected = org_code_check_char(&s[..8]).ok_or(CodeError::Format { what: W, detail: "bad body".into() })?;
    let found = s.chars().nth(8).unwrap_or('?');
    if expected != found {
        return Err(CodeError::CheckChar { what: W, expected, found });
    }
    Ok(())
}

/// A validated unified social credit code.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "String")]
pub struct Uscc(String);

impl From<Uscc> for String {
    fn from(u: Uscc) -> String {
        u.0
    }
}

impl std::fmt::Display for Uscc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct UsccInfo {
    pub code: String,
    pub registration_department: char,
    pub registration_department_name: Option<&'static str>,
    pub organization_category: char,
    pub organization_category_name: Option<&'static str>,
    pub region: String,
    pub region_name: Option<String>,
    pub organization_code: String,
    pub check_char: char,
    pub warnings: Vec<Warning>,
}

/// Known 登记管理部门 codes; a partial list kept as data, not a validation rule.
fn department_name(c: char) -> Option<&'static str> {
    Some(match c {
        '1' => "机构编制",
        '2' => "外交",
        '3' => "司法行政",
        '4' => "文化",
        '5' => "民政",
        '6' => "旅游",
        '7' => "宗教",
        '8' => "工会",
        '9' => "工商/市场监管",
        'A' => "中央军委改革和编制办公室",
        'N' => "农业",
        'Y' => "其他",
        _ => return None,
    })
}

fn category_name(dept: char, cat: char) -> Option<&'static str> {
    Some(match (dept, cat) {
        ('1', '1') => "机关",
        ('1', '2') => "事业单位",
        ('1', '3') => "中央编办直接管理机构编制的群众团体",
        ('5', '1') => "社会团体",
        ('5', '2') => "民办非企业单位",
        ('5', '3') => "基金会",
        ('9', '1') => "企业",
        ('9', '2') => "个体工商户",
        ('9', '3') => "农民专业合作社",
        (_, '9') => "其他",
        _ => return None,
    })
}

impl Uscc {
    /// Validate a USCC: length, alphabet and the GB 32100 check character. The
    /// embedded GB 11714 check and an unknown region are only warnings (some
    /// legitimate older codes fail them): see [`Uscc::info`].
    pub fn parse(input: &str) -> Result<Uscc, CodeError> {
        let s = input.trim().to_ascii_uppercase();
        if s.is_empty() {
            return Err(CodeError::Empty { what: WHAT });
        }
        let len = s.chars().count();
        if len != 18 {
            return Err(CodeError::Length { what: WHAT, expected: "18", actual: len });
        }
        if let Some((position, found)) = s.chars().enumerate().find(|(_, c)| uscc_value(*c).is_none()) {
            return Err(CodeError::Charset { what: WHAT, position, found, allowed: "0-9, A-Z 除 I O S V Z / except I O S V Z" });
        }
        // GB 32100: positions 3–8 are the registration authority's GB/T 2260 code,
        // six digits (an unknown but numeric code is only a warning, see `info`).
        if !s.as_bytes()[2..8].iter().all(u8::is_ascii_digit) {
            return Err(CodeError::RegionNotDigits { what: WHAT, value: s[2..8].to_string() });
        }
        let expected = uscc_check_char(&s[..17]).ok_or(CodeError::Format { what: WHAT, detail: "bad body".into() })?;
        let found = char::from(s.as_bytes()[17]);
        if expected != found {
            return Err(CodeError::CheckChar { what: WHAT, expected, found });
        }
        Ok(Uscc(s))
    }

    /// Wrap a prefix of an identifier whose validation already covered this USCC.
    pub(crate) fn from_validated(code: &str) -> Uscc {
        Uscc(code.to_string())
    }

    /// The parsed fields and warnings, for display.
    pub fn info(&self) -> UsccInfo {
        let s = &self.0;
        let mut warnings = Vec::new();
        let org = &s[8..17];
        if let Err(e) = validate_org_code(org) {
            warnings.push(Warning {
                code: "codes.uscc_org_code_check",
                message_zh: format!("内嵌组织机构代码{org}未通过GB 11714校验：{}", yiwang_errors::Coded::message_zh(&e)),
                message_en: format!("embedded organization code {org} fails the GB 11714 check: {e}"),
            });
        }
        let region = &s[2..8];
        let region_name = match DivisionCode::parse(region) {
            Ok((d, w)) => {
                warnings.extend(w);
                Some(d.full_name()).filter(|n| !n.is_empty())
            }
            Err(_) => {
                warnings.push(Warning {
                    code: "codes.uscc_region",
                    message_zh: format!("登记管理机关行政区划码{region}无法识别"),
                    message_en: format!("registration authority region {region} is not recognised"),
                });
                None
            }
        };
        let b = s.as_bytes();
        let (dept, cat) = (char::from(b[0]), char::from(b[1]));
        UsccInfo {
            code: s.clone(),
            registration_department: dept,
            registration_department_name: department_name(dept),
            organization_category: cat,
            organization_category_name: category_name(dept, cat),
            region: region.to_string(),
            region_name,
            organization_code: org.to_string(),
            check_char: char::from(b[17]),
            warnings,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_vectors() {
        for ok in [
            "91350100M000100Y43",
            "91330102MA28NBU477",
            "11100000000013338W",
            "12441500196720244T",
            "115113010833722043",
            "11370800MB28559184",
            "11650000010183859F",
        ] {
            let u = Uscc::parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            let info = u.info();
            assert_eq!(u.as_str(), ok);
            assert!(info.warnings.iter().all(|w| w.code != "codes.uscc_org_code_check"), "{ok}: {:?}", info.warnings);
        }
        assert_eq!(org_code_check_char("M000100Y"), Some('4'));
        assert_eq!(org_code_check_char("MA28NBU4"), Some('7'));
    }

    #[test]
    fn precise_reasons() {
        let r = |s: &str| Uscc::parse(s).unwrap_err().reason();
        assert_eq!(r("91350100M000100Y4"), "length");
        assert_eq!(r("91350100M000100I43"), "charset");
        assert_eq!(r("91350100M000100Y44"), "check_char");
        // A letter in the region (positions 3–8), with a correct check character: python-stdnum's InvalidFormat.
        assert_eq!(r("3101011X4606267934"), "region");
        let body = "9133A102MA28NBU47";
        assert_eq!(r(&format!("{body}{}", uscc_check_char(body).unwrap())), "region");
    }

    #[test]
    fn inner_check_is_a_warning() {
        // Same body with a corrupted org-code check digit, then a fixed-up USCC check.
        let body = "91350100M000100Y5";
        let full = format!("{body}{}", uscc_check_char(body).unwrap());
        let info = Uscc::parse(&full).unwrap().info();
        assert!(info.warnings.iter().any(|w| w.code == "codes.uscc_org_code_check"));
    }
}
