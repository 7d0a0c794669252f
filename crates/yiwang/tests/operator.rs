//! A fresh node set up the way an operator would (issue 20), with no demo and
//! no code: `yiwang node init`, agencies and staff, a hall, a data resource, a
//! BPMN process (`yiwang workflow deploy`), a license type (its agency's
//! editor, through the API), two items naming the process and the license
//! (`yiwang catalog import`), a 一件事 over them (`yiwang bundle define`), then
//! `yiwang serve` with the node master key in its environment. On it the hall's window takes an application for an
//! enterprise at the counter; the process decides the steps (审查, a gateway
//! to 现场核查, the tax bureau's 会签, 决定); 办结 issues the sealed license.
//! Both backends.
#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{Server, Session};
use serde_json::{Value, json};
use yiwang_testkit::both_backends;

const PASSWORD: &str = "Operator-Set-2026";
/// The node master key (SM4) that wraps the agencies' seal keys, as an operator
/// sets it in the environment.
const MASTER_KEY: &str = "00112233445566778899aabbccddeeff";

/// A USCC in 杭州: `kind` 11 for an agency, 91 for a company; an 8-digit organisation code.
fn code(kind: &str, org8: &str) -> String {
    let body = format!("{kind}330100{org8}{}", yiwang_codes::uscc::org_code_check_char(org8).unwrap());
    format!("{body}{}", yiwang_codes::uscc::uscc_check_char(&body).unwrap())
}

fn uscc(org8: &str) -> String {
    code("11", org8)
}

fn citizen(body17: &str) -> String {
    format!("{body17}{}", yiwang_codes::citizen_check_char(body17).unwrap())
}

struct Node<'a> {
    url: &'a str,
    data: &'a str,
}

impl Node<'_> {
    /// A CLI command against the node's database; its stdout, or a panic with its stderr.
    fn run(&self, args: &[&str], stdin: Option<&str>) -> String {
        let mut child = Command::new(env!("CARGO_BIN_EXE_yiwang"))
            .args(["--database-url", self.url, "--data-dir", self.data])
            .args(args)
            .env_remove("YIWANG_CONFIG")
            .env("YIWANG_SEAL__MASTER_KEY", MASTER_KEY)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.unwrap_or_default().as_bytes()).unwrap();
        drop(input);
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "yiwang {args:?}: {}\n{}", String::from_utf8_lossy(&o.stderr), String::from_utf8_lossy(&o.stdout));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

