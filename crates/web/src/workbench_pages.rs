//! The department workbench (部门工作台) pages, without JavaScript: the inbox of
//! the caller's agencies' cases (by state, mine or unclaimed), and a case's
//! page with what the caller's role may do now — claim or release, start,
//! pass or return a step, start and end a special procedure (the clock stops
//! for 听证、检验、现场核查…; 延长审批 is the head's), decide, conclude and
//! deliver. Every action goes through the same `record_staff_event` as the
//! API, so the roles, the claim and the state machine decide; a refusal shows
//! its reason on the page. The applicant's ID number is masked.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;
use yiwang_case::State as CaseState;
use yiwang_identity::{Principal, Role};
use yiwang_store::CaseRow;

use crate::AppState;
use crate::auth::Auth;
use crate::case_staff::{StaffEvent, record_staff_event};
use crate::cases::{CASE_STAFF, visible_case};
use crate::error::{ApiError, WebError};
use crate::pages::{Layout, problem_page, render};

fn back() -> Option<(String, String)> {
    Some(("/console/cases".to_string(), "部门工作台".to_string()))
}

#[derive(Debug, Default, Deserialize)]
pub struct InboxQuery {
    pub state: Option<String>,
    pub claimed: Option<String>,
}

struct Line {
    case_no: String,
    item_name: String,
    applicant: String,
    state_zh: &'static str,
    promised_due: String,
    claimed: bool,
    mine: bool,
}

#[derive(askama::Template)]
#[template(path = "console_cases.html")]
struct InboxPage {
    l: Layout,
    filters: Vec<(&'static str, &'static str, bool)>,
    cases: Vec<Line>,
    /// 待我会签: (case number, step).
    countersigns: Vec<(String, String)>,
}

/// The states a department works in, as (code, label) for the filter.
const FILTERS: &[(&str, &str)] = &[
    ("", "全部"),
    ("submitted", "待受理"),
    ("accepted", "已受理"),
    ("in_process", "办理中"),
    ("special_procedure", "特别程序"),
    ("decided", "已决定"),
    ("concluded", "已办结"),
];

/// `GET /console/cases`: the inbox of the caller's agencies, newest change first.
pub async fn inbox(State(state): State<AppState>, auth: Auth, Query(q): Query<InboxQuery>) -> Response {
    let result = async {
        let p = auth.require()?;
        let agencies = p.agencies_with(CASE_STAFF);
        let wanted = match q.state.as_deref() {
            None | Some("") => None,
            Some(s) => Some(
                crate::cases::parse_state(s)
                    .ok_or_else(|| WebError::BadParam { name: "state", detail: format!("未知的办件状态 / unknown state {s}") })?,
            ),
        };
        let claim = match q.claimed.as_deref() {
            Some("mine") => yiwang_store::Claim::By(&p.account_id),
            Some("none") => yiwang_store::Claim::Unclaimed,
            _ => yiwang_store::Claim::Any,
        };
        let rows = state.store().agency_cases_claimed(&agencies, wanted, claim, None, 100).await?;
        let cases = rows
            .into_iter()
            .map(|c| Line {
                claimed: c.case.claimed_by.is_some(),
                mine: c.case.claimed_by.as_deref() == Some(p.account_id.as_str()),
                state_zh: c.state.name_zh(),
                promised_due: c.promised_due.unwrap_or_default(),
                applicant: yiwang_identity::mask_name(&c.applicant.name),
                case_no: c.case_no,
                item_name: c.item_name,
            })
            .collect();
        let current = q.state.as_deref().unwrap_or_default();
        let filters = FILTERS.iter().map(|(code, label)| (*code, *label, *code == current)).collect();
        let signers = p.agencies_with(&[Role::Reviewer, Role::DepartmentHead]);
        let countersigns = state.store().awaited_countersigns(&signers, 100).await?.into_iter().map(|(no, step, _)| (no, step)).collect();
        let l = Layout::new(&state, &auth, "部门工作台").await;
        Ok::<_, ApiError>(render(StatusCode::OK, &InboxPage { l, filters, cases, countersigns }))
    }
    .await;
    match result {
        Ok(r) => r,
        Err(e) => problem_page(&state, &auth, "部门工作台", e, None).await,
    }
}

struct Field {
    label: String,
    value: String,
}

struct Upload {
    material: String,
    file_name: String,
    digest: String,
}

struct StepLine {
    step: String,
    outcome: String,
}

