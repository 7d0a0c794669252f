//! 好差评's routes (issue 22): the content anyone may read, the applicant's
//! rating of their case at 受理 and 办结, the agency's loop on a 差评 (the
//! head acts; a supervisor of the region reviews an appeal), and the
//! statistics. The rules are `yiwang_supervision::ratings`; who reads what is
//! the supervision `Scope`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use yiwang_case::{Envelope, Event};
use yiwang_identity::{Principal, Role};
use yiwang_store::{RatedCase, RaterNotice, RatingRow, Store};
use yiwang_supervision::ratings::{Channel, Loop, LoopAction, LoopEvent, Rating, Satisfaction, Stage, tally};

use crate::auth::Auth;
use crate::supervision_orders::Scope;
use crate::{ApiError, AppState, WebError};

/// Who reads the ratings and their statistics.
pub const RATING_READERS: &[Role] = &[Role::Supervisor, Role::DepartmentHead, Role::Admin];
/// Who acts on a 差评's loop (the action decides which of them).
pub const LOOP_ACTORS: &[Role] = &[Role::Supervisor, Role::DepartmentHead];

/// `GET /api/v1/ratings/content`: the levels and each level's reasons, online and at the hall.
pub async fn content_api(State(state): State<AppState>) -> Json<Value> {
    let c = state.rating_content();
    let levels = |l: &[yiwang_supervision::ratings::LevelContent]| -> Vec<Value> {
        l.iter().map(|l| json!({ "level": l.level.code(), "name": l.level.name_zh(), "reasons": l.reasons })).collect()
    };
    Json(json!({
        "version": c.version,
        "online": levels(&c.online),
        "offline": levels(&c.offline),
        "channels": Channel::ALL.iter().map(|ch| json!({ "code": ch, "name": ch.name_zh() })).collect::<Vec<_>>(),
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateInput {
    pub case_no: String,
    pub stage: Stage,
    pub channel: Channel,
    pub level: u8,
    #[serde(default)]
    pub reasons: Vec<String>,
    #[serde(default)]
    pub comment: String,
}

/// The official whose step a stage rates: who accepted, or who concluded.
fn handler_of(events: &[Envelope], stage: Stage) -> Option<String> {
    events
        .iter()
        .rev()
        .find(|e| match stage {
            Stage::Accepted => matches!(e.event, Event::Accepted { .. }),
            Stage::Concluded => matches!(e.event, Event::Concluded { .. }),
        })
        .map(|e| e.actor.clone())
}

fn rating_json(r: &RatingRow, now: jiff::Timestamp) -> Value {
    let mut v = json!({
        "id": r.id, "case_no": r.rating.case_no, "stage": r.rating.stage, "channel": r.rating.channel,
        "level": r.rating.level.code(), "level_zh": r.rating.level.name_zh(), "reasons": r.rating.reasons,
        "comment": r.rating.comment, "at": r.rating.at, "content_version": r.rating.content_version,
        "agency_uscc": r.agency_uscc, "item_code": r.item_code, "version": r.version,
    });
    if let Some(l) = &r.bad_loop {
        v["loop"] = json!(l);
        v["loop"]["state_zh"] = json!(l.state.name_zh());
        v["loop"]["overdue"] = json!(l.is_overdue(now));
    }
    v
}

/// The phone the application gave for contact, if any.
pub fn contact_phone(c: &yiwang_store::CaseRow) -> Option<String> {
    c.form.get("contact_phone").and_then(Value::as_str).map(str::trim).filter(|p| !p.is_empty()).map(String::from)
}

/// Who gives a rating and how it reached us.
pub struct Rater<'a> {
    /// The rater's account ("" for an applicant without one: a window case).
    pub account: &'a str,
    pub name: &'a str,
    /// Who took it down (a phone rating).
    pub recorded_by: Option<&'a str>,
    /// The invitation it uses (the tablet, an SMS link, the phone).
    pub invitation: Option<&'a str>,
}

/// The applicant's own channels; the hall's, SMS and phone come by invitation.
fn own_channel(c: Channel) -> bool {
    matches!(c, Channel::Pc | Channel::Mobile | Channel::Qr)
}

/// Rate a case: the applicant who filed it online, once per stage, once the
/// case has reached it, on their own channels.
pub async fn rate(state: &AppState, p: &Principal, input: &RateInput) -> Result<RatingRow, ApiError> {
    let store = state.store();
    let c = match store.case(&input.case_no).await {
        Ok(c) if c.account_id == p.account_id => c,
        Ok(_) | Err(yiwang_store::StoreError::NotFound(_)) => return Err(WebError::NotFound(format!("办件 {}", input.case_no)).into()),
        Err(e) => return Err(e.into()),
    };
    if !own_channel(input.channel) {
        return Err(WebError::BadParam {
            name: "channel",
            detail: "pc、mobile 或 qr；大厅、短信和电话评价经评价邀请 / pc, mobile or qr".into(),
        }
        .into());
    }
    let rater = Rater { account: &p.account_id, name: &p.name, recorded_by: None, invitation: None };
    keep_rating(state, &c, &rater, input).await
}

/// Check and keep a rating of `c`, with its loop and its 表9 record.
pub async fn keep_rating(state: &AppState, c: &yiwang_store::CaseRow, rater: &Rater<'_>, input: &RateInput) -> Result<RatingRow, ApiError> {
    let (store, settings) = (state.store(), state.rating_loop());
    let reached = input.stage.reached(&c.case);
    let events = store.case_events(&c.case_no).await?;
    let handler = handler_of(&events, input.stage).filter(|_| reached).ok_or_else(|| {
        ApiError::from(yiwang_store::StoreError::Conflict(
            "办件尚未到达该评价环节（受理后可评价受理，办结后可评价办结） / the case has not reached this stage".into(),
        ))
    })?;
    let level = Satisfaction::new(input.level)
        .ok_or_else(|| WebError::BadParam { name: "level", detail: "1 非常满意 … 5 非常不满意".into() })?;
    let content = state.rating_content();
    let rating = Rating {
        case_no: c.case_no.clone(),
        stage: input.stage,
        channel: input.channel,
        level,
        reasons: input.reasons.iter().map(|r| r.trim().to_string()).collect(),
        comment: input.comment.trim().to_string(),
        at: jiff::Timestamp::now(),
        content_version: content.version,
    };
    rating.check(content)?;
    let calendar = store.load_calendar().await?;
    let opened = Loop::open(&rating, &calendar, settings)?;
    let rated = RatedCase {
        rater_account: rater.account,
        agency_uscc: &c.agency_uscc,
        item_code: &c.item_code,
        handler: &handler,
        recorded_by: rater.recorded_by,
    };
    let division = store.agency(&c.agency_uscc).await?.map(|a| a.division_code).unwrap_or_default();
    let count = u32::try_from(store.case_rating_count(&c.case_no).await? + 1).unwrap_or(u32::MAX);
    let ctx = yiwang_supervision::ratings::RatingContext { rater_name: rater.name, count, division: &division };
    let record = yiwang_store::UpwardRecord {
        source_node: String::new(),
        record_id: format!("{}.rating.{}", c.case_no, input.stage.code()),
        kind: yiwang_supervision::ratings::RATING_RECORD.to_string(),
        agency_uscc: c.agency_uscc.clone(),
        occurred_at: rating.at.to_string(),
        data: yiwang_supervision::ratings::rating_record(&rating, &ctx),
    };
    Ok(store.add_rating(&rating, &rated, opened.as_ref(), &record, rater.invitation).await?)
}

/// `POST /api/v1/ratings`: the applicant rates their case.
pub async fn rate_api(State(state): State<AppState>, auth: Auth, Json(input): Json<RateInput>) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let r = rate(&state, p, &input).await?;
    Ok((StatusCode::CREATED, Json(rating_json(&r, jiff::Timestamp::now()))).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatingQuery {
    /// Only 差评.
    pub bad: Option<bool>,
    pub limit: Option<i64>,
}

/// `GET /api/v1/ratings?bad=&limit=`: the ratings of the agencies the caller reads, newest first.
pub async fn list_api(State(state): State<AppState>, auth: Auth, Query(q): Query<RatingQuery>) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(WebError::BadParam { name: "limit", detail: "1–1000".into() }.into());
    }
    let scope = Scope::of(state.store(), p).await?;
    let now = jiff::Timestamp::now();
    let rows = state.store().ratings(scope.readable().as_deref(), q.bad.unwrap_or(false), limit).await?;
    Ok(Json(json!({ "ratings": rows.iter().map(|r| rating_json(r, now)).collect::<Vec<_>>() })))
}

/// A rating the caller reads (staff in scope, or the rater), with its loop's events.
async fn readable(store: &Store, p: &Principal, id: &str) -> Result<(RatingRow, Vec<yiwang_store::StoredLoopEvent>, Scope), ApiError> {
    let scope = Scope::of(store, p).await?;
    match store.rating(id).await? {
        Some((r, events)) if scope.reads(&r.agency_uscc) || r.rater_account == p.account_id => Ok((r, events, scope)),
        _ => Err(WebError::NotFound(format!("评价 {id}")).into()),
    }
}

/// `GET /api/v1/ratings/{id}`: a rating and its loop.
pub async fn show_api(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    let (r, events, _) = readable(state.store(), p, &id).await?;
    let mut v = rating_json(&r, jiff::Timestamp::now());
    v["events"] = json!(events);
    Ok(Json(v))
}

#[derive(Debug, Deserialize)]
pub struct LoopInput {
    #[serde(flatten)]
    pub action: LoopAction,
    #[serde(default)]
    pub note: String,
    /// The rating's version the caller saw.
    pub version: Option<i64>,
}

/// One step on a 差评's loop: the rated agency's head takes the agency's
/// steps, a supervisor of the region reviews an appeal.
pub async fn act_on_loop(state: &AppState, p: &Principal, id: &str, input: LoopInput) -> Result<(), ApiError> {
    let store = state.store();
    let (r, _, scope) = readable(store, p, id).await?;
    let allowed = if input.action.by_supervisor() { scope.supervises(&r.agency_uscc) } else { scope.heads(&r.agency_uscc) };
    if !allowed {
        return Err(crate::error::forbidden(if input.action.by_supervisor() {
            "a supervisor of the agency's region reviews an appeal"
        } else {
            "the rated agency's head handles its 差评"
        }));
    }
    if input.version.is_some_and(|v| v != r.version) {
        return Err(yiwang_store::StoreError::Conflict("评价已更新，请刷新后重试 / the rating changed; reload".into()).into());
    }
    let Some(before) = r.bad_loop.clone() else {
        return Err(yiwang_store::StoreError::Conflict("只有差评需要整改 / only a 差评 has a loop".into()).into());
    };
    // The kept fold is the loop at `r.version`; the write refuses a newer one.
    let event = LoopEvent { at: jiff::Timestamp::now(), actor: p.account_id.clone(), action: input.action, note: input.note.trim().into() };
    let after = before.apply(&event)?;
    // A rater without an account (the hall, SMS, phone) is told by SMS at the case's contact phone.
    let phone = if r.rater_account.is_empty() { contact_phone(&store.case(&r.rating.case_no).await?) } else { None };
    let notice = matches!(event.action, LoopAction::FeedbackSent).then(|| RaterNotice {
        title: "差评整改反馈".into(),
        body: format!("您对办件 {} 的评价已收到，整改情况：{}", r.rating.case_no, event.note),
        phone,
    });
    store.write_loop_event(&r, &p.name, &event, &after, notice.as_ref()).await?;
    Ok(())
}

/// `POST /api/v1/ratings/{id}/loop`: one step on a 差评's loop.
pub async fn loop_api(State(state): State<AppState>, auth: Auth, Path(id): Path<String>, body: String) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    let input: LoopInput = crate::error::json_body(&body)?;
    act_on_loop(&state, p, &id, input).await?;
    let (r, events) = state.store().rating(&id).await?.ok_or_else(|| WebError::NotFound(id.clone()))?;
    let mut v = rating_json(&r, jiff::Timestamp::now());
    v["events"] = json!(events);
    Ok(Json(v))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    /// agency, item, channel or handler
    pub by: Option<String>,
}

/// `GET /api/v1/ratings/stats?by=`: 好评率, 差评整改率 and 回访率 per agency,
/// item, channel or staff member, over the ratings the caller reads.
pub async fn stats_api(State(state): State<AppState>, auth: Auth, Query(q): Query<StatsQuery>) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    let by = q.by.as_deref().unwrap_or("agency");
    if !["agency", "item", "channel", "handler"].contains(&by) {
        return Err(WebError::BadParam { name: "by", detail: "agency, item, channel or handler".into() }.into());
    }
    let scope = Scope::of(state.store(), p).await?;
    let rows = state.store().rating_counts(scope.readable().as_deref(), by).await?;
    let counts = tally(rows);
    let lines: Vec<Value> = counts
        .iter()
        .map(|(key, c)| {
            json!({
                "key": key, "counts": c, "good_rate": c.good_rate(), "rectified_rate": c.rectified_rate(), "revisit_rate": c.revisit_rate(),
            })
        })
        .collect();
    Ok(Json(json!({ "by": by, "lines": lines })))
}

