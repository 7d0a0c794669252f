//! `yiwang license verify` on a node's database: a sealed license file and a
//! QR token verify; a tampered file and a garbled token fail; a revoked
//! license is reported revoked by both (exit 1).
#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use serde_json::{Value, json};
use yiwang_crypto::seal::MasterKey;
use yiwang_store::{LicenseStatus, NewLicense, Store, StoreOptions};
use yiwang_testkit::licenses::{new_license, restaurant, seed_issuer};

fn verify(dir: &std::path::Path, what: &str) -> (Option<i32>, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_yiwang"))
        .arg("--data-dir")
        .arg(dir)
        .args(["license", "verify", what])
        .env_remove("YIWANG_CONFIG")
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), v)
}

#[tokio::test]
async fn verify_reports_seal_and_status() {
    let dir = tempfile::tempdir().unwrap();
    let now = jiff::Timestamp::now();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("yiwang.db").display()), &StoreOptions::default(), now).await.unwrap();
    seed_issuer(&store, now).await;
    let new = NewLicense { valid_until: Some("2099-12-31".parse().unwrap()), ..new_license("JY13301020000001", restaurant()) };
    let master = MasterKey::generate();
    let issued = store.issue_license(&new, &master, "staff:1", now).await.unwrap();
    let file = dir.path().join("license.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&issued.sealed).unwrap()).unwrap();
    // The QR token, made as the PDF will make it.
    let token = store.license_token(&issued.id, &master).await.unwrap();
    let key_id = issued.key_id.clone();
    store.close().await;

    let (code, v) = verify(dir.path(), &token);
    assert_eq!((code, v["status"].as_str(), v["license_id"].as_str()), (Some(0), Some("valid"), Some(issued.id.as_str())), "{v:#}");
    // What scanning the printed QR code gives: the verification URL.
    let (code, v) = verify(dir.path(), &format!("http://127.0.0.1:8080/licenses/verify?token={token}"));
    assert_eq!((code, v["status"].as_str()), (Some(0), Some("valid")), "{v:#}");

    let (code, v) = verify(dir.path(), file.to_str().unwrap());
    assert_eq!((code, v["status"].as_str(), v["seal"]["valid"].as_bool()), (Some(0), Some("valid"), Some(true)), "{v:#}");
    assert_eq!(v["seal"]["key_id"], key_id.as_str());

    let mut tampered = issued.sealed.clone();
    tampered.record["holder"]["name"] = json!("李四餐饮店");
    let bad = dir.path().join("tampered.json");
    std::fs::write(&bad, serde_json::to_vec(&tampered).unwrap()).unwrap();
    let (code, v) = verify(dir.path(), bad.to_str().unwrap());
    assert_eq!((code, v["error"]["code"].as_str()), (Some(1), Some("license.bad_seal")), "{v:#}");

    let (code, v) = verify(dir.path(), "YL1.garbage");
    assert_eq!((code, v["error"]["code"].as_str()), (Some(1), Some("license.bad_token")), "{v:#}");

    let store = Store::open(&format!("sqlite://{}", dir.path().join("yiwang.db").display()), &StoreOptions::default(), now).await.unwrap();
    store.set_license_status(&issued.id, LicenseStatus::Revoked, "依法吊销", "staff:1", now).await.unwrap();
    store.close().await;
    let (code, v) = verify(dir.path(), file.to_str().unwrap());
    assert_eq!((code, v["status"].as_str(), v["status_reason"].as_str()), (Some(1), Some("revoked"), Some("依法吊销")), "{v:#}");
    let (code, v) = verify(dir.path(), &token);
    assert_eq!((code, v["status"].as_str(), v["seal"]["valid"].as_bool()), (Some(1), Some("revoked"), Some(true)), "{v:#}");
}

/// `yiwang license import`: each line is issued on its own; a second line for
/// the same number is its next version; bad lines are reported by number and
/// do not stop the rest (exit 1 when any failed).
#[tokio::test]
async fn import_issues_each_line_and_reports_the_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let now = jiff::Timestamp::now();
    let db = format!("sqlite://{}", dir.path().join("yiwang.db").display());
    let store = Store::open(&db, &StoreOptions::default(), now).await.unwrap();
    seed_issuer(&store, now).await;
    store.close().await;
    let line = |number: &str, scope: &str| {
        let mut v = serde_json::to_value(new_license(number, restaurant())).unwrap();
        v["data"] = json!({ "scope": scope });
        v.to_string()
    };
    let mut unknown_type: Value = serde_json::from_str(&line("JY2", "x")).unwrap();
    unknown_type["type_code"] = json!("nope");
    let text =
        [line("JY1", "热食类"), "{not json".into(), String::new(), line("JY1", "热食类、冷食类"), unknown_type.to_string()].join("\n");
    let file = dir.path().join("export.jsonl");
    std::fs::write(&file, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_yiwang"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["license", "import"])
        .arg(&file)
        .args(["--actor", "import:test"])
        .env_remove("YIWANG_CONFIG")
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("issued 2, failed 2"), "{stdout}");
    assert!(stderr.contains("2\t未签发") && stderr.contains("5\t未签发") && stderr.contains("license.invalid"), "{stderr}");
    let store = Store::open(&db, &StoreOptions::default(), now).await.unwrap();
    let held = store.licenses_of("049", &restaurant().id).await.unwrap();
    let mut versions: Vec<(i64, &str)> = held.iter().map(|l| (l.version, l.status.code())).collect();
    versions.sort_unstable();
    assert_eq!(versions, [(1, "superseded"), (2, "valid")]);
    let current = held.iter().find(|l| l.version == 2).unwrap();
    assert_eq!(current.sealed.record["data"]["scope"], "热食类、冷食类");
    assert_eq!(current.previous_id.as_deref(), held.iter().find(|l| l.version == 1).map(|l| l.id.as_str()));
    store.close().await;
}
