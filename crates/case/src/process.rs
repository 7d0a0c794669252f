//! How a case's BPMN process drives its handling (issue 20), as pure rules.
//!
//! Acceptance starts the item version's process. Its user tasks are the
//! workbench's steps, found by the task's name (or id): a step may start only
//! while its task is open, and passing or returning it completes the task with
//! the outcome as data, so gateways route on it and on the form. A task marked
//! `yiwang:decision="true"` is where 准予 or 不予 is decided; a process without
//! one takes the decision once it has ended. 办结 waits for the process's end.

use serde::Serialize;
use serde_json::{Value, json};
use yiwang_errors::{Coded, ErrorKind};
use yiwang_workflow::engine::{Instance, Status, WaitKind};
use yiwang_workflow::{Definition, NodeKind};

use crate::{Decision, Event};

/// An open user task of a case's process, as the workbench shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenStep {
    pub wait: u64,
    pub node: String,
    /// The step's name (the task's name, or its id when it has none).
    pub name: String,
    /// Staff role codes (or other groups) the model names; empty: the
    /// handling roles of the case's agency.
    pub candidate_groups: Vec<String>,
    pub decision: bool,
    /// Multi-instance: this is instance `index + 1` of `of`.
    pub index: u32,
    pub of: u32,
    /// 会签 by named agencies: the agency (code) whose instance this is; its
    /// staff complete it by countersigning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agency: Option<String>,
    /// An external service task: the handler or topic it names, which no
    /// worker of this node runs. Staff record what they found (or the
    /// department system its GB/T 39046 record) by passing the step, with the
    /// answer as its data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

/// What an event does to the process.
#[derive(Debug, Clone, PartialEq)]
pub enum Drive {
    /// Nothing (the event is the case's own).
    Nothing,
    /// Complete this task with this data.
    Complete { wait: u64, data: Value },
    /// End the process: the case ended without a decision (撤回, 作废), so
    /// its open tasks leave every worklist.
    Terminate,
    /// A special procedure stops the case's clock: the process's timers stand still.
    PauseTimers,
    /// The special procedure ended: the timers run again, later by the pause.
    ResumeTimers,
    /// Deliver a message the process waits for, with its data.
    Message { name: String, data: Value },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcessError {
    #[error("the process has no open step {step}; open: {}", .open.join(", "))]
    NoOpenStep { step: String, open: Vec<String> },
    #[error("the process has not reached its decision; open: {}", .open.join(", "))]
    NotAtDecision { open: Vec<String> },
    #[error("the process has not ended; open: {}", .open.join(", "))]
    NotEnded { open: Vec<String> },
    #[error("step {step} is countersigned by the agencies its process names: {}", .agencies.join(", "))]
    CountersignAgencies { step: String, agencies: Vec<String> },
    #[error("step {step} awaits the countersignatures of {}", .agencies.join(", "))]
    CountersignPending { step: String, agencies: Vec<String> },
    #[error("the process waits for no message {message}; it waits for: {}", .waiting.join(", "))]
    NoMessageWait { message: String, waiting: Vec<String> },
}

impl Coded for ProcessError {
    fn code(&self) -> &'static str {
        match self {
            ProcessError::NoOpenStep { .. } => "case.process_no_step",
            ProcessError::NotAtDecision { .. } => "case.process_not_at_decision",
            ProcessError::NotEnded { .. } => "case.process_not_ended",
            ProcessError::CountersignAgencies { .. } => "case.process_countersign_agencies",
            ProcessError::CountersignPending { .. } => "case.process_countersign_pending",
            ProcessError::NoMessageWait { .. } => "case.process_no_message",
        }
    }
    fn kind(&self) -> ErrorKind {
        ErrorKind::Conflict
    }
    fn message_zh(&self) -> String {
        let open = |o: &[String]| if o.is_empty() { "无".to_string() } else { o.join("、") };
        match self {
            ProcessError::NoOpenStep { step, open: o } => {
                format!("办理流程当前没有待办环节“{step}”；当前待办环节：{}", open(o))
            }
            ProcessError::NotAtDecision { open: o } => format!("办理流程尚未到达决定环节；当前待办环节：{}", open(o)),
            ProcessError::NotEnded { open: o } => format!("办理流程尚未结束，不能办结；当前待办环节：{}", open(o)),
            ProcessError::CountersignAgencies { step, agencies } => {
                format!("环节“{step}”由办理流程指定的部门会签：{}", agencies.join("、"))
            }
            ProcessError::CountersignPending { step, agencies } => {
                format!("环节“{step}”尚待以下部门会签：{}", agencies.join("、"))
            }
            ProcessError::NoMessageWait { message, waiting } => {
                format!("办理流程当前没有等待消息“{message}”；正在等待的消息：{}", open(waiting))
            }
        }
    }
    fn message_en(&self) -> String {
        self.to_string()
    }
}

/// The data a case's process starts with: the form's fields, so gateways
/// route on them, and the case's applicant kind and channel under `case`.
pub fn start_data(form: &Value, case: Value) -> Value {
    let mut data = match form {
        Value::Object(m) => Value::Object(m.clone()),
        _ => json!({}),
    };
    data["case"] = case;
    data
}