/// What the caller may do on the case now (each also checked on posting).
#[derive(Default)]
struct Actions {
    /// Waiting for acceptance, and the caller is a window clerk: the window console takes it.
    window: bool,
    claim: bool,
    release: bool,
    start_step: bool,
    /// The open step's name, if one is open.
    open_step: Option<String>,
    start_special: bool,
    extend: bool,
    end_special: bool,
    decide: bool,
    conclude: bool,
    deliver: bool,
    /// 核定收费: from acceptance until 办结.
    assess_fee: bool,
    /// 会签: the agencies the open step may ask (USCC, name).
    ask_agencies: Vec<(String, String)>,
    /// 会签: the caller's agencies whose signature an open step awaits (USCC, name, step).
    sign_for: Vec<(String, String, String)>,
}

/// A process on the workbench: its name, the trail, and each open step
/// (name, who may do it, due).
type ProcessLines = (String, String, Vec<(String, String, String)>);

#[derive(askama::Template)]
#[template(path = "console_case.html")]
struct CasePage {
    l: Layout,
    case_no: String,
    item_name: String,
    applicant: String,
    applicant_id: String,
    state_zh: &'static str,
    accepted_on: Option<String>,
    promised_due: Option<String>,
    legal_due: Option<String>,
    claimed_by: Option<String>,
    fields: Vec<Field>,
    uploads: Vec<Upload>,
    attached: Vec<String>,
    /// 免提交: what the case's data resources gave, with its provenance.
    shared: Vec<crate::shared_materials::SharedLine>,
    /// Whether the caller may fetch the shared materials again.
    may_refetch: bool,
    steps: Vec<StepLine>,
    a: Actions,
    timeline: Vec<(String, String, String)>,
    notice: Option<&'static str>,
    message: Option<String>,
    /// ID and phone numbers are shown in full (a reason was given and audited).
    revealed: bool,
    /// The process driving the case: its name, the trail so far, and each open
    /// step (name, who may do it, due).
    process: Option<ProcessLines>,
    /// The open process steps a step may be started at (a free name without a process).
    startable: Vec<String>,
    /// 会签 the process asks for: the open step, and the names of the
    /// agencies its model names (not yet asked on the case).
    process_countersign: Option<(String, String)>,
    /// The messages the process waits for (缴费到账, a department's 回执).
    messages: Vec<String>,
    /// Whether the caller may record that one arrived.
    may_message: bool,
    /// The process has ended (as opposed to waiting for a message or a timer).
    process_ended: bool,
    /// Stages the applicant has not rated yet, for the hall's tablet, an SMS
    /// link or a phone rating: (stage code, 受理 or 办结).
    invitable: Vec<(&'static str, &'static str)>,
    /// 核定收费: the notice's lines as charged (name, amount, 减免).
    fees: Vec<(String, String, bool)>,
    /// The item version's fee table (name, standard, 减免 allowed), and the
    /// form's lines filled from it.
    fee_table: Vec<(String, String, bool)>,
    fee_prefill: String,
}

fn actions(p: &Principal, c: &CaseRow, agencies: &[yiwang_store::Agency]) -> Actions {
    let agency = c.agency_uscc.as_str();
    let handler = p.has_role_in(agency, &[Role::Reviewer, Role::DepartmentHead]);
    let head = p.has_role_in(agency, &[Role::DepartmentHead]);
    let claimant = p.has_role_in(agency, &[Role::WindowClerk, Role::Reviewer, Role::DepartmentHead]);
    let held_by_other = c.case.claimed_by.as_deref().is_some_and(|h| h != p.account_id);
    let working = matches!(c.state, CaseState::Accepted | CaseState::InProcess);
    let open_step = c.case.steps.iter().rev().find(|s| s.action.is_none()).map(|s| s.step.clone());
    let may = |allowed: bool| allowed && !held_by_other;
    Actions {
        window: p.has_role_in(agency, &[Role::WindowClerk])
            && matches!(c.state, CaseState::Submitted | CaseState::PreReview | CaseState::CorrectionReceived),
        claim: claimant && c.case.claimed_by.is_none() && !c.state.is_over(),
        release: c.case.claimed_by.is_some() && (!held_by_other || head),
        start_step: may(handler && working && open_step.is_none()),
        start_special: may(handler && c.state == CaseState::InProcess),
        extend: may(head && c.state == CaseState::InProcess),
        end_special: may(handler && c.state == CaseState::SpecialProcedure),
        decide: may(head && working && open_step.is_none()),
        conclude: may(head && c.state == CaseState::Decided),
        deliver: may(head && c.state == CaseState::Concluded),
        assess_fee: may(
            handler && matches!(c.state, CaseState::Accepted | CaseState::InProcess | CaseState::SpecialProcedure | CaseState::Decided)
        ),
        ask_agencies: if open_step.is_some() && may(handler && c.state == CaseState::InProcess) {
            agencies.iter().filter(|a| a.uscc != agency).map(|a| (a.uscc.clone(), a.name.clone())).collect()
        } else {
            Vec::new()
        },
        sign_for: c
            .case
            .steps
            .iter()
            .filter(|s| s.action.is_none())
            .flat_map(|s| s.countersigns.iter().filter(|x| x.agree.is_none()).map(move |x| (s, x)))
            .filter(|(_, x)| p.has_role_in(&x.agency, &[Role::Reviewer, Role::DepartmentHead]))
            .map(|(s, x)| {
                let name = agencies.iter().find(|a| a.uscc == x.agency).map_or_else(|| x.agency.clone(), |a| a.name.clone());
                (x.agency.clone(), name, s.step.clone())
            })
            .collect(),
        open_step: open_step.filter(|_| may(handler && c.state == CaseState::InProcess)),
    }
}