// ---- Pages: the agency's 差评 and their loops ----

struct LoopLine {
    id: String,
    case_no: String,
    agency: String,
    level_zh: &'static str,
    state_zh: &'static str,
    due: String,
    overdue: bool,
    at: String,
}

#[derive(askama::Template)]
#[template(path = "console_ratings.html")]
struct RatingsPage {
    l: crate::pages::Layout,
    lines: Vec<LoopLine>,
}

/// `GET /console/ratings`: the 差评 of the agencies the caller reads, with their loops.
pub async fn console(State(state): State<AppState>, auth: Auth) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let store = state.store();
    let scope = Scope::of(store, p).await?;
    let names: std::collections::BTreeMap<String, String> = store.agencies().await?.into_iter().map(|a| (a.uscc, a.name)).collect();
    let now = jiff::Timestamp::now();
    let lines = store
        .ratings(scope.readable().as_deref(), true, 200)
        .await?
        .into_iter()
        .filter_map(|r| {
            let l = r.bad_loop.as_ref()?;
            Some(LoopLine {
                agency: names.get(&r.agency_uscc).cloned().unwrap_or_else(|| r.agency_uscc.clone()),
                level_zh: r.rating.level.name_zh(),
                state_zh: l.state.name_zh(),
                due: l.due.to_string(),
                overdue: l.is_overdue(now),
                at: crate::pages::china_time(&yiwang_store::ts(r.rating.at)),
                case_no: r.rating.case_no.clone(),
                id: r.id,
            })
        })
        .collect();
    Ok(crate::pages::render(StatusCode::OK, &RatingsPage { l: crate::pages::Layout::new(&state, &auth, "好差评：差评整改").await, lines }))
}

