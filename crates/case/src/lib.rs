//! The case (办件) lifecycle, domain.md §7.2, as a pure state machine: a case
//! is the fold of its typed events, and `Case::apply` refuses every event its
//! state does not allow, with a stable error. Deadlines (§7.3, §7.5) are
//! computed from the events and a working-day calendar: the promised and the
//! legal due dates count working days after acceptance, skip the days of
//! special procedures that stop the clock (听证、检验、检测、鉴定…), and grow by an
//! approved extension (延长审批). No I/O and no clock: the caller supplies
//! times, and the store writes each event in the same transaction as the state.

mod describe;
pub mod gbt39046;
pub mod materials;
pub mod notice;
pub mod process;
pub mod recorders;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use yiwang_calendar::{Calendar, CalendarError, Pause, china_today};
use yiwang_errors::{Coded, ErrorKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// 暂存
    Draft,
    /// 申请 (submitted, not yet looked at)
    Submitted,
    /// 预审 (online applications)
    PreReview,
    /// 补齐补正告知 issued: waiting for the applicant; the clock has not started.
    CorrectionNotice,
    /// 补齐补正材料已提交
    CorrectionReceived,
    /// 受理 (the clock runs from here)
    Accepted,
    /// 办理 (steps 承办 → 审核 → 批准)
    InProcess,
    /// 特别程序 that stops the clock
    SpecialProcedure,
    /// 决定 (准予 or 不予)
    Decided,
    /// 办结
    Concluded,
    /// 送达 (result delivered)
    Delivered,
    /// 不予受理 (terminal)
    NotAccepted,
    /// 撤回 by the applicant (terminal)
    Withdrawn,
    /// 作废 by the agency (terminal)
    Voided,
}

impl State {
    pub fn code(self) -> &'static str {
        match self {
            State::Draft => "draft",
            State::Submitted => "submitted",
            State::PreReview => "pre_review",
            State::CorrectionNotice => "correction_notice",
            State::CorrectionReceived => "correction_received",
            State::Accepted => "accepted",
            State::InProcess => "in_process",
            State::SpecialProcedure => "special_procedure",
            State::Decided => "decided",
            State::Concluded => "concluded",
            State::Delivered => "delivered",
            State::NotAccepted => "not_accepted",
            State::Withdrawn => "withdrawn",
            State::Voided => "voided",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            State::Draft => "暂存",
            State::Submitted => "已申请",
            State::PreReview => "预审中",
            State::CorrectionNotice => "待补齐补正",
            State::CorrectionReceived => "已补齐补正",
            State::Accepted => "已受理",
            State::InProcess => "办理中",
            State::SpecialProcedure => "特别程序中",
            State::Decided => "已决定",
            State::Concluded => "已办结",
            State::Delivered => "已送达",
            State::NotAccepted => "不予受理",
            State::Withdrawn => "已撤回",
            State::Voided => "已作废",
        }
    }

    /// No event moves a case out of these.
    /// The states in which a case's work is over: concluded (办结) and after,
    /// or ended without a decision. A bundle joins when all its children are here.
    pub const OVER: [State; 5] = [State::Concluded, State::Delivered, State::NotAccepted, State::Withdrawn, State::Voided];

    pub fn is_over(self) -> bool {
        State::OVER.contains(&self)
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, State::Delivered | State::NotAccepted | State::Withdrawn | State::Voided)
    }

    /// Before a decision: the applicant may still withdraw, the agency void.
    pub fn before_decision(self) -> bool {
        matches!(
            self,
            State::Draft
                | State::Submitted
                | State::PreReview
                | State::CorrectionNotice
                | State::CorrectionReceived
                | State::Accepted
                | State::InProcess
                | State::SpecialProcedure
        )
    }

    /// The applicant may change the form and materials: a draft, or while
    /// correcting after the one-time notice.
    pub fn applicant_may_edit(self) -> bool {
        matches!(self, State::Draft | State::CorrectionNotice)
    }

    /// Accepted and not yet concluded: the clock is (or may be) running.
    pub fn clock_started(self) -> bool {
        matches!(self, State::Accepted | State::InProcess | State::SpecialProcedure | State::Decided)
    }
}

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