/// What people call a node: its name, or its id when it has none.
pub fn display_name(node: &yiwang_workflow::Node) -> String {
    if node.name.trim().is_empty() { node.id.clone() } else { node.name.clone() }
}

/// The open steps, in the order they were created: user tasks, and
/// external service tasks (whose answer someone outside gives).
pub fn open_steps(def: &Definition, inst: &Instance) -> Vec<OpenStep> {
    inst.waits
        .iter()
        .filter_map(|w| {
            let node = def.node(&w.node).map(|ix| &def.nodes[ix])?;
            let step = |candidate_groups, decision, index, of, agency, service| OpenStep {
                wait: w.id,
                node: node.id.clone(),
                name: display_name(node),
                candidate_groups,
                decision,
                index,
                of,
                agency,
                service,
            };
            match (&w.kind, &node.kind) {
                (&WaitKind::Task { index, of }, NodeKind::UserTask { candidate_groups, decision, agencies, .. }) => {
                    let agency = usize::try_from(index).ok().and_then(|i| agencies.get(i)).cloned();
                    Some(step(candidate_groups.clone(), *decision, index, of, agency, None))
                }
                (WaitKind::Handler, NodeKind::ServiceTask { handler }) if yiwang_workflow::is_external(handler) => {
                    Some(step(Vec::new(), false, 0, 1, None, Some(handler.clone())))
                }
                _ => None,
            }
        })
        .collect()
}

/// The step a boundary timer hangs on, when `wait` (of `inst`, before it
/// fires) is a timer on a user task: its firing makes that step overdue.
pub fn overdue_step(def: &Definition, inst: &Instance, wait: u64) -> Option<String> {
    let w = inst.waits.iter().find(|w| w.id == wait)?;
    let WaitKind::Timer { boundary_of: Some(host), .. } = w.kind else { return None };
    let h = inst.waits.iter().find(|x| x.id == host)?;
    let node = &def.nodes[def.node(&h.node)?];
    matches!(node.kind, NodeKind::UserTask { .. }).then(|| display_name(node))
}

/// Whether the model has a decision task anywhere.
pub fn has_decision_task(def: &Definition) -> bool {
    def.nodes.iter().any(|n| matches!(n.kind, NodeKind::UserTask { decision: true, .. }))
}

/// The open step an event names (by name, then by node id).
pub fn step_named<'a>(steps: &'a [OpenStep], step: &str) -> Option<&'a OpenStep> {
    let step = step.trim();
    steps.iter().find(|s| s.name == step).or_else(|| steps.iter().find(|s| s.node == step))
}

/// The agencies the process names to countersign `step` (a task with
/// `yiwang:agencies`), whether or not it is open; empty for any other step.
pub fn countersign_agencies<'a>(def: &'a Definition, step: &str) -> &'a [String] {
    let step = step.trim();
    def.nodes
        .iter()
        .find_map(|n| match &n.kind {
            NodeKind::UserTask { agencies, .. } if display_name(n) == step || n.id == step => Some(agencies.as_slice()),
            _ => None,
        })
        .unwrap_or_default()
}

/// The agencies still to countersign `step`, from its open instances: what
/// a request to countersign it asks when it names none.
pub fn countersign_request(steps: &[OpenStep], step: &str) -> Vec<String> {
    let step = step.trim();
    steps.iter().filter(|s| s.name == step || s.node == step).filter_map(|s| s.agency.clone()).collect()
}

/// The open instance of countersign task `step` that is `agency`'s.
fn countersign_slot<'a>(steps: &'a [OpenStep], step: &str, agency: &str) -> Option<&'a OpenStep> {
    let step = step.trim();
    steps.iter().find(|s| (s.name == step || s.node == step) && s.agency.as_deref() == Some(agency))
}

/// The open step an event acts on, if any: the step it names, for a
/// countersignature the signing agency's instance, or for a decision the
/// decision task.
pub fn target<'a>(steps: &'a [OpenStep], event: &Event) -> Option<&'a OpenStep> {
    match event {
        Event::Countersigned { step, agency, .. } => countersign_slot(steps, step, agency),
        Event::StepStarted { step }
        | Event::StepPassed { step, .. }
        | Event::StepReturned { step }
        | Event::CountersignRequested { step, .. } => step_named(steps, step),
        Event::Decided { .. } => steps.iter().find(|s| s.decision),
        _ => None,
    }
}

/// Whether the process has a say in `event` (others never touch it, so
/// their transactions need not lock the instance).
pub fn governs(event: &Event) -> bool {
    matches!(
        event,
        Event::StepStarted { .. }
            | Event::StepPassed { .. }
            | Event::StepReturned { .. }
            | Event::CountersignRequested { .. }
            | Event::Countersigned { .. }
            | Event::Decided { .. }
            | Event::Concluded { .. }
            | Event::Withdrawn
            | Event::Voided
            | Event::SpecialStarted { .. }
            | Event::SpecialEnded { .. }
            | Event::MessageReceived { .. }
    )
}

