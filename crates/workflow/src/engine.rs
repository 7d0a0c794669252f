//! The pure engine core: (definition, instance, input, now) → (new instance,
//! effects). No IO and no clock: time comes in as `now`, working days through
//! `Env`. The caller persists the new instance and carries out the effects in
//! one transaction; a failed step returns an error and changes nothing.
//!
//! Tokens only rest where they must wait: at activities and catch events
//! (`Wait`) and at converging gateways (`Parked`). Everything else is passed
//! through at once, breadth-first in document order, so a run is deterministic.

use std::collections::VecDeque;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::duration::IsoDuration;
use crate::expr;
use crate::model::{Definition, NodeIx, NodeKind, Timer};

/// The most instances one multi-instance task (会签) may spawn, whatever the
/// data says: a countersign round across departments is tens, not millions.
pub const MAX_INSTANCES: u32 = 1_000;

/// What the engine needs from outside: working-day arithmetic.
pub trait Env: Send + Sync {
    /// The instant `days` working days after `from` (the node's calendar).
    fn add_working_days(&self, from: Timestamp, days: u32) -> Result<Timestamp, String>;

    /// Working days after `from`'s day up to and including `to`'s (zero when
    /// `to` is not later): how long a pause of working-day timers lasted.
    fn working_days_between(&self, _from: Timestamp, _to: Timestamp) -> Result<u32, String> {
        Err("no working-day calendar".into())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Running,
    Completed,
    Terminated,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WaitKind {
    /// A user task; `index` of `of` for multi-instance (1 of 1 otherwise).
    Task {
        index: u32,
        of: u32,
    },
    Handler,
    Message {
        name: String,
    },
    Timer {
        due: Timestamp,
        boundary_of: Option<u64>,
    },
    SubProcess {
        frame: u64,
    },
}

/// Something the instance waits for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Wait {
    pub id: u64,
    pub node: String,
    pub frame: u64,
    pub kind: WaitKind,
}

/// A token resting at a converging gateway, having come by `flow`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Parked {
    pub node: String,
    pub frame: u64,
    pub flow: String,
}

/// A running subprocess (frame 0 is the process itself).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    pub id: u64,
    pub node: String,
    pub parent: u64,
}

/// The whole persisted state of one process instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    pub status: Status,
    pub data: Value,
    pub waits: Vec<Wait>,
    pub parked: Vec<Parked>,
    pub frames: Vec<Frame>,
    /// Completed activities and events, in order.
    pub trace: Vec<String>,
    pub next_id: u64,
    /// Since when the timers stand still (a case's special procedure stops
    /// its clock); none while they run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum Effect {
    TaskCreated {
        wait: u64,
        node: String,
        candidate_groups: Vec<String>,
    },
    TaskCancelled {
        wait: u64,
        node: String,
    },
    CallHandler {
        wait: u64,
        node: String,
        handler: String,
    },
    TimerScheduled {
        wait: u64,
        node: String,
        due: Timestamp,
    },
    TimerCancelled {
        wait: u64,
    },
    /// The timer stands still until it is rescheduled.
    TimerPaused {
        wait: u64,
    },
    /// The timer runs again, due at `due`.
    TimerRescheduled {
        wait: u64,
        due: Timestamp,
    },
    Finished {
        status: Status,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "input", rename_all = "snake_case")]
pub enum Input {
    CompleteTask {
        wait: u64,
        data: Value,
    },
    HandlerDone {
        wait: u64,
        data: Value,
    },
    Message {
        name: String,
        data: Value,
    },
    TimerFired {
        wait: u64,
    },
    /// Stop the instance from outside (its case was withdrawn or voided):
    /// every wait is cancelled and the instance ends as terminated.
    Terminate,
    /// Stop every timer's clock (a case's special procedure: 听证、检验…).
    PauseTimers,
    /// Start them again, each due later by the pause: in working days for a
    /// working-day timer, in elapsed time for the others.
    ResumeTimers,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("the instance is no longer running")]
    NotRunning,
    #[error("nothing is waiting for this input")]
    NoSuchWait,
    #[error("at {node}: {message}")]
    Incident { node: String, message: String },
}

