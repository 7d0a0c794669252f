//! `GET /api/openapi.json`: an OpenAPI 3.1 document of the node's API, made
//! from the route table itself, so it cannot miss a route or misstate who may
//! call it. Each operation carries its access policy: public (no security),
//! any logged-in caller, or staff with the listed roles (`x-yiwang-roles`), and
//! whether a cookie-authenticated call needs the CSRF header. Parameters,
//! request bodies and responses come from `api_doc` (every API route has an
//! entry there); errors are problem+json under `default`.

use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};
use yiwang_identity::Access;

use crate::AppState;
use crate::routes::route_specs;

/// The routes a program calls (JSON APIs, OIDC and discovery); pages are not listed.
pub(crate) fn is_api(path: &str) -> bool {
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

fn describe(status: u16) -> &'static str {
    match status {
        200 => "成功 / OK",
        201 => "已创建 / created",
        204 => "已完成，无内容 / done, no content",
        303 => "重定向 / see other (the Location header)",
        400 => "请求无效 / bad request",
        401 => "未认证 / unauthenticated",
        _ => "见说明 / see the summary",
    }
}

/// The document for a node whose public base URL is `base`.
pub fn document(base: &str) -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for spec in route_specs().into_iter().filter(|s| is_api(s.path)) {
        let d = crate::api_doc::doc(spec.method, spec.path);
        let mut params: Vec<Value> = spec
            .path
            .split('/')
            .filter_map(|p| p.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string", "minLength": 1, "maxLength": 200 } }))
            .collect();
        let mut responses: Map<String, Value> = Map::new();
        if let Some(d) = &d {
            for (place, list) in [("query", &d.query), ("header", &d.headers)] {
                for p in list {
                    params.push(
                        json!({ "name": p.name, "in": place, "required": p.required, "schema": p.schema, "description": p.description }),
                    );
                }
            }
            for (status, content_type, schema) in &d.responses {
                let entry = responses.entry(status.to_string()).or_insert_with(|| json!({ "description": describe(*status) }));
                if !content_type.is_empty() {
                    entry["content"][*content_type] = json!({ "schema": schema });
                }
            }
        }
        // Refused by the HTTP server before any route sees the request (no body).
        responses.insert("414".into(), json!({ "description": "地址过长 / URI too long" }));
        responses.insert("431".into(), json!({ "description": "请求头过大 / request headers too large" }));
        responses.insert(
            "default".into(),
            json!({
                "description": "错误（问题详情）/ an error, as problem+json",
                "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } },
            }),
        );
        let mut op = json!({
            "operationId": operation_id(spec.method, spec.path),
            "tags": [tag(spec.path)],
            "responses": responses,
        });
        if let Some(d) = &d {
            op["summary"] = json!(d.summary);
            if let Some((content_type, schema)) = &d.body {
                op["requestBody"] = json!({ "required": true, "content": { *content_type: { "schema": schema } } });
            }
        }
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