async fn case_view(
    state: &AppState,
    auth: &Auth,
    c: &CaseRow,
    notice: Option<&'static str>,
    message: Option<String>,
    status: StatusCode,
    revealed: Option<&str>,
) -> Result<Response, ApiError> {
    let p = auth.require()?;
    // Every staff view of a case is audited before it is shown; identifiers stay
    // masked unless a reason to show them was given.
    crate::personal::audit_staff_read(state, p, c, "page", revealed).await?;
    let shown = |t: String| if revealed.is_some() { t } else { yiwang_codes::mask_identifiers_in(&t) };
    let item = state.store().case_item(c).await?;
    let schema = item.as_ref().and_then(|i| i.form.as_ref());
    let fields = match (schema, c.form.as_object()) {
        (Some(s), Some(form)) => s
            .labelled_values(form)
            .into_iter()
            .map(|(label, v)| Field {
                label,
                value: shown(match v {
                    serde_json::Value::String(t) => t.clone(),
                    serde_json::Value::Array(a) => {
                        a.iter().map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string)).collect::<Vec<_>>().join("、")
                    }
                    other => other.to_string(),
                }),
            })
            .collect(),
        _ => Vec::new(),
    };
    let uploads = c
        .case
        .uploads
        .iter()
        .map(|u| Upload { material: u.material.clone(), file_name: u.file.file_name.clone(), digest: u.file.digest.clone() })
        .collect();
    let attached = c.materials.iter().map(|m| format!("{}（电子证照 {}）", m.material, m.license_id)).collect();
    let shared = crate::shared_materials::shared_lines(state, c, revealed.is_some()).await?;
    let sources_shared =
        item.as_ref().is_some_and(|i| i.materials.iter().any(|m| matches!(m.source, yiwang_catalog::MaterialSource::Shared { .. })));
    let may_refetch = sources_shared && c.state.before_decision() && p.has_role_in(&c.agency_uscc, crate::cases::CASE_HANDLERS);
    let fee_table: Vec<(String, String, bool)> =
        item.as_ref().map_or_else(Vec::new, |i| i.fees.iter().map(|f| (f.name.clone(), f.standard.clone(), f.reducible)).collect());
    // Each fee of the table at its published amount when it names one (the low end of a range).
    let fee_prefill = item.as_ref().map_or_else(String::new, |i| {
        i.fees
            .iter()
            .map(|f| {
                let amount = f.range_fen().map_or_else(String::new, |(min, _)| yiwang_case::yuan_amount(min));
                format!("{}={amount}", f.name)
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    let steps = c
        .case
        .steps
        .iter()
        .map(|s| StepLine {
            step: s.step.clone(),
            outcome: match s.action {
                Some(yiwang_case::StepAction::Passed) => format!("通过 {}", s.opinion),
                Some(yiwang_case::StepAction::Returned) => format!("退回 {}", s.opinion),
                None => "办理中".into(),
            } + &s
                .countersigns
                .iter()
                .map(|x| match x.agree {
                    Some(true) => format!("；会签 {} 同意 {}", x.agency, x.opinion),
                    Some(false) => format!("；会签 {} 不同意 {}", x.agency, x.opinion),
                    None => format!("；待 {} 会签", x.agency),
                })
                .collect::<String>(),
        })
        .collect();
    let timeline = state
        .store()
        .case_events(&c.case_no)
        .await?
        .iter()
        .map(|e| (crate::pages::china_time(&yiwang_store::ts(e.at)), shown(e.event.describe_zh()), shown(e.reason.clone())))
        .collect();
    let masked_id = if revealed.is_some() {
        c.applicant.id.clone()
    } else if c.applicant.id_type == "111" {
        yiwang_codes::CitizenId::parse(&c.applicant.id, yiwang_calendar::china_today(jiff::Timestamp::now()))
            .map(|id| id.masked())
            .unwrap_or_else(|_| "***".into())
    } else {
        c.applicant.id.clone()
    };
    let running = state.store().case_process(c).await?;
    let agencies = state.store().agencies().await?;
    let startable = running.as_ref().map_or_else(Vec::new, |r| {
        r.open
            .iter()
            .filter(|s| !s.step.decision && !c.case.steps.iter().any(|x| x.action.is_none() && x.step == s.step.name))
            .map(|s| s.step.name.clone())
            .collect()
    });
    let a = actions(p, c, &agencies);
    let agency_name = |uscc: &str| agencies.iter().find(|x| x.uscc == uscc).map_or_else(|| uscc.to_string(), |x| x.name.clone());
    let process_countersign = a.open_step.as_ref().zip(running.as_ref()).and_then(|(step, r)| {
        let asked = c.case.steps.iter().any(|s| s.action.is_none() && &s.step == step && !s.countersigns.is_empty());
        let steps: Vec<_> = r.open.iter().map(|s| s.step.clone()).collect();
        let named = yiwang_case::process::countersign_request(&steps, step);
        (!asked && !named.is_empty()).then(|| (step.clone(), named.iter().map(|u| agency_name(u)).collect::<Vec<_>>().join("、")))
    });
    let messages: Vec<String> = running.as_ref().map(|r| r.messages.iter().map(|m| m.message.clone()).collect()).unwrap_or_default();
    let process_ended = running.as_ref().is_some_and(|r| r.status != yiwang_workflow::engine::Status::Running);
    let may_message = !messages.is_empty()
        && p.has_role_in(&c.agency_uscc, &[Role::Reviewer, Role::DepartmentHead])
        && matches!(c.state, CaseState::Accepted | CaseState::InProcess | CaseState::SpecialProcedure);
    let process = running.map(|r| {
        let who = |groups: &[String]| {
            let names: Vec<&str> = groups.iter().filter_map(|g| g.parse::<Role>().ok()).map(Role::name_zh).collect();
            if names.is_empty() { "本部门办理人员".to_string() } else { names.join("、") }
        };
        let open = r
            .open
            .iter()
            .map(|s| {
                let due = s.due.map(|d| crate::pages::china_time(&yiwang_store::ts(d))).unwrap_or_else(|| "按办件时限".into());
                let name = if s.step.decision { format!("{}（作出决定）", s.step.name) } else { s.step.name.clone() };
                let who = match (&s.step.agency, &s.step.service) {
                    (Some(a), _) => format!("{}（会签）{}", agency_name(a), who(&s.step.candidate_groups)),
                    // An external service task: the department system answers it, or staff record the answer.
                    (None, Some(topic)) => format!("外部任务 {topic}：部门系统或本部门办理人员录入结果"),
                    (None, None) => who(&s.step.candidate_groups),
                };
                (name, who, due)
            })
            .collect();
        let trail = if r.trail.is_empty() { "尚未开始".to_string() } else { r.trail.join(" → ") };
        (r.name, trail, open)
    });
    let invitable = if p.has_role_in(&c.agency_uscc, crate::cases::CASE_HANDLERS) && c.case.accepted_on.is_some() {
        let rated: Vec<_> = state.store().case_ratings(&c.case_no).await?.iter().map(|r| r.rating.stage).collect();
        yiwang_supervision::ratings::open_stages(&c.case, &rated).into_iter().map(|s| (s.code(), s.name_zh())).collect()
    } else {
        Vec::new()
    };
    let page = CasePage {
        l: Layout::new(state, auth, &format!("办件 {}", c.case_no)).await,
        case_no: c.case_no.clone(),
        item_name: c.item_name.clone(),
        applicant: if revealed.is_some() { c.applicant.name.clone() } else { yiwang_identity::mask_name(&c.applicant.name) },
        applicant_id: masked_id,
        state_zh: c.state.name_zh(),
        accepted_on: c.case.accepted_on.map(|d| d.to_string()),
        promised_due: c.promised_due.clone(),
        legal_due: c.legal_due.clone(),
        claimed_by: c.case.claimed_by.clone(),
        fields,
        uploads,
        attached,
        shared,
        may_refetch,
        steps,
        a,
        timeline,
        notice,
        message,
        revealed: revealed.is_some(),
        process,
        startable,
        process_countersign,
        messages,
        may_message,
        process_ended,
        invitable,
        fees: c.case.fees.iter().map(|l| (l.name.clone(), yiwang_case::yuan(l.amount_fen), l.reduced)).collect(),
        fee_table,
        fee_prefill,
    };
    Ok(render(status, &page))
}

#[derive(Debug, Default, Deserialize)]
pub struct DoneQuery {
    pub done: Option<String>,
    pub reveal: Option<String>,
    pub reason: Option<String>,
}

/// `GET /console/cases/{no}[?reveal=1&reason=…]`: a case on the workbench,
/// identifiers masked unless shown in full for a stated reason (audited).
pub async fn case_page(State(state): State<AppState>, auth: Auth, Path(no): Path<String>, Query(q): Query<DoneQuery>) -> Response {
    let result = async {
        let reveal = crate::personal::RevealQuery { reveal: q.reveal.clone(), reason: q.reason.clone() }.wanted()?;
        let p = auth.require()?;
        let c = visible_case(&state, p, &no).await?;
        if !p.has_role_in(&c.agency_uscc, CASE_STAFF)
            && !c.case.countersign_agencies().any(|a| p.has_role_in(a, CASE_STAFF))
            && !crate::cases::supervises(&state, p, &c).await?
        {
            return Err(WebError::NotFound("办件".into()).into());
        }
        let notice =
            q.done.as_deref().map(|d| if d == "invited" { "已向申请人的联系电话发送评价短信。" } else { "已记录。" });
        case_view(&state, &auth, &c, notice, None, StatusCode::OK, reveal.as_deref()).await
    }
    .await;
    match result {
        Ok(r) => r,
        Err(e) => problem_page(&state, &auth, "办件", e, back()).await,
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ActionForm {
    pub action: String,
    #[serde(default)]
    pub step: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub days: String,
    #[serde(default)]
    pub result: String,
    #[serde(default)]
    pub decision: String,
    #[serde(default)]
    pub method: String,
    #[serde(default)]
    pub agency: String,
    #[serde(default)]
    pub agree: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub reason: String,
    /// What a passed step found, one `name=value` per line (an external
    /// task's answer, a decision the process routes on).
    #[serde(default)]
    pub data: String,
    /// 核定收费: one `收费项目=金额（元）` per line, ` 减免` after a reduced one.
    #[serde(default)]
    pub fees: String,
}

/// A fee notice's lines from the form: `工本费=20`, `工本费=0 减免`. The case
/// crate checks the names, the count and the amounts' bound.
fn fee_lines(text: &str) -> Result<Vec<yiwang_case::FeeLine>, ApiError> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Some((name, rest)) = line.split_once('=') else {
            return Err(bad("fees", "每行写一项：收费项目=金额（元），减免的在金额后加“ 减免” / one name=amount per line"));
        };
        let rest = rest.trim();
        let (amount, reduced) = match rest.strip_suffix("减免") {
            Some(a) => (a.trim(), true),
            None => (rest, false),
        };
        let amount = amount.trim_end_matches('元').trim();
        let Some(fen) = yiwang_catalog::model::fen_of(amount) else {
            return Err(bad("fees", &format!("“{}”的金额须为元，至多两位小数 / the amount is in yuan, two decimals at most", name.trim())));
        };
        out.push(yiwang_case::FeeLine { name: name.trim().to_string(), amount_fen: fen, reduced });
    }
    Ok(out)
}

/// A passed step's data from the form's lines: `true`/`false` and integers
/// are typed, anything else is text; the case crate checks names and sizes.
fn step_data(text: &str) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    let mut out = serde_json::Map::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once('=') else {
            return Err(bad("data", "每行写一项：名称=值 / one name=value per line"));
        };
        let value = value.trim();
        let typed = match value {
            "true" => json!(true),
            "false" => json!(false),
            v => v.parse::<i64>().map_or_else(|_| json!(v), |n| json!(n)),
        };
        out.insert(name.trim().to_string(), typed);
    }
    Ok(out)
}

fn bad(name: &'static str, detail: &str) -> ApiError {
    WebError::BadParam { name, detail: detail.to_string() }.into()
}

/// The typed event a workbench form asks for.
fn event_of(f: &ActionForm) -> Result<serde_json::Value, ApiError> {
    let need = |v: &str, name: &'static str, zh: &str| {
        let v = v.trim();
        if v.is_empty() { Err(bad(name, &format!("请填写{zh} / {name} is required"))) } else { Ok(v.to_string()) }
    };
    Ok(match f.action.as_str() {
        "claimed" | "released" => json!({ "type": f.action }),
        "step_started" => json!({ "type": "step_started", "step": need(&f.step, "step", "环节名称")? }),
        "step_passed" => json!({ "type": "step_passed", "step": need(&f.step, "step", "环节名称")?, "data": step_data(&f.data)? }),
        "step_returned" => json!({ "type": "step_returned", "step": need(&f.step, "step", "环节名称")? }),
        "special_started" => json!({ "type": "special_started", "kind": "other", "name": need(&f.name, "name", "特别程序名称")? }),
        "extension" => {
            let days: u32 = f.days.trim().parse().map_err(|_| bad("days", "延长天数须为正整数 / days must be a positive integer"))?;
            json!({ "type": "special_started", "kind": "extension", "name": "延长审批", "extension_days": days })
        }
        "special_ended" => json!({ "type": "special_ended", "result": need(&f.result, "result", "特别程序结果")? }),
        "decided" => match f.decision.as_str() {
            "approve" | "deny" => json!({ "type": "decided", "decision": f.decision }),
            _ => return Err(bad("decision", "请选择准予或不予 / choose approve or deny")),
        },
        "concluded" => json!({ "type": "concluded", "result": need(&f.result, "result", "办结结果")? }),
        "delivered" => json!({ "type": "delivered", "method": need(&f.method, "method", "送达方式")? }),
        "fee_assessed" => json!({ "type": "fee_assessed", "lines": fee_lines(&f.fees)? }),
        "countersign_requested" => {
            // No agency: those the process names for the step.
            let agencies: Vec<String> = Some(f.agency.trim()).filter(|a| !a.is_empty()).map(str::to_string).into_iter().collect();
            json!({ "type": "countersign_requested", "step": need(&f.step, "step", "环节名称")?, "agencies": agencies })
        }
        "message_received" => json!({ "type": "message_received", "message": need(&f.message, "message", "流程消息")? }),
        "countersigned" => json!({
            "type": "countersigned", "step": need(&f.step, "step", "环节名称")?, "agency": need(&f.agency, "agency", "会签部门")?,
            "agree": f.agree != "no",
        }),
        _ => return Err(bad("action", "未知的操作 / unknown action")),
    })
}

