//! The catalog through the binary: importing 1,000 items (nine invalid, in both
//! dialects) keeps the valid ones and reports each bad row by row and field;
//! exports and the once-only analysis read what was imported.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

use serde_json::{Value, json};
use yiwang_catalog::AgencyRef;
use yiwang_catalog::demo_items::ITEMS;
use yiwang_catalog::samples::{Place, build};

fn yiwang(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_yiwang")).arg("--data-dir").arg(dir).args(args).env_remove("YIWANG_CONFIG").output().unwrap()
}

fn uscc(division: &str, org8: &str) -> String {
    let body = format!("11{division}{org8}{}", yiwang_codes::org_code_check_char(org8).unwrap());
    format!("{body}{}", yiwang_codes::uscc_check_char(&body).unwrap())
}

/// Item `i` as our JSON, with a distinct basic code.
fn item(i: usize) -> Value {
    let (_, spec) = &ITEMS[i % ITEMS.len()];
    let agency = AgencyRef {
        uscc: uscc("330100", &format!("{:08}", 7000 + i % 9)),
        name: format!("测试局{}", i % 9),
        division_code: "330100".into(),
    };
    let place = Place { agency, level: yiwang_codes::UseLevel::Municipal, hall: "市民中心".into(), phone: "0571-12345".into() };
    let mut spec = *spec;
    let basic = format!("33{:010}", i);
    spec.basic_code = Box::leak(basic.into_boxed_str());
    let mut doc = serde_json::to_value(build(&spec, &place, &|k| k.to_string()).unwrap()).unwrap();
    doc["name"] = json!(format!("{}（{i}）", spec.name));
    doc
}

/// The same item with national-exchange field names.
fn national(doc: &Value) -> Value {
    json!({
        "task_code": doc["implementation_code"], "catalog_code": doc["basic_code"], "task_name": doc["name"], "task_type": doc["task_type"],
        "by_law": doc["by_law"], "use_level": "3", "dept_code": doc["agency"]["uscc"], "dept_name": doc["agency"]["name"], "dept_type": "1",
        "accept_condition": doc["accept_conditions"], "anticipate_day": doc["legal_limit"]["amount"].to_string(), "anticipate_type": "1",
        "promise_day": doc["promised_limit"]["amount"], "promise_type": "1", "project_type": doc["project_type"], "limit_scene_num": "0",
        "is_charge": "0", "service_object": "2^6", "handle_type": "1^2", "transact_addr": "市民中心", "transact_time": "工作日", "link_tel": "0571-12345",
        "supervise_tel": "12345", "handle_flow": "受理：窗口受理\n审查：业务审查\n决定：作出决定", "result_name": "许可证", "result_type": "1",
        "material": [
            { "material_name": "申请书", "is_need": "1", "material_format": "3", "page_num": "1" },
            { "material_name": "营业执照", "is_need": "1", "license_type": "LT-BL" }
        ]
    })
}

