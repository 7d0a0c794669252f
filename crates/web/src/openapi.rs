//! `GET /api/openapi.json`: an OpenAPI 3.1 document of the node's API, made
//! from the route table itself, so it cannot miss a route or misstate who may
//! call it. Each operation carries its access policy: public (no security),
//! any logged-in caller, or staff with the listed roles (`x-yiwang-roles`), and
//! whether a cookie-authenticated call needs the CSRF header. Request and
//! response bodies are described in the README and the docs for now.

use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};
use yiwang_identity::Access;

use crate::AppState;
use crate::routes::route_specs;

/// The routes a program calls (JSON APIs, OIDC and discovery); pages are not listed.
fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/oidc/") || path.starts_with("/.well-known/")
}

fn operation_id(method: &str, path: &str) -> String {
    let mut id = method.to_ascii_lowercase();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        id.push('_');
        id.extend(part.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }));
    }
    id
}

fn tag(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    match parts.as_slice() {
        ["api", "v1", "me", rest, ..] => format!("me/{}", rest.trim_matches(|c| c == '{' || c == '}')),
        ["api", "v1", first, ..] => first.to_string(),
        [first, ..] => first.trim_start_matches('.').to_string(),
        [] => "root".into(),
    }
}

/// The document for a node whose public base URL is `base`.
pub fn document(base: &str) -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for spec in route_specs().into_iter().filter(|s| is_api(s.path)) {
        let params: Vec<Value> = spec
            .path
            .split('/')
            .filter_map(|p| p.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        let mut op = json!({
            "operationId": operation_id(spec.method, spec.path),
            "tags": [tag(spec.path)],
            "responses": {
                "200": { "description": "成功 / OK" },
                "default": {
                    "description": "错误（问题详情）/ an error, as problem+json",
                    "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } },
                },
            },
        });
        match spec.access {
            Access::Public => op["security"] = json!([]),
            Access::Authenticated => op["security"] = json!([{ "session": [] }, { "bearer": [] }]),
            Access::Staff(roles) => {
                op["security"] = json!([{ "session": [] }, { "bearer": [] }]);
                op["x-yiwang-roles"] = json!(roles.iter().map(|r| r.code()).collect::<Vec<_>>());
            }
        }
        if !params.is_empty() {
            op["parameters"] = json!(params);
        }
        if spec.csrf && spec.method != "GET" {
            op["x-yiwang-csrf"] = json!("With the session cookie, send the X-CSRF-Token header (or the csrf form field).");
        }
        let entry = paths.entry(spec.path.to_string()).or_insert_with(|| json!({}));
        entry[spec.method.to_ascii_lowercase()] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "yiwang 一网 API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "一网通办政务服务平台节点接口。Errors are RFC 9457 problem+json with a stable `code` and Chinese and English messages.",
        },
        "servers": [{ "url": base }],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "session": { "type": "apiKey", "in": "cookie", "name": "yiwang_session" },
                "bearer": { "type": "http", "scheme": "bearer", "description": "An OIDC access token issued by this node." },
            },
            "schemas": {
                "Problem": {
                    "type": "object",
                    "required": ["type", "title", "status", "code", "message_zh", "message_en"],
                    "properties": {
                        "type": { "type": "string" },
                        "title": { "type": "string" },
                        "status": { "type": "integer" },
                        "code": { "type": "string", "description": "Stable, dotted, lower-case, e.g. case.notice_adds_items" },
                        "message_zh": { "type": "string" },
                        "message_en": { "type": "string" },
                        "detail": {},
                    },
                },
            },
        },
    })
}

/// `GET /api/openapi.json`
pub async fn openapi(State(state): State<AppState>) -> Json<Value> {
    Json(document(&state.identity().issuer))
}
