//! Server-rendered pages. The portal proper arrives with the catalog; this is the
//! node's front door.

use axum::extract::State;
use axum::response::Html;

use crate::{ApiError, AppState};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

pub async fn home(State(state): State<AppState>) -> Result<Html<String>, ApiError> {
    let node = state.store().node_info().await?;
    let regions = state.store().node_regions().await?;
    let title = node.as_ref().map_or_else(|| "一网政务服务节点（未初始化）".to_string(), |n| format!("{}政务服务平台", n.name));
    let region_list: String = regions.iter().map(|r| format!("<li>{}（{}）</li>", esc(&r.name), esc(&r.code))).collect();
    Ok(Html(format!(
        r#"<!doctype html>
<html lang="zh-CN">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:system-ui,"Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;line-height:1.6}}</style>
</head>
<body>
<header><h1>{title}</h1><p lang="en">yiwang government service node</p></header>
<main>
<h2>服务区域</h2>
<ul>{region_list}</ul>
<h2>节点状态</h2>
<ul><li><a href="/healthz">健康检查 /healthz</a></li><li><a href="/readyz">就绪检查 /readyz</a></li><li><a href="/metrics">运行指标 /metrics</a></li></ul>
</main>
</body></html>"#,
        title = esc(&title)
    )))
}
