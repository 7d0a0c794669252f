//! Parse a BPMN 2.0 file (as bpmn.io / Camunda Modeler write it) and validate
//! it for deployment. Every problem is collected, each naming the offending
//! element id, so an editor fixes the model in one pass; nothing is deployed
//! while any problem remains.

use std::collections::{BTreeMap, HashSet, VecDeque};

use serde::Serialize;

use crate::duration;
use crate::model::{Definition, Flow, MultiInstance, Node, NodeIx, NodeKind, Timer};
use crate::xml::{self, Element};

/// One thing wrong with a model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The BPMN element id (or `(file)` for the document as a whole).
    pub element: String,
    /// Stable reason: `xml`, `no_process`, `unsupported`, `duplicate_id`,
    /// `missing_id`, `bad_reference`, `cross_scope`, `start_events`, `dead_end`,
    /// `unreachable`, `no_default`, `bad_default`, `conditional_flow`,
    /// `missing_handler`, `unknown_handler`, `bad_timer`, `bad_multi_instance`, `bad_countersign`,
    /// `bad_boundary`, `missing_message`, `bad_condition`.
    pub reason: &'static str,
    pub message_zh: String,
    pub message_en: String,
}

fn problem(element: &str, reason: &'static str, zh: impl Into<String>, en: impl Into<String>) -> Problem {
    Problem { element: element.to_string(), reason, message_zh: zh.into(), message_en: en.into() }
}

/// A model that cannot be deployed, with every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the process cannot be deployed: {} problem(s): {}", .problems.len(), ids(.problems))]
pub struct DeployError {
    pub problems: Vec<Problem>,
}

fn ids(problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("{} ({})", p.element, p.reason)).collect::<Vec<_>>().join(", ")
}

impl yiwang_errors::Coded for DeployError {
    fn code(&self) -> &'static str {
        "workflow.invalid"
    }
    fn kind(&self) -> yiwang_errors::ErrorKind {
        yiwang_errors::ErrorKind::Unprocessable
    }
    fn message_zh(&self) -> String {
        let list: Vec<String> = self.problems.iter().map(|p| format!("{}：{}", p.element, p.message_zh)).collect();
        format!("流程不能部署，共 {} 处问题：{}", self.problems.len(), list.join("；"))
    }
}

/// Elements that carry no behaviour and are skipped wherever they appear.
const IGNORED: &[&str] = &[
    "documentation",
    "extensionElements",
    "laneSet",
    "textAnnotation",
    "association",
    "dataObject",
    "dataObjectReference",
    "dataStoreReference",
    "dataInputAssociation",
    "dataOutputAssociation",
    "ioSpecification",
    "property",
    "incoming",
    "outgoing",
    "group",
    "category",
];

struct RawFlow {
    id: String,
    source: String,
    target: String,
    condition: Option<String>,
    scope: Option<NodeIx>,
}

struct Builder<'a> {
    nodes: Vec<Node>,
    flows: Vec<RawFlow>,
    problems: Vec<Problem>,
    messages: BTreeMap<String, String>,
    handler_known: &'a dyn Fn(&str) -> bool,
}

fn timer(owner: &str, def: &Element, problems: &mut Vec<Problem>) -> Option<Timer> {
    // SpiffWorkflow evaluates the duration as an expression, so files written
    // for it quote it ("PT1S"); Camunda Modeler writes it bare. Both are read.
    let raw = def.child("timeDuration").map(|d| d.text.trim().trim_matches(|c| c == '"' || c == '\'').to_string());
    let Some(raw) = raw else {
        problems.push(problem(owner, "bad_timer", "定时器只支持时长（timeDuration）", "only duration timers (timeDuration) are supported"));
        return None;
    };
    let working_days = matches!(def.attr("calendar"), Some("working-days" | "workdays"));
    match duration::parse(&raw) {
        Some(d) if working_days && d.whole_days().is_none() => {
            problems.push(problem(
                owner,
                "bad_timer",
                format!("按工作日计算的定时器只能是整天数：{raw}"),
                format!("a working-day timer must be whole days: {raw}"),
            ));
            None
        }
        Some(duration) => Some(Timer { raw, duration, working_days }),
        None => {
            problems.push(problem(
                owner,
                "bad_timer",
                format!("时长格式不正确（应为 ISO 8601，如 P3D、PT2H）：{raw}"),
                format!("not an ISO 8601 duration (e.g. P3D, PT2H): {raw}"),
            ));
            None
        }
    }
}

