//! The code lists of domain.md §1.5 as typed enums that keep their wire codes.
//! On the wire (our JSON, the national exchange, the database) every value is its
//! code string, e.g. `"1"` for 自然人; in Rust it is a variant.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Declares a closed code list: variants with their wire code and Chinese name.
macro_rules! code_list {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($variant:ident = $code:literal, $zh:literal;)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The name of the list, for error messages.
            pub const WHAT: &'static str = $what;

            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            pub fn name_zh(self) -> &'static str {
                match self { $($name::$variant => $zh),+ }
            }

            pub fn from_code(code: &str) -> Option<$name> {
                match code.trim() { $($code => Some($name::$variant),)+ _ => None }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.code())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = CodeValue::deserialize(d)?.0;
                $name::from_code(&raw).ok_or_else(|| serde::de::Error::custom(unknown_code($what, &raw, $name::ALL.iter().map(|v| v.code()))))
            }
        }
    };
}

/// Accepts a code given as a string or as a number (exports differ).
struct CodeValue(String);

impl<'de> Deserialize<'de> for CodeValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => Ok(CodeValue(s)),
            serde_json::Value::Number(n) => Ok(CodeValue(n.to_string())),
            other => Err(serde::de::Error::custom(format!("应为代码字符串 / expected a code string, got {other}"))),
        }
    }
}

fn unknown_code<'a>(what: &str, raw: &str, allowed: impl Iterator<Item = &'a str>) -> String {
    let allowed: Vec<&str> = allowed.collect();
    format!("{what} 代码无效 / unknown {what} code {raw:?}; 可用 / allowed: {}", allowed.join(", "))
}

code_list!(
    /// 实施主体性质代码 (GB/T 39046 A.3).
    SubjectNature, "subject_nature" {
        StatutoryOrgan = "1", "法定机关";
        AuthorisedOrganisation = "2", "授权组织";
        EntrustedOrganisation = "3", "受委托组织";
        Other = "9", "其他";
    }
);

code_list!(
    /// 服务对象代码 (GB/T 39046 A.4). The national import code numbers some values
    /// differently (domain.md §1.5); `exchange` maps them.
    ServiceObject, "service_object" {
        NaturalPerson = "1", "自然人";
        EnterpriseLegalPerson = "2", "企业法人";
        InstitutionLegalPerson = "3", "事业法人";
        SocialOrganisation = "4", "社会组织法人";
        AdministrativeOrgan = "5", "行政机关";
        OtherOrganisation = "6", "其他组织";
    }
);

impl ServiceObject {
    /// Whether the object is a person (自然人) rather than a legal person or organisation.
    pub fn is_natural_person(self) -> bool {
        self == ServiceObject::NaturalPerson
    }
}

code_list!(
    /// 办理形式代码 (GB/T 39046 A.5).
    HandlingForm, "handling_form" {
        Window = "1", "窗口办理";
        OnlinePc = "2", "电脑端网上办理";
        OnlineMobile = "3", "移动端网上申请";
        Express = "4", "快递申请";
        Other = "9", "其他";
    }
);

code_list!(
    /// 办件类型代码 (GB/T 39046 A.6).
    ProjectType, "project_type" {
        Immediate = "1", "即办件";
        Promised = "2", "承诺件";
        Other = "9", "其他";
    }
);

code_list!(
    /// 权力来源 (national schema `power_source`).
    PowerSource, "power_source" {
        Statutory = "1", "法定本级行使";
        DelegatedDown = "2", "上级下放";
        AuthorisedByHigher = "3", "上级授权";
        AuthorisedByPeer = "4", "同级授权";
        EntrustedByHigher = "5", "上级委托";
        EntrustedByPeer = "6", "同级委托";
    }
);

code_list!(
    /// 时限单位 [I]: the national values are not published; 工作日 is the default
    /// because 《行政许可法》 Art. 82 counts in working days.
    TimeUnit, "time_unit" {
        WorkingDay = "1", "工作日";
        NaturalDay = "2", "自然日";
        Month = "3", "月";
        Year = "4", "年";
        Hour = "5", "小时";
    }
);

