//! The public license verification page and API on both backends: a genuine
//! token shows as valid; after revocation the same token shows as revoked;
//! a tampered sealed file is refused; the seals endpoint publishes the key.
#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::body::Body;
use axum::http::{Request, header};
use serde_json::{Value, json};
use tower::ServiceExt;
use yiwang_crypto::seal::MasterKey;
use yiwang_store::{Holder, LicenseStatus};
use yiwang_testkit::both_backends;
use yiwang_testkit::licenses::{new_license, seed_issuer};
use yiwang_web::{AppState, IdentityRuntime, IdentitySettings};

async fn get(app: &axum::Router, uri: &str) -> (u16, String) {
    let resp = app.clone().oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

both_backends!(the_verification_page_shows_valid_then_revoked, |db| {
    let now = jiff::Timestamp::now();
    seed_issuer(&db.store, now).await;
    let holder = Holder { name: "张三丰".into(), id_type: "111".into(), id: "110105194912310021".into() };
    let new = new_license("JY13301020000001", holder);
    let master = MasterKey::generate();
    let license = db.store.issue_license(&new, &master, "staff:1", now).await.unwrap();
    let token = db.store.license_token(&license.id, &master).await.unwrap();
    let app = yiwang_web::router(AppState::new(db.store.clone(), IdentityRuntime::new(&IdentitySettings::default(), "127.0.0.1:1")));

    let (status, html) = get(&app, &format!("/licenses/verify?token={token}")).await;
    assert_eq!(status, 200);
    // A verification URL pasted into the form works too.
    let pasted = url_encode(&format!("http://127.0.0.1:8080/licenses/verify?token={token}"));
    let (_, pasted_html) = get(&app, &format!("/licenses/verify?token={pasted}")).await;
    assert!(pasted_html.contains("证照真实有效"), "{pasted_html}");
    assert!(html.contains("证照真实有效") && html.contains("食品经营许可证"), "{html}");
    // A person's name and the identifier's number segment are masked on the public page.
    let masked = license.id.replace("JY13301020000001", "JY13**********01");
    assert!(html.contains(&masked) && !html.contains(&license.id), "{html}");
    assert!(html.contains("张*丰") && !html.contains("张三丰") && !html.contains("110105194912310021"), "{html}");

    db.store.set_license_status(&license.id, LicenseStatus::Revoked, "依法吊销", "staff:1", now).await.unwrap();
    let (_, html) = get(&app, &format!("/licenses/verify?token={token}")).await;
    assert!(html.contains("已注销/吊销") && html.contains("依法吊销") && !html.contains("证照真实有效"), "{html}");
    let (_, json) = get(&app, &format!("/api/v1/licenses/verify?token={token}")).await;
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        (v["ok"].as_bool(), v["status"].as_str(), v["seal"]["valid"].as_bool()),
        (Some(false), Some("revoked"), Some(true)),
        "{v:#}"
    );

    // A tampered sealed file: the seal fails, whatever its status.
    let mut tampered = license.sealed.clone();
    tampered.record["valid_until"] = json!("2099-12-31");
    let req = Request::post("/api/v1/licenses/verify")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::to_vec(&tampered).unwrap()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let v: Value = serde_json::from_slice(&axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap()).unwrap();
    assert_eq!((v["ok"].as_bool(), v["error"]["code"].as_str()), (Some(false), Some("license.bad_seal")), "{v:#}");

    // The signer's key is published.
    let (_, json) = get(&app, "/api/v1/seals").await;
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["keys"][0]["key_id"], license.key_id.as_str());
    assert_eq!(v["keys"][0]["public_key"].as_str().map(str::len), Some(130));
});
