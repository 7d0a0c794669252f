//! How a case's materials stand (what provides each of its item version's
//! materials) and the 承诺书 text a commitment records: rules the store, the
//! hand-in check and the application pages share.

use serde::Serialize;
use yiwang_catalog::{ItemDoc, MaterialSource, code_lists::Necessity};

use crate::{Case, SharedData, StoredFile};

/// What provides a material on a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProvidedBy {
    /// An attached e-license the applicant holds (免提交).
    License,
    /// Data sharing (免提交).
    Shared,
    Upload,
    /// A signed 告知承诺 in its place.
    Commitment,
    Missing,
}

impl ProvidedBy {
    /// How the applicant's pages say how a material stands: a missing one is
    /// 容缺 when accepted as pending (`pending`), and optional when not `required`.
    pub fn shown_zh(self, required: bool, pending: bool) -> &'static str {
        match self {
            ProvidedBy::Missing if pending => "容缺，待补交",
            ProvidedBy::Missing if !required => "非必要，可不提供",
            way => way.name_zh(),
        }
    }

    /// The way's own name.
    pub fn name_zh(self) -> &'static str {
        match self {
            ProvidedBy::License => "电子证照免提交",
            ProvidedBy::Shared => "数据共享免提交",
            ProvidedBy::Upload => "已上传",
            ProvidedBy::Commitment => "已签署告知承诺",
            ProvidedBy::Missing => "尚未提供",
        }
    }
}

/// How one of an item's materials stands on a case.
#[derive(Debug, Clone, Serialize)]
pub struct MaterialStatus {
    pub name: String,
    pub required: bool,
    pub provided_by: ProvidedBy,
    pub commitment_allowed: bool,
    pub uploads: Vec<StoredFile>,
    /// A material its item sources from a data resource: what the resource
    /// answered (fetched, or why not), if it was asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared: Option<SharedData>,
    /// Why a material sourced from a data resource must be uploaded after all
    /// (shown to the applicant); none when it came, or is not shared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload_reason_zh: Option<String>,
}

/// Why a data resource gave nothing usable, by the stable code a fetch
/// records (`SharedDataFetched::unavailable`), in the applicant's words.
pub fn unavailable_zh(code: &str) -> &'static str {
    match code {
        "no_grant" => "本部门尚未获得该数据的共享授权",
        "access_denied" => "数据提供部门未授权本次调取",
        "not_found" => "数据提供部门未查到您的记录",
        "not_assured" => "申请时的实名认证等级不足以调取您的数据",
        "not_served" => "数据提供部门尚未开放该数据的在线调取",
        "subject_type" => "该数据不适用于此类申请人",
        "unreachable" => "数据提供部门的系统暂时无法访问",
        _ => "共享数据暂时无法获取",
    }
}

/// Each material of `doc` and what provides it on `case`, given the names of
/// the materials an attached e-license covers (`attached`). An attached
/// license comes first (or one another node's 电子证照库 gave), then data
/// sharing (only what its resource actually gave: a label does not provide a
/// material), uploads, and a commitment.
pub fn material_statuses(doc: &ItemDoc, case: &Case, attached: &[&str]) -> Vec<MaterialStatus> {
    doc.materials
        .iter()
        .map(|m| {
            let uploads: Vec<StoredFile> = case.uploads.iter().filter(|u| u.material == m.name).map(|u| u.file.clone()).collect();
            // A license-sourced material is asked of another node's 电子证照库
            // only when the applicant holds no such license here.
            let by_license = matches!(m.source, MaterialSource::License { .. });
            let sourced = by_license || matches!(m.source, MaterialSource::Shared { .. });
            let shared = if sourced { case.shared.iter().find(|s| s.material == m.name).cloned() } else { None };
            let fetched = shared.as_ref().is_some_and(SharedData::fetched);
            let upload_reason_zh = match &shared {
                _ if !sourced || fetched || attached.contains(&m.name.as_str()) => None,
                Some(s) => Some(format!("{}，请上传该材料", unavailable_zh(s.unavailable.as_deref().unwrap_or_default()))),
                // A license nobody was asked for: the upload needs no excuse.
                None if by_license => None,
                None => Some("共享数据尚未获取，请上传该材料".to_string()),
            };
            let provided_by = if attached.contains(&m.name.as_str()) || (fetched && by_license) {
                ProvidedBy::License
            } else if fetched {
                ProvidedBy::Shared
            } else if !uploads.is_empty() {
                ProvidedBy::Upload
            } else if case.commitments.iter().any(|c| c.material == m.name) {
                ProvidedBy::Commitment
            } else {
                ProvidedBy::Missing
            };
            MaterialStatus {
                name: m.name.clone(),
                required: m.necessity == Necessity::Required,
                provided_by,
                commitment_allowed: m.commitment_allowed,
                uploads,
                shared,
                upload_reason_zh,
            }
        })
        .collect()
}

/// The required materials nothing provides yet: what handing in still needs.
pub fn missing_required(statuses: &[MaterialStatus]) -> Vec<String> {
    statuses.iter().filter(|m| m.required && m.provided_by == ProvidedBy::Missing).map(|m| m.name.clone()).collect()
}

/// The 承诺书 text recorded with a commitment.
pub fn commitment_text(item: &str, material: &str) -> String {
    format!(
        "本人（本单位）申请办理“{item}”，承诺已符合“{material}”所证明的条件，所作承诺真实、准确、完整；\
         知晓行政机关将进行核查，如承诺不实，愿承担撤销许可等相应法律责任，并纳入信用记录。"
    )
}