code_list!(
    /// 通办范围代码 (GB/T 39046: 全国 / 跨省 / 跨市 / 跨县) plus "none" for items
    /// handled only where the applicant is registered. The digits are [I].
    UniversalScope, "universal_scope" {
        National = "1", "全国通办";
        CrossProvince = "2", "跨省通办";
        CrossCity = "3", "全省通办（跨市）";
        CrossCounty = "4", "全市通办（跨县）";
        None = "0", "不通办";
    }
);

code_list!(
    /// 网上办理深度 [I]: the four levels used by provincial catalogs.
    OnlineDepth, "online_depth" {
        Information = "1", "一级：信息公开";
        FormDownload = "2", "二级：表格下载、在线咨询";
        OnlinePreReview = "3", "三级：在线预审（网上申请）";
        FullyOnline = "4", "四级：全程网办";
    }
);

code_list!(
    /// 运行系统层级.
    SystemLevel, "system_level" {
        National = "1", "国家级";
        Provincial = "2", "省级";
        Municipal = "3", "市级";
    }
);

code_list!(
    /// 材料形式: paper, electronic, or both.
    MaterialForm, "material_form" {
        Paper = "1", "纸质";
        Electronic = "2", "电子";
        PaperAndElectronic = "3", "纸质、电子";
    }
);

code_list!(
    /// 材料必要性 `is_need`. `Deferrable` marks materials that may follow after
    /// acceptance (容缺受理).
    Necessity, "necessity" {
        Required = "1", "必要";
        Optional = "0", "非必要";
        Deferrable = "2", "容缺后补";
    }
);

code_list!(
    /// 材料类型 [I]: what kind of document is asked for.
    MaterialKind, "material_kind" {
        Original = "1", "原件";
        Copy = "2", "复印件";
        OriginalAndCopy = "3", "原件和复印件";
        Form = "4", "申请表（格式文书）";
        Other = "9", "其他";
    }
);

code_list!(
    /// 来源渠道 `source_type` [I]: where the applicant gets the material.
    SourceChannel, "source_channel" {
        Applicant = "1", "申请人自备";
        Government = "2", "政府部门核发";
        Intermediary = "3", "中介机构出具";
        Other = "9", "其他";
    }
);

code_list!(
    /// 审批结果类型 `result_type` [I].
    ResultType, "result_type" {
        License = "1", "证照";
        Approval = "2", "批文";
        Other = "9", "其他";
    }
);

code_list!(
    /// The lifecycle of one version of an item (domain.md §1.5: 草稿 → 审核 → 发布 → 变更 → 取消).
    VersionState, "version_state" {
        Draft = "draft", "草稿";
        Submitted = "submitted", "待审核";
        Published = "published", "已发布";
        Superseded = "superseded", "已被新版本替代";
        Discarded = "discarded", "已废弃";
    }
);

code_list!(
    /// Whether a published item can be applied for.
    ItemStatus, "item_status" {
        Active = "active", "在用";
        Suspended = "suspended", "暂停";
        Cancelled = "cancelled", "已取消";
    }
);

/// 事项类型代码 (GB/T 39046 A.1), open for local extensions (11…, 21…). On the wire
/// it is always a two-character string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TaskType {
    Power,
    License,
    Penalty,
    Coercion,
    Levy,
    Benefit,
    Inspection,
    Confirmation,
    Reward,
    Adjudication,
    OtherPower,
    PublicService,
    /// A local extension code (11–19, 21–99).
    Ext(u8),
}

impl TaskType {
    pub const WHAT: &'static str = "task_type";
    pub const STANDARD: [TaskType; 12] = [
        TaskType::Power,
        TaskType::License,
        TaskType::Penalty,
        TaskType::Coercion,
        TaskType::Levy,
        TaskType::Benefit,
        TaskType::Inspection,
        TaskType::Confirmation,
        TaskType::Reward,
        TaskType::Adjudication,
        TaskType::OtherPower,
        TaskType::PublicService,
    ];

    pub fn number(self) -> u8 {
        match self {
            TaskType::Power => 0,
            TaskType::License => 1,
            TaskType::Penalty => 2,
            TaskType::Coercion => 3,
            TaskType::Levy => 4,
            TaskType::Benefit => 5,
            TaskType::Inspection => 6,
            TaskType::Confirmation => 7,
            TaskType::Reward => 8,
            TaskType::Adjudication => 9,
            TaskType::OtherPower => 10,
            TaskType::PublicService => 20,
            TaskType::Ext(n) => n,
        }
    }

