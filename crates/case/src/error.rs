//! Why a case refuses an event: stable codes, Chinese and English messages.

use yiwang_calendar::CalendarError;
use yiwang_errors::{Coded, ErrorKind};

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
    #[error("the shared data is too large to keep: {0}")]
    BadSharedData(String),
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
    #[error("the fee notice is not valid: {0}")]
    BadFee(String),
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
            CaseError::BadSharedData(_) => "case.bad_shared_data",
            CaseError::StepOpen(_) => "case.step_open",
            CaseError::AlreadyCommitted(_) => "case.already_committed",
            CaseError::NoSuchCommitment(_) => "case.no_such_commitment",
            CaseError::NoSuchUpload { .. } => "case.no_such_upload",
            CaseError::ClaimedByOther(_) => "case.claimed_by_other",
            CaseError::NotClaimed => "case.not_claimed",
            CaseError::CountersignOpen { .. } => "case.countersign_open",
            CaseError::NoSuchCountersign { .. } => "case.no_such_countersign",
            CaseError::BadFee(_) => "case.bad_fee",
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
            CaseError::BadSharedData(why) => format!("共享数据过大，未予保存：{why}"),
            CaseError::StepOpen(step) => format!("环节“{step}”已在办理中"),
            CaseError::AlreadyCommitted(m) => format!("已就“{m}”签署告知承诺"),
            CaseError::NoSuchCommitment(m) => format!("没有待核查的“{m}”告知承诺"),
            CaseError::NoSuchUpload { material, .. } => format!("“{material}”没有这份上传文件"),
            CaseError::ClaimedByOther(_) => "该办件已由其他工作人员认领，请待其办理或释放后再操作".into(),
            CaseError::NotClaimed => "该办件未被认领".into(),
            CaseError::CountersignOpen { step, agencies } => format!("环节“{step}”尚待会签：{}", agencies.join("、")),
            CaseError::NoSuchCountersign { step, .. } => format!("本部门未被邀请会签环节“{step}”，或已会签"),
            CaseError::BadFee(why) => format!("缴费通知不符合要求：{why}"),
            CaseError::Calendar(e) => e.message_zh(),
        }
    }
}
