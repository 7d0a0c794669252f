//! 电子监察 end to end (issue 22): a demo node whose clock is moved forward
//! by libfaketime (the real binary, its wall clock shifted through a file the
//! browser script writes; its monotonic clock left alone). The window accepts a
//! 食品经营许可 case today; `tests/browser/supervision.mjs` then moves the clock
//! to the day before the promised date (提示) and past it (黄牌), and drives
//! the 督办单 from issue to close between the supervisor and the agency's head.
//! The enterprise's agent rates his accepted online case 不满意; the agency's
//! head verifies, rectifies and feeds back (the agent reads it in 消息) and
//! records the 回访; the public page then counts the late case, the order and
//! the rating. axe-core runs on every page. Needs node, `npm ci` in tests/browser,
//! Chromium and libfaketime (scripts/test.sh checks).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::disallowed_methods)]

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{Server, Session};
use serde_json::{Value, json};

const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
const PASSWORD: &str = "Demo-2026";
/// 杭州市市场监督管理局's 食品经营许可 in the demo catalog (promised 5 working days).
const FOOD_LICENSE: &str = "1133010000250003373000104010000";

fn citizen(body17: &str) -> String {
    format!("{body17}{}", yiwang_codes::citizen_check_char(body17).unwrap())
}

#[tokio::test]
async fn a_late_case_is_flagged_and_its_supervision_order_runs_to_close_in_chromium() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser");
    assert!(dir.join("node_modules/axe-core").is_dir(), "axe-core is missing: run `npm ci` in tests/browser (scripts/test.sh does)");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(PathBuf::from(&chromium).exists(), "Chromium is missing at {chromium}: apt-get install chromium (or set CHROMIUM)");
    assert!(PathBuf::from(LIBFAKETIME).exists(), "libfaketime is missing: apt-get install faketime");
    let tmp = tempfile::tempdir().unwrap();
    let offset = tmp.path().join("clock-offset");
    std::fs::write(&offset, "+0d\n").unwrap();
    let p = |f: &str| tmp.path().join(f).to_str().unwrap().to_string();
    let db = format!("sqlite://{}?mode=rwc", p("node.db"));
    let server = Server::start_with_env(
        &["--database-url", &db, "--data-dir", &p("data"), "demo", "--listen", "127.0.0.1:0"],
        &[
            ("LD_PRELOAD", LIBFAKETIME),
            ("FAKETIME_TIMESTAMP_FILE", offset.to_str().unwrap()),
            // Re-read the file each second; timers and timeouts keep real time.
            ("FAKETIME_CACHE_DURATION", "1"),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
        ],
    );
    let base = server.base.clone();

    // 一窗受理, today: the demo enterprise's application for 食品经营许可.
    let clerk = Session::login(&base, PASSWORD, &citizen("33010219800101001")).await;
    let enterprise = format!("91330106MA2H0001{}", yiwang_codes::org_code_check_char("MA2H0001").unwrap());
    let enterprise = format!("{enterprise}{}", yiwang_codes::uscc_check_char(&enterprise).unwrap());
    let open = json!({ "item_code": FOOD_LICENSE, "applicant_id": enterprise, "applicant_name": "杭州一网餐饮有限公司", "reason": "窗口受理申请" });
    let (status, v) = clerk.json("POST", "/api/v1/window/cases", open).await;
    assert_eq!(status, 201, "{v:#}");
    let no = v["case"]["case_no"].as_str().unwrap().to_string();
    let form = json!({ "form": {
        "applicant_name": "杭州一网餐饮有限公司", "contact_name": "赵六", "contact_phone": "13800000004",
        "premises": "杭州市西湖区文三路90号", "business_form": "餐饮服务经营者", "items": ["热食类食品制售"],
    } });
    let (status, v) = clerk.json("PUT", &format!("/api/v1/cases/{no}/form"), form).await;
    assert_eq!(status, 200, "{v:#}");
    for m in ["食品经营许可申请书", "与食品经营相适应的主要设备设施布局、操作流程等文件", "食品安全自查、从业人员健康管理等制度"]
    {
        clerk.upload(&no, m).await;
    }
    let (status, v) = clerk.json("POST", &format!("/api/v1/cases/{no}/submit"), Value::Null).await;
    assert_eq!(status, 200, "{v:#}");
    let v = clerk.event(&no, json!({ "type": "accepted", "promised_days": 0, "legal_days": 0 }), "").await;
    let promised: jiff::civil::Date = v["case"]["promised_due"].as_str().expect("accepted: a promised date").parse().unwrap();

    // An online application by the enterprise's agent 赵六, accepted today: the case he rates.
    let agent = Session::login(&base, PASSWORD, "33010619950404456X").await;
    let r = agent
        .http
        .post(format!("{base}/account/acting"))
        .form(&[("as", enterprise.as_str()), ("csrf", agent.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303, "acting for the enterprise");
    let form = json!({ "item_code": FOOD_LICENSE, "form": {
        "contact_name": "赵六", "contact_phone": "13800000004", "premises": "杭州市上城区解放东路18号",
        "business_form": "餐饮服务经营者", "items": ["热食类食品制售"],
    } });
    let (status, v) = agent.json("POST", "/api/v1/cases", form).await;
    assert_eq!(status, 201, "{v:#}");
    let rated = v["case"]["case_no"].as_str().unwrap().to_string();
    for m in ["食品经营许可申请书", "与食品经营相适应的主要设备设施布局、操作流程等文件"] {
        agent.upload(&rated, m).await;
    }
    let (status, v) = agent
        .json("POST", &format!("/api/v1/cases/{rated}/commitments"), json!({ "material": "食品安全自查、从业人员健康管理等制度" }))
        .await;
    assert_eq!(status, 201, "{v:#}");
    let (status, v) = agent.json("POST", &format!("/api/v1/cases/{rated}/submit"), Value::Null).await;
    assert_eq!(status, 200, "{v:#}");
    clerk.event(&rated, json!({ "type": "accepted", "promised_days": 0, "legal_days": 0 }), "").await;

    // The days the clock moves: to the working day before the promised date, then past it.
    let calendar = yiwang_calendar::Calendar::bundled().unwrap();
    let mut warn = promised.yesterday().unwrap();
    while !calendar.is_workday(warn).value {
        warn = warn.yesterday().unwrap();
    }
    let today = yiwang_calendar::china_today(jiff::Timestamp::now());
    let days = |d: jiff::civil::Date| (d - today).get_days().to_string();
    let late = promised.tomorrow().unwrap();

    let out = Command::new("node")
        .args(["supervision.mjs", &base, &no, &days(warn), &days(late), offset.to_str().unwrap(), &rated])
        .current_dir(&dir)
        .env("CHROMIUM", &chromium)
        .output()
        .expect("node (Node.js) must be installed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(out.status.success(), "the supervision flow failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("supervision: all 15 steps passed, axe on 15 pages"), "{stdout}");
    server.stop();
}
