//! `/api/openapi.json` lists every API route of the route table with its
//! access policy, and openapi-spec-validator accepts it as OpenAPI 3.1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::body::Body;
use axum::http::Request;
use tower::ServiceExt;
use yiwang_identity::Access;
use yiwang_testkit::{TestBackend, TestDb};
use yiwang_web::{AppState, IdentityRuntime, IdentitySettings};

#[tokio::test]
async fn the_openapi_document_covers_every_api_route_and_validates() {
    let db = TestDb::new(TestBackend::Sqlite).await.unwrap();
    let app = yiwang_web::router(AppState::new(db.store.clone(), IdentityRuntime::new(&IdentitySettings::default(), "127.0.0.1:1")));
    let resp = app.oneshot(Request::get("/api/openapi.json").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 22).await.unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();

    let mut api_routes = 0;
    for spec in yiwang_web::routes::route_specs() {
        if !(spec.path.starts_with("/api/") || spec.path.starts_with("/oidc/") || spec.path.starts_with("/.well-known/")) {
            continue;
        }
        api_routes += 1;
        let op = &doc["paths"][spec.path][spec.method.to_ascii_lowercase()];
        assert!(op.is_object(), "{} {} missing", spec.method, spec.path);
        match spec.access {
            Access::Public => assert_eq!(op["security"], serde_json::json!([]), "{}", spec.path),
            Access::Authenticated => assert!(op["x-yiwang-roles"].is_null() && op["security"].as_array().unwrap().len() == 2),
            Access::Staff(roles) => assert_eq!(op["x-yiwang-roles"].as_array().unwrap().len(), roles.len(), "{}", spec.path),
        }
    }
    assert!(api_routes > 50, "{api_routes}");
    let events = &doc["paths"]["/api/v1/cases/{no}/events"]["post"];
    assert_eq!(events["x-yiwang-roles"], serde_json::json!(["window_clerk", "reviewer", "department_head", "supervisor"]));
    assert_eq!(events["parameters"][0]["name"], "no");
    assert!(doc["paths"].get("/me/licenses").is_none(), "pages are not API operations");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, &bytes).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/peers/openapi_validate.py");
    let out = std::process::Command::new("python3").arg(script).arg(&file).output().expect("python3 with openapi-spec-validator");
    assert!(out.status.success(), "openapi-spec-validator: {}", String::from_utf8_lossy(&out.stderr));
    db.cleanup().await;
}