struct HistoryLine {
    at: String,
    who: String,
    what: &'static str,
    note: String,
}

#[derive(askama::Template)]
#[template(path = "console_rating.html")]
struct RatingPage {
    l: crate::pages::Layout,
    id: String,
    case_no: String,
    stage_zh: &'static str,
    level_zh: &'static str,
    reasons: String,
    comment: String,
    state_zh: &'static str,
    due: String,
    overdue: bool,
    version: i64,
    history: Vec<HistoryLine>,
    /// The steps the reader may take now: (action, label).
    actions: Vec<(&'static str, &'static str)>,
    error: Option<String>,
    done: bool,
}

async fn rating_page_with(
    state: &AppState,
    auth: &Auth,
    id: &str,
    status: StatusCode,
    error: Option<String>,
    done: bool,
) -> Result<Response, ApiError> {
    use yiwang_supervision::ratings::LoopState;
    let p = auth.require()?;
    let (r, events, scope) = readable(state.store(), p, id).await?;
    let Some(l) = r.bad_loop.as_ref() else { return Err(WebError::NotFound(format!("差评 {id}")).into()) };
    if !scope.reads(&r.agency_uscc) {
        return Err(WebError::NotFound(format!("差评 {id}")).into());
    }
    let head = scope.heads(&r.agency_uscc);
    let actions: Vec<(&'static str, &'static str)> = match l.state {
        LoopState::Open if head => vec![("verified", "核实并分类处理"), ("appealed", "申诉（误评、恶意差评）")],
        LoopState::Appealed if scope.supervises(&r.agency_uscc) => vec![("appeal_reviewed", "申诉复核")],
        LoopState::Rectifying if head => vec![("rectified", "整改完成")],
        LoopState::ToFeedback if head => vec![("feedback_sent", "反馈评价人")],
        LoopState::ToRevisit if head => vec![("revisited", "记录回访")],
        _ => Vec::new(),
    };
    let page = RatingPage {
        l: crate::pages::Layout::new(state, auth, &format!("差评整改 · 办件 {}", r.rating.case_no)).await,
        id: r.id.clone(),
        case_no: r.rating.case_no.clone(),
        stage_zh: r.rating.stage.name_zh(),
        level_zh: r.rating.level.name_zh(),
        reasons: r.rating.reasons.join("、"),
        comment: r.rating.comment.clone(),
        state_zh: l.state.name_zh(),
        due: l.due.to_string(),
        overdue: l.is_overdue(jiff::Timestamp::now()),
        version: r.version,
        history: events
            .iter()
            .map(|e| HistoryLine {
                at: crate::pages::china_time(&yiwang_store::ts(e.event.at)),
                who: e.actor_name.clone(),
                what: e.event.action.name_zh(),
                note: e.event.note.clone(),
            })
            .collect(),
        actions,
        error,
        done,
    };
    Ok(crate::pages::render(status, &page))
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    pub done: Option<String>,
}

