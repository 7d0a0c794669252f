//! Parity with SpiffWorkflow, the Python reference engine: each file and input
//! in `tests/parity/cases.json` runs in both (`tests/peers/spiff_simulate.py`
//! and our `simulate`) and must complete the same activities, in the same
//! order wherever the model's sequence flows order them. A case may `hold`
//! tasks open so that their boundary timers fire first (both runners complete
//! held tasks last).
//!
//! One normalisation: SpiffWorkflow lists each multi-instance child and then
//! the task itself; we list the task once, when it completes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;
use yiwang_workflow::engine::{Env, Status, simulate};
use yiwang_workflow::model::NodeKind;
use yiwang_workflow::{Definition, deploy};

struct NoWorkingDays;

impl Env for NoWorkingDays {
    fn add_working_days(&self, _: jiff::Timestamp, _: u32) -> Result<jiff::Timestamp, String> {
        Err("the parity corpus uses natural time only".into())
    }
}

fn dir() -> String {
    format!("{}/tests/parity", env!("CARGO_MANIFEST_DIR"))
}

fn spiff(file: &str, process: &str, data: &Value, decisions: &Value, hold: &[String]) -> Vec<String> {
    let script = format!("{}/../../tests/peers/spiff_simulate.py", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("python3")
        .args([&script, &format!("{}/{file}", dir()), process, &data.to_string(), &decisions.to_string(), &hold.join(",")])
        .output()
        .expect("python3 with SpiffWorkflow (tests/requirements.txt)");
    assert!(out.status.success(), "SpiffWorkflow failed on {file}: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["completed"], true, "SpiffWorkflow did not complete {file}: {v}");
    v["trace"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()).collect()
}

/// Keep only the last entry of each multi-instance task.
fn normalise(def: &Definition, trace: Vec<String>) -> Vec<String> {
    let multi = |id: &str| def.node(id).is_some_and(|ix| matches!(def.nodes[ix].kind, NodeKind::UserTask { multi: Some(_), .. }));
    let mut out = Vec::new();
    for (i, t) in trace.iter().enumerate() {
        if multi(t) && trace[i + 1..].contains(t) {
            continue;
        }
        out.push(t.clone());
    }
    out
}

fn counts(trace: &[String]) -> BTreeMap<&str, usize> {
    let mut m = BTreeMap::new();
    for t in trace {
        *m.entry(t.as_str()).or_default() += 1;
    }
    m
}

#[test]
fn the_corpus_runs_the_same_in_spiffworkflow_and_yiwang() {
    let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(format!("{}/cases.json", dir())).unwrap()).unwrap();
    assert!(!cases.is_empty());
    // Every supported element appears somewhere in the corpus, in at least 15 files.
    let files: std::collections::BTreeSet<&str> = cases.iter().map(|c| c["file"].as_str().unwrap()).collect();
    assert!(files.len() >= 15, "only {} files", files.len());
    let mut kinds = std::collections::BTreeSet::new();
    for file in &files {
        let def = deploy(&std::fs::read_to_string(format!("{}/{file}", dir())).unwrap(), &|_| true).unwrap();
        for n in &def.nodes {
            kinds.insert(match &n.kind {
                NodeKind::EndEvent { terminate: true } => "terminate end".to_string(),
                NodeKind::UserTask { multi: Some(m), .. } => {
                    format!("multi-instance ({})", if m.sequential { "sequential" } else { "parallel" })
                }
                NodeKind::BoundaryTimer { interrupting, .. } => format!("boundary timer (interrupting {interrupting})"),
                k => serde_json::to_value(k).unwrap()["type"].as_str().unwrap().to_string(),
            });
        }
    }
    let expected = [
        "start_event",
        "end_event",
        "terminate end",
        "user_task",
        "multi-instance (parallel)",
        "multi-instance (sequential)",
        "service_task",
        "receive_task",
        "message_catch",
        "timer_catch",
        "exclusive_gateway",
        "inclusive_gateway",
        "parallel_gateway",
        "sub_process",
        "boundary timer (interrupting true)",
        "boundary timer (interrupting false)",
    ];
    for k in expected {
        assert!(kinds.contains(k), "the corpus has no {k}: {kinds:?}");
    }
    for case in &cases {
        let file = case["file"].as_str().unwrap();
        let label = format!("{file} with {}", case["data"]);
        let def = deploy(&std::fs::read_to_string(format!("{}/{file}", dir())).unwrap(), &|_| true).unwrap();
        let hold: Vec<String> = serde_json::from_value(case.get("hold").cloned().unwrap_or(Value::Array(vec![]))).unwrap();
        let theirs = normalise(&def, spiff(file, case["process"].as_str().unwrap(), &case["data"], &case["decisions"], &hold));
        let decisions = case["decisions"].as_object().cloned().unwrap_or_default();
        let ours = simulate(&def, case["data"].clone(), &decisions, &hold, jiff::Timestamp::UNIX_EPOCH, &NoWorkingDays).unwrap();
        // SpiffWorkflow reports a terminated workflow as completed too.
        assert!(matches!(ours.status, Status::Completed | Status::Terminated), "{label}: {:?}", ours.status);
        assert_eq!(counts(&ours.trace), counts(&theirs), "{label}: ours {:?} / SpiffWorkflow {theirs:?}", ours.trace);
        // Where a flow orders two activities that each ran once, both engines agree.
        let pos = |trace: &[String], id: &str| match trace.iter().filter(|t| *t == id).count() {
            1 => trace.iter().position(|t| t == id),
            _ => None,
        };
        for f in &def.flows {
            let (s, t) = (&def.nodes[f.source].id, &def.nodes[f.target].id);
            if let (Some(a), Some(b), Some(c), Some(d)) = (pos(&ours.trace, s), pos(&ours.trace, t), pos(&theirs, s), pos(&theirs, t)) {
                assert!(a < b && c < d, "{label}: {s} before {t}: ours {:?} / SpiffWorkflow {theirs:?}", ours.trace);
            }
        }
    }
}
