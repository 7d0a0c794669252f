//! What happens to a case (`Event`), with who, when and why (`Envelope`),
//! and the values events carry.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::LimitUnits;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// 准予
    Approve,
    /// 不予许可 / 不予办理
    Deny,
}

/// 特别程序种类 (GB/T 39046 A.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpecialKind {
    /// 1 延长审批: more working days for the legal limit; the clock keeps running.
    Extension,
    /// 2 其他 (听证、检验、检测、检疫、鉴定、专家评审、现场核查): the clock stops.
    Other,
}

impl SpecialKind {
    /// The national code: 1 or 2.
    pub fn code(self) -> u8 {
        match self {
            SpecialKind::Extension => 1,
            SpecialKind::Other => 2,
        }
    }
}

/// A material accepted as missing (容缺受理), due by a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingMaterial {
    pub name: String,
    pub due: Date,
}

/// One line of a fee notice (缴费通知): a fee of the item version's fee table
/// (收费项目) and the amount charged, in fen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeLine {
    pub name: String,
    pub amount_fen: u64,
    /// 减免: the amount is after a reduction or exemption (the envelope's
    /// reason says on what basis).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reduced: bool,
}

impl FeeLine {
    /// What a notice's lines charge in all, in fen.
    pub fn total_fen(lines: &[FeeLine]) -> u64 {
        lines.iter().map(|l| l.amount_fen).sum()
    }
}

/// At most this many lines in one fee notice.
pub const MAX_FEE_LINES: usize = 20;
/// No single fee above 一亿元 (in fen): a typo, not a fee.
pub const MAX_FEE_FEN: u64 = 10_000_000_000;

/// What happens to a case. Who, when and why are in the `Envelope`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Submitted,
    PreReviewStarted,
    /// 一次性告知: the one consolidated list of what is missing or defective.
    CorrectionNotified {
        items: Vec<String>,
    },
    CorrectionSubmitted,
    /// 受理, with the item's limits in working days and any 容缺 materials.
    Accepted {
        promised_days: u32,
        legal_days: u32,
        #[serde(default)]
        pending: Vec<PendingMaterial>,
        /// Working days after acceptance to verify the case's commitments
        /// (告知承诺 事后核查); 0 when there are none.
        #[serde(default)]
        commitment_check_days: u32,
        /// The units the limits are in (working days unless the item says otherwise).
        #[serde(default, skip_serializing_if = "LimitUnits::is_working_days")]
        units: LimitUnits,
    },
    /// 不予受理: the envelope's reason, and the legal basis.
    NotAccepted {
        legal_basis: String,
    },
    StepStarted {
        step: String,
    },
    StepPassed {
        step: String,
        /// What the reviewer recorded with it (现场核查 needed, a score…):
        /// scalar values by name, handed to the case's process so its gateways
        /// route on them.
        #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
        data: serde_json::Map<String, serde_json::Value>,
    },
    /// 退回 with the envelope's reason as the opinion.
    StepReturned {
        step: String,
    },
    /// A special procedure starts; `extension_days` only for `Extension`.
    SpecialStarted {
        kind: SpecialKind,
        name: String,
        #[serde(default)]
        extension_days: u32,
    },
    /// The open special procedure ends with its result (核查、听证、检验结果…).
    SpecialEnded {
        result: String,
    },
    /// A 容缺 material arrives.
    PendingSupplied {
        name: String,
    },
    Decided {
        decision: Decision,
    },
    Concluded {
        result: String,
    },
    Delivered {
        method: String,
    },
    /// 核定收费: the fees the case is charged (a notice to pay), from
    /// acceptance until 办结; a later notice replaces an earlier one.
    FeeAssessed {
        lines: Vec<FeeLine>,
    },
    Withdrawn,
    Voided,
    /// The applicant saved the form (a draft, or a correction); the changed fields.
    FormSaved {
        fields: Vec<String>,
    },
    /// The applicant uploaded a file for a material (checked by content,
    /// stored by digest). A 容缺 material is supplied this way too.
    MaterialUploaded {
        material: String,
        file: StoredFile,
    },
    /// The applicant took an upload back before submitting or while correcting.
    MaterialRemoved {
        material: String,
        digest: String,
    },
    /// 告知承诺: the applicant signed a commitment instead of the proof.
    CommitmentSigned {
        material: String,
    },
    /// 事后核查: staff verified a commitment; the reason is the finding.
    CommitmentChecked {
        material: String,
        truthful: bool,
    },
    /// 认领: a staff member takes the case; colleagues' handling events wait
    /// until the work passes on (acceptance, a step's end, the decision) or
    /// the claim is released.
    Claimed,
    /// The claim is given up (by its holder, or taken back by a head).
    Released,
    /// 会签: an open step needs the opinion of each of these agencies (USCC)
    /// before it can pass.
    CountersignRequested {
        step: String,
        agencies: Vec<String>,
    },
    /// One agency's countersignature on a step; the reason is its opinion.
    Countersigned {
        step: String,
        agency: String,
        agree: bool,
    },
    /// 流程消息: what the case's process waits for (a receive task or a
    /// message catch event: 缴费到账, another department's 回执) arrived, with
    /// its data (as a passed step's: at most 20 named scalars). The case's
    /// state does not change; the process goes on.
    MessageReceived {
        message: String,
        #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
        data: serde_json::Map<String, serde_json::Value>,
    },
    /// 超期: a time limit the case's process sets on a step (a boundary timer
    /// on its task) has passed. Recorded by the node, never by a person; the
    /// case's state does not change, and supervision consumes it.
    StepOverdue {
        step: String,
        /// When the limit fell due (RFC 3339).
        due: String,
    },
    /// 免提交: what a material's data resource answered when the node fetched
    /// it under a grant, with its provenance (resource, provider, answering
    /// node, message, grant), or why nothing usable came (`unavailable`, a
    /// stable code): then the applicant uploads the material. Recorded by the
    /// node when the application is opened, handed in or reviewed.
    SharedDataFetched {
        material: String,
        resource: String,
        /// The providing agency's USCC.
        provider: String,
        /// The node that answered (this node's id for a provider on it).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        node: String,
        /// The exchange message that asked (none for a read on this node).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        msg_id: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        grant: String,
        /// The information items that came back.
        #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
        data: serde_json::Map<String, serde_json::Value>,
        /// Why nothing usable came back; none: fetched.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unavailable: Option<String>,
        /// How the provider names the resource, itself and the items (a
        /// resource on another node is not described here).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        labels: Option<crate::SharedLabels>,
    },
}