#[test]
fn importing_1000_items_keeps_the_valid_and_reports_each_invalid_row() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows: Vec<Value> = (0..1000).map(|i| if i % 2 == 0 { item(i) } else { national(&item(i)) }).collect();
    // Row numbers are 1-based: row n is rows[n - 1].
    rows[10]["implementation_code"] = json!("11330100007000009X3330000000010"); // ours: bad check char
    rows[100]["name"] = json!(""); // ours: required
    rows[200]["materials"][0]["name"] = json!(""); // ours: child table field
    rows[301]["is_charge"] = json!("maybe"); // national: bad flag
    rows[401]["promise_day"] = json!("99"); // national: promised > legal
    rows[501]["material"][1]["material_name"] = json!(""); // national: child table field
    rows[601]["service_object"] = json!("1^7"); // national: unknown service object
    rows[700].as_object_mut().unwrap().remove("basic_code"); // ours: missing field
    rows[801].as_object_mut().unwrap().remove("task_name"); // national: missing field
    let file = dir.path().join("catalog.json");
    std::fs::write(&file, serde_json::to_string(&json!({ "items": rows })).unwrap()).unwrap();

    let out = yiwang(dir.path(), &["catalog", "import", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["created"], 991, "{report:#}");
    assert_eq!(report["rejected"], 9);
    let rejected: Vec<(u64, String)> = report["rejected_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["row"].as_u64().unwrap(), r["errors"][0]["field"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        rejected,
        [
            (11, "implementation_code".to_string()),
            (101, "name".into()),
            (201, "materials[0].name".into()),
            (302, "is_charge".into()),
            (402, "promise_day".into()),
            (502, "material[1].material_name".into()),
            (602, "service_object".into()),
            (701, "basic_code".into()),
            (802, "task_name".into()),
        ],
        "{:#}",
        report["rejected_rows"]
    );
    assert_eq!(report["rejected_rows"][0]["errors"][0]["reason"], "invalid_code", "{report:#}");
    assert_eq!(report["rejected_rows"][7]["errors"][0]["reason"], "required", "{report:#}");

    // Importing the same file again changes nothing.
    let again: Value = serde_json::from_slice(&yiwang(dir.path(), &["catalog", "import", file.to_str().unwrap()]).stdout).unwrap();
    assert_eq!((again["created"].as_u64(), again["unchanged"].as_u64()), (Some(0), Some(991)));

    let out = yiwang(dir.path(), &["catalog", "export", "--format", "cpsv-ap"]);
    assert!(out.status.success());
    let ld: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ld["@graph"].as_array().unwrap().len(), 991);
    assert_eq!(ld["@graph"][0]["@type"], "PublicService");
    assert_eq!(ld["@context"]["PublicService"], "cpsv:PublicService");
}

#[test]
fn analyze_flags_a_material_a_license_type_covers() {
    let dir = tempfile::tempdir().unwrap();
    // The demo seeds license types and items, one of which still asks for the ID card.
    let server = common::Server::start(&["--data-dir", dir.path().to_str().unwrap(), "demo", "--listen", "127.0.0.1:0"]);
    server.stop();
    let out = yiwang(dir.path(), &["catalog", "analyze", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let flagged = r["items"].as_array().unwrap().iter().find(|i| i["name"] == "个体工商户设立登记").unwrap();
    let f = &flagged["findings"][0];
    assert_eq!(f["kind"], "covered_by_license");
    assert_eq!(f["material"], "经营者居民身份证复印件");
    assert_eq!(f["name"], "居民身份证");
    assert!(r["totals"]["exempt_rate"].as_f64().unwrap() > 0.3);
    let text = yiwang(dir.path(), &["catalog", "analyze"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("可由电子证照“居民身份证”"));
}

/// The CPSV-AP export is JSON-LD that the PyLD reference processor turns into
/// the EU vocabulary's triples: every service typed, titled in Chinese, with
/// its competent authority and its inputs.
#[test]
fn cpsv_ap_export_reads_as_rdf_in_pyld() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::Server::start(&["--data-dir", dir.path().to_str().unwrap(), "demo", "--listen", "127.0.0.1:0"]);
    server.stop();
    let export = yiwang(dir.path(), &["catalog", "export", "--format", "cpsv-ap", "--base-url", "https://zwfw.example.gov.cn/"]);
    assert!(export.status.success(), "{}", String::from_utf8_lossy(&export.stderr));
    let script = format!("{}/../../tests/peers/cpsv_ap_pyld.py", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 with PyLD (tests/requirements.txt)");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&export.stdout).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "PyLD failed: {}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let services = r["services"].as_u64().unwrap();
    assert!(services >= 30, "{r}");
    assert_eq!(
        (r["titled_zh"].as_u64(), r["with_authority"].as_u64(), r["with_inputs"].as_u64()),
        (Some(services), Some(services), Some(services))
    );
    let ex = &r["examples"]["个体工商户设立登记"];
    assert_eq!(ex["id"], "https://zwfw.example.gov.cn/items/1133010000250003373000104002000", "{r}");
    assert_eq!(ex["identifier"], json!(["1133010000250003373000104002000"]));
    assert_eq!(ex["inputs"], json!(["个体工商户登记（备案）申请书", "经营场所使用证明", "经营者居民身份证复印件"]));
    assert_eq!(ex["outputs"], 1);
}

mod common;