/// Stands in for a timer that failed to parse (deployment fails anyway).
fn placeholder() -> Timer {
    Timer { raw: String::new(), duration: Default::default(), working_days: false }
}

fn event_definitions(e: &Element) -> Vec<&Element> {
    e.children.iter().filter(|c| c.name.ends_with("EventDefinition")).collect()
}

impl Builder<'_> {
    fn message(&mut self, owner: &str, message_ref: Option<&str>) -> String {
        match message_ref {
            Some(r) => self.messages.get(r).cloned().unwrap_or_else(|| r.to_string()),
            None => {
                self.problems.push(problem(owner, "missing_message", "未指定消息（messageRef）", "no messageRef"));
                String::new()
            }
        }
    }

    fn unsupported(&mut self, e: &Element, what: &str) {
        let id = e.attr("id").unwrap_or(&e.name).to_string();
        self.problems.push(problem(&id, "unsupported", format!("不支持的流程元素：{what}"), format!("unsupported element: {what}")));
    }

    fn scope(&mut self, container: &Element, scope: Option<NodeIx>) {
        for e in &container.children {
            if IGNORED.contains(&e.name.as_str()) {
                continue;
            }
            if e.name == "sequenceFlow" {
                self.flows.push(RawFlow {
                    id: e.attr("id").unwrap_or_default().to_string(),
                    source: e.attr("sourceRef").unwrap_or_default().to_string(),
                    target: e.attr("targetRef").unwrap_or_default().to_string(),
                    condition: e.child("conditionExpression").map(|c| c.text.clone()).filter(|c| !c.is_empty()),
                    scope,
                });
                continue;
            }
            let Some(id) = e.attr("id").map(str::to_string) else {
                self.problems.push(problem(&e.name, "missing_id", "流程元素缺少 id", "element has no id"));
                continue;
            };
            let defs = event_definitions(e);
            let multi = e.child("multiInstanceLoopCharacteristics");
            if multi.is_some() && e.name != "userTask" {
                self.unsupported(e, &format!("{}（多实例仅支持用户任务）", e.name));
                continue;
            }
            let kind = match e.name.as_str() {
                "startEvent" if defs.is_empty() => NodeKind::StartEvent,
                "endEvent" if defs.is_empty() => NodeKind::EndEvent { terminate: false },
                "endEvent" if defs.len() == 1 && defs[0].name == "terminateEventDefinition" => NodeKind::EndEvent { terminate: true },
                "userTask" => {
                    let agencies = list_attr(e, "agencies");
                    let mut multi = multi.map(|m| MultiInstance {
                        sequential: m.attr("isSequential") == Some("true"),
                        cardinality: m.child("loopCardinality").map(|c| c.text.clone()).filter(|c| !c.is_empty()),
                        collection: m.attr("collection").map(str::to_string),
                        element_variable: m.attr("elementVariable").map(str::to_string),
                    });
                    if !agencies.is_empty() {
                        // 会签 by named agencies: one parallel instance per agency.
                        let bare = multi.as_ref().is_none_or(|m| !m.sequential && m.cardinality.is_none() && m.collection.is_none());
                        let distinct = agencies.iter().collect::<HashSet<_>>().len() == agencies.len();
                        let decides = e.attr("decision") == Some("true");
                        if !bare || !distinct || decides || agencies.len() > crate::engine::MAX_INSTANCES as usize {
                            self.problems.push(problem(
                                &id,
                                "bad_countersign",
                                "会签任务（yiwang:agencies）须列出不重复的部门，为并行多实例、不另设实例数或集合，且不能是决定环节",
                                "a countersign task (yiwang:agencies) lists distinct agencies, is parallel with no cardinality or collection of its own, and is not the decision",
                            ));
                        }
                        multi = Some(MultiInstance {
                            sequential: false,
                            cardinality: Some(agencies.len().to_string()),
                            collection: None,
                            element_variable: None,
                        });
                    }
                    NodeKind::UserTask {
                        candidate_groups: list_attr(e, "candidateGroups"),
                        multi,
                        decision: e.attr("decision") == Some("true"),
                        agencies,
                    }
                }
                "serviceTask" => {
                    let handler = e.attr("handler").or_else(|| e.attr("topic")).unwrap_or_default().to_string();
                    if handler.is_empty() {
                        self.problems.push(problem(
                            &id,
                            "missing_handler",
                            "服务任务未指定处理程序（yiwang:handler 或 camunda:topic）",
                            "service task names no handler (yiwang:handler or camunda:topic)",
                        ));
                    } else if !crate::is_external(&handler) && !(self.handler_known)(&handler) {
                        // A built-in this node has not enabled (issue_license without a master key).
                        self.problems.push(problem(
                            &id,
                            "unknown_handler",
                            format!("处理程序“{handler}”在本节点未启用"),
                            format!("handler {handler:?} is not enabled on this node"),
                        ));
                    }
                    NodeKind::ServiceTask { handler }
                }
                "receiveTask" => NodeKind::ReceiveTask { message: self.message(&id, e.attr("messageRef")) },
                "intermediateCatchEvent" if defs.len() == 1 && defs[0].name == "messageEventDefinition" => {
                    NodeKind::MessageCatch { message: self.message(&id, defs[0].attr("messageRef")) }
                }
                // A bad timer is reported, and the node kept, so its flows do
                // not add problems of their own.
                "intermediateCatchEvent" if defs.len() == 1 && defs[0].name == "timerEventDefinition" => {
                    NodeKind::TimerCatch { timer: timer(&id, defs[0], &mut self.problems).unwrap_or_else(placeholder) }
                }
                "boundaryEvent" if defs.len() == 1 && defs[0].name == "timerEventDefinition" => {
                    let timer = timer(&id, defs[0], &mut self.problems).unwrap_or_else(placeholder);
                    NodeKind::BoundaryTimer {
                        attached_to: e.attr("attachedToRef").unwrap_or_default().to_string(),
                        interrupting: e.attr("cancelActivity") != Some("false"),
                        timer,
                    }
                }
                "exclusiveGateway" => NodeKind::ExclusiveGateway { default: e.attr("default").map(str::to_string) },
                "inclusiveGateway" => NodeKind::InclusiveGateway { default: e.attr("default").map(str::to_string) },
                "parallelGateway" => NodeKind::ParallelGateway,
                "subProcess" if e.attr("triggeredByEvent") != Some("true") => NodeKind::SubProcess,
                other => {
                    let what = match defs.first() {
                        Some(d) => format!("{other}（{}）", d.name),
                        None => other.to_string(),
                    };
                    self.unsupported(e, &what);
                    continue;
                }
            };
            let is_sub = kind == NodeKind::SubProcess;
            self.nodes.push(Node {
                id,
                name: e.attr("name").unwrap_or_default().to_string(),
                kind,
                scope,
                incoming: Vec::new(),
                outgoing: Vec::new(),
            });
            if is_sub {
                let ix = self.nodes.len() - 1;
                self.scope(e, Some(ix));
            }
        }
    }
}