    pub fn code(self) -> String {
        format!("{:02}", self.number())
    }

    pub fn from_number(n: u8) -> Option<TaskType> {
        Some(match n {
            0 => TaskType::Power,
            1 => TaskType::License,
            2 => TaskType::Penalty,
            3 => TaskType::Coercion,
            4 => TaskType::Levy,
            5 => TaskType::Benefit,
            6 => TaskType::Inspection,
            7 => TaskType::Confirmation,
            8 => TaskType::Reward,
            9 => TaskType::Adjudication,
            10 => TaskType::OtherPower,
            20 => TaskType::PublicService,
            11..=19 | 21..=99 => TaskType::Ext(n),
            _ => return None,
        })
    }

    pub fn from_code(code: &str) -> Option<TaskType> {
        let code = code.trim();
        if code.is_empty() || code.len() > 2 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        code.parse::<u8>().ok().and_then(TaskType::from_number)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            TaskType::Power => "行政权力事项",
            TaskType::License => "行政许可",
            TaskType::Penalty => "行政处罚",
            TaskType::Coercion => "行政强制",
            TaskType::Levy => "行政征收",
            TaskType::Benefit => "行政给付",
            TaskType::Inspection => "行政检查",
            TaskType::Confirmation => "行政确认",
            TaskType::Reward => "行政奖励",
            TaskType::Adjudication => "行政裁决",
            TaskType::OtherPower => "其他行政权力",
            TaskType::PublicService => "公共服务",
            TaskType::Ext(_) => "地方扩展事项类型",
        }
    }
}

impl Serialize for TaskType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.code())
    }
}

impl<'de> Deserialize<'de> for TaskType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = CodeValue::deserialize(d)?.0;
        TaskType::from_code(&raw)
            .ok_or_else(|| serde::de::Error::custom(unknown_code("task_type", &raw, ["00–10", "20", "11–19/21–99 (扩展)"].into_iter())))
    }
}

/// 行使层级 (A.2) serialised as its digit, for `#[serde(with = "use_level_code")]`.
pub mod use_level_code {
    use serde::{Deserialize, Deserializer, Serializer};
    use yiwang_codes::UseLevel;

    pub fn serialize<S: Serializer>(level: &UseLevel, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&level.digit().to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<UseLevel, D::Error> {
        let raw = super::CodeValue::deserialize(d)?.0;
        let mut chars = raw.trim().chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => UseLevel::from_digit(c),
            _ => None,
        }
        .ok_or_else(|| serde::de::Error::custom(super::unknown_code("use_level", &raw, ["1", "2", "3", "4", "5", "6", "7"].into_iter())))
    }
}

/// Parse a '^'-joined multi-value code field (e.g. 服务对象 "1^2").
pub fn split_multi(raw: &str) -> impl Iterator<Item = &str> {
    raw.split(['^', ',', '，', ';']).map(str::trim).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn codes_round_trip_through_json() {
        for o in ServiceObject::ALL {
            let json = serde_json::to_string(o).unwrap();
            assert_eq!(&serde_json::from_str::<ServiceObject>(&json).unwrap(), o);
        }
        assert_eq!(serde_json::from_str::<ProjectType>("2").unwrap(), ProjectType::Promised);
        let err = serde_json::from_str::<ProjectType>("\"7\"").unwrap_err().to_string();
        assert!(err.contains("project_type") && err.contains("\"7\""), "{err}");
    }

    #[test]
    fn task_type_keeps_two_chars_and_extensions() {
        assert_eq!(TaskType::License.code(), "01");
        assert_eq!(TaskType::from_code("20"), Some(TaskType::PublicService));
        assert_eq!(TaskType::from_code("11"), Some(TaskType::Ext(11)));
        assert_eq!(TaskType::Ext(11).code(), "11");
        assert_eq!(TaskType::from_code("100"), None);
        assert_eq!(TaskType::from_code("+1"), None);
        assert_eq!(serde_json::to_string(&TaskType::Power).unwrap(), "\"00\"");
    }

    #[test]
    fn multi_values_split_on_caret() {
        assert_eq!(split_multi("1^2").collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(split_multi(" 1 ^ ").collect::<Vec<_>>(), ["1"]);
    }
}
