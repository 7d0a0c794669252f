//! `yiwang federation demo`, run as a user would: four node processes (浙江 on
//! PostgreSQL, the others on SQLite), then 异地可办 in Chromium
//! (`tests/browser/federation.mjs`): a 浙江 citizen signs in at 江苏 through
//! federated login and applies there with his 户籍 and ID card fetched from
//! 浙江 over the exchange. Then faults on the running rig.
//! Needs node, `npm ci` in tests/browser and Chromium (scripts/test.sh checks).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Session;
use yiwang_testkit::{TestBackend, TestDb};

const DEMO_PASSWORD: &str = "Demo-2026";

/// The running rig; SIGTERM on drop, so the demo stops its four nodes.
struct Rig {
    child: Child,
    dir: PathBuf,
    base_port: u16,
}

impl Rig {
    fn url(&self, host: u8, offset: u16) -> String {
        format!("http://127.0.0.{host}:{}", self.base_port + offset)
    }
    fn national(&self) -> String {
        self.url(1, 0)
    }
    fn zhejiang(&self) -> String {
        self.url(2, 1)
    }
    fn jiangsu(&self) -> String {
        self.url(3, 2)
    }
    fn config(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.toml"))
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A base port whose next three are free on 127.0.0.1–4 too.
fn free_base_port() -> u16 {
    loop {
        let base = common::free_port();
        if base > 65_000 {
            continue;
        }
        let free = (0..4u16).all(|i| std::net::TcpListener::bind(format!("127.0.0.{}:{}", i + 1, base + i)).is_ok());
        if free {
            return base;
        }
    }
}

fn start(dir: &Path, postgres: &str) -> Rig {
    let base_port = free_base_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_yiwang"))
        .args(["federation", "demo", "--dir", dir.to_str().unwrap(), "--postgres", postgres, "--base-port", &base_port.to_string()])
        .env_remove("YIWANG_CONFIG")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = String::new();
    loop {
        let line = lines.next().unwrap_or_else(|| panic!("the demo exited before it ran:\n{printed}")).unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if line.contains("数据交换记录") {
            break;
        }
    }
    // Keep draining its output so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Rig { child, dir: dir.to_path_buf(), base_port }
}

fn yiwang(config: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_yiwang")).arg("--config").arg(config).args(args).env_remove("YIWANG_CONFIG").output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_of_one_province_applies_in_another() {
    let browser_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser");
    assert!(browser_dir.join("node_modules/playwright-core").is_dir(), "playwright-core is missing: run `npm ci` in tests/browser");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(PathBuf::from(&chromium).exists(), "Chromium is missing at {chromium}");
    let pg = TestDb::new(TestBackend::Postgres).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let rig = start(&tmp.path().join("rig"), &pg.url);

    // Every node took the registry the national node signed; 浙江 is on PostgreSQL.
    let http = reqwest::Client::new();
    for base in [rig.national(), rig.zhejiang(), rig.jiangsu(), rig.url(4, 3)] {
        let r = http.get(format!("{base}/gx/1/registry")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{base} publishes the registry it holds");
    }
    let zj = std::fs::read_to_string(rig.config("zhejiang")).unwrap();
    assert!(zj.contains("database_url = \"postgres://"), "{zj}");
    // 江苏 holds the two grants 浙江 approved.
    let out = yiwang(&rig.config("jiangsu"), &["exchange", "apply", "list"]);
    let sent = String::from_utf8_lossy(&out.stdout);
    assert_eq!(sent.lines().filter(|l| l.contains("\"approved\"")).count(), 2, "{sent}");

    // 目录清单 came down: 杭州 holds the national basic catalog by way of 浙江. One of 浙江's
    // items departs from it, and the analysis flags it for its editor: 宁波's 食品经营许可
    // cites only the law, where the basic catalog also names the 办法.
    let lines = |key: &str, args: &[&str]| {
        let out = yiwang(&rig.config(key), args);
        assert!(out.status.success(), "{key} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).lines().count()
    };
    let national_entries = lines("national", &["catalog", "basic", "list"]);
    assert!(national_entries > 20, "{national_entries}");
    assert_eq!(lines("hangzhou", &["catalog", "basic", "list", "--upstream"]), national_entries);
    assert_eq!(lines("jiangsu", &["catalog", "basic", "list", "--upstream"]), national_entries);
    let out = yiwang(&rig.config("zhejiang"), &["catalog", "analyze", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let basic: Vec<(String, String)> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|i| {
            let agency = i["agency_name"].as_str().unwrap().to_string();
            i["findings"].as_array().unwrap().iter().map(move |f| (agency.clone(), f.clone()))
        })
        .filter(|(_, f)| f["kind"].as_str().is_some_and(|k| k.contains("basic")))
        .map(|(agency, f)| (agency, f["material"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(basic, [("宁波市市场监督管理局".to_string(), "设定依据".to_string())]);

    let clerk = yiwang_identity_id("32010219800101001");
    let artifacts = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-federation");
    let out = Command::new("node")
        .arg("federation.mjs")
        .arg(rig.jiangsu())
        .arg(rig.zhejiang())
        .current_dir(&browser_dir)
        .env("CHROMIUM", &chromium)
        .env("ARTIFACTS", &artifacts)
        .env("JIANGSU_CLERK", &clerk)
        .output()
        .expect("node (Node.js) must be installed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(out.status.success(), "异地可办 failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("federation: all 5 steps passed"), "{stdout}");
    // The 居民身份证 浙江 sealed verifies on 江苏's command line too, by 浙江's node.
    let card = artifacts.join("zhang-id-card.json");
    let out = yiwang(&rig.config("jiangsu"), &["license", "verify", card.to_str().unwrap()]);
    let verdict: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert!(out.status.success(), "{verdict:#} {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(verdict["verified_by"], ZHEJIANG, "{verdict:#}");

    let case_no = stdout.split("(case ").nth(1).and_then(|t| t.split(')').next()).unwrap().to_string();
    let nanjing_psb = "11320100002600026X";
    assert!(case_no.starts_with(nanjing_psb), "a case of 南京市公安局: {case_no}");

    replay_and_tamper(&rig).await;
    let (national, jiangsu) = national_down_and_a_sender_killed(&rig, &case_no).await;
    let _running = a_key_rotates(&rig, national, jiangsu).await;

    // Both logs verify after all of it, entry by entry.
    for key in ["national", "jiangsu", "zhejiang"] {
        let out = yiwang(&rig.config(key), &["exchange-log", "verify"]);
        assert!(out.status.success(), "{key}: {}", String::from_utf8_lossy(&out.stderr));
    }
    drop(rig);
    pg.cleanup().await;
}

const JIANGSU: &str = "CN-TEST/NODE/320000";
const ZHEJIANG: &str = "CN-TEST/NODE/330000";
const NANJING_PSB: &str = "CN-TEST/GOV/11320100002600026X";
const ZJ_GOV: &str = "CN-TEST/GOV/11330000002500017C";
const ZHANG: &str = "33010619900101123X";

/// The log's entries of a node, as `exchange-log list` prints them.
fn log_of(rig: &Rig, key: &str) -> Vec<serde_json::Value> {
    let out = yiwang(&rig.config(key), &["exchange-log", "list", "--limit", "100000"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// 江苏 asks 浙江's metaservice (`exchange call`); the request as 江苏 logged it.
fn probe_zhejiang(rig: &Rig) -> serde_json::Value {
    let service = format!("{ZJ_GOV}/meta/list/v1");
    let out = yiwang(&rig.config("jiangsu"), &["exchange", "call", "--from", NANJING_PSB, "--to", ZHEJIANG, "--service", &service]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    log_of(rig, "jiangsu")
        .into_iter()
        .rev()
        .find(|e| e["direction"] == "out" && e["header"].as_str().is_some_and(|h| h.contains("/meta/list/v1")))
        .expect("the call is in 江苏's log")
}

/// A request 江苏 sent and logged, posted to 浙江 again byte for byte: 浙江
/// answers with the reply it kept and acts once; the same header with one
/// character changed is refused on its signature, and nothing is logged.
async fn replay_and_tamper(rig: &Rig) {
    let sent = probe_zhejiang(rig);
    let msg_id = sent["msg_id"].as_str().unwrap().to_string();
    let header = sent["header"].as_str().unwrap().to_string();
    let line = sent["signature"].as_str().unwrap().to_string();
    use base64::Engine;
    let envelope = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(header.as_bytes());
    let post = |envelope: String| {
        let line = line.clone();
        async move {
            reqwest::Client::new()
                .post(format!("{}/gx/1/exchange", rig.zhejiang()))
                .header("gx-envelope", envelope)
                .header("gx-signature", line)
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap()
        }
    };
    let inbound = |key: &str| log_of(rig, key).iter().filter(|e| e["direction"] == "in" && e["msg_id"] == msg_id.as_str()).count();
    assert_eq!(inbound("zhejiang"), 1);
    let replayed = post(envelope.clone()).await;
    assert_eq!(replayed.status(), 200);
    assert!(replayed.headers().contains_key("gx-replayed"), "the kept reply, marked as such");
    assert_eq!(inbound("zhejiang"), 1, "a replay is not logged or acted on again");
    let tampered = header.replacen("meta/list", "meta/lisT", 1);
    assert_ne!(tampered, header);
    let before = log_of(rig, "zhejiang").len();
    let refused = post(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tampered.as_bytes())).await;
    let status = refused.status().as_u16();
    let v: serde_json::Value = refused.json().await.unwrap();
    assert!((400..500).contains(&status), "{status} {v}");
    assert_eq!(v["code"], "gx.bad_signature", "{v}");
    assert_eq!(log_of(rig, "zhejiang").len(), before, "nothing of a forged message is logged");
}

/// A node process started by the test, killed on drop.
struct Restarted(Child);

impl Drop for Restarted {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn kill_node(rig: &Rig, key: &str) {
    let pid = std::fs::read_to_string(rig.dir.join(format!("{key}.pid"))).unwrap();
    assert!(Command::new("kill").args(["-KILL", pid.trim()]).status().unwrap().success());
}

async fn restart_node(rig: &Rig, key: &str, base: &str) -> Restarted {
    let log = std::fs::OpenOptions::new().append(true).create(true).open(rig.dir.join(format!("{key}.log"))).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_yiwang"))
        .arg("--config")
        .arg(rig.config(key))
        .arg("serve")
        .env_remove("YIWANG_CONFIG")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let restarted = Restarted(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    while reqwest::get(format!("{base}/healthz")).await.map(|r| r.status().as_u16()).unwrap_or(0) != 200 {
        assert!(Instant::now() < deadline, "{key} did not come back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    restarted
}

async fn sqlite(dir: &Path) -> sqlx::SqlitePool {
    sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", dir.join("yiwang.db").display())).await.unwrap()
}

/// The national node is killed. 江苏's window takes three more applications
/// meanwhile: each fetches 张三's data from 浙江 (traffic between provinces
/// goes on while the registry in hand is valid), and their 汇聚 records wait
/// in 江苏's outbox. 江苏 is killed too with records unsent, then both come
/// back: the national node holds every record of every 江苏 case exactly once.
async fn national_down_and_a_sender_killed(rig: &Rig, first_case: &str) -> (Restarted, Restarted) {
    let item = std::fs::read_to_string(rig.dir.join("cross-province-item")).unwrap();
    kill_node(rig, "national");
    let clerk = Session::login(&rig.jiangsu(), DEMO_PASSWORD, &yiwang_identity_id("32010219800101001")).await;
    let mut cases = vec![first_case.to_string()];
    for _ in 0..3 {
        let open =
            serde_json::json!({ "item_code": item, "applicant_id": ZHANG, "applicant_name": "张三", "reason": "窗口受理跨省通办申请" });
        let (status, v) = clerk.json("POST", "/api/v1/window/cases", open).await;
        assert_eq!(status, 201, "{v:#}");
        let no = v["case"]["case_no"].as_str().unwrap().to_string();
        let shared = v["case"]["shared"].as_array().cloned().unwrap_or_default();
        assert_eq!(shared.len(), 2, "户籍证明 and 居民身份证 came from 浙江 with the national node down: {v:#}");
        assert!(shared.iter().all(|s| s["node"] == ZHEJIANG && s.get("unavailable").is_none()), "{shared:#?}");
        let form = serde_json::json!({ "form": { "applicant_name": "张三", "contact_name": "张三", "contact_phone": "13800000001" } });
        let (status, v) = clerk.json("PUT", &format!("/api/v1/cases/{no}/form"), form).await;
        assert_eq!(status, 200, "{v:#}");
        clerk.upload(&no, "户口迁移申请表").await;
        let (status, v) = clerk.json("POST", &format!("/api/v1/cases/{no}/submit"), serde_json::Value::Null).await;
        assert_eq!(status, 200, "{v:#}");
        let accept = serde_json::json!({ "event": { "type": "accepted", "promised_days": 0, "legal_days": 0 }, "reason": "" });
        let (status, v) = clerk.json("POST", &format!("/api/v1/cases/{no}/events"), accept).await;
        assert_eq!(status, 200, "{v:#}");
        cases.push(no);
    }
    // The records wait at 江苏 (queued or sealed, not delivered) while the national node is down.
    let js = sqlite(&rig.dir.join("jiangsu")).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM exchange_outbox WHERE state = 'pending'").fetch_one(&js).await.unwrap();
        if pending > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "江苏 sealed nothing for the national node");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    js.close().await;
    kill_node(rig, "jiangsu");
    let jiangsu = restart_node(rig, "jiangsu", &rig.jiangsu()).await;
    let national_node = restart_node(rig, "national", &rig.national()).await;
    // Every 江苏 case's 申请 and 受理 reach the national node, once each.
    let national = sqlite(&rig.dir.join("national")).await;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let mut missing = Vec::new();
        for no in &cases {
            for kind in ["case.submitted", "case.accepted"] {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM aggregated_records WHERE source_node = ?1 AND kind = ?2 AND record_id LIKE ?3",
                )
                .bind(JIANGSU)
                .bind(kind)
                .bind(format!("{no}.%"))
                .fetch_one(&national)
                .await
                .unwrap();
                assert!(n <= 1, "{no} {kind} held {n} times");
                if n == 0 {
                    missing.push(format!("{no} {kind}"));
                }
            }
        }
        if missing.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "never reached the national node: {missing:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    national.close().await;
    let js = sqlite(&rig.dir.join("jiangsu")).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let pending: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM exchange_outbox WHERE state <> 'delivered'").fetch_one(&js).await.unwrap();
        if pending == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "江苏's outbox did not drain: {pending} left");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    js.close().await;
    // The national node shows them across regions, to its administrator.
    let admin = Session::login(&rig.national(), DEMO_PASSWORD, &yiwang_identity_id("11010219800101001")).await;
    let (status, v) = admin.json("GET", "/api/v1/exchange/aggregates", serde_json::Value::Null).await;
    assert_eq!(status, 200, "{v}");
    let from_jiangsu: i64 =
        v["counts"].as_array().unwrap().iter().filter(|c| c["source_node"] == JIANGSU).map(|c| c["records"].as_i64().unwrap()).sum();
    assert!(from_jiangsu >= 2 * cases.len() as i64, "{v:#}");
    let page = admin.http.get(format!("{}/console/exchange", rig.national())).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(JIANGSU), "the console's 数据交换 names 江苏 among the sources");
    (national_node, jiangsu)
}

/// The serial of the registry a node holds, as `exchange registry show` prints it.
fn serial_at(rig: &Rig, key: &str) -> u64 {
    let out = yiwang(&rig.config(key), &["exchange", "registry", "show"]);
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    shown["serial"].as_u64().unwrap_or(0)
}

/// 江苏 makes a new signing key. The national operator lists it beside the
/// old one in the registry (serial 2, `exchange registry sign`) and installs
/// it at the national node; 江苏 and 浙江 take it from above when they start.
/// 江苏 then signs with the new key, and 浙江 accepts what it signs.
async fn a_key_rotates(rig: &Rig, national: Restarted, jiangsu: Restarted) -> Vec<Restarted> {
    let out = yiwang(&rig.config("jiangsu"), &["exchange", "key", "create"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (kid, public) = (created["kid"].as_str().unwrap().to_string(), created["public_key"].as_str().unwrap().to_string());
    let mut draft: serde_json::Value = serde_json::from_slice(&std::fs::read(rig.dir.join("registry.json")).unwrap()).unwrap();
    let node = draft["nodes"].as_array_mut().unwrap().iter_mut().find(|n| n["id"] == JIANGSU).unwrap();
    node["keys"].as_array_mut().unwrap().push(serde_json::json!(public));
    std::fs::write(rig.dir.join("draft-2.json"), serde_json::to_vec_pretty(&draft).unwrap()).unwrap();
    let (key, draft, signed) = (rig.dir.join("registry.key"), rig.dir.join("draft-2.json"), rig.dir.join("registry-2.json"));
    let out = yiwang(
        &rig.config("national"),
        &[
            "exchange",
            "registry",
            "sign",
            "--key",
            key.to_str().unwrap(),
            "--in",
            draft.to_str().unwrap(),
            "--out",
            signed.to_str().unwrap(),
            "--serial",
            "2",
            "--soft-hours",
            "24",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    drop(national);
    let out = yiwang(&rig.config("national"), &["exchange", "registry", "install", "--file", signed.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let national = restart_node(rig, "national", &rig.national()).await;
    drop(jiangsu);
    let jiangsu = restart_node(rig, "jiangsu", &rig.jiangsu()).await;
    kill_node(rig, "zhejiang");
    let zhejiang = restart_node(rig, "zhejiang", &rig.zhejiang()).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while serial_at(rig, "jiangsu") != 2 || serial_at(rig, "zhejiang") != 2 {
        assert!(Instant::now() < deadline, "the registry of serial 2 did not reach 江苏 and 浙江");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let sent = probe_zhejiang(rig);
    assert!(sent["signature"].as_str().unwrap().contains(&format!("kid={kid}")), "signed with the new key: {sent}");
    vec![national, jiangsu, zhejiang]
}

/// A citizen ID from its first 17 digits (as the demo makes 钱一's).
fn yiwang_identity_id(body17: &str) -> String {
    let check = yiwang_codes::citizen_check_char(body17).unwrap();
    format!("{body17}{check}")
}