/// Parse and validate. `handler_known` says whether a service-task handler
/// name is registered in this build.
pub fn deploy(text: &str, handler_known: &dyn Fn(&str) -> bool) -> Result<Definition, DeployError> {
    let fail = |p: Problem| DeployError { problems: vec![p] };
    let root = xml::parse(text).map_err(|e| {
        fail(problem(
            "(file)",
            "xml",
            format!("不是有效的 XML（第 {} 字节）：{}", e.position, e.message),
            format!("not well-formed XML at byte {}: {}", e.position, e.message),
        ))
    })?;
    if root.name != "definitions" {
        return Err(fail(problem("(file)", "no_process", "不是 BPMN 文件（根元素应为 definitions）", "not a BPMN file")));
    }
    let process = root.children.iter().find(|c| c.name == "process" && c.attr("isExecutable") != Some("false"));
    let Some(process) = process else {
        return Err(fail(problem("(file)", "no_process", "文件中没有可执行的流程（process）", "no executable process in the file")));
    };
    let messages = root
        .children
        .iter()
        .filter(|c| c.name == "message")
        .filter_map(|m| Some((m.attr("id")?.to_string(), m.attr("name").or(m.attr("id"))?.to_string())))
        .collect();
    let mut b = Builder { nodes: Vec::new(), flows: Vec::new(), problems: Vec::new(), messages, handler_known };
    b.scope(process, None);
    let Builder { mut nodes, flows: raw_flows, mut problems, .. } = b;

    // Ids are unique across nodes and flows.
    let mut seen = HashSet::new();
    for id in nodes.iter().map(|n| n.id.as_str()).chain(raw_flows.iter().map(|f| f.id.as_str())) {
        if !seen.insert(id) {
            problems.push(problem(id, "duplicate_id", "id 重复", "duplicate id"));
        }
    }

    let position = |id: &str| nodes.iter().position(|n| n.id == id);
    let mut flows = Vec::new();
    for f in raw_flows {
        match (position(&f.source), position(&f.target)) {
            (Some(s), Some(t)) if nodes[s].scope == f.scope && nodes[t].scope == f.scope => {
                flows.push(Flow { id: f.id, source: s, target: t, condition: f.condition })
            }
            (Some(_), Some(_)) => problems.push(problem(
                &f.id,
                "cross_scope",
                "顺序流不能跨越子流程边界",
                "a sequence flow cannot cross a subprocess boundary",
            )),
            _ => problems.push(problem(
                &f.id,
                "bad_reference",
                format!("顺序流指向不存在的元素（{} → {}）", f.source, f.target),
                format!("sequence flow refers to a missing element ({} -> {})", f.source, f.target),
            )),
        }
    }
    for (i, f) in flows.iter().enumerate() {
        nodes[f.source].outgoing.push(i);
        nodes[f.target].incoming.push(i);
    }
    let def = Definition {
        process_id: process.attr("id").unwrap_or_default().to_string(),
        name: process.attr("name").unwrap_or_default().to_string(),
        nodes,
        flows,
    };
    check(&def, &mut problems);
    if problems.is_empty() { Ok(def) } else { Err(DeployError { problems }) }
}

