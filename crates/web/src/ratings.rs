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
use yiwang_supervision::ratings::{Channel, Content, Loop, LoopAction, LoopEvent, LoopSettings, Rating, Satisfaction, Stage, tally};

use crate::auth::Auth;
use crate::supervision_orders::Scope;
use crate::{ApiError, AppState, WebError};

/// Who reads the ratings and their statistics.
pub const RATING_READERS: &[Role] = &[Role::Supervisor, Role::DepartmentHead, Role::Admin];
/// Who acts on a 差评's loop (the action decides which of them).
pub const LOOP_ACTORS: &[Role] = &[Role::Supervisor, Role::DepartmentHead];

/// `GET /api/v1/ratings/content`: the levels and each level's reasons, online and at the hall.
pub async fn content_api() -> Json<Value> {
    let c = Content::builtin();
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

/// Rate a case: the applicant who filed it online, once per stage, once the
/// case has reached it.
pub async fn rate(store: &Store, p: &Principal, input: &RateInput) -> Result<RatingRow, ApiError> {
    let c = match store.case(&input.case_no).await {
        Ok(c) if c.account_id == p.account_id => c,
        Ok(_) | Err(yiwang_store::StoreError::NotFound(_)) => return Err(WebError::NotFound(format!("办件 {}", input.case_no)).into()),
        Err(e) => return Err(e.into()),
    };
    let reached = match input.stage {
        Stage::Accepted => c.case.accepted_on.is_some(),
        Stage::Concluded => c.case.concluded_on.is_some(),
    };
    let events = store.case_events(&c.case_no).await?;
    let handler = handler_of(&events, input.stage).filter(|_| reached).ok_or_else(|| {
        ApiError::from(yiwang_store::StoreError::Conflict(
            "办件尚未到达该评价环节（受理后可评价受理，办结后可评价办结） / the case has not reached this stage".into(),
        ))
    })?;
    let level = Satisfaction::new(input.level)
        .ok_or_else(|| WebError::BadParam { name: "level", detail: "1 非常满意 … 5 非常不满意".into() })?;
    let content = Content::builtin();
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
    rating.check(&content)?;
    let calendar = store.load_calendar().await?;
    let opened = Loop::open(&rating, &calendar, LoopSettings::default())?;
    let rated = RatedCase { rater_account: &p.account_id, agency_uscc: &c.agency_uscc, item_code: &c.item_code, handler: &handler };
    Ok(store.add_rating(&rating, &rated, opened.as_ref()).await?)
}

/// `POST /api/v1/ratings`: the applicant rates their case.
pub async fn rate_api(State(state): State<AppState>, auth: Auth, Json(input): Json<RateInput>) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let r = rate(state.store(), p, &input).await?;
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

/// `POST /api/v1/ratings/{id}/loop`: one step on a 差评's loop.
pub async fn loop_api(State(state): State<AppState>, auth: Auth, Path(id): Path<String>, body: String) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    let input: LoopInput = crate::error::json_body(&body)?;
    let store = state.store();
    let (r, _, scope) = readable(store, p, &id).await?;
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
    let Some(opened) = r.bad_loop.clone() else {
        return Err(yiwang_store::StoreError::Conflict("只有差评需要整改 / only a 差评 has a loop".into()).into());
    };
    // The kept fold is the loop at `r.version`; the write refuses a newer one.
    let event = LoopEvent { at: jiff::Timestamp::now(), actor: p.account_id.clone(), action: input.action, note: input.note.trim().into() };
    let after = opened.apply(&event)?;
    let notice = matches!(event.action, LoopAction::FeedbackSent).then(|| RaterNotice {
        title: "差评整改反馈".into(),
        body: format!("您对办件 {} 的评价已收到，整改情况：{}", r.rating.case_no, event.note),
    });
    store.write_loop_event(&r, &p.name, &event, &after, notice.as_ref()).await?;
    let (r, events) = store.rating(&id).await?.ok_or_else(|| WebError::NotFound(id.clone()))?;
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