impl yiwang_errors::Coded for EngineError {
    fn code(&self) -> &'static str {
        match self {
            EngineError::NotRunning => "workflow.not_running",
            EngineError::NoSuchWait => "workflow.no_such_wait",
            EngineError::Incident { .. } => "workflow.incident",
        }
    }
    fn kind(&self) -> yiwang_errors::ErrorKind {
        match self {
            EngineError::NotRunning => yiwang_errors::ErrorKind::Conflict,
            EngineError::NoSuchWait => yiwang_errors::ErrorKind::NotFound,
            EngineError::Incident { .. } => yiwang_errors::ErrorKind::Unprocessable,
        }
    }
    fn message_zh(&self) -> String {
        match self {
            EngineError::NotRunning => "流程实例已结束".into(),
            EngineError::NoSuchWait => "没有等待该输入的任务或事件".into(),
            EngineError::Incident { node, message } => format!("流程在 {node} 处无法继续：{message}"),
        }
    }
}

/// One step's working state.
struct Run<'a> {
    def: &'a Definition,
    env: &'a dyn Env,
    now: Timestamp,
    inst: Instance,
    effects: Vec<Effect>,
    /// (node, frame, arriving flow) to enter.
    queue: VecDeque<(NodeIx, u64, Option<usize>)>,
}

fn incident(node: &str, message: impl Into<String>) -> EngineError {
    EngineError::Incident { node: node.to_string(), message: message.into() }
}

fn merge(data: &mut Value, more: Value) {
    match (data, more) {
        (Value::Object(d), Value::Object(m)) => d.extend(m),
        (_, Value::Null) => {}
        (d, m) => *d = m,
    }
}

fn natural_due(now: Timestamp, d: &IsoDuration) -> Result<Timestamp, String> {
    let mut at = now;
    if d.years > 0 || d.months > 0 {
        let span = jiff::Span::new().years(i64::from(d.years)).months(i64::from(d.months));
        at = at.to_zoned(jiff::tz::TimeZone::UTC).checked_add(span).map_err(|e| e.to_string())?.timestamp();
    }
    let secs = i64::from(d.weeks) * 7 * 86_400 + i64::from(d.days) * 86_400 + i64::from(d.hours) * 3600 + i64::from(d.minutes) * 60;
    at.checked_add(SignedDuration::from_secs(secs + i64::from(d.seconds))).map_err(|e| e.to_string())
}