/// The item documents an operator imports: 食品经营许可 and 企业设立登记 of the
/// market regulator, every material from the applicant; the first names the
/// deployed process and issues the license type from its form.
fn items(samr: &str, license_type: &str, process: (&str, i64)) -> (Value, Vec<String>) {
    use yiwang_catalog::samples::{Place, build};
    let agency =
        yiwang_catalog::AgencyRef { uscc: samr.into(), name: "杭州市市场监督管理局".into(), division_code: "330100".into() };
    let place = Place {
        agency,
        level: yiwang_codes::UseLevel::Municipal,
        hall: "杭州市上城区解放东路18号 市民中心".into(),
        phone: "0571-85252000".into(),
    };
    let mut docs = Vec::new();
    for basic in ["000104010000", "000104001000"] {
        let (_, spec) = yiwang_catalog::demo_items::ITEMS.iter().find(|(k, s)| *k == "hz_samr" && s.basic_code == basic).unwrap();
        let mut doc = build(spec, &place, &|k: &str| k.to_string()).unwrap();
        for m in &mut doc.materials {
            m.source = yiwang_catalog::MaterialSource::Applicant;
        }
        doc.results.iter_mut().for_each(|r| r.license_type = None);
        if basic == "000104010000" {
            doc.workflow = Some(yiwang_catalog::ProcessRef { id: process.0.into(), version: Some(process.1) });
            let r = &mut doc.results[0];
            r.license_type = Some(license_type.into());
            r.license_data = [("business_form", "form.business_form"), ("items", "form.items")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            r.license_valid_years = Some(5);
        }
        docs.push(doc);
    }
    let codes = docs.iter().map(|d| d.implementation_code.clone()).collect();
    (json!({ "items": docs }), codes)
}

both_backends!(an_operator_sets_up_a_fresh_node_that_handles_a_case, |db| {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let node = Node { url: &db.url, data: data.to_str().unwrap() };
    let (center, samr, tax) = (uscc("00250002"), uscc("00250003"), uscc("00250013"));

    // The node, its agencies and their staff.
    node.run(&["node", "init", "--division", "330100", "--tier", "municipal"], None);
    for (u, name) in [(&center, "杭州市政务服务中心"), (&samr, "杭州市市场监督管理局"), (&tax, "国家税务总局杭州市税务局")]
    {
        node.run(&["agency", "add", "--uscc", u, "--name", name, "--division", "330100", "--level", "municipal"], None);
    }
    let staff = [
        ("33010219800101001", "钱一", &center, "window_clerk"),
        ("33010219800101002", "孙二", &samr, "reviewer"),
        ("33010219800101003", "周三", &samr, "department_head"),
        ("33010219800101004", "吴四", &samr, "catalog_editor"),
        ("33010219800101010", "蒋十", &tax, "department_head"),
    ];
    for (body, name, agency, role) in staff {
        let id = citizen(body);
        let args = ["staff", "add", "--citizen-id", &id, "--name", name, "--agency", agency, "--role", role, "--password-stdin"];
        node.run(&args, Some(PASSWORD));
    }
    // The hall, whose comprehensive windows take the market regulator's items; a data resource.
    node.run(
        &["hall", "add", "--id", "hz-smzx", "--name", "市民中心", "--division", "330100", "--agency", &center, "--serves", &samr],
        None,
    );
    node.run(&["resource", "add", "--code", "330100-fr-001", "--name", "法人基础信息", "--provider", &samr], None);
    // The process, as the department modelled it: it names the tax bureau for 会签.
    let bpmn = format!("{}/demo/food_license_hz.bpmn", env!("CARGO_MANIFEST_DIR"));
    assert!(std::fs::read_to_string(&bpmn).unwrap().contains(&tax));
    let deployed: Value = serde_json::from_str(node.run(&["workflow", "deploy", &bpmn], None).trim()).unwrap();
    let process = (deployed["process_id"].as_str().unwrap().to_string(), deployed["version"].as_i64().unwrap());

    let server = Server::start_with_env(
        &["--database-url", &db.url, "--data-dir", node.data, "serve", "--listen", "127.0.0.1:0"],
        &[("YIWANG_SEAL__MASTER_KEY", MASTER_KEY)],
    );
    let base = server.base.clone();
    // The license type, defined by the market regulator's catalog editor.
    let editor = Session::login(&base, PASSWORD, &citizen("33010219800101004")).await;
    let license_type = format!("{samr}001");
    let def = json!({
        "name": "食品经营许可证",
        "data_schema": { "type": "object", "required": ["business_form", "items"], "properties": {
            "business_form": { "type": "string", "title": "主体业态" },
            "items": { "type": "array", "title": "经营项目", "items": { "type": "string" } },
        } },
        "template": { "fields": ["business_form", "items"] },
        "aliases": ["食品经营许可证书", "餐饮服务许可证"],
    });
    // A bad alias is refused and writes nothing; then the type is defined with its aliases.
    let mut bad = def.clone();
    bad["aliases"] = json!(["x".repeat(51)]);
    let (status, v) = editor.json("PUT", &format!("/api/v1/license-types/{license_type}"), bad).await;
    assert_eq!(status, 422, "{v:#}");
    assert!(db.store.license_types().await.unwrap().iter().all(|t| t.code != license_type));
    let (status, v) = editor.json("PUT", &format!("/api/v1/license-types/{license_type}"), def).await;
    assert!((200..300).contains(&status), "{v:#}");
    let registered = db.store.license_types().await.unwrap().into_iter().find(|t| t.code == license_type).unwrap();
    assert_eq!(registered.aliases, ["食品经营许可证书", "餐饮服务许可证"]);
    // The items, imported from the file the operator wrote; then a 一件事 over both.
    let (file, codes) = items(&samr, &license_type, (&process.0, process.1));
    let items_file = dir.path().join("items.json");
    std::fs::write(&items_file, file.to_string()).unwrap();
    let report: Value = serde_json::from_str(&node.run(&["catalog", "import", items_file.to_str().unwrap()], None)).unwrap();
    assert_eq!(report["created"], 2, "{report:#}");
    let bundle = json!({
        "code": "open-eatery", "name": "开办小餐馆", "description": "食品经营许可与小餐饮登记一次办", "division_code": "330100",
        "lead_item": codes[0], "items": codes, "promised_days": 5,
    });
    let bundle_file = dir.path().join("bundle.json");
    std::fs::write(&bundle_file, bundle.to_string()).unwrap();
    node.run(&["bundle", "define", bundle_file.to_str().unwrap()], None);
    for (path, needle) in [("/api/v1/halls", "市民中心"), ("/api/v1/data-resources", "法人基础信息"), ("/api/v1/bundles", "开办小餐馆")]
    {
        let (status, _, body) = server.get(path).await;
        assert!(status == 200 && body.contains(needle), "{path}: {body}");
    }

    // 一窗受理: the hall's clerk takes the application of the enterprise at the counter.
    let clerk = Session::login(&base, PASSWORD, &citizen("33010219800101001")).await;
    let enterprise = code("91", "31000001");
    let open =
        json!({ "item_code": codes[0], "applicant_id": enterprise, "applicant_name": "杭州小馆餐饮有限公司", "reason": "窗口受理申请" });
    let (status, v) = clerk.json("POST", "/api/v1/window/cases", open).await;
    assert_eq!(status, 201, "{v:#}");
    let no = v["case"]["case_no"].as_str().unwrap().to_string();
    let form = json!({ "form": {
        "applicant_name": "杭州小馆餐饮有限公司", "contact_name": "王小二", "contact_phone": "13800138000", "premises": "杭州市上城区解放东路18号",
        "business_form": "餐饮服务经营者", "items": ["热食类食品制售"],
    } });
    let (status, v) = clerk.json("PUT", &format!("/api/v1/cases/{no}/form"), form).await;
    assert_eq!(status, 200, "{v:#}");
    let materials =
        ["食品经营许可申请书", "营业执照", "与食品经营相适应的主要设备设施布局、操作流程等文件", "食品安全自查、从业人员健康管理等制度"];
    for m in materials {
        clerk.upload(&no, m).await;
    }
    let (status, v) = clerk.json("POST", &format!("/api/v1/cases/{no}/submit"), Value::Null).await;
    assert_eq!((status, v["case"]["state"].as_str()), (200, Some("submitted")), "{v:#}");
    let v = clerk.event(&no, json!({ "type": "accepted", "promised_days": 0, "legal_days": 0 }), "").await;
    assert_eq!(v["case"]["process"]["process_id"], process.0.as_str(), "{v:#}");

    // The process decides the steps.
    let reviewer = Session::login(&base, PASSWORD, &citizen("33010219800101002")).await;
    let open = |v: &Value| -> Vec<String> {
        v["case"]["process"]["open"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap().to_string()).collect()
    };
    for step in ["审查", "现场核查"] {
        reviewer.event(&no, json!({ "type": "step_started", "step": step }), "").await;
        let v = reviewer.event(&no, json!({ "type": "step_passed", "step": step }), "符合条件").await;
        assert_ne!(open(&v), [step], "{v:#}");
    }
    reviewer.event(&no, json!({ "type": "step_started", "step": "会签" }), "").await;
    let v = reviewer.event(&no, json!({ "type": "countersign_requested", "step": "会签", "agencies": [] }), "").await;
    assert!(v["case"]["steps"].to_string().contains(&tax), "{v:#}");
    let tax_head = Session::login(&base, PASSWORD, &citizen("33010219800101010")).await;
    let (_, list) = tax_head.json("GET", "/api/v1/workbench/countersigns", Value::Null).await;
    assert!(list.to_string().contains(&no), "{list:#}");
    tax_head.event(&no, json!({ "type": "countersigned", "step": "会签", "agency": tax, "agree": true }), "无欠税记录，同意").await;
    let v = reviewer.event(&no, json!({ "type": "step_passed", "step": "会签" }), "会签意见已收齐").await;
    assert_eq!(open(&v), ["决定"], "{v:#}");
    let head = Session::login(&base, PASSWORD, &citizen("33010219800101003")).await;
    head.event(&no, json!({ "type": "decided", "decision": "approve" }), "符合许可条件").await;
    let v = head.event(&no, json!({ "type": "concluded", "result": "准予许可" }), "").await;
    assert_eq!(v["case"]["state"], "concluded", "{v:#}");

    // 办结 issued the license from the form, sealed, for the enterprise.
    let (_, v) = head.json("GET", &format!("/api/v1/cases/{no}"), Value::Null).await;
    let licenses = v["case"]["licenses"].as_array().unwrap();
    assert_eq!(licenses.len(), 1, "{v:#}");
    assert_eq!(licenses[0]["type_code"], license_type.as_str());
    let stored = db.store.license(licenses[0]["id"].as_str().unwrap()).await.unwrap();
    assert_eq!(stored.holder.id, enterprise);
    assert_eq!(stored.sealed.record["data"]["items"], json!(["热食类食品制售"]));
    let verdict = db
        .store
        .verify_license(yiwang_store::Presented::Sealed(stored.sealed.clone()), yiwang_calendar::china_today(jiff::Timestamp::now()))
        .await
        .unwrap();
    assert!(verdict.ok, "{verdict:?}");
    server.stop();
    node.run(&["audit", "verify"], None);
});
