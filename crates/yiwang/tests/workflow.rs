//! `yiwang workflow simulate` and `deploy` on the workflow crate's modeler files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use serde_json::Value;

fn bpmn(name: &str) -> String {
    format!("{}/../workflow/tests/bpmn/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn simulate(args: &[&str]) -> (Option<i32>, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_yiwang")).args(["workflow", "simulate"]).args(args).output().unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), v)
}

#[test]
fn simulate_prints_the_trace_and_refuses_a_broken_model() {
    let decisions = r#"{"wait_report": {"approved": true}, "countersign": [{"score": 61}, {"score": 62}, {"score": 63}]}"#;
    let approval = bpmn("approval.bpmn");
    let (code, v) = simulate(&[&approval, "--decisions", decisions, "--at", "2026-09-30T07:00:00Z"]);
    assert_eq!(code, Some(0), "{v:#}");
    let trace: Vec<&str> = v["simulation"]["trace"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    assert_eq!(trace.first(), Some(&"start"));
    assert_eq!(trace.last(), Some(&"granted"));
    assert_eq!(v["simulation"]["status"], "completed");
    assert_eq!(v["simulation"]["data"]["score"], 63);

    let (code, v) = simulate(&[&approval, "--data", r#"{"approved": false, "score": 0}"#]);
    assert_eq!((code, v["simulation"]["status"].as_str()), (Some(0), Some("terminated")), "{v:#}");

    // A condition over data nobody supplied is an incident, named where it happened.
    let (code, v) = simulate(&[&approval]);
    assert_eq!((code, v["code"].as_str()), (Some(1), Some("workflow.incident")));
    assert!(v["error"].as_str().unwrap().contains("approved is not defined"), "{v:#}");

    let (code, v) = simulate(&[&bpmn("broken.bpmn")]);
    assert_eq!(code, Some(1));
    let ids: Vec<&str> = v["problems"].as_array().unwrap().iter().map(|p| p["element"].as_str().unwrap()).collect();
    for id in ["script", "gw", "orphan", "no_handler", "wait", "s7"] {
        assert!(ids.contains(&id), "{id} not named: {v:#}");
    }

    let (code, v) = simulate(&[&approval, "--data", "[1]"]);
    assert_eq!(code, Some(1));
    assert!(v["error"].as_str().unwrap().contains("--data"));
}

fn deploy(dir: &std::path::Path, file: &str) -> (Option<i32>, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_yiwang"))
        .arg("--data-dir")
        .arg(dir)
        .args(["workflow", "deploy", file])
        .env_remove("YIWANG_CONFIG")
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), v)
}

#[test]
fn deploy_versions_a_model_and_refuses_a_broken_one() {
    let dir = tempfile::tempdir().unwrap();
    let approval = bpmn("approval.bpmn");
    let (code, v) = deploy(dir.path(), &approval);
    assert_eq!((code, v["process_id"].as_str(), v["version"].as_i64()), (Some(0), Some("food_license"), Some(1)), "{v:#}");
    let (_, v) = deploy(dir.path(), &approval);
    assert_eq!(v["version"].as_i64(), Some(1), "the same text is the same version");
    let (code, v) = deploy(dir.path(), &bpmn("broken.bpmn"));
    assert_eq!((code, v["code"].as_str()), (Some(1), Some("workflow.invalid")), "{v:#}");
    // call_tax names a topic no worker here runs: an external task, not a problem.
    assert!(!v["problems"].as_array().unwrap().iter().any(|p| p["element"] == "call_tax"), "{v:#}");
    let chain = bpmn("../parity/service_chain.bpmn");
    let (code, v) = deploy(dir.path(), &chain);
    assert_eq!(code, Some(0), "{v:#}");
    let external: Vec<&str> = v["external_tasks"].as_array().unwrap().iter().map(|t| t["handler"].as_str().unwrap()).collect();
    assert_eq!(external, ["license.fetch", "credit.check", "decide.auto", "deliver"], "{v:#}");
}
