//! Deploying BPMN files as the modelers write them: a valid model with every
//! supported element, and a broken one whose every problem is named by id.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use yiwang_workflow::model::NodeKind;
use yiwang_workflow::{DeployError, deploy};

fn file(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/bpmn/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn handlers(name: &str) -> bool {
    name == "notify"
}

#[test]
fn a_camunda_modeler_file_deploys_with_every_element_read() {
    let def = deploy(&file("approval.bpmn"), &handlers).unwrap();
    assert_eq!((def.process_id.as_str(), def.name.as_str()), ("food_license", "食品经营许可"));
    let kind = |id: &str| &def.nodes[def.node(id).unwrap()].kind;
    assert_eq!(
        kind("accept"),
        &NodeKind::UserTask { candidate_groups: vec!["window_clerk".into()], multi: None, decision: false, agencies: vec![] }
    );
    match kind("accept_overdue") {
        NodeKind::BoundaryTimer { attached_to, interrupting, timer } => {
            assert_eq!(attached_to, "accept");
            assert!(!interrupting);
            assert!(timer.working_days);
            assert_eq!(timer.duration.whole_days(), Some(2));
        }
        other => panic!("{other:?}"),
    }
    match kind("countersign") {
        NodeKind::UserTask { multi: Some(m), .. } => assert_eq!((m.sequential, m.cardinality.as_deref()), (false, Some("3"))),
        other => panic!("{other:?}"),
    }
    assert_eq!(kind("wait_report"), &NodeKind::ReceiveTask { message: "payment_received".into() });
    assert_eq!(kind("refused"), &NodeKind::EndEvent { terminate: true });
    assert_eq!(kind("decide"), &NodeKind::ExclusiveGateway { default: Some("f_no".into()) });
    // Subprocess children are scoped to it; entities in conditions are resolved.
    assert_eq!(def.nodes[def.node("wait_report").unwrap()].scope, def.node("site_check"));
    let yes = def.flows.iter().find(|f| f.id == "f_yes").unwrap();
    assert_eq!(yes.condition.as_deref(), Some("approved == true && score >= 60"));
    assert_eq!(def.nodes[def.node("split").unwrap()].outgoing.len(), 4);
}

#[test]
fn every_problem_of_a_broken_file_is_named_and_nothing_deploys() {
    let err: DeployError = deploy(&file("broken.bpmn"), &handlers).unwrap_err();
    let mut got: Vec<(String, &str)> = err.problems.iter().map(|p| (p.element.clone(), p.reason)).collect();
    got.sort();
    let mut want = vec![
        ("script".to_string(), "unsupported"),
        ("gw".into(), "no_default"),
        ("orphan".into(), "dead_end"),
        ("orphan".into(), "unreachable"),
        ("no_handler".into(), "missing_handler"),
        ("no_handler".into(), "dead_end"),
        ("wait".into(), "bad_timer"),
        ("wait".into(), "dead_end"),
        ("wait".into(), "unreachable"),
        ("s7".into(), "bad_reference"),
    ];
    want.sort();
    assert_eq!(got, want, "{err}");
    // Every problem has both messages.
    assert!(err.problems.iter().all(|p| !p.message_zh.is_empty() && !p.message_en.is_empty()));
    let zh = yiwang_errors::Coded::message_zh(&err);
    assert!(zh.contains("script") && zh.contains("共 10 处问题"), "{zh}");
}

#[test]
fn files_that_are_not_bpmn() {
    let reason = |text: &str| deploy(text, &handlers).unwrap_err().problems[0].reason;
    assert_eq!(reason("<definitions><process"), "xml");
    assert_eq!(reason("<html/>"), "no_process");
    assert_eq!(reason(r#"<definitions><process id="p" isExecutable="false"/></definitions>"#), "no_process");
    let no_start = r#"<definitions><process id="p"><endEvent id="e"/></process></definitions>"#;
    assert_eq!(reason(no_start), "start_events");
    let dup = r#"<definitions><process id="p"><startEvent id="x"/><endEvent id="x"/><sequenceFlow id="f" sourceRef="x" targetRef="x"/></process></definitions>"#;
    assert!(deploy(dup, &handlers).unwrap_err().problems.iter().any(|p| p.reason == "duplicate_id"));
}

#[test]
fn a_condition_that_does_not_parse_is_named_by_its_flow() {
    let text = r#"<definitions><process id="p"><startEvent id="s"/><exclusiveGateway id="g" default="f3"/><endEvent id="e"/>
      <sequenceFlow id="f1" sourceRef="s" targetRef="g"/>
      <sequenceFlow id="f2" sourceRef="g" targetRef="e"><conditionExpression>amount &gt;= </conditionExpression></sequenceFlow>
      <sequenceFlow id="f3" sourceRef="g" targetRef="e"/></process></definitions>"#;
    let err = deploy(text, &handlers).unwrap_err();
    assert_eq!(err.problems.len(), 1, "{err}");
    assert_eq!((err.problems[0].element.as_str(), err.problems[0].reason), ("f2", "bad_condition"));
}

/// 会签 by named agencies: `yiwang:agencies` makes a user task a parallel
/// multi-instance task with one instance per agency; a sequential one, a
/// repeated agency, an own cardinality or a decision task with it is refused.
#[test]
fn a_countersign_task_names_its_agencies() {
    let model = |task: &str| {
        format!(
            r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:yiwang="https://yiwang.example/bpmn">
  <process id="p" isExecutable="true">
    <startEvent id="s" />{task}<endEvent id="e" />
    <sequenceFlow id="f1" sourceRef="s" targetRef="sign" /><sequenceFlow id="f2" sourceRef="sign" targetRef="e" />
  </process>
</definitions>"#
        )
    };
    let def = deploy(&model(r#"<userTask id="sign" name="会签" yiwang:agencies="B1, B2" />"#), &handlers).unwrap();
    match &def.nodes[def.node("sign").unwrap()].kind {
        NodeKind::UserTask { multi: Some(m), agencies, .. } => {
            assert_eq!(agencies, &["B1", "B2"]);
            assert_eq!((m.sequential, m.cardinality.as_deref()), (false, Some("2")));
        }
        other => panic!("{other:?}"),
    }
    for bad in [
        r#"<userTask id="sign" yiwang:agencies="B1"><multiInstanceLoopCharacteristics isSequential="true" /></userTask>"#,
        r#"<userTask id="sign" yiwang:agencies="B1,B1" />"#,
        r#"<userTask id="sign" yiwang:agencies="B1"><multiInstanceLoopCharacteristics><loopCardinality>3</loopCardinality></multiInstanceLoopCharacteristics></userTask>"#,
        r#"<userTask id="sign" yiwang:agencies="B1" yiwang:decision="true" />"#,
    ] {
        let err = deploy(&model(bad), &handlers).unwrap_err();
        assert!(err.problems.iter().any(|p| (p.element.as_str(), p.reason) == ("sign", "bad_countersign")), "{bad}: {err:?}");
    }
}