/// What `event` does to the process `inst` of `def`, or why the process
/// does not allow it now. Events the process does not govern are `Nothing`.
pub fn drive(def: &Definition, inst: &Instance, event: &Event) -> Result<Drive, ProcessError> {
    let steps = open_steps(def, inst);
    let names = || steps.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
    let named = |step: &str| step_named(&steps, step).ok_or_else(|| ProcessError::NoOpenStep { step: step.into(), open: names() });
    match event {
        Event::StepStarted { step } | Event::CountersignRequested { step, .. } => {
            let s = named(step)?;
            if s.decision {
                // The decision task is completed by the decision itself.
                return Err(ProcessError::NoOpenStep { step: step.clone(), open: names() });
            }
            // A countersign task is signed by the agencies its model names, no others.
            let named_agencies = countersign_agencies(def, step);
            if let Event::CountersignRequested { agencies, .. } = event
                && !named_agencies.is_empty()
            {
                let asked: std::collections::BTreeSet<&str> = agencies.iter().map(|a| a.trim()).collect();
                if asked != named_agencies.iter().map(String::as_str).collect() {
                    return Err(ProcessError::CountersignAgencies { step: step.clone(), agencies: named_agencies.to_vec() });
                }
            }
            Ok(Drive::Nothing)
        }
        // Each agency's countersignature completes its own instance of the
        // task, counting agreement for the gateways (`<task>_agreed`,
        // `<task>_disagreed`); the last one moves the process on.
        Event::Countersigned { step, agency, agree } => {
            let Some(s) = countersign_slot(&steps, step, agency) else { return Ok(Drive::Nothing) };
            let count = |key: String| inst.data.get(&key).and_then(Value::as_u64).unwrap_or(0);
            let (agreed, disagreed) = (format!("{}_agreed", s.node), format!("{}_disagreed", s.node));
            let (a, d) = (count(agreed.clone()), count(disagreed.clone()));
            let (a, d) = if *agree { (a + 1, d) } else { (a, d + 1) };
            Ok(Drive::Complete { wait: s.wait, data: json!({ agreed: a, disagreed: d }) })
        }
        Event::StepPassed { step, .. } | Event::StepReturned { step } => {
            let named_agencies = countersign_agencies(def, step);
            if !named_agencies.is_empty() {
                let awaited: Vec<String> = steps
                    .iter()
                    .filter(|s| s.agency.is_some() && (s.name == step.trim() || s.node == step.trim()))
                    .filter_map(|s| s.agency.clone())
                    .collect();
                if !awaited.is_empty() {
                    return Err(ProcessError::CountersignPending { step: step.clone(), agencies: awaited });
                }
                // The countersignatures completed the task; passing the step
                // closes it on the case, and the process has moved on.
                if matches!(event, Event::StepPassed { .. }) {
                    return Ok(Drive::Nothing);
                }
            }
            let s = named(step)?;
            let outcome = if matches!(event, Event::StepPassed { .. }) { "passed" } else { "returned" };
            // The reviewer's recorded values first; the outcome cannot be overridden.
            let mut data = match event {
                Event::StepPassed { data, .. } => Value::Object(data.clone()),
                _ => json!({}),
            };
            data["outcome"] = json!(outcome);
            data[format!("{}_outcome", s.node)] = json!(outcome);
            Ok(Drive::Complete { wait: s.wait, data })
        }
        Event::Decided { decision } => {
            let code = match decision {
                Decision::Approve => "approve",
                Decision::Deny => "deny",
            };
            if has_decision_task(def) {
                let s = steps.iter().find(|s| s.decision).ok_or_else(|| ProcessError::NotAtDecision { open: names() })?;
                Ok(Drive::Complete { wait: s.wait, data: json!({ "decision": code, "outcome": "passed" }) })
            } else if inst.status == Status::Running {
                Err(ProcessError::NotAtDecision { open: names() })
            } else {
                Ok(Drive::Nothing)
            }
        }
        Event::MessageReceived { message, data } => {
            let waiting = || {
                inst.waits
                    .iter()
                    .filter_map(|w| match &w.kind {
                        WaitKind::Message { name } => Some(name.clone()),
                        _ => None,
                    })
                    .collect::<Vec<_>>()
            };
            let message = message.trim();
            if !waiting().iter().any(|n| n == message) {
                return Err(ProcessError::NoMessageWait { message: message.to_string(), waiting: waiting() });
            }
            Ok(Drive::Message { name: message.to_string(), data: Value::Object(data.clone()) })
        }
        Event::Concluded { .. } if inst.status == Status::Running => Err(ProcessError::NotEnded { open: names() }),
        Event::Withdrawn | Event::Voided if inst.status == Status::Running => Ok(Drive::Terminate),
        // 延长审批 extends the case's limits; the other special procedures
        // (听证、检验、检测、鉴定…) stop its clock, and the process's with it.
        Event::SpecialStarted { kind: crate::SpecialKind::Other, .. } if inst.status == Status::Running => Ok(Drive::PauseTimers),
        Event::SpecialEnded { .. } if inst.status == Status::Running && inst.paused_at.is_some() => Ok(Drive::ResumeTimers),
        _ => Ok(Drive::Nothing),
    }
}