/// `POST /console/cases/{no}/events`: record what the form asks, as the API would.
pub async fn case_event(
    State(state): State<AppState>,
    auth: Auth,
    Path(no): Path<String>,
    axum::Form(f): axum::Form<ActionForm>,
) -> Response {
    let Ok(p) = auth.require() else { return crate::auth::see_other("/login") };
    let outcome = async {
        let event = serde_json::from_value(event_of(&f)?).map_err(|e| bad("action", &e.to_string()))?;
        record_staff_event(&state, p, &no, StaffEvent { event, reason: f.reason.trim().to_string(), expected_version: None }).await
    }
    .await;
    let failed = match outcome {
        Ok(c) => return crate::auth::see_other(&format!("/console/cases/{}?done={}", c.case_no, f.action)),
        Err(e) => e,
    };
    let c = match visible_case(&state, p, &no).await {
        Ok(c) => c,
        Err(e) => return problem_page(&state, &auth, "办件", e, back()).await,
    };
    let status = StatusCode::from_u16(failed.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match case_view(&state, &auth, &c, None, Some(failed.message_zh().to_string()), status, None).await {
        Ok(r) => r,
        Err(e) => problem_page(&state, &auth, "办件", e, back()).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passed_steps_data_is_read_line_by_line_and_typed() {
        let data = step_data("credit = A\n\nlicense_found=true\nscore=90\n").unwrap_or_default();
        assert_eq!(serde_json::Value::Object(data), json!({ "credit": "A", "license_found": true, "score": 90 }));
        assert!(step_data("").is_ok_and(|d| d.is_empty()));
        assert_eq!(step_data("credit A").err().map(|e| e.status()), Some(400));
    }
}