/// A file as stored: content-addressed (SHA-256 of the bytes), its type as
/// detected from the content, not from its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFile {
    pub digest: String,
    pub file_name: String,
    pub content_type: String,
    pub size: u64,
}

impl Event {
    /// Events the applicant records (or a window clerk for them); a claim does not hold them up.
    pub fn is_applicants(&self) -> bool {
        matches!(
            self,
            Event::Submitted
                | Event::CorrectionSubmitted
                | Event::Withdrawn
                | Event::FormSaved { .. }
                | Event::MaterialUploaded { .. }
                | Event::MaterialRemoved { .. }
                | Event::CommitmentSigned { .. }
        )
    }

    pub fn name(&self) -> &'static str {
        match self {
            Event::Submitted => "submitted",
            Event::PreReviewStarted => "pre_review_started",
            Event::CorrectionNotified { .. } => "correction_notified",
            Event::CorrectionSubmitted => "correction_submitted",
            Event::Accepted { .. } => "accepted",
            Event::NotAccepted { .. } => "not_accepted",
            Event::StepStarted { .. } => "step_started",
            Event::StepPassed { .. } => "step_passed",
            Event::StepReturned { .. } => "step_returned",
            Event::SpecialStarted { .. } => "special_started",
            Event::SpecialEnded { .. } => "special_ended",
            Event::PendingSupplied { .. } => "pending_supplied",
            Event::Decided { .. } => "decided",
            Event::Concluded { .. } => "concluded",
            Event::Delivered { .. } => "delivered",
            Event::FeeAssessed { .. } => "fee_assessed",
            Event::Withdrawn => "withdrawn",
            Event::Voided => "voided",
            Event::FormSaved { .. } => "form_saved",
            Event::MaterialUploaded { .. } => "material_uploaded",
            Event::MaterialRemoved { .. } => "material_removed",
            Event::CommitmentSigned { .. } => "commitment_signed",
            Event::CommitmentChecked { .. } => "commitment_checked",
            Event::Claimed => "claimed",
            Event::Released => "released",
            Event::CountersignRequested { .. } => "countersign_requested",
            Event::Countersigned { .. } => "countersigned",
            Event::StepOverdue { .. } => "step_overdue",
            Event::MessageReceived { .. } => "message_received",
            Event::SharedDataFetched { .. } => "shared_data_fetched",
        }
    }
}

/// An event with its actor, time and reason: what the store writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub at: Timestamp,
    pub actor: String,
    #[serde(default)]
    pub reason: String,
    pub event: Event,
}