/// `GET /console/ratings/{id}`: a 差评, its loop, and the step the reader may take.
pub async fn rating_page(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response, ApiError> {
    rating_page_with(&state, &auth, &id, StatusCode::OK, None, q.done.is_some()).await
}

#[derive(Debug, Deserialize)]
pub struct LoopForm {
    pub action: String,
    #[serde(default)]
    pub triage: String,
    #[serde(default)]
    pub upheld: String,
    #[serde(default)]
    pub satisfaction: String,
    #[serde(default)]
    pub note: String,
    pub version: Option<i64>,
}

fn loop_input(f: LoopForm) -> Result<LoopInput, ApiError> {
    use yiwang_supervision::ratings::Triage;
    let bad = |name: &'static str, detail: &str| ApiError::from(WebError::BadParam { name, detail: detail.into() });
    let action = match f.action.as_str() {
        "verified" => LoopAction::Verified {
            triage: match f.triage.as_str() {
                "rectify_now" => Triage::RectifyNow,
                "rectify_by" => Triage::RectifyBy,
                "explain" => Triage::Explain,
                _ => return Err(bad("triage", "请选择处理方式")),
            },
        },
        "appealed" => LoopAction::Appealed,
        "appeal_reviewed" => LoopAction::AppealReviewed {
            upheld: match f.upheld.as_str() {
                "yes" => true,
                "no" => false,
                _ => return Err(bad("upheld", "请选择申诉是否成立")),
            },
        },
        "rectified" => LoopAction::Rectified,
        "feedback_sent" => LoopAction::FeedbackSent,
        "revisited" => LoopAction::Revisited {
            satisfaction: f.satisfaction.parse().ok().and_then(Satisfaction::new).ok_or_else(|| bad("satisfaction", "请选择回访满意度"))?,
        },
        _ => return Err(bad("action", "unknown step")),
    };
    Ok(LoopInput { action, note: f.note, version: f.version })
}

/// `POST /console/ratings/{id}/loop`.
pub async fn loop_submit(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<LoopForm>,
) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let outcome = match loop_input(f) {
        Ok(input) => act_on_loop(&state, p, &id, input).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => Ok(crate::auth::see_other(&format!("/console/ratings/{id}?done=1"))),
        Err(e) if e.status() < 500 && e.status() != 404 && e.status() != 403 => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            rating_page_with(&state, &auth, &id, status, Some(e.message_zh().to_string()), false).await
        }
        Err(e) => Err(e),
    }
}