impl Run<'_> {
    fn id(&mut self) -> u64 {
        self.inst.next_id += 1;
        self.inst.next_id
    }

    fn due(&self, node: &str, timer: &Timer) -> Result<Timestamp, EngineError> {
        let r = match timer.duration.whole_days().filter(|_| timer.working_days) {
            Some(days) => self.env.add_working_days(self.now, days),
            None => natural_due(self.now, &timer.duration),
        };
        r.map_err(|m| incident(node, m))
    }

    fn wait(&mut self, node: NodeIx, frame: u64, kind: WaitKind) -> u64 {
        let id = self.id();
        self.inst.waits.push(Wait { id, node: self.def.nodes[node].id.clone(), frame, kind });
        id
    }

    /// Start an activity's boundary timers.
    fn arm_boundaries(&mut self, host: NodeIx, host_wait: u64, frame: u64) -> Result<(), EngineError> {
        let boundaries: Vec<NodeIx> = self.def.boundaries(host).collect();
        for b in boundaries {
            if let NodeKind::BoundaryTimer { timer, .. } = &self.def.nodes[b].kind {
                let due = self.due(&self.def.nodes[b].id, timer)?;
                let wait = self.wait(b, frame, WaitKind::Timer { due, boundary_of: Some(host_wait) });
                self.effects.push(Effect::TimerScheduled { wait, node: self.def.nodes[b].id.clone(), due });
            }
        }
        Ok(())
    }

    /// Remove a wait and everything hanging off it (boundary timers, a
    /// subprocess's contents).
    fn cancel(&mut self, wait: u64) {
        let Some(pos) = self.inst.waits.iter().position(|w| w.id == wait) else { return };
        let w = self.inst.waits.remove(pos);
        match w.kind {
            WaitKind::Task { .. } | WaitKind::Handler => self.effects.push(Effect::TaskCancelled { wait, node: w.node }),
            WaitKind::Timer { .. } => self.effects.push(Effect::TimerCancelled { wait }),
            WaitKind::SubProcess { frame } => self.clear_frame(frame),
            WaitKind::Message { .. } => {}
        }
        self.cancel_boundaries(wait);
    }

    /// Move every timer later by the pause that ends now.
    fn resume_timers(&mut self) -> Result<(), EngineError> {
        let Some(since) = self.inst.paused_at.take() else { return Ok(()) };
        let elapsed = self.now.duration_since(since).max(SignedDuration::ZERO);
        let mut working_days: Option<u32> = None;
        for i in 0..self.inst.waits.len() {
            let w = &self.inst.waits[i];
            let WaitKind::Timer { due, .. } = w.kind else { continue };
            let node = w.node.clone();
            let by_working_days = self.def.node(&node).is_some_and(|ix| {
                matches!(&self.def.nodes[ix].kind,
                    NodeKind::BoundaryTimer { timer, .. } | NodeKind::TimerCatch { timer } if timer.working_days)
            });
            let moved = if by_working_days {
                let days = match working_days {
                    Some(d) => d,
                    None => {
                        let d = self.env.working_days_between(since, self.now).map_err(|m| incident(&node, m))?;
                        working_days = Some(d);
                        d
                    }
                };
                self.env.add_working_days(due, days).map_err(|m| incident(&node, m))?
            } else {
                due.checked_add(elapsed).map_err(|e| incident(&node, e.to_string()))?
            };
            let id = self.inst.waits[i].id;
            if let WaitKind::Timer { due, .. } = &mut self.inst.waits[i].kind {
                *due = moved;
            }
            self.effects.push(Effect::TimerRescheduled { wait: id, due: moved });
        }
        Ok(())
    }

    /// End the whole instance as terminated, cancelling every wait.
    fn terminate(&mut self) {
        let all: Vec<u64> = self.inst.waits.iter().map(|w| w.id).collect();
        for w in all {
            self.cancel(w);
        }
        self.inst.parked.clear();
        self.queue.clear();
        self.inst.status = Status::Terminated;
        self.effects.push(Effect::Finished { status: Status::Terminated });
    }

    /// Drop everything inside a frame (and its nested frames).
    fn clear_frame(&mut self, frame: u64) {
        let inside: Vec<u64> = self.inst.waits.iter().filter(|w| w.frame == frame).map(|w| w.id).collect();
        for w in inside {
            self.cancel(w);
        }
        self.inst.parked.retain(|p| p.frame != frame);
        self.queue.retain(|(_, f, _)| *f != frame);
        self.inst.frames.retain(|f| f.id != frame);
    }

    fn take_outgoing(&mut self, node: NodeIx, frame: u64) {
        for &f in &self.def.nodes[node].outgoing {
            self.queue.push_back((self.def.flows[f].target, frame, Some(f)));
        }
    }

    fn condition(&self, node: &str, flow: usize) -> Result<bool, EngineError> {
        match &self.def.flows[flow].condition {
            None => Ok(true),
            Some(src) => {
                let e = expr::parse(src).map_err(|e| incident(node, format!("{}: {e}", self.def.flows[flow].id)))?;
                e.test(&self.inst.data).map_err(|e| incident(node, format!("{}: {e}", self.def.flows[flow].id)))
            }
        }
    }

    /// Whether any live work in `frame` (other than tokens parked at `gateway`)
    /// can still reach `gateway`: the inclusive join waits for it.
    fn can_reach(&self, gateway: NodeIx, frame: u64) -> bool {
        let mut starts: Vec<NodeIx> = Vec::new();
        starts.extend(self.inst.waits.iter().filter(|w| w.frame == frame).filter_map(|w| self.def.node(&w.node)));
        starts
            .extend(self.inst.parked.iter().filter(|p| p.frame == frame).filter_map(|p| self.def.node(&p.node)).filter(|&n| n != gateway));
        starts.extend(self.queue.iter().filter(|(_, f, _)| *f == frame).map(|(n, _, _)| *n));
        let mut seen = vec![false; self.def.nodes.len()];
        let mut stack = starts;
        while let Some(n) = stack.pop() {
            if n == gateway {
                return true;
            }
            if std::mem::replace(&mut seen[n], true) {
                continue;
            }
            stack.extend(self.def.nodes[n].outgoing.iter().map(|&f| self.def.flows[f].target));
            stack.extend(self.def.boundaries(n));
        }
        false
    }

    fn enter(&mut self, ix: NodeIx, frame: u64, via: Option<usize>) -> Result<(), EngineError> {
        let def = self.def;
        let node = &def.nodes[ix];
        match &node.kind {
            NodeKind::StartEvent => {
                self.inst.trace.push(node.id.clone());
                self.take_outgoing(ix, frame);
            }
            NodeKind::EndEvent { terminate } => {
                self.inst.trace.push(node.id.clone());
                if *terminate {
                    if frame == 0 {
                        self.terminate();
                        return Ok(());
                    }
                    let inner: Vec<u64> = self.inst.waits.iter().filter(|w| w.frame == frame).map(|w| w.id).collect();
                    for w in inner {
                        self.cancel(w);
                    }
                    self.inst.parked.retain(|p| p.frame != frame);
                    self.queue.retain(|(_, f, _)| *f != frame);
                }
            }
            NodeKind::UserTask { candidate_groups, multi, .. } => {
                let of = match multi {
                    None => 1,
                    Some(m) => self.instances(&node.id, m)?,
                };
                let parallel = multi.as_ref().is_some_and(|m| !m.sequential);
                let count = if parallel { of } else { 1 };
                if of == 0 {
                    self.inst.trace.push(node.id.clone());
                    self.take_outgoing(ix, frame);
                    return Ok(());
                }
                for index in 0..count {
                    let wait = self.wait(ix, frame, WaitKind::Task { index, of });
                    self.effects.push(Effect::TaskCreated { wait, node: node.id.clone(), candidate_groups: candidate_groups.clone() });
                    if index == 0 {
                        self.arm_boundaries(ix, wait, frame)?;
                    }
                }
            }
            NodeKind::ServiceTask { handler } => {
                let wait = self.wait(ix, frame, WaitKind::Handler);
                self.effects.push(Effect::CallHandler { wait, node: node.id.clone(), handler: handler.clone() });
                self.arm_boundaries(ix, wait, frame)?;
            }
            NodeKind::ReceiveTask { message } | NodeKind::MessageCatch { message } => {
                let wait = self.wait(ix, frame, WaitKind::Message { name: message.clone() });
                self.arm_boundaries(ix, wait, frame)?;
            }
            NodeKind::TimerCatch { timer } => {
                let due = self.due(&node.id, timer)?;
                let wait = self.wait(ix, frame, WaitKind::Timer { due, boundary_of: None });
                self.effects.push(Effect::TimerScheduled { wait, node: node.id.clone(), due });
            }
            NodeKind::SubProcess => {
                let inner = self.id();
                self.inst.frames.push(Frame { id: inner, node: node.id.clone(), parent: frame });
                let wait = self.wait(ix, frame, WaitKind::SubProcess { frame: inner });
                self.arm_boundaries(ix, wait, frame)?;
                let starts: Vec<NodeIx> = def.starts(Some(ix)).collect();
                for s in starts {
                    self.queue.push_back((s, inner, None));
                }
            }
            NodeKind::ParallelGateway | NodeKind::InclusiveGateway { .. } if node.incoming.len() > 1 => {
                let flow = via.map(|f| def.flows[f].id.clone()).unwrap_or_default();
                self.inst.parked.push(Parked { node: node.id.clone(), frame, flow });
                self.try_join(ix, frame)?;
            }
            NodeKind::ParallelGateway => {
                self.inst.trace.push(node.id.clone());
                self.take_outgoing(ix, frame);
            }
            NodeKind::ExclusiveGateway { default } => {
                self.inst.trace.push(node.id.clone());
                let mut chosen = None;
                for &f in &node.outgoing {
                    if Some(&def.flows[f].id) == default.as_ref() {
                        continue;
                    }
                    if self.condition(&node.id, f)? {
                        chosen = Some(f);
                        break;
                    }
                }
                let chosen = chosen
                    .or_else(|| node.outgoing.iter().copied().find(|&f| Some(&def.flows[f].id) == default.as_ref()))
                    .ok_or_else(|| incident(&node.id, "no condition holds and there is no default flow"))?;
                self.queue.push_back((def.flows[chosen].target, frame, Some(chosen)));
            }
            NodeKind::InclusiveGateway { default } => {
                self.inst.trace.push(node.id.clone());
                self.split_inclusive(ix, frame, default.as_deref())?;
            }
            NodeKind::BoundaryTimer { .. } => return Err(incident(&node.id, "a boundary event is not entered by a flow")),
        }
        Ok(())
    }

    fn split_inclusive(&mut self, ix: NodeIx, frame: u64, default: Option<&str>) -> Result<(), EngineError> {
        let def = self.def;
        let node = &def.nodes[ix];
        let mut taken = Vec::new();
        for &f in &node.outgoing {
            if Some(def.flows[f].id.as_str()) != default && self.condition(&node.id, f)? {
                taken.push(f);
            }
        }
        if taken.is_empty() {
            let d = node.outgoing.iter().copied().find(|&f| Some(def.flows[f].id.as_str()) == default);
            taken.push(d.ok_or_else(|| incident(&node.id, "no condition holds and there is no default flow"))?);
        }
        for f in taken {
            self.queue.push_back((def.flows[f].target, frame, Some(f)));
        }
        Ok(())
    }

    fn try_join(&mut self, ix: NodeIx, frame: u64) -> Result<(), EngineError> {
        let def = self.def;
        let node = &def.nodes[ix];
        let here = |p: &Parked| p.node == node.id && p.frame == frame;
        let arrived: Vec<String> = self.inst.parked.iter().filter(|p| here(p)).map(|p| p.flow.clone()).collect();
        let ready = match node.kind {
            NodeKind::ParallelGateway => node.incoming.iter().all(|&f| arrived.contains(&def.flows[f].id)),
            _ => !arrived.is_empty() && !self.can_reach(ix, frame),
        };
        if !ready {
            return Ok(());
        }
        // Consume one token per incoming flow (all of them, for an inclusive join).
        for &f in &node.incoming {
            let fid = &def.flows[f].id;
            if let Some(pos) = self.inst.parked.iter().position(|p| here(p) && p.flow == *fid) {
                self.inst.parked.remove(pos);
            }
        }
        self.inst.trace.push(node.id.clone());
        match &node.kind {
            NodeKind::InclusiveGateway { default } => self.split_inclusive(ix, frame, default.as_deref()),
            _ => {
                self.take_outgoing(ix, frame);
                Ok(())
            }
        }
    }

    fn instances(&self, node: &str, m: &crate::model::MultiInstance) -> Result<u32, EngineError> {
        let n = self.instances_unbounded(node, m)?;
        if n > MAX_INSTANCES {
            return Err(incident(node, format!("{n} instances; a multi-instance task runs at most {MAX_INSTANCES}")));
        }
        Ok(n)
    }

    fn instances_unbounded(&self, node: &str, m: &crate::model::MultiInstance) -> Result<u32, EngineError> {
        if let Some(c) = &m.cardinality {
            if let Ok(n) = c.parse::<u32>() {
                return Ok(n);
            }
            let v = expr::parse(c).map_err(|e| incident(node, e.to_string()))?.eval(&self.inst.data).map_err(|e| incident(node, e.0))?;
            return v.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or_else(|| incident(node, format!("cardinality {v} is not a count")));
        }
        let name = m.collection.as_deref().unwrap_or_default();
        let v = expr::parse(name).map_err(|e| incident(node, e.to_string()))?.eval(&self.inst.data).map_err(|e| incident(node, e.0))?;
        v.as_array().map(|a| a.len() as u32).ok_or_else(|| incident(node, format!("{name} is not a list")))
    }

    /// Drain the queue, then finish frames that have nothing left.
    fn settle(&mut self) -> Result<(), EngineError> {
        loop {
            while let Some((ix, frame, via)) = self.queue.pop_front() {
                self.enter(ix, frame, via)?;
                if self.inst.status != Status::Running {
                    return Ok(());
                }
            }
            // Inclusive joins may become ready once other paths have died out.
            let pending: Vec<(NodeIx, u64)> = self.inst.parked.iter().filter_map(|p| Some((self.def.node(&p.node)?, p.frame))).collect();
            for (ix, frame) in pending {
                if matches!(self.def.nodes[ix].kind, NodeKind::InclusiveGateway { .. }) {
                    self.try_join(ix, frame)?;
                }
            }
            if !self.queue.is_empty() {
                continue;
            }
            let idle: Vec<Frame> = self
                .inst
                .frames
                .iter()
                .filter(|f| !self.inst.waits.iter().any(|w| w.frame == f.id) && !self.inst.parked.iter().any(|p| p.frame == f.id))
                .cloned()
                .collect();
            if idle.is_empty() {
                break;
            }
            for f in idle {
                self.inst.frames.retain(|x| x.id != f.id);
                // The subprocess activity completes in its parent frame.
                if let Some(w) =
                    self.inst.waits.iter().find(|w| matches!(w.kind, WaitKind::SubProcess { frame } if frame == f.id)).map(|w| w.id)
                {
                    self.complete(w)?;
                }
            }
        }
        let root_busy = self.inst.waits.iter().any(|w| w.frame == 0) || self.inst.parked.iter().any(|p| p.frame == 0);
        if !root_busy && self.inst.status == Status::Running {
            self.inst.status = Status::Completed;
            self.effects.push(Effect::Finished { status: Status::Completed });
        }
        Ok(())
    }

    /// An activity's wait is done: record it and move on (multi-instance aware).
    fn complete(&mut self, wait: u64) -> Result<(), EngineError> {
        let pos = self.inst.waits.iter().position(|w| w.id == wait).ok_or(EngineError::NoSuchWait)?;
        let w = self.inst.waits[pos].clone();
        let ix = self.def.node(&w.node).ok_or_else(|| incident(&w.node, "not in the definition"))?;
        if let WaitKind::Task { index, of } = w.kind {
            let sequential = matches!(&self.def.nodes[ix].kind, NodeKind::UserTask { multi: Some(m), .. } if m.sequential);
            let siblings = self
                .inst
                .waits
                .iter()
                .filter(|x| x.node == w.node && x.frame == w.frame && x.id != wait && matches!(x.kind, WaitKind::Task { .. }))
                .count();
            if sequential && index + 1 < of {
                // The next instance takes this one's place (boundaries stay armed on the first).
                self.inst.waits[pos].kind = WaitKind::Task { index: index + 1, of };
                let next = self.id();
                self.inst.waits[pos].id = next;
                self.rehome_boundaries(wait, next);
                let groups = match &self.def.nodes[ix].kind {
                    NodeKind::UserTask { candidate_groups, .. } => candidate_groups.clone(),
                    _ => Vec::new(),
                };
                self.effects.push(Effect::TaskCreated { wait: next, node: w.node.clone(), candidate_groups: groups });
                return Ok(());
            }
            if siblings > 0 {
                // Parallel instances: boundaries hang off the first; hand them on.
                self.inst.waits.remove(pos);
                if let Some(heir) = self
                    .inst
                    .waits
                    .iter()
                    .find(|x| x.node == w.node && x.frame == w.frame && matches!(x.kind, WaitKind::Task { .. }))
                    .map(|x| x.id)
                {
                    self.rehome_boundaries(wait, heir);
                }
                return Ok(());
            }
        }
        self.inst.waits.remove(pos);
        self.cancel_boundaries(wait);
        self.inst.trace.push(w.node.clone());
        self.take_outgoing(ix, w.frame);
        Ok(())
    }

    /// Cancel the boundary timers hanging off a wait.
    fn cancel_boundaries(&mut self, host: u64) {
        let hanging: Vec<u64> = self
            .inst
            .waits
            .iter()
            .filter(|b| matches!(b.kind, WaitKind::Timer { boundary_of: Some(h), .. } if h == host))
            .map(|b| b.id)
            .collect();
        for b in hanging {
            self.cancel(b);
        }
    }

    /// Boundary timers hanging off wait `from` now hang off `to`.
    fn rehome_boundaries(&mut self, from: u64, to: u64) {
        for b in self.inst.waits.iter_mut() {
            if let WaitKind::Timer { boundary_of: Some(h), .. } = &mut b.kind
                && *h == from
            {
                *h = to;
            }
        }
    }

    fn fire_timer(&mut self, wait: u64) -> Result<(), EngineError> {
        let w = self.inst.waits.iter().find(|w| w.id == wait).cloned().ok_or(EngineError::NoSuchWait)?;
        let WaitKind::Timer { boundary_of, .. } = w.kind else { return Err(EngineError::NoSuchWait) };
        let ix = self.def.node(&w.node).ok_or_else(|| incident(&w.node, "not in the definition"))?;
        let Some(host) = boundary_of else { return self.complete(wait) };
        self.inst.waits.retain(|x| x.id != wait);
        self.inst.trace.push(w.node.clone());
        if let NodeKind::BoundaryTimer { interrupting: true, .. } = self.def.nodes[ix].kind {
            // Interrupting: the activity (all its instances) is cancelled.
            let host_node = self.inst.waits.iter().find(|x| x.id == host).map(|x| (x.node.clone(), x.frame));
            if let Some((node, frame)) = host_node {
                let all: Vec<u64> = self.inst.waits.iter().filter(|x| x.node == node && x.frame == frame).map(|x| x.id).collect();
                for id in all {
                    self.cancel(id);
                }
            }
        }
        self.take_outgoing(ix, w.frame);
        Ok(())
    }
}

