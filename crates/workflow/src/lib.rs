//! The workflow engine's model side: a BPMN 2.0 subset as bpmn.io and Camunda
//! Modeler write it, parsed and validated for deployment. The engine (a pure
//! core over persisted instances) builds on `Definition`.
//!
//! Supported: none start events; end events (incl. terminate); user tasks
//! (candidate groups, parallel and sequential multi-instance); service tasks,
//! run by the node's worker (`BUILTIN_HANDLERS`) or answered from outside
//! (external tasks); receive tasks and message catch events; timer
//! catch and boundary timers (ISO 8601 durations, natural time or working
//! days); exclusive, inclusive and parallel gateways with default flows;
//! embedded subprocesses.

pub mod deploy;
pub mod duration;
pub mod engine;
pub mod expr;
pub mod model;
pub mod xml;

pub use deploy::{DeployError, Problem, deploy};
pub use model::{BUILTIN_HANDLERS, Definition, Flow, Node, NodeKind, is_external};
