//! The case (办件) lifecycle, domain.md §7.2, as a pure state machine: a case
//! is the fold of its typed events, and `Case::apply` refuses every event its
//! state does not allow, with a stable error. Deadlines (§7.3, §7.5) are
//! computed from the events and a working-day calendar: the promised and the
//! legal due dates count working days after acceptance, skip the days of
//! special procedures that stop the clock (听证、检验、检测、鉴定…), and grow by an
//! approved extension (延长审批). No I/O and no clock: the caller supplies
//! times, and the store writes each event in the same transaction as the state.

mod describe;
pub use describe::{yuan, yuan_amount};
mod error;
mod events;
pub mod gbt39046;
mod limits;
pub mod materials;
pub mod notice;
pub mod process;
pub mod recorders;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use yiwang_calendar::{Calendar, Pause, china_today};

pub use error::CaseError;
pub use events::{Decision, Envelope, Event, FeeLine, MAX_FEE_FEN, MAX_FEE_LINES, PendingMaterial, SpecialKind, StoredFile};
use limits::add_limit;
pub use limits::{DEFAULT_COMMITMENT_CHECK_DAYS, LimitUnit, LimitUnits, OFFICE_HOURS_PER_DAY, acceptance_limits};

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

/// A material's data as a data resource gave it (免提交), with where it came
/// from; or, with `unavailable`, why it could not be had.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedData {
    pub material: String,
    pub resource: String,
    pub provider: String,
    #[serde(default)]
    pub node: String,
    #[serde(default)]
    pub msg_id: String,
    #[serde(default)]
    pub grant: String,
    #[serde(default)]
    pub data: serde_json::Map<String, serde_json::Value>,
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<SharedLabels>,
}

/// The provider's names for what it gave: the resource, the providing
/// agency, and each information item (bounded as the data is).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedLabels {
    pub resource_name: String,
    pub provider_name: String,
    #[serde(default)]
    pub items: std::collections::BTreeMap<String, String>,
}

impl SharedData {
    pub fn fetched(&self) -> bool {
        self.unavailable.is_none()
    }
}

impl Case {
    /// Whether `material`'s data resource gave its data (免提交).
    pub fn shared_fetched(&self, material: &str) -> bool {
        self.shared.iter().any(|s| s.material == material && s.fetched())
    }
}

/// At most this many information items, of at most this many characters
/// each, are kept from one fetch (a provider cannot bloat the case).
const MAX_SHARED_ITEMS: usize = 64;
const MAX_SHARED_TEXT: usize = 2000;

fn check_shared_labels(labels: Option<&SharedLabels>) -> Result<(), CaseError> {
    let Some(l) = labels else { return Ok(()) };
    let long = |s: &str| s.chars().count() > 200;
    if l.items.len() > MAX_SHARED_ITEMS || long(&l.resource_name) || long(&l.provider_name) {
        return Err(CaseError::BadSharedData("the labels are too many or too long".into()));
    }
    if l.items.iter().any(|(k, v)| k.chars().count() > 64 || long(v)) {
        return Err(CaseError::BadSharedData("an item label is too long".into()));
    }
    Ok(())
}

fn check_shared_data(data: &serde_json::Map<String, serde_json::Value>) -> Result<(), CaseError> {
    if data.len() > MAX_SHARED_ITEMS {
        return Err(CaseError::BadSharedData(format!("at most {MAX_SHARED_ITEMS} items")));
    }
    for (k, v) in data {
        if k.chars().count() > 64 || v.to_string().chars().count() > MAX_SHARED_TEXT {
            return Err(CaseError::BadSharedData(format!("the item {k:?} is too long")));
        }
    }
    Ok(())
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
    /// 免提交: per shared material, what its resource answered (the latest
    /// fetch, or the latest failure while nothing was ever fetched).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shared: Vec<SharedData>,
    /// 核定收费: the fees charged, as the latest notice has them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fees: Vec<FeeLine>,
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
            fees: Vec::new(),
            claimed_by: None,
            units: LimitUnits::default(),
            shared: Vec::new(),
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

/// A fee notice: 1 to `MAX_FEE_LINES` lines, each a named fee (1 to 100
/// characters, named once) of at most `MAX_FEE_FEN`.
fn check_fee_lines(lines: &[FeeLine]) -> Result<(), CaseError> {
    if lines.is_empty() || lines.len() > MAX_FEE_LINES {
        return Err(CaseError::BadFee(format!("a fee notice has 1 to {MAX_FEE_LINES} lines")));
    }
    for (i, l) in lines.iter().enumerate() {
        let name = l.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(CaseError::BadFee("a fee's name is 1 to 100 characters".into()));
        }
        if l.amount_fen > MAX_FEE_FEN {
            return Err(CaseError::BadFee(format!("{name}: at most {MAX_FEE_FEN} fen")));
        }
        if lines[..i].iter().any(|o| o.name.trim() == name) {
            return Err(CaseError::BadFee(format!("{name} is named twice")));
        }
    }
    Ok(())
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
            && !matches!(
                e.event,
                Event::Released | Event::Countersigned { .. } | Event::StepOverdue { .. } | Event::SharedDataFetched { .. }
            )
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
            Event::FeeAssessed { lines } => {
                if !matches!(self.state, Accepted | InProcess | SpecialProcedure | Decided) {
                    return Err(refuse());
                }
                check_fee_lines(lines)?;
                next.fees = lines.iter().map(|l| FeeLine { name: l.name.trim().to_string(), ..l.clone() }).collect();
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
            Event::SharedDataFetched { material, resource, provider, node, msg_id, grant, data, unavailable, labels } => {
                if !self.state.before_decision() {
                    return Err(refuse());
                }
                check_shared_data(data)?;
                check_shared_labels(labels.as_ref())?;
                let record = SharedData {
                    material: material.clone(),
                    resource: resource.clone(),
                    provider: provider.clone(),
                    node: node.clone(),
                    msg_id: msg_id.clone(),
                    grant: grant.clone(),
                    data: data.clone(),
                    at: e.at,
                    unavailable: unavailable.clone(),
                    labels: labels.clone(),
                };
                match next.shared.iter_mut().find(|s| &s.material == material) {
                    // A later failure does not undo what was fetched: that stays the provenance.
                    Some(kept) if kept.fetched() && !record.fetched() => {}
                    Some(kept) => *kept = record,
                    None => next.shared.push(record),
                }
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
