//! 好差评 beyond the case page (issue 22): the window's tablet, a link sent by
//! SMS, and a rating taken by phone. Staff of the case's agency invite the
//! rating of one case at one stage on one channel; the invitation is a token
//! used once, before it expires, in the transaction that keeps the rating.
//!
//! - 政务大厅平板电脑: the clerk opens the rating page on the window's tablet
//!   and turns it to the applicant (valid 30 minutes).
//! - 短信: the link goes by SMS to the case's contact phone (valid 7 days).
//! - 电话: staff on a call take the applicant's rating down on the same page
//!   (valid 30 minutes); the rating records who took it.
//!
//! The page shows the item, the agency and the stage, never the applicant.
//! A rater without an account gets the 差评's feedback by SMS (`ratings.rs`).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use yiwang_supervision::ratings::{Channel, Stage};

use crate::auth::Auth;
use crate::cases::{CASE_HANDLERS, visible_case};
use crate::pages::{Layout, problem_page, render};
use crate::ratings::{RateInput, Rater, contact_phone, keep_rating};
use crate::{ApiError, AppState, WebError};

/// How long an invitation at the window or on the phone lasts, in minutes.
const AT_HAND_MINUTES: i64 = 30;
/// How long an SMS link lasts: seven days.
const SMS_MINUTES: i64 = 7 * 24 * 60;

#[derive(Debug, Deserialize)]
pub struct InviteForm {
    pub stage: String,
    pub channel: String,
}

fn parse_invite(f: &InviteForm) -> Result<(Stage, Channel), ApiError> {
    let stage = match f.stage.as_str() {
        "accepted" => Stage::Accepted,
        "concluded" => Stage::Concluded,
        _ => return Err(WebError::BadParam { name: "stage", detail: "accepted or concluded".into() }.into()),
    };
    let channel = match f.channel.as_str() {
        "hall_tablet" => Channel::HallTablet,
        "sms" => Channel::Sms,
        "phone" => Channel::Phone,
        _ => return Err(WebError::BadParam { name: "channel", detail: "hall_tablet, sms or phone".into() }.into()),
    };
    Ok((stage, channel))
}

/// `POST /console/cases/{no}/rating-invitations`: staff of the case's agency
/// invite a rating: to the tablet or the phone form (303 to it), or by SMS
/// (303 back to the case).
pub async fn invite(State(state): State<AppState>, auth: Auth, Path(no): Path<String>, axum::Form(f): axum::Form<InviteForm>) -> Response {
    let back = Some((format!("/console/cases/{no}"), "返回办件".to_string()));
    let result = async {
        let p = auth.require()?;
        let (stage, channel) = parse_invite(&f)?;
        let c = visible_case(&state, p, &no).await?;
        if !p.has_role_in(&c.agency_uscc, CASE_HANDLERS) {
            return Err(WebError::NotFound("办件".into()).into());
        }
        let rated: Vec<Stage> = state.store().case_ratings(&c.case_no).await?.iter().map(|r| r.rating.stage).collect();
        if !yiwang_supervision::ratings::open_stages(&c.case, &rated).contains(&stage) {
            return Err(ApiError::from(yiwang_store::StoreError::Conflict(format!(
                "办件尚未{0}或{0}已评价 / the case has not reached this stage, or it was rated",
                stage.name_zh()
            ))));
        }
        let now = jiff::Timestamp::now();
        let store = state.store();
        if channel == Channel::Sms {
            let Some(phone) = contact_phone(&c) else {
                return Err(WebError::BadParam {
                    name: "channel",
                    detail: "办件没有联系电话，无法发送短信 / the case has no contact phone".into(),
                }
                .into());
            };
            let text = format!(
                "【一网通办】您办理的“{}”已{}，请对本次服务进行评价：{}/rate/{{link}}（7日内有效）",
                c.item_name,
                stage.name_zh(),
                state.identity().issuer
            );
            store.invite_rating(&c.case_no, stage, channel, &p.account_id, SMS_MINUTES, Some((&phone, &text)), now).await?;
            return Ok(crate::auth::see_other(&format!("/console/cases/{no}?done=invited")));
        }
        let token = store.invite_rating(&c.case_no, stage, channel, &p.account_id, AT_HAND_MINUTES, None, now).await?;
        Ok(crate::auth::see_other(&format!("/rate/{token}")))
    }
    .await;
    match result {
        Ok(r) => r,
        Err(e) => problem_page(&state, &auth, "评价邀请", e, back).await,
    }
}