/// The unit a time limit is counted in (时限单位; domain.md §7.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitUnit {
    /// 工作日 (行政许可法 Art. 82): the default.
    #[default]
    WorkingDay,
    /// 自然日: calendar days; a period ending on a rest day ends on the next working day.
    NaturalDay,
    Month,
    Year,
    /// 小时: office hours of working days, `OFFICE_HOURS_PER_DAY` a day; counted to the day.
    Hour,
}

/// Office hours in a working day, for limits in hours [I: 09:00–17:00, domain.md §7.5].
pub const OFFICE_HOURS_PER_DAY: u32 = 8;

/// The units of a case's promised and legal limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LimitUnits {
    #[serde(default)]
    pub promised: LimitUnit,
    #[serde(default)]
    pub legal: LimitUnit,
}

impl LimitUnits {
    pub fn is_working_days(&self) -> bool {
        *self == LimitUnits::default()
    }
}

impl From<yiwang_catalog::code_lists::TimeUnit> for LimitUnit {
    /// The catalog's 时限单位 as a case counts it.
    fn from(u: yiwang_catalog::code_lists::TimeUnit) -> LimitUnit {
        use yiwang_catalog::code_lists::TimeUnit;
        match u {
            TimeUnit::WorkingDay => LimitUnit::WorkingDay,
            TimeUnit::NaturalDay => LimitUnit::NaturalDay,
            TimeUnit::Month => LimitUnit::Month,
            TimeUnit::Year => LimitUnit::Year,
            TimeUnit::Hour => LimitUnit::Hour,
        }
    }
}

/// The limits a case is accepted with, as (promised, legal, their units): its
/// item version's; for a child of a 一件事 with a combined promised limit
/// (`bundle_promised`, in working days), that limit where it is shorter and
/// the item's is in working days too.
pub fn acceptance_limits(item: &yiwang_catalog::ItemDoc, bundle_promised: Option<u32>) -> (u32, u32, LimitUnits) {
    let (legal, promised) = (&item.legal_limit, &item.promised_limit);
    let units = LimitUnits { promised: promised.unit.into(), legal: legal.unit.into() };
    let promised_days = match bundle_promised {
        Some(combined) if units.promised == LimitUnit::WorkingDay => promised.amount.min(combined),
        _ => promised.amount,
    };
    (promised_days, legal.amount, units)
}

/// The date a limit of `n` `unit`s after `start` falls on, not counting stopped days.
fn add_limit(
    calendar: &Calendar,
    start: Date,
    n: u32,
    unit: LimitUnit,
    pauses: &[Pause],
) -> Result<yiwang_calendar::Counted<Date>, CalendarError> {
    let span = |f: fn(jiff::Span, i64) -> jiff::Span| f(jiff::Span::new(), i64::from(n));
    match unit {
        LimitUnit::WorkingDay => calendar.add_workdays_paused(start, n, pauses),
        LimitUnit::Hour => calendar.add_workdays_paused(start, n.div_ceil(OFFICE_HOURS_PER_DAY), pauses),
        LimitUnit::NaturalDay => calendar.add_calendar_span(start, span(|s, v| s.days(v)), pauses),
        LimitUnit::Month => calendar.add_calendar_span(start, span(|s, v| s.months(v)), pauses),
        LimitUnit::Year => calendar.add_calendar_span(start, span(|s, v| s.years(v)), pauses),
    }
}

/// Working days after acceptance within which commitments are verified
/// [I: 国办发〔2020〕42号 leaves the period to each agency; a node may change it].
pub const DEFAULT_COMMITMENT_CHECK_DAYS: u32 = 20;

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

/// A special procedure as it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Special {
    pub kind: SpecialKind,
    pub name: String,
    pub reason: String,
    pub started_on: Date,
    pub ended_on: Option<Date>,
    pub extension_days: u32,
    pub result: Option<String>,
}

/// 业务动作 (GB/T 39046 Table 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepAction {
    /// 通过
    Passed,
    /// 退回
    Returned,
}

/// One handling step's outcome (GB/T 39046 Table 7: 通过 / 退回).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    pub step: String,
    pub actor: String,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    /// None while open (环节办理状态 1 待办).
    pub action: Option<StepAction>,
    pub opinion: String,
    /// 会签: the agencies asked for an opinion on this step, and their answers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub countersigns: Vec<Countersign>,
}

/// One agency's part in a countersigned step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Countersign {
    pub agency: String,
    /// None while awaited.
    pub agree: Option<bool>,
    pub opinion: String,
    pub by: Option<String>,
    pub at: Option<Timestamp>,
}