/// Start an instance: enter the process's start events and run until it waits.
pub fn start(def: &Definition, data: Value, now: Timestamp, env: &dyn Env) -> Result<(Instance, Vec<Effect>), EngineError> {
    let inst = Instance {
        status: Status::Running,
        data: if data.is_null() { Value::Object(Default::default()) } else { data },
        waits: Vec::new(),
        parked: Vec::new(),
        frames: Vec::new(),
        trace: Vec::new(),
        next_id: 0,
        paused_at: None,
    };
    let mut run = Run { def, env, now, inst, effects: Vec::new(), queue: def.starts(None).map(|s| (s, 0, None)).collect() };
    run.settle()?;
    Ok((run.inst, run.effects))
}

/// Apply one input.
pub fn step(
    def: &Definition,
    inst: &Instance,
    input: Input,
    now: Timestamp,
    env: &dyn Env,
) -> Result<(Instance, Vec<Effect>), EngineError> {
    if inst.status != Status::Running {
        return Err(EngineError::NotRunning);
    }
    let mut run = Run { def, env, now, inst: inst.clone(), effects: Vec::new(), queue: VecDeque::new() };
    match input {
        Input::CompleteTask { wait, data } | Input::HandlerDone { wait, data } => {
            let ok = run.inst.waits.iter().any(|w| w.id == wait && matches!(w.kind, WaitKind::Task { .. } | WaitKind::Handler));
            if !ok {
                return Err(EngineError::NoSuchWait);
            }
            merge(&mut run.inst.data, data);
            run.complete(wait)?;
        }
        Input::Message { name, data } => {
            let wait = run.inst.waits.iter().find(|w| matches!(&w.kind, WaitKind::Message { name: n } if *n == name)).map(|w| w.id);
            let wait = wait.ok_or(EngineError::NoSuchWait)?;
            merge(&mut run.inst.data, data);
            run.complete(wait)?;
        }
        Input::TimerFired { wait } => run.fire_timer(wait)?,
        Input::Terminate => {
            run.terminate();
            return Ok((run.inst, run.effects));
        }
        Input::PauseTimers => {
            if run.inst.paused_at.is_none() {
                run.inst.paused_at = Some(now);
                let timers: Vec<u64> = run.inst.waits.iter().filter(|w| matches!(w.kind, WaitKind::Timer { .. })).map(|w| w.id).collect();
                run.effects.extend(timers.into_iter().map(|wait| Effect::TimerPaused { wait }));
            }
            return Ok((run.inst, run.effects));
        }
        Input::ResumeTimers => {
            run.resume_timers()?;
            return Ok((run.inst, run.effects));
        }
    }
    run.settle()?;
    Ok((run.inst, run.effects))
}