#[derive(Template)]
#[template(path = "rate.html")]
struct RatePage {
    l: Layout,
    token: String,
    item_name: String,
    agency: String,
    stage_zh: &'static str,
    channel: Channel,
    groups: Vec<(&'static str, Vec<(String, String)>)>,
    /// Why the last submission was refused.
    message: Option<String>,
    /// Set once the rating is kept: the page thanks and offers nothing more.
    done: bool,
    /// Set when the invitation is used, expired or unknown.
    closed: Option<&'static str>,
}

struct Opened {
    invitation: yiwang_store::RatingInvitation,
    case: yiwang_store::CaseRow,
}

/// The invitation and its case, or why the page is closed (404 unknown, 410 used or expired).
async fn open(state: &AppState, token: &str) -> Result<Result<Opened, (StatusCode, &'static str)>, ApiError> {
    let store = state.store();
    let Some(invitation) = store.rating_invitation(token).await? else {
        return Ok(Err((StatusCode::NOT_FOUND, "没有这个评价链接，请核对短信中的地址。")));
    };
    if invitation.used_at.is_some() {
        return Ok(Err((StatusCode::GONE, "此评价已提交，感谢您的评价。")));
    }
    if invitation.expires_at.as_str() <= yiwang_store::ts(jiff::Timestamp::now()).as_str() {
        return Ok(Err((StatusCode::GONE, "此评价链接已过期。如需评价，请联系办理部门或拨打 12345。")));
    }
    let case = store.case(&invitation.case_no).await?;
    Ok(Ok(Opened { invitation, case }))
}

async fn page(
    state: &AppState,
    auth: &Auth,
    token: String,
    message: Option<String>,
    done: bool,
) -> Result<(StatusCode, RatePage), ApiError> {
    let l = Layout::new(state, auth, "服务评价").await;
    let blank = |l, closed| RatePage {
        l,
        token: String::new(),
        item_name: String::new(),
        agency: String::new(),
        stage_zh: "",
        channel: Channel::HallTablet,
        groups: vec![],
        message: None,
        done,
        closed,
    };
    if done {
        return Ok((StatusCode::OK, blank(l, None)));
    }
    let o = match open(state, &token).await? {
        Ok(o) => o,
        Err((status, why)) => return Ok((status, blank(l, Some(why)))),
    };
    let agency = state.store().agency(&o.case.agency_uscc).await?.map_or_else(|| o.case.agency_uscc.clone(), |a| a.name);
    let status = if message.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok((
        status,
        RatePage {
            l,
            token,
            item_name: o.case.item_name.clone(),
            agency,
            stage_zh: o.invitation.stage.name_zh(),
            channel: o.invitation.channel,
            groups: crate::application_pages::rating_groups(state.rating_content(), o.invitation.channel),
            message,
            done: false,
            closed: None,
        },
    ))
}

fn private(mut resp: Response) -> Response {
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    resp
}

/// `GET /rate/{token}`: the rating form an invitation opens (anyone holding it).
pub async fn rate_page(State(state): State<AppState>, auth: Auth, Path(token): Path<String>) -> Result<Response, ApiError> {
    let (status, p) = page(&state, &auth, token, None, false).await?;
    Ok(private(render(status, &p)))
}

/// `POST /rate/{token}`: keep the rating; the form again with why if refused.
pub async fn rate_submit(
    State(state): State<AppState>,
    auth: Auth,
    Path(token): Path<String>,
    axum::Form(f): axum::Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let outcome = async {
        let o = match open(&state, &token).await? {
            Ok(o) => o,
            Err(_) => return Ok(false),
        };
        let (level, reasons, comment) = crate::application_pages::rating_fields(&f)?;
        let input = RateInput {
            case_no: o.case.case_no.clone(),
            stage: o.invitation.stage,
            channel: o.invitation.channel,
            level,
            reasons,
            comment,
        };
        // The applicant's account, if the case has one, so the feedback reaches them in 消息.
        let account = if o.case.account_id.starts_with("window:") { "" } else { o.case.account_id.as_str() };
        let recorded_by = (o.invitation.channel == Channel::Phone).then_some(o.invitation.created_by.as_str());
        let rater = Rater { account, name: &o.case.applicant.name, recorded_by, invitation: Some(&token) };
        keep_rating(&state, &o.case, &rater, &input).await.map(|_| true)
    }
    .await;
    let (status, p) = match outcome {
        Ok(true) => page(&state, &auth, token, None, true).await?,
        // Used or expired meanwhile: the page says which.
        Ok(false) => page(&state, &auth, token, None, false).await?,
        Err(e) if e.status() < 500 => page(&state, &auth, token, Some(e.message_zh().to_string()), false).await?,
        Err(e) => return Err(e),
    };
    Ok(private(render(status, &p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invitations_name_a_stage_and_an_invited_channel() {
        let f = |stage: &str, channel: &str| InviteForm { stage: stage.into(), channel: channel.into() };
        assert_eq!(parse_invite(&f("concluded", "sms")).ok(), Some((Stage::Concluded, Channel::Sms)));
        assert!(parse_invite(&f("concluded", "pc")).is_err(), "the applicant's own channel needs no invitation");
        assert!(parse_invite(&f("later", "sms")).is_err());
    }
}
