//! A deployed process: nodes and sequence flows, scoped by (sub)process.

use serde::Serialize;

use crate::duration::IsoDuration;

/// Index of a node in `Definition::nodes`.
pub type NodeIx = usize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timer {
    /// The duration as written, e.g. `P5D`.
    pub raw: String,
    pub duration: IsoDuration,
    /// Counted in working days (the node's calendar) rather than natural time.
    pub working_days: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MultiInstance {
    pub sequential: bool,
    /// A number (`3`) or the name of a list in the case data.
    pub cardinality: Option<String>,
    pub collection: Option<String>,
    pub element_variable: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NodeKind {
    StartEvent,
    EndEvent {
        terminate: bool,
    },
    /// `decision`: the task at which a case's decision (准予 or 不予) is taken
    /// (`yiwang:decision="true"`); its completion carries the decision.
    UserTask {
        candidate_groups: Vec<String>,
        multi: Option<MultiInstance>,
        decision: bool,
        /// 会签 by named agencies (`yiwang:agencies`, their codes): a parallel
        /// multi-instance task with one instance per agency, instance `i`
        /// being agency `i`'s; empty for an ordinary task.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        agencies: Vec<String>,
    },
    ServiceTask {
        handler: String,
    },
    ReceiveTask {
        message: String,
    },
    MessageCatch {
        message: String,
    },
    TimerCatch {
        timer: Timer,
    },
    ExclusiveGateway {
        default: Option<String>,
    },
    InclusiveGateway {
        default: Option<String>,
    },
    ParallelGateway,
    SubProcess,
    BoundaryTimer {
        attached_to: String,
        interrupting: bool,
        timer: Timer,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Node {
    pub id: String,
    pub name: String,
    pub kind: NodeKind,
    /// The enclosing subprocess, or `None` at process level.
    pub scope: Option<NodeIx>,
    pub incoming: Vec<usize>,
    pub outgoing: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flow {
    pub id: String,
    pub source: NodeIx,
    pub target: NodeIx,
    /// A condition in the expression language, if any.
    pub condition: Option<String>,
}

/// One executable process of a BPMN file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Definition {
    pub process_id: String,
    pub name: String,
    pub nodes: Vec<Node>,
    pub flows: Vec<Flow>,
}

/// The handlers a yiwang node's worker runs itself (implemented in
/// `yiwang_web::workflow`; `issue_license` only where the node holds a master
/// key). A service task naming any other handler or topic is an external
/// task, as Camunda's external tasks are: the process waits until someone
/// outside answers it with data (a department system, or staff who record
/// what they found).
pub const BUILTIN_HANDLERS: [&str; 3] = ["notify", "record", "issue_license"];

/// Whether a service task naming `handler` waits for an answer from outside.
pub fn is_external(handler: &str) -> bool {
    !BUILTIN_HANDLERS.contains(&handler)
}

impl Definition {
    /// The external service tasks: (element id, handler or topic).
    pub fn external_tasks(&self) -> Vec<(&str, &str)> {
        self.nodes
            .iter()
            .filter_map(|n| match &n.kind {
                NodeKind::ServiceTask { handler } if is_external(handler) => Some((n.id.as_str(), handler.as_str())),
                _ => None,
            })
            .collect()
    }

    pub fn node(&self, id: &str) -> Option<NodeIx> {
        self.nodes.iter().position(|n| n.id == id)
    }

    /// The start events of a scope (`None`: the process itself).
    pub fn starts(&self, scope: Option<NodeIx>) -> impl Iterator<Item = NodeIx> + '_ {
        self.nodes.iter().enumerate().filter(move |(_, n)| n.scope == scope && n.kind == NodeKind::StartEvent).map(|(i, _)| i)
    }

    /// Boundary events attached to a node.
    pub fn boundaries(&self, ix: NodeIx) -> impl Iterator<Item = NodeIx> + '_ {
        let id = self.nodes[ix].id.clone();
        self.nodes
            .iter()
            .enumerate()
            .filter(move |(_, n)| matches!(&n.kind, NodeKind::BoundaryTimer { attached_to, .. } if *attached_to == id))
            .map(|(i, _)| i)
    }
}