/// The outcome of a simulated run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Simulation {
    pub status: Status,
    pub trace: Vec<String>,
    pub data: Value,
    /// Simulated time at the end (timers advance it).
    pub ended_at: Timestamp,
}

/// Run a definition to its end without people: every user task is completed
/// (lowest wait first) with `decisions[node id]` as its data, where a list
/// gives each successive completion of that node its own entry (multi-instance
/// instances, or rounds of a loop); handler calls and messages are answered
/// the same way; when only timers remain, time jumps to the earliest. Tasks
/// named in `hold` are left open while anything else can happen, so the
/// timers on their boundaries fire first (an overdue task); they are completed
/// last. This is how a process is checked before it goes live.
pub fn simulate(
    def: &Definition,
    data: Value,
    decisions: &serde_json::Map<String, Value>,
    hold: &[String],
    now: Timestamp,
    env: &dyn Env,
) -> Result<Simulation, EngineError> {
    simulate_bounded(def, data, decisions, hold, now, env, &Bounds { max_steps: 100_000, keep_going: &|| true })
}

/// How much work a simulation may do: at most `max_steps` inputs, and it
/// stops as soon as `keep_going` says no (the caller's time budget; this
/// crate reads no clock).
pub struct Bounds<'a> {
    pub max_steps: usize,
    pub keep_going: &'a dyn Fn() -> bool,
}