fn is_activity(kind: &NodeKind) -> bool {
    matches!(kind, NodeKind::UserTask { .. } | NodeKind::ServiceTask { .. } | NodeKind::ReceiveTask { .. } | NodeKind::SubProcess)
}

/// Structural rules over the resolved graph.
fn check(def: &Definition, problems: &mut Vec<Problem>) {
    let mut scopes: Vec<Option<NodeIx>> = vec![None];
    scopes.extend(def.nodes.iter().enumerate().filter(|(_, n)| n.kind == NodeKind::SubProcess).map(|(i, _)| Some(i)));
    for scope in scopes {
        let starts = def.starts(scope).count();
        let owner = scope.map_or(def.process_id.as_str(), |s| def.nodes[s].id.as_str());
        if starts == 0 || (scope.is_some() && starts > 1) {
            problems.push(problem(
                owner,
                "start_events",
                format!("应有{}个无类型开始事件，实有 {starts} 个", if scope.is_some() { "且仅有一" } else { "至少一" }),
                format!("needs {} none start event; has {starts}", if scope.is_some() { "exactly one" } else { "at least one" }),
            ));
        }
    }
    for n in &def.nodes {
        match &n.kind {
            NodeKind::StartEvent if !n.incoming.is_empty() => {
                problems.push(problem(&n.id, "bad_reference", "开始事件不能有进入的顺序流", "a start event cannot have incoming flows"))
            }
            NodeKind::EndEvent { .. } if !n.outgoing.is_empty() => {
                problems.push(problem(&n.id, "bad_reference", "结束事件不能有离开的顺序流", "an end event cannot have outgoing flows"))
            }
            NodeKind::EndEvent { .. } => {}
            _ if n.outgoing.is_empty() => problems.push(problem(
                &n.id,
                "dead_end",
                "没有离开的顺序流（请连到结束事件）",
                "no outgoing sequence flow (connect it to an end event)",
            )),
            _ => {}
        }
        let conditioned: Vec<&Flow> = n.outgoing.iter().map(|&f| &def.flows[f]).collect();
        match &n.kind {
            NodeKind::ExclusiveGateway { default } | NodeKind::InclusiveGateway { default } => {
                if let Some(d) = default {
                    if !conditioned.iter().any(|f| f.id == *d) {
                        problems.push(problem(
                            &n.id,
                            "bad_default",
                            format!("默认流 {d} 不是本网关的离开流"),
                            format!("default flow {d} is not an outgoing flow"),
                        ));
                    }
                } else if conditioned.len() > 1 && conditioned.iter().all(|f| f.condition.is_some()) {
                    problems.push(problem(
                        &n.id,
                        "no_default",
                        "所有离开流都有条件但没有默认流：条件可能全部不成立",
                        "every outgoing flow is conditional and there is no default: all conditions may fail",
                    ));
                }
            }
            _ => {
                for f in conditioned.iter().filter(|f| f.condition.is_some()) {
                    problems.push(problem(
                        &f.id,
                        "conditional_flow",
                        "只有排他网关和包容网关的离开流可以带条件",
                        "only flows leaving exclusive or inclusive gateways may carry conditions",
                    ));
                }
            }
        }
        if let NodeKind::BoundaryTimer { attached_to, .. } = &n.kind {
            let host = def.node(attached_to);
            if !host.is_some_and(|h| is_activity(&def.nodes[h].kind) && def.nodes[h].scope == n.scope) {
                problems.push(problem(
                    &n.id,
                    "bad_boundary",
                    format!("边界事件附着的“{attached_to}”不是同一层级的任务或子流程"),
                    format!("{attached_to:?} is not a task or subprocess in the same scope"),
                ));
            }
            if !n.incoming.is_empty() {
                problems.push(problem(&n.id, "bad_boundary", "边界事件不能有进入的顺序流", "a boundary event cannot have incoming flows"));
            }
        }
        if let NodeKind::UserTask { multi: Some(m), .. } = &n.kind {
            let cardinality_ok = m
                .cardinality
                .as_deref()
                .is_none_or(|c| c.parse::<u32>().is_ok_and(|k| k > 0 && k <= crate::engine::MAX_INSTANCES) || is_name(c));
            if (m.cardinality.is_none() && m.collection.is_none()) || !cardinality_ok {
                problems.push(problem(
                    &n.id,
                    "bad_multi_instance",
                    "多实例任务须给出实例数（1至1000的整数或数据名）或集合（collection）",
                    "a multi-instance task needs a cardinality (1 to 1000, or a data name) or a collection",
                ));
            }
        }
    }
    for f in def.flows.iter() {
        if let Some(Err(e)) = f.condition.as_deref().map(crate::expr::parse) {
            problems.push(problem(
                &f.id,
                "bad_condition",
                format!("条件表达式有误（第 {} 个字符）：{}", e.position + 1, e.message),
                format!("condition does not parse at {}: {}", e.position, e.message),
            ));
        }
    }
    // Reachability from the process's start events, entering subprocesses and
    // the boundary events of every reached activity.
    let mut reached = vec![false; def.nodes.len()];
    let mut queue: VecDeque<NodeIx> = def.starts(None).collect();
    while let Some(ix) = queue.pop_front() {
        if std::mem::replace(&mut reached[ix], true) {
            continue;
        }
        queue.extend(def.nodes[ix].outgoing.iter().map(|&f| def.flows[f].target));
        if def.nodes[ix].kind == NodeKind::SubProcess {
            queue.extend(def.starts(Some(ix)));
        }
        queue.extend(def.boundaries(ix));
    }
    for (ix, n) in def.nodes.iter().enumerate() {
        if !reached[ix] {
            problems.push(problem(&n.id, "unreachable", "从开始事件无法到达该元素", "not reachable from a start event"));
        }
    }
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_') && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '.')
}

/// A comma-separated attribute (`candidateGroups`, `agencies`) as its items.
fn list_attr(e: &Element, name: &str) -> Vec<String> {
    e.attr(name).map(|g| g.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()).unwrap_or_default()
}
