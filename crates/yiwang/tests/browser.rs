//! The golden path (design.md §3, steps 1–6) in a real browser: a demo node
//! runs on each backend, and `tests/browser/golden_path.mjs` drives Debian's
//! Chromium through its pages with playwright-core — publish, log in, apply
//! with prefill and a 免提交 material, the one-time correction notice and the
//! correction, acceptance at the window, then the item's BPMN process: 审查, a
//! gateway to 现场核查 with a special procedure, the tax bureau's 会签 as a
//! multi-instance task, the decision and the conclusion, which issues the
//! e-license the applicant finds in the wallet and whose QR code verifies. The
//! node sends its notices through a real SMTP server (aiosmtpd, STARTTLS and
//! AUTH), where the applicant's 受理 and 办结 mails are read back.
//! Needs node, `npm ci` in tests/browser, Chromium and zbarimg (scripts/test.sh checks).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{Server, free_port, make_certificates, start_peer, wait_for};
use yiwang_testkit::both_backends;

fn browser_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser")
}

both_backends!(the_golden_path_in_chromium, |db| {
    let dir = browser_dir();
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "playwright-core is missing: run `npm ci` in tests/browser (scripts/test.sh does)"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(PathBuf::from(&chromium).exists(), "Chromium is missing at {chromium}: apt-get install chromium (or set CHROMIUM)");
    let tmp = tempfile::tempdir().unwrap();
    let mail = tmp.path().join("mail");
    std::fs::create_dir_all(&mail).unwrap();
    make_certificates(tmp.path());
    let smtp_port = free_port();
    let p = |f: &str| tmp.path().join(f).to_str().unwrap().to_string();
    let _smtp = start_peer(
        "smtp_server.py",
        &[&smtp_port.to_string(), &p("smtp.pem"), &p("smtp.key"), "yiwang-node", "mail-pass-2026", mail.to_str().unwrap()],
    );
    let config = tmp.path().join("yiwang.toml");
    std::fs::write(
        &config,
        format!(
            "[messaging.smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\nsecurity = \"starttls\"\nusername = \"yiwang-node\"\n\
             from = \"杭州市政务服务 <noreply@zwfw.example.cn>\"\nca_file = \"{}\"\n",
            p("ca.pem")
        ),
    )
    .unwrap();
    let server = Server::start_with_env(
        &["--config", config.to_str().unwrap(), "--database-url", &db.url, "--data-dir", &p("data"), "demo", "--listen", "127.0.0.1:0"],
        &[("YIWANG_MESSAGING__SMTP__PASSWORD", "mail-pass-2026")],
    );
    let artifacts = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("browser-{}", if db.url.starts_with("postgres") { "pg" } else { "sqlite" }));
    let out = Command::new("node")
        .arg("golden_path.mjs")
        .arg(&server.base)
        .current_dir(&dir)
        .env("CHROMIUM", &chromium)
        .env("ARTIFACTS", &artifacts)
        .output()
        .expect("node (Node.js) must be installed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(out.status.success(), "the golden path failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("golden path: all 15 steps passed"), "{stdout}");
    // The applicant (the enterprise's agent 赵六) was told of 受理 and 办结 by mail.
    let case_no = stdout.split("(case ").nth(1).and_then(|t| t.split(')').next()).expect("the script names its case").to_string();
    let mails = wait_for(&mail, 2, |m| {
        m["rcpt_tos"] == serde_json::json!(["zhaoliu@example.cn"]) && m["body"].as_str().is_some_and(|b| b.contains(&case_no))
    });
    let subject = |word: &str| mails.iter().any(|m| m["subject"].as_str().is_some_and(|s| s.contains(word)));
    assert!(subject("已受理") && subject("已办结"), "{mails:#?}");
    let concluded = mails.iter().find(|m| m["subject"].as_str().is_some_and(|s| s.contains("已办结"))).unwrap();
    assert!(concluded["body"].as_str().unwrap().contains("食品经营许可证"), "the 办结 mail names the license: {concluded:#}");
    drop(server);
});