/// [`simulate`] within `bounds`; an exhausted budget is an incident naming it.
pub fn simulate_bounded(
    def: &Definition,
    data: Value,
    decisions: &serde_json::Map<String, Value>,
    hold: &[String],
    now: Timestamp,
    env: &dyn Env,
    bounds: &Bounds<'_>,
) -> Result<Simulation, EngineError> {
    let max_steps = bounds.max_steps;
    let mut rounds: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut decision = |node: &str| {
        let round = rounds.entry(node.to_string()).or_default();
        *round += 1;
        match decisions.get(node) {
            Some(Value::Array(items)) => items.get(*round - 1).cloned().unwrap_or(Value::Null),
            Some(v) => v.clone(),
            None => Value::Null,
        }
    };
    let mut now = now;
    let (mut inst, _) = start(def, data, now, env)?;
    for _ in 0..max_steps {
        if !(bounds.keep_going)() {
            return Err(incident(&def.process_id, "the simulation ran out of time"));
        }
        if inst.status != Status::Running {
            return Ok(Simulation { status: inst.status, trace: inst.trace, data: inst.data, ended_at: now });
        }
        let pick = |pred: &dyn Fn(&WaitKind) -> bool, held: bool| {
            inst.waits.iter().filter(|w| pred(&w.kind) && hold.contains(&w.node) == held).min_by_key(|w| w.id).cloned()
        };
        let is_task = |k: &WaitKind| matches!(k, WaitKind::Task { .. });
        let input = if let Some(w) = pick(&is_task, false) {
            Input::CompleteTask { wait: w.id, data: decision(&w.node) }
        } else if let Some(w) = pick(&|k| matches!(k, WaitKind::Handler), false) {
            Input::HandlerDone { wait: w.id, data: decision(&w.node) }
        } else if let Some(w) = pick(&|k| matches!(k, WaitKind::Message { .. }), false) {
            let WaitKind::Message { name } = &w.kind else { return Err(EngineError::NoSuchWait) };
            Input::Message { name: name.clone(), data: decision(&w.node) }
        } else {
            let earliest = inst
                .waits
                .iter()
                .filter_map(|w| match w.kind {
                    WaitKind::Timer { due, .. } => Some((due, w.id)),
                    _ => None,
                })
                .min();
            match (earliest, pick(&is_task, true)) {
                (Some((due, wait)), _) => {
                    now = now.max(due);
                    Input::TimerFired { wait }
                }
                (None, Some(w)) => Input::CompleteTask { wait: w.id, data: decision(&w.node) },
                (None, None) => return Err(incident(&def.process_id, "the instance waits for nothing it can be given")),
            }
        };
        inst = step(def, &inst, input, now, env)?.0;
    }
    Err(incident(&def.process_id, format!("no end after {max_steps} steps (a loop?)")))
}

/// Working days from the node's holiday calendar, counted in China Standard
/// Time: a timer set at 15:00 on a Friday for 2 working days fires at 15:00 on
/// the second working day after it.
pub struct CalendarEnv<'a>(pub &'a yiwang_calendar::Calendar);

impl Env for CalendarEnv<'_> {
    fn add_working_days(&self, from: Timestamp, days: u32) -> Result<Timestamp, String> {
        let cst = jiff::tz::TimeZone::fixed(jiff::tz::offset(8));
        let local = from.to_zoned(cst.clone());
        let date = self.0.add_workdays(local.date(), days).map_err(|e| e.to_string())?.value;
        date.to_datetime(local.time()).to_zoned(cst).map(|z| z.timestamp()).map_err(|e| e.to_string())
    }

    fn working_days_between(&self, from: Timestamp, to: Timestamp) -> Result<u32, String> {
        let cst = jiff::tz::TimeZone::fixed(jiff::tz::offset(8));
        let (a, b) = (from.to_zoned(cst.clone()).date(), to.to_zoned(cst).date());
        Ok(self.0.workdays_between(a, b, &[]).map_err(|e| e.to_string())?.value)
    }
}
