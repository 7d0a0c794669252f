//! The portal's case pages: my applications (我的办件), the public progress
//! query (办件查询) and the printable receipt (受理回执).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::AppState;
use crate::auth::Auth;
use crate::cases::{ProgressQuery, checked_progress, not_found, opened_by};
use crate::error::{ApiError, WebError};

struct CaseLine {
    case_no: String,
    item_name: String,
    state_zh: &'static str,
    promised_due: String,
    updated: String,
}

#[derive(askama::Template)]
#[template(path = "cases.html")]
struct CasesPage {
    l: crate::pages::Layout,
    holder_label: String,
    level_notice: Option<String>,
    cases: Vec<CaseLine>,
    /// 一件事 applications: (number, name, state).
    bundles: Vec<(String, String, &'static str)>,
}

/// `GET /me/cases`
pub async fn cases_page(State(state): State<AppState>, auth: Auth) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let (id_type, id, label) = crate::wallet::holder_of(p);
    // Below the personal-data level: only the applications this account opened, and why.
    let level_notice = (!p.assured).then(|| {
        format!(
            "您的实名等级为 L{}：这里只显示您用本账号提交的申请。他人（如窗口）为您的身份证号办理的办件、证照和基础信息，\
             须实名等级达到 L{} 后才能查看：使用与人口库一致的姓名注册即为 L2，到政务服务大厅窗口现场核验即为 L3。",
            p.level.as_u8(),
            state.security().personal_data_level.as_u8()
        )
    });
    let cases = state
        .store()
        .cases_of(id_type, &id, opened_by(p), 200)
        .await?
        .into_iter()
        .map(|c| CaseLine {
            state_zh: c.state.name_zh(),
            promised_due: c.promised_due.unwrap_or_default(),
            updated: crate::pages::china_time(&c.updated_at),
            case_no: c.case_no,
            item_name: c.item_name,
        })
        .collect();
    let bundles = state
        .store()
        .bundle_cases_of(id_type, &id, opened_by(p), 50)
        .await?
        .into_iter()
        .map(|b| (b.state().name_zh(), b))
        .map(|(state_zh, b)| (b.bundle_no, b.bundle_name, state_zh))
        .collect();
    let l = crate::pages::Layout::new(&state, &auth, "我的办件").await;
    Ok(crate::pages::render(StatusCode::OK, &CasesPage { l, holder_label: label, level_notice, cases, bundles }))
}

struct QueryResult {
    case_no: String,
    item_name: String,
    state_zh: &'static str,
    promised_due: Option<String>,
    updated: String,
}

#[derive(askama::Template)]
#[template(path = "case_query.html")]
struct QueryPage {
    l: crate::pages::Layout,
    case_no: String,
    result: Option<QueryResult>,
    error: Option<String>,
}

/// `GET /cases/query[?case_no=…&code=…]`: the public progress query page.
pub async fn query_page(State(state): State<AppState>, auth: Auth, Query(q): Query<ProgressQuery>) -> Result<Response, ApiError> {
    let l = crate::pages::Layout::new(&state, &auth, "办件进度查询").await;
    let case_no = q.case_no.clone().unwrap_or_default();
    let (status, result, error) = match (q.case_no.as_deref(), q.code.as_deref()) {
        (Some(no), Some(code)) if !no.trim().is_empty() => match checked_progress(&state, &auth.client_addr, no, code).await? {
            Some(c) => (
                StatusCode::OK,
                Some(QueryResult {
                    state_zh: c.state.name_zh(),
                    updated: crate::pages::china_time(&c.updated_at),
                    promised_due: c.promised_due,
                    case_no: c.case_no,
                    item_name: c.item_name,
                }),
                None,
            ),
            None => (StatusCode::NOT_FOUND, None, Some("办件编号或查询码不正确。/ No case with this number and code.".to_string())),
        },
        _ => (StatusCode::OK, None, None),
    };
    Ok(crate::pages::render(status, &QueryPage { l, case_no, result, error }))
}

#[derive(Debug, Deserialize)]
pub struct ReceiptQuery {
    pub code: Option<String>,
}

/// `GET /cases/{no}/receipt.pdf?code=…`: the printable 申请回执 (before
/// acceptance) or 受理回执 (after), with the case number and 查询码, for anyone
/// holding both (wrong codes are throttled like the progress query).
pub async fn receipt_pdf(
    State(state): State<AppState>,
    auth: Auth,
    Path(no): Path<String>,
    Query(q): Query<ReceiptQuery>,
) -> Result<Response, ApiError> {
    let code = q.code.unwrap_or_default();
    let c = checked_progress(&state, &auth.client_addr, &no, &code).await?.ok_or_else(not_found)?;
    let accepted = c.case.accepted_on.is_some();
    let mut rows = vec![
        ("办件编号".to_string(), c.case_no.clone()),
        ("事项名称".to_string(), c.item_name.clone()),
        ("申请人".to_string(), yiwang_identity::mask_name(&c.applicant.name)),
        ("当前状态".to_string(), c.state.name_zh().to_string()),
        ("查询码".to_string(), code.trim().to_string()),
        ("申请时间".to_string(), crate::pages::china_time(&c.created_at)),
    ];
    if let Some(on) = c.case.accepted_on {
        rows.push(("受理日期".into(), on.to_string()));
    }
    if let Some(d) = &c.promised_due {
        rows.push(("承诺办结日".into(), d.clone()));
    }
    let agency = match state.store().agency(&c.agency_uscc).await? {
        Some(a) => a.name,
        None => c.agency_uscc.clone(),
    };
    let query_url = format!("{}/cases/query", state.identity().issuer);
    let qr_svg = yiwang_print::qr_svg(&format!("{query_url}?case_no={}", c.case_no)).map_err(|e| ApiError::new(&e))?;
    let doc = yiwang_print::ReceiptDoc {
        title: if accepted { "受理回执" } else { "申请回执" }.into(),
        case_no: c.case_no.clone(),
        rows,
        agency,
        issued_at: crate::pages::china_time(&yiwang_store::ts(jiff::Timestamp::now())),
        query_url,
        qr_svg,
    };
    let printer = state.catalog().printer().clone();
    let pdf = tokio::task::spawn_blocking(move || printer.pdf(yiwang_print::Template::Receipt, &doc))
        .await
        .map_err(|_| ApiError::new(&WebError::Panic))??;
    let disposition = format!("inline; filename=\"receipt-{}.pdf\"", c.case_no);
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "application/pdf".to_string()),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
            (axum::http::header::CACHE_CONTROL, "no-store".to_string()),
        ],
        pdf,
    )
        .into_response())
}