/// An uploaded material of the case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upload {
    pub material: String,
    pub file: StoredFile,
    pub at: Timestamp,
}

/// A commitment (告知承诺) and, once verified, its finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commitment {
    pub material: String,
    pub signed_at: Timestamp,
    pub checked: Option<CommitmentFinding>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitmentFinding {
    pub truthful: bool,
    pub note: String,
    pub by: String,
    pub on: Date,
}

/// A case as its events made it. Stored as JSON beside the events, so that
/// applying one more event reads one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub state: State,
    /// The one-time correction list (一次性告知), once issued.
    pub correction_items: Vec<String>,
    pub notices: u32,
    pub accepted_on: Option<Date>,
    pub promised_days: u32,
    pub legal_days: u32,
    pub pending: Vec<PendingMaterial>,
    pub specials: Vec<Special>,
    pub steps: Vec<StepRecord>,
    pub decision: Option<Decision>,
    pub concluded_on: Option<Date>,
    pub result: Option<String>,
    #[serde(default)]
    pub uploads: Vec<Upload>,
    #[serde(default)]
    pub commitments: Vec<Commitment>,
    #[serde(default)]
    pub commitment_check_days: u32,
    /// Who has claimed the case (认领), if anyone.
    #[serde(default)]
    pub claimed_by: Option<String>,
    /// The units of the limits (working days unless the item says otherwise).
    #[serde(default, skip_serializing_if = "LimitUnits::is_working_days")]
    pub units: LimitUnits,
}

