//! The golden path (design.md §3, steps 1–5) in a real browser: a demo node
//! runs on each backend, and `tests/browser/golden_path.mjs` drives Debian's
//! Chromium through its pages with playwright-core — publish, log in, apply
//! with prefill and a 免提交 material, the one-time correction notice and the
//! correction, acceptance at the window, the department's step with a special
//! procedure and a parallel countersign, the decision and the conclusion.
//! Needs node, `npm ci` in tests/browser and Chromium (scripts/test.sh checks).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::Server;
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
    let data = tempfile::tempdir().unwrap();
    let server =
        Server::start(&["--database-url", &db.url, "--data-dir", data.path().to_str().unwrap(), "demo", "--listen", "127.0.0.1:0"]);
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
    assert!(stdout.contains("golden path: all 14 steps passed"), "{stdout}");
    drop(server);
});
