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

use yiwang_testkit::{TestBackend, TestDb};

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
    assert!(stdout.contains("federation: all 4 steps passed"), "{stdout}");

    // Both sides logged 张三's data being read for the case, and both logs verify.
    let case_no = stdout.split("(case ").nth(1).and_then(|t| t.split(')').next()).unwrap().to_string();
    for key in ["jiangsu", "zhejiang"] {
        let out = yiwang(&rig.config(key), &["exchange-log", "verify"]);
        assert!(out.status.success(), "{key}: {}", String::from_utf8_lossy(&out.stderr));
    }
    assert!(case_no.starts_with("3201"), "a 南京 case number: {case_no}");
    drop(rig);
    pg.cleanup().await;
}

/// A citizen ID from its first 17 digits (as the demo makes 钱一's).
fn yiwang_identity_id(body17: &str) -> String {
    let check = yiwang_codes::citizen_check_char(body17).unwrap();
    format!("{body17}{check}")
}