impl Default for Case {
    fn default() -> Self {
        Case {
            state: State::Draft,
            correction_items: Vec::new(),
            notices: 0,
            accepted_on: None,
            promised_days: 0,
            legal_days: 0,
            pending: Vec::new(),
            specials: Vec::new(),
            steps: Vec::new(),
            decision: None,
            concluded_on: None,
            result: None,
            uploads: Vec::new(),
            commitments: Vec::new(),
            commitment_check_days: 0,
            claimed_by: None,
            units: LimitUnits::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseError {
    #[error("a case in state {from} cannot take the event {event}")]
    Transition { from: &'static str, event: &'static str },
    #[error("{0} needs a reason")]
    ReasonRequired(&'static str),
    #[error("a correction notice must list at least one item")]
    EmptyNotice,
    #[error("the correction notice was already given once; a later one may not add items: {}", .0.join(", "))]
    NoticeAddsItems(Vec<String>),
    #[error("the promised limit ({promised} working days) exceeds the legal limit ({legal})")]
    PromisedExceedsLegal { promised: u32, legal: u32 },
    #[error("a pending material's due date must be after the day of acceptance: {0}")]
    PendingDue(String),
    #[error("materials accepted as missing are still outstanding: {}", .0.join(", "))]
    PendingOutstanding(Vec<String>),
    #[error("no pending material is called {0}")]
    NoSuchPending(String),
    #[error("an extension must add at least one working day")]
    EmptyExtension,
    #[error("no step {0} is open")]
    NoOpenStep(String),
    #[error("the step's recorded data is not allowed: {0}")]
    BadStepData(String),
    #[error("step {0} is already open")]
    StepOpen(String),
    #[error("a commitment for {0} is already signed")]
    AlreadyCommitted(String),
    #[error("no commitment for {0} awaits verification")]
    NoSuchCommitment(String),
    #[error("no upload {digest} for {material}")]
    NoSuchUpload { material: String, digest: String },
    #[error("the case is claimed by {0}")]
    ClaimedByOther(String),
    #[error("the case is not claimed")]
    NotClaimed,
    #[error("step {step} still awaits the countersignature of {}", .agencies.join(", "))]
    CountersignOpen { step: String, agencies: Vec<String> },
    #[error("agency {agency} is not asked to countersign step {step}, or has already")]
    NoSuchCountersign { step: String, agency: String },
    #[error("working-day arithmetic: {0}")]
    Calendar(#[from] CalendarError),
}

impl Coded for CaseError {
    fn code(&self) -> &'static str {
        match self {
            CaseError::Transition { .. } => "case.transition",
            CaseError::ReasonRequired(_) => "case.reason_required",
            CaseError::EmptyNotice => "case.empty_notice",
            CaseError::NoticeAddsItems(_) => "case.notice_adds_items",
            CaseError::PromisedExceedsLegal { .. } => "case.promised_exceeds_legal",
            CaseError::PendingDue(_) => "case.pending_due",
            CaseError::PendingOutstanding(_) => "case.pending_outstanding",
            CaseError::NoSuchPending(_) => "case.no_such_pending",
            CaseError::EmptyExtension => "case.empty_extension",
            CaseError::NoOpenStep(_) => "case.no_open_step",
            CaseError::BadStepData(_) => "case.bad_step_data",
            CaseError::StepOpen(_) => "case.step_open",
            CaseError::AlreadyCommitted(_) => "case.already_committed",
            CaseError::NoSuchCommitment(_) => "case.no_such_commitment",
            CaseError::NoSuchUpload { .. } => "case.no_such_upload",
            CaseError::ClaimedByOther(_) => "case.claimed_by_other",
            CaseError::NotClaimed => "case.not_claimed",
            CaseError::CountersignOpen { .. } => "case.countersign_open",
            CaseError::NoSuchCountersign { .. } => "case.no_such_countersign",
            CaseError::Calendar(e) => e.code(),
        }
    }

    fn kind(&self) -> ErrorKind {
        match self {
            CaseError::Transition { .. }
            | CaseError::StepOpen(_)
            | CaseError::PendingOutstanding(_)
            | CaseError::ClaimedByOther(_)
            | CaseError::NotClaimed
            | CaseError::CountersignOpen { .. } => ErrorKind::Conflict,
            CaseError::Calendar(e) => e.kind(),
            _ => ErrorKind::Unprocessable,
        }
    }

    fn message_zh(&self) -> String {
        match self {
            CaseError::Transition { from, event } => format!("办件当前状态（{from}）不允许此操作（{event}）"),
            CaseError::ReasonRequired(what) => format!("{what}须说明理由"),
            CaseError::EmptyNotice => "补齐补正告知须列明至少一项材料".into(),
            CaseError::NoticeAddsItems(items) => {
                format!("已一次性告知补正内容，不得再增加新的补正要求：{}", items.join("、"))
            }
            CaseError::PromisedExceedsLegal { promised, legal } => {
                format!("承诺时限（{promised}个工作日）不能超过法定时限（{legal}个工作日）")
            }
            CaseError::PendingDue(name) => format!("容缺材料“{name}”的补交期限须晚于受理日"),
            CaseError::PendingOutstanding(items) => format!("容缺材料尚未补齐：{}", items.join("、")),
            CaseError::NoSuchPending(name) => format!("没有名为“{name}”的容缺材料"),
            CaseError::EmptyExtension => "延长审批须至少延长一个工作日".into(),
            CaseError::NoOpenStep(step) => format!("环节“{step}”不在办理中"),
            CaseError::BadStepData(why) => format!("环节办理数据不符合要求：{why}"),
            CaseError::StepOpen(step) => format!("环节“{step}”已在办理中"),
            CaseError::AlreadyCommitted(m) => format!("已就“{m}”签署告知承诺"),
            CaseError::NoSuchCommitment(m) => format!("没有待核查的“{m}”告知承诺"),
            CaseError::NoSuchUpload { material, .. } => format!("“{material}”没有这份上传文件"),
            CaseError::ClaimedByOther(_) => "该办件已由其他工作人员认领，请待其办理或释放后再操作".into(),
            CaseError::NotClaimed => "该办件未被认领".into(),
            CaseError::CountersignOpen { step, agencies } => format!("环节“{step}”尚待会签：{}", agencies.join("、")),
            CaseError::NoSuchCountersign { step, .. } => format!("本部门未被邀请会签环节“{step}”，或已会签"),
            CaseError::Calendar(e) => e.message_zh(),
        }
    }
}

fn need_reason(e: &Envelope, what: &'static str) -> Result<(), CaseError> {
    if e.reason.trim().is_empty() { Err(CaseError::ReasonRequired(what)) } else { Ok(()) }
}

fn clean_items(items: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items.iter().map(|i| i.trim()).filter(|i| !i.is_empty()) {
        if !out.iter().any(|o| o == i) {
            out.push(i.to_string());
        }
    }
    out
}

/// What a reviewer may record with a passed step: at most 20 named scalar
/// values (names like `site_check`; `outcome`, `decision` and `case` are the
/// process's own), strings of at most 200 characters.
fn check_step_data(data: &serde_json::Map<String, serde_json::Value>) -> Result<(), CaseError> {
    use serde_json::Value;
    if data.len() > 20 {
        return Err(CaseError::BadStepData("at most 20 values".into()));
    }
    for (k, v) in data {
        let name_ok = k.len() <= 64
            && k.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !name_ok || matches!(k.as_str(), "outcome" | "decision" | "case") || k.ends_with("_outcome") {
            return Err(CaseError::BadStepData(format!("the name {k:?} is not allowed")));
        }
        match v {
            Value::Bool(_) | Value::Number(_) | Value::Null => {}
            Value::String(s) if s.chars().count() <= 200 => {}
            _ => return Err(CaseError::BadStepData(format!("{k}: only short text, numbers and true/false"))),
        }
    }
    Ok(())
}

impl Case {
    /// The case after `e`, or why `e` is refused (the case is unchanged).
    pub fn apply(&self, e: &Envelope) -> Result<Case, CaseError> {
        use State::*;
        let refuse = || CaseError::Transition { from: self.state.code(), event: e.event.name() };
        let on = china_today(e.at);
        let mut next = self.clone();
        // 认领: while someone holds the case, colleagues' handling waits.
        if let Some(holder) = &self.claimed_by
            && holder != &e.actor
            && !e.event.is_applicants()
            && !matches!(e.event, Event::Released | Event::Countersigned { .. } | Event::StepOverdue { .. })
        {
            return Err(CaseError::ClaimedByOther(holder.clone()));
        }
        match &e.event {
            Event::Submitted => {
                if self.state != Draft {
                    return Err(refuse());
                }
                next.state = Submitted;
            }
            Event::PreReviewStarted => {
                if self.state != Submitted {
                    return Err(refuse());
                }
                next.state = PreReview;
            }
            Event::CorrectionNotified { items } => {
                if !matches!(self.state, Submitted | PreReview | CorrectionReceived) {
                    return Err(refuse());
                }
                let items = clean_items(items);
                if items.is_empty() {
                    return Err(CaseError::EmptyNotice);
                }
                // 一次性告知: a later notice may only repeat what is still missing.
                if self.notices > 0 {
                    let added: Vec<String> = items.iter().filter(|i| !self.correction_items.contains(i)).cloned().collect();
                    if !added.is_empty() {
                        return Err(CaseError::NoticeAddsItems(added));
                    }
                } else {
                    next.correction_items = items;
                }
                next.notices += 1;
                next.state = CorrectionNotice;
            }
            Event::CorrectionSubmitted => {
                if self.state != CorrectionNotice {
                    return Err(refuse());
                }
                next.state = CorrectionReceived;
            }
            Event::Accepted { promised_days, legal_days, pending, commitment_check_days, units } => {
                if !matches!(self.state, Submitted | PreReview | CorrectionReceived) {
                    return Err(refuse());
                }
                // Limits in different units are compared by the dates they give, not here.
                if units.promised == units.legal && promised_days > legal_days {
                    return Err(CaseError::PromisedExceedsLegal { promised: *promised_days, legal: *legal_days });
                }
                if let Some(p) = pending.iter().find(|p| p.due <= on) {
                    return Err(CaseError::PendingDue(p.name.clone()));
                }
                next.accepted_on = Some(on);
                next.promised_days = *promised_days;
                next.legal_days = *legal_days;
                next.pending = pending.clone();
                next.commitment_check_days = *commitment_check_days;
                next.units = *units;
                next.state = Accepted;
            }
            Event::NotAccepted { legal_basis } => {
                if !matches!(self.state, Submitted | PreReview | CorrectionReceived) {
                    return Err(refuse());
                }
                need_reason(e, "不予受理")?;
                if legal_basis.trim().is_empty() {
                    return Err(CaseError::ReasonRequired("不予受理的法律依据"));
                }
                next.state = NotAccepted;
            }
            Event::StepStarted { step } => {
                if !matches!(self.state, Accepted | InProcess) {
                    return Err(refuse());
                }
                if self.steps.iter().any(|s| &s.step == step && s.action.is_none()) {
                    return Err(CaseError::StepOpen(step.clone()));
                }
                next.steps.push(StepRecord {
                    step: step.clone(),
                    actor: e.actor.clone(),
                    started_at: e.at,
                    ended_at: None,
                    action: None,
                    opinion: String::new(),
                    countersigns: Vec::new(),
                });
                next.state = InProcess;
            }
            Event::StepPassed { step, .. } | Event::StepReturned { step } => {
                if self.state != InProcess {
                    return Err(refuse());
                }
                let returned = matches!(e.event, Event::StepReturned { .. });
                if returned {
                    need_reason(e, "退回")?;
                }
                if let Event::StepPassed { data, .. } = &e.event {
                    check_step_data(data)?;
                }
                let open = next
                    .steps
                    .iter_mut()
                    .rev()
                    .find(|s| &s.step == step && s.action.is_none())
                    .ok_or_else(|| CaseError::NoOpenStep(step.clone()))?;
                // A step passes only with every countersignature in (a return needs none).
                let awaited: Vec<String> = open.countersigns.iter().filter(|c| c.agree.is_none()).map(|c| c.agency.clone()).collect();
                if !returned && !awaited.is_empty() {
                    return Err(CaseError::CountersignOpen { step: step.clone(), agencies: awaited });
                }
                open.ended_at = Some(e.at);
                open.action = Some(if returned { StepAction::Returned } else { StepAction::Passed });
                open.opinion = e.reason.trim().to_string();
                open.actor = e.actor.clone();
            }
            Event::SpecialStarted { kind, name, extension_days } => {
                if !matches!(self.state, Accepted | InProcess) {
                    return Err(refuse());
                }
                need_reason(e, "特别程序")?;
                let mut special = Special {
                    kind: *kind,
                    name: name.trim().to_string(),
                    reason: e.reason.trim().to_string(),
                    started_on: on,
                    ended_on: None,
                    extension_days: 0,
                    result: None,
                };
                match kind {
                    // An approved extension adds days at once; the clock keeps running.
                    SpecialKind::Extension => {
                        if *extension_days == 0 {
                            return Err(CaseError::EmptyExtension);
                        }
                        special.extension_days = *extension_days;
                        special.ended_on = Some(on);
                        special.result = Some(format!("延长{extension_days}个工作日"));
                    }
                    SpecialKind::Other => next.state = SpecialProcedure,
                }
                next.specials.push(special);
            }
            Event::SpecialEnded { result } => {
                if self.state != SpecialProcedure {
                    return Err(refuse());
                }
                if result.trim().is_empty() {
                    return Err(CaseError::ReasonRequired("特别程序结果"));
                }
                if let Some(open) = next.specials.iter_mut().rev().find(|s| s.ended_on.is_none()) {
                    open.ended_on = Some(on);
                    open.result = Some(result.trim().to_string());
                }
                next.state = if self.steps.is_empty() { Accepted } else { InProcess };
            }
            Event::PendingSupplied { name } => {
                if !matches!(self.state, Accepted | InProcess | SpecialProcedure) {
                    return Err(refuse());
                }
                let before = next.pending.len();
                next.pending.retain(|p| &p.name != name);
                if next.pending.len() == before {
                    return Err(CaseError::NoSuchPending(name.clone()));
                }
            }
            Event::Decided { decision } => {
                if !matches!(self.state, Accepted | InProcess) {
                    return Err(refuse());
                }
                if let Some(open) = self.steps.iter().find(|s| s.action.is_none()) {
                    return Err(CaseError::StepOpen(open.step.clone()));
                }
                match decision {
                    Decision::Deny => need_reason(e, "不予许可")?,
                    Decision::Approve if !self.pending.is_empty() => {
                        return Err(CaseError::PendingOutstanding(self.pending.iter().map(|p| p.name.clone()).collect()));
                    }
                    Decision::Approve => {}
                }
                next.decision = Some(*decision);
                next.state = Decided;
            }
            Event::Concluded { result } => {
                if self.state != Decided {
                    return Err(refuse());
                }
                next.concluded_on = Some(on);
                next.result = Some(result.trim().to_string());
                next.state = Concluded;
            }
            Event::Delivered { .. } => {
                if self.state != Concluded {
                    return Err(refuse());
                }
                next.state = Delivered;
            }
            Event::Withdrawn => {
                if !self.state.before_decision() {
                    return Err(refuse());
                }
                next.state = Withdrawn;
            }
            Event::Voided => {
                if !self.state.before_decision() {
                    return Err(refuse());
                }
                need_reason(e, "作废")?;
                next.state = Voided;
            }
            Event::FormSaved { .. } => {
                if !self.state.applicant_may_edit() {
                    return Err(refuse());
                }
            }
            Event::MaterialUploaded { material, file } => {
                let supplies_pending =
                    matches!(self.state, Accepted | InProcess | SpecialProcedure) && self.pending.iter().any(|p| &p.name == material);
                if !self.state.applicant_may_edit() && !supplies_pending {
                    return Err(refuse());
                }
                next.pending.retain(|p| &p.name != material);
                next.uploads.push(Upload { material: material.clone(), file: file.clone(), at: e.at });
            }
            Event::MaterialRemoved { material, digest } => {
                if !self.state.applicant_may_edit() {
                    return Err(refuse());
                }
                let at = next
                    .uploads
                    .iter()
                    .position(|u| &u.material == material && &u.file.digest == digest)
                    .ok_or_else(|| CaseError::NoSuchUpload { material: material.clone(), digest: digest.clone() })?;
                next.uploads.remove(at);
            }
            Event::CommitmentSigned { material } => {
                if !self.state.applicant_may_edit() {
                    return Err(refuse());
                }
                if self.commitments.iter().any(|c| &c.material == material) {
                    return Err(CaseError::AlreadyCommitted(material.clone()));
                }
                next.commitments.push(Commitment { material: material.clone(), signed_at: e.at, checked: None });
            }
            Event::CountersignRequested { step, agencies } => {
                if self.state != InProcess {
                    return Err(refuse());
                }
                let open = next
                    .steps
                    .iter_mut()
                    .rev()
                    .find(|s| &s.step == step && s.action.is_none())
                    .ok_or_else(|| CaseError::NoOpenStep(step.clone()))?;
                let mut added = 0;
                for a in clean_items(agencies) {
                    if !open.countersigns.iter().any(|c| c.agency == a) {
                        open.countersigns.push(Countersign { agency: a, agree: None, opinion: String::new(), by: None, at: None });
                        added += 1;
                    }
                }
                if added == 0 {
                    return Err(CaseError::EmptyNotice);
                }
            }
            Event::Countersigned { step, agency, agree } => {
                if !matches!(self.state, InProcess | SpecialProcedure) {
                    return Err(refuse());
                }
                if !agree {
                    need_reason(e, "会签不同意")?;
                }
                let slot = next
                    .steps
                    .iter_mut()
                    .rev()
                    .find(|s| &s.step == step && s.action.is_none())
                    .and_then(|s| s.countersigns.iter_mut().find(|c| &c.agency == agency && c.agree.is_none()))
                    .ok_or_else(|| CaseError::NoSuchCountersign { step: step.clone(), agency: agency.clone() })?;
                slot.agree = Some(*agree);
                slot.opinion = e.reason.trim().to_string();
                slot.by = Some(e.actor.clone());
                slot.at = Some(e.at);
            }
            Event::Claimed => {
                if self.state.is_terminal() || matches!(self.state, Draft | CorrectionNotice) {
                    return Err(refuse());
                }
                next.claimed_by = Some(e.actor.clone());
            }
            Event::StepOverdue { .. } => {
                if !matches!(self.state, Accepted | InProcess | SpecialProcedure | Decided) {
                    return Err(refuse());
                }
            }
            Event::MessageReceived { message, data } => {
                if !matches!(self.state, Accepted | InProcess | SpecialProcedure) {
                    return Err(refuse());
                }
                let m = message.trim();
                if m.is_empty() || m.chars().count() > 100 {
                    return Err(CaseError::BadStepData("the message name is 1 to 100 characters".into()));
                }
                check_step_data(data)?;
            }
            Event::Released => {
                if self.claimed_by.is_none() {
                    return Err(CaseError::NotClaimed);
                }
                next.claimed_by = None;
            }
            Event::CommitmentChecked { material, truthful } => {
                if self.accepted_on.is_none() || matches!(self.state, Withdrawn | Voided) {
                    return Err(refuse());
                }
                need_reason(e, "核查结果")?;
                let open = next
                    .commitments
                    .iter_mut()
                    .find(|c| &c.material == material && c.checked.is_none())
                    .ok_or_else(|| CaseError::NoSuchCommitment(material.clone()))?;
                open.checked = Some(CommitmentFinding { truthful: *truthful, note: e.reason.trim().to_string(), by: e.actor.clone(), on });
            }
        }
        // The work passes on at these points, and ends with the case.
        if matches!(
            e.event,
            Event::Accepted { .. }
                | Event::NotAccepted { .. }
                | Event::StepPassed { .. }
                | Event::StepReturned { .. }
                | Event::Decided { .. }
        ) || next.state.is_terminal()
        {
            next.claimed_by = None;
        }
        Ok(next)
    }

    /// The case its events make, from a new draft.
    pub fn replay<'a>(events: impl IntoIterator<Item = &'a Envelope>) -> Result<Case, CaseError> {
        events.into_iter().try_fold(Case::default(), |case, e| case.apply(e))
    }

    /// The agencies asked to countersign an open step and not yet answered:
    /// their staff may see the case.
    pub fn awaited_countersigns(&self) -> impl Iterator<Item = &str> {
        self.steps
            .iter()
            .filter(|s| s.action.is_none())
            .flat_map(|s| s.countersigns.iter().filter(|c| c.agree.is_none()).map(|c| c.agency.as_str()))
    }

    /// Every agency asked to countersign any step: their staff may see the case.
    pub fn countersign_agencies(&self) -> impl Iterator<Item = &str> {
        self.steps.iter().flat_map(|s| s.countersigns.iter().map(|c| c.agency.as_str()))
    }

    /// The clock-stopping intervals; an open one runs until `today`.
    pub fn pauses(&self, today: Date) -> Vec<Pause> {
        self.specials
            .iter()
            .filter(|s| s.kind == SpecialKind::Other)
            .map(|s| Pause { from: s.started_on, until: s.ended_on.unwrap_or(today).max(s.started_on) })
            .collect()
    }

    /// The legal limit with approved extensions.
    pub fn legal_days_total(&self) -> u32 {
        self.legal_days + self.specials.iter().map(|s| s.extension_days).sum::<u32>()
    }

    /// Due dates and the time used, as of `today`; none before acceptance.
    pub fn deadlines(&self, calendar: &Calendar, today: Date) -> Result<Option<Deadlines>, CaseError> {
        let Some(accepted) = self.accepted_on else { return Ok(None) };
        let pauses = self.pauses(today);
        let promised = add_limit(calendar, accepted, self.promised_days, self.units.promised, &pauses)?;
        // 延长审批 adds working days (行政许可法 Art. 42, 82) after the limit in its own unit.
        let extension = self.legal_days_total() - self.legal_days;
        let base = add_limit(calendar, accepted, self.legal_days, self.units.legal, &pauses)?;
        let legal = match extension {
            0 => base,
            days => {
                let extended = calendar.add_workdays_paused(base.value, days, &pauses)?;
                yiwang_calendar::Counted { value: extended.value, provisional: base.provisional || extended.provisional }
            }
        };
        let until = self.concluded_on.unwrap_or(today);
        let used = calendar.workdays_between(accepted, until, &pauses)?;
        let check_due = if self.commitments.is_empty() {
            None
        } else {
            Some(calendar.add_workdays(accepted, self.commitment_check_days.max(1))?.value)
        };
        Ok(Some(Deadlines {
            check_due,
            promised_due: promised.value,
            legal_due: legal.value,
            used_workdays: used.value,
            paused: self.state == State::SpecialProcedure,
            promised_overdue: until > promised.value,
            legal_overdue: until > legal.value,
            provisional: promised.provisional || legal.provisional || used.provisional,
        }))
    }
}

/// A case's time limits (承诺时限, 法定时限) as dates, and their use so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Deadlines {
    pub promised_due: Date,
    pub legal_due: Date,
    /// Working days counted since acceptance (to the conclusion, or today).
    pub used_workdays: u32,
    /// A special procedure has the clock stopped now; the dates assume it ends today.
    pub paused: bool,
    /// Concluded (or still open) after the promised date: a yellow anomaly.
    pub promised_overdue: bool,
    /// After the legal date: a violation (red).
    pub legal_overdue: bool,
    /// Some year counted has no holiday data (weekends only).
    pub provisional: bool,
    /// When the commitments (告知承诺) are to be verified by, if there are any.
    pub check_due: Option<Date>,
}

#[cfg(test)]
mod tests;

/// The type of an uploaded file, from its first bytes (never its name):
/// PDF, PNG or JPEG, the types a material may be; anything else is `None`.
pub fn detect_file_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else {
        None
    }
}
