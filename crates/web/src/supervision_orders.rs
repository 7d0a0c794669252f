//! 电子监察's console and 督办单 (issue 22): who reads which alerts and
//! orders, issuing an order on an alert, the agency's and the supervisor's
//! steps on it (the rules are `yiwang_supervision::orders`), as API and pages.
//!
//! Scope: a supervisor (电子监察人员) supervises every agency within the
//! division of an agency where they hold the role; a department head reads and
//! answers the orders to their own agency; an administrator reads everything
//! and acts on nothing.

use std::collections::BTreeMap;

use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use yiwang_identity::{Principal, Role};
use yiwang_store::{OrderNotice, OrderRow, Store, StoredAlert, StoredOrderEvent, UpwardRecord};
use yiwang_supervision::orders::{self, OrderContext};
use yiwang_supervision::{Class, Level, Order, OrderAction, OrderEvent, OrderState, Party};

use crate::auth::Auth;
use crate::pages::{Layout, china_time, render};
use crate::{ApiError, AppState, WebError};

/// Who may open the supervision console and its API.
pub const SUPERVISION_READERS: &[Role] = &[Role::Supervisor, Role::DepartmentHead, Role::Admin];
/// Who acts on orders (each action checks which party it belongs to).
pub const ORDER_ACTORS: &[Role] = &[Role::Supervisor, Role::DepartmentHead];
/// The deadline an order gets unless the supervisor sets one [I].
pub const DEFAULT_ORDER_WORKDAYS: u32 = 5;

/// What a caller may read and do in supervision.
pub struct Scope {
    /// Every agency's (administrators).
    pub all: bool,
    /// Agencies the caller supervises, with the supervising agency for each.
    pub supervised: BTreeMap<String, String>,
    /// Agencies whose head the caller is.
    pub headed: Vec<String>,
}

impl Scope {
    pub async fn of(store: &Store, p: &Principal) -> Result<Scope, ApiError> {
        let mut supervised = BTreeMap::new();
        let offices = p.agencies_with(&[Role::Supervisor]);
        if !offices.is_empty() {
            let mut divisions = Vec::new();
            for office in offices {
                if let Some(a) = store.agency(office).await? {
                    divisions.push((a.uscc, a.division_code));
                }
            }
            for a in store.agencies().await? {
                if let Some((office, _)) = divisions.iter().find(|(_, d)| yiwang_catalog::lifecycle::division_contains(d, &a.division_code))
                {
                    supervised.insert(a.uscc, office.clone());
                }
            }
        }
        let headed = p.agencies_with(&[Role::DepartmentHead]).into_iter().map(String::from).collect();
        Ok(Scope { all: p.is_admin(), supervised, headed })
    }

    /// The agencies whose alerts and orders the caller reads (`None`: all).
    pub fn readable(&self) -> Option<Vec<String>> {
        if self.all {
            return None;
        }
        let mut v: Vec<String> = self.supervised.keys().cloned().collect();
        v.extend(self.headed.iter().cloned());
        v.sort();
        v.dedup();
        Some(v)
    }

    pub fn reads(&self, agency: &str) -> bool {
        self.all || self.supervised.contains_key(agency) || self.headed.iter().any(|a| a == agency)
    }

    pub fn supervises(&self, agency: &str) -> bool {
        self.supervised.contains_key(agency)
    }

    pub fn heads(&self, agency: &str) -> bool {
        self.headed.iter().any(|a| a == agency)
    }

    pub fn may(&self, party: Party, agency: &str) -> bool {
        match party {
            Party::Supervisor => self.supervises(agency),
            Party::Agency => self.heads(agency),
        }
    }
}

fn parse_level(level: Option<&str>) -> Result<Option<&str>, ApiError> {
    match level {
        None | Some("") => Ok(None),
        Some(l @ ("notice" | "yellow" | "red")) => Ok(Some(l)),
        Some(other) => Err(WebError::BadParam {
            name: "level",
            detail: format!("须为 notice、yellow 或 red，收到 {other:?} / one of notice, yellow, red"),
        }
        .into()),
    }
}

fn parse_class(class: Option<&str>) -> Result<Option<&str>, ApiError> {
    match class {
        None | Some("") => Ok(None),
        Some(c @ ("timeliness" | "process" | "content" | "fee" | "integrity")) => Ok(Some(c)),
        Some(other) => Err(WebError::BadParam {
            name: "class",
            detail: format!(
                "须为 timeliness、process、content、fee 或 integrity，收到 {other:?} / one of timeliness, process, content, fee, integrity"
            ),
        }
        .into()),
    }
}

fn parse_state(state: Option<&str>) -> Result<Option<&str>, ApiError> {
    match state {
        None | Some("") => Ok(None),
        Some(s) if OrderState::parse(s).is_some() => Ok(Some(s)),
        Some(other) => Err(WebError::BadParam {
            name: "state",
            detail: format!("须为 issued、acknowledged、rectified、verified 或 closed，收到 {other:?}"),
        }
        .into()),
    }
}

fn bounded_limit(limit: Option<i64>) -> Result<i64, ApiError> {
    let limit = limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(WebError::BadParam { name: "limit", detail: "1–1000".into() }.into());
    }
    Ok(limit)
}

fn class_of(code: &str) -> Class {
    match code {
        "process" => Class::Process,
        "content" => Class::Content,
        "fee" => Class::Fee,
        "integrity" => Class::Integrity,
        _ => Class::Timeliness,
    }
}

fn level_zh(code: &str) -> &'static str {
    match code {
        "red" => Level::Red.name_zh(),
        "yellow" => Level::Yellow.name_zh(),
        _ => Level::Notice.name_zh(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertQuery {
    pub level: Option<String>,
    pub class: Option<String>,
    pub limit: Option<i64>,
}

/// `GET /api/v1/supervision/alerts?class=&level=&limit=`: the alerts kept
/// on the cases of the agencies the caller reads, newest due first.
pub async fn alerts_api(State(state): State<AppState>, auth: Auth, Query(q): Query<AlertQuery>) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    let level = parse_level(q.level.as_deref())?;
    let class = parse_class(q.class.as_deref())?;
    let limit = bounded_limit(q.limit)?;
    let scope = Scope::of(state.store(), p).await?;
    let alerts = state.store().supervision_alerts(scope.readable().as_deref(), class, level, limit).await?;
    Ok(Json(json!({ "alerts": alerts })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderQuery {
    pub state: Option<String>,
    pub limit: Option<i64>,
}

fn order_json(o: &OrderRow, events: Option<&[StoredOrderEvent]>, now: jiff::Timestamp) -> Value {
    let state = OrderState::parse(&o.state);
    let mut v = json!({
        "id": o.id, "case_no": o.case_no, "alert_key": o.alert_key, "agency_uscc": o.agency_uscc,
        "issuer_agency": o.issuer_agency, "state": o.state, "state_zh": state.map(OrderState::name_zh),
        "content": o.content, "due_date": o.due_date, "issued_at": o.issued_at, "updated_at": o.updated_at,
        "rectified_at": o.rectified_at, "closed_at": o.closed_at, "version": o.version,
        "overdue": overdue(o, now),
    });
    if let Some(events) = events {
        v["events"] = json!(events);
    }
    v
}

/// Whether the report is owed and its deadline (China day) has passed.
fn overdue(o: &OrderRow, now: jiff::Timestamp) -> bool {
    match (OrderState::parse(&o.state), o.due_date.parse()) {
        (Some(state), Ok(due)) => orders::report_overdue(state, due, now),
        _ => false,
    }
}

/// `GET /api/v1/supervision/orders?state=&limit=`: the orders to the agencies the caller reads.
pub async fn orders_api(State(state): State<AppState>, auth: Auth, Query(q): Query<OrderQuery>) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    let order_state = parse_state(q.state.as_deref())?;
    let limit = bounded_limit(q.limit)?;
    let scope = Scope::of(state.store(), p).await?;
    let now = jiff::Timestamp::now();
    let rows = state.store().orders(scope.readable().as_deref(), order_state, limit).await?;
    Ok(Json(json!({ "orders": rows.iter().map(|o| order_json(o, None, now)).collect::<Vec<_>>() })))
}

/// An order the caller reads, with its events; 404 otherwise.
async fn readable_order(store: &Store, scope: &Scope, id: &str) -> Result<(OrderRow, Vec<StoredOrderEvent>), ApiError> {
    match store.order(id).await? {
        Some((o, events)) if scope.reads(&o.agency_uscc) => Ok((o, events)),
        _ => Err(WebError::NotFound(format!("督办单 {id}")).into()),
    }
}

/// `GET /api/v1/supervision/orders/{id}`: an order and its events.
pub async fn order_api(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    let scope = Scope::of(state.store(), p).await?;
    let (o, events) = readable_order(state.store(), &scope, &id).await?;
    Ok(Json(order_json(&o, Some(&events), jiff::Timestamp::now())))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueInput {
    pub case_no: String,
    pub alert_key: String,
    pub content: String,
    /// Working days to report the rectification (default 5).
    pub workdays: Option<u32>,
}

/// The 汇聚 record of an order event, and the names its notices use.
struct OrderFacts {
    agency_name: String,
    issuer_name: String,
    rule: String,
    class: Class,
    item_type: String,
}

async fn order_facts(store: &Store, o: &Order, issuer_agency: &str) -> Result<OrderFacts, ApiError> {
    let name = |a: Option<yiwang_store::Agency>, fallback: &str| a.map_or_else(|| fallback.to_string(), |a| a.name);
    let agency_name = name(store.agency(&o.agency_uscc).await?, &o.agency_uscc);
    let issuer_name = name(store.agency(issuer_agency).await?, issuer_agency);
    let alert = store.supervision_alert(&o.case_no, &o.alert_key).await?;
    let case = store.case(&o.case_no).await?;
    let item_type = store.filed_item(&case.item_code, case.item_version).await?.map(|d| d.task_type.code().to_string()).unwrap_or_default();
    Ok(OrderFacts {
        agency_name,
        issuer_name,
        rule: alert.as_ref().map(|a| a.rule.clone()).unwrap_or_default(),
        class: class_of(alert.as_ref().map_or("", |a| a.class.as_str())),
        item_type,
    })
}

fn upward(id: &str, order: &Order, e: &OrderEvent, version: i64, f: &OrderFacts) -> UpwardRecord {
    let ctx = OrderContext { rule: &f.rule, class: f.class, agency_name: &f.agency_name, item_type: &f.item_type };
    UpwardRecord {
        source_node: String::new(),
        record_id: format!("{id}.{version}"),
        kind: orders::ORDER_RECORD.to_string(),
        agency_uscc: order.agency_uscc.clone(),
        occurred_at: e.at.to_string(),
        data: orders::order_record(id, order, e, &ctx),
    }
}

/// Issue an order on an alert the caller supervises.
pub async fn issue(state: &AppState, p: &Principal, input: &IssueInput) -> Result<OrderRow, ApiError> {
    let store = state.store();
    let scope = Scope::of(store, p).await?;
    let alert = match store.supervision_alert(&input.case_no, &input.alert_key).await? {
        Some(a) if scope.reads(&a.agency_uscc) => a,
        _ => return Err(WebError::NotFound(format!("预警 {} {}", input.case_no, input.alert_key)).into()),
    };
    if alert.subject != "case" {
        return Err(yiwang_store::StoreError::Conflict(
            "督办单针对办件的预警；共享申请超期由提供部门在共享平台处理 / orders are issued on case alerts; an overdue sharing request is decided on the sharing console".into(),
        )
        .into());
    }
    let Some(issuer_agency) = scope.supervised.get(&alert.agency_uscc).cloned() else {
        return Err(crate::error::forbidden("only a supervisor of the agency's region issues an order"));
    };
    let now = jiff::Timestamp::now();
    let calendar = store.load_calendar().await?;
    let due = orders::due_date(&calendar, now, input.workdays.unwrap_or(DEFAULT_ORDER_WORKDAYS))?;
    let event = OrderEvent {
        at: now,
        actor: p.account_id.clone(),
        action: OrderAction::Issued {
            case_no: alert.case_no.clone(),
            alert_key: alert.key.clone(),
            agency_uscc: alert.agency_uscc.clone(),
            content: input.content.trim().to_string(),
            due,
        },
        note: String::new(),
    };
    let after = Order::apply(None, &event)?;
    let id = yiwang_store::new_order_id(now);
    let f = order_facts(store, &after, &issuer_agency).await?;
    let notices = [OrderNotice::AgencyHeads {
        agency: after.agency_uscc.clone(),
        title: format!("督办通知（{}）", level_zh(&alert.level)),
        body: format!(
            "{}就办件 {}（{}）向{}下发督办单 {id}：{}。请签收，并于 {due} 前反馈整改情况。",
            f.issuer_name, alert.case_no, alert.message_zh, f.agency_name, after.content
        ),
    }];
    let record = upward(&id, &after, &event, 1, &f);
    Ok(store.write_order_event(&id, 0, &issuer_agency, &p.name, &event, &after, &notices, Some(record)).await?)
}

/// `POST /api/v1/supervision/orders` (supervisors): issue an order on an alert.
pub async fn issue_api(State(state): State<AppState>, auth: Auth, Json(input): Json<IssueInput>) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let o = issue(&state, p, &input).await?;
    let (o, events) = state.store().order(&o.id).await?.ok_or_else(|| WebError::NotFound(o.id.clone()))?;
    Ok((StatusCode::CREATED, Json(order_json(&o, Some(&events), jiff::Timestamp::now()))).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActInput {
    /// acknowledged, rectified, verified, returned or closed
    pub action: String,
    #[serde(default)]
    pub note: String,
    /// The order's version the caller saw; a newer one refuses the action.
    pub version: Option<i64>,
}

fn parse_action(code: &str) -> Result<OrderAction, ApiError> {
    Ok(match code {
        "acknowledged" => OrderAction::Acknowledged,
        "rectified" => OrderAction::Rectified,
        "verified" => OrderAction::Verified,
        "returned" => OrderAction::Returned,
        "closed" => OrderAction::Closed,
        other => {
            return Err(WebError::BadParam {
                name: "action",
                detail: format!("须为 acknowledged、rectified、verified、returned 或 closed，收到 {other:?}"),
            }
            .into());
        }
    })
}

/// Take one step on an order: the agency's head acknowledges and reports; a
/// supervisor of the region verifies, returns and closes.
pub async fn act(state: &AppState, p: &Principal, id: &str, input: &ActInput) -> Result<OrderRow, ApiError> {
    let store = state.store();
    let scope = Scope::of(store, p).await?;
    let (row, events) = readable_order(store, &scope, id).await?;
    let action = parse_action(&input.action)?;
    if !scope.may(action.party(), &row.agency_uscc) {
        return Err(crate::error::forbidden(match action.party() {
            Party::Agency => "the agency's head answers an order",
            Party::Supervisor => "a supervisor of the agency's region verifies and closes an order",
        }));
    }
    if input.version.is_some_and(|v| v != row.version) {
        return Err(yiwang_store::StoreError::Conflict(format!("督办单 {id} 已更新，请刷新后重试 / order {id} changed; reload")).into());
    }
    let history: Vec<OrderEvent> = events.into_iter().map(|e| e.event).collect();
    let before = Order::fold(&history)?;
    let event = OrderEvent { at: jiff::Timestamp::now(), actor: p.account_id.clone(), action, note: input.note.trim().to_string() };
    let after = Order::apply(Some(&before), &event)?;
    let f = order_facts(store, &after, &row.issuer_agency).await?;
    let to_heads = |title: &str, body: String| OrderNotice::AgencyHeads { agency: after.agency_uscc.clone(), title: title.into(), body };
    let to_issuer = |title: &str, body: String| OrderNotice::Account { account_id: after.issued_by.clone(), title: title.into(), body };
    let notice = match event.action {
        OrderAction::Acknowledged => to_issuer("督办单已签收", format!("{}已签收督办单 {id}（办件 {}）。", f.agency_name, after.case_no)),
        OrderAction::Rectified => to_issuer("督办单整改待核查", format!("{}反馈了督办单 {id} 的整改情况：{}", f.agency_name, event.note)),
        OrderAction::Returned => {
            to_heads("督办单退回重新整改", format!("督办单 {id} 的整改情况未通过核查：{}。请于 {} 前重新反馈。", event.note, after.due))
        }
        OrderAction::Verified => to_heads("督办单整改已核查", format!("督办单 {id} 的整改情况已核查通过。")),
        OrderAction::Closed => to_heads("督办单已办结", format!("督办单 {id} 已办结。")),
        OrderAction::Issued { .. } => return Err(crate::error::forbidden("an order is issued once")),
    };
    let record = upward(id, &after, &event, row.version + 1, &f);
    Ok(store.write_order_event(id, row.version, &row.issuer_agency, &p.name, &event, &after, &[notice], Some(record)).await?)
}

/// `POST /api/v1/supervision/orders/{id}/events`: one step on an order.
pub async fn act_api(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(input): Json<ActInput>,
) -> Result<Json<Value>, ApiError> {
    let p = auth.require()?;
    act(&state, p, &id, &input).await?;
    let (o, events) = state.store().order(&id).await?.ok_or_else(|| WebError::NotFound(id.clone()))?;
    Ok(Json(order_json(&o, Some(&events), jiff::Timestamp::now())))
}

// ---- Pages ----

/// Where an alert's subject is read: the case's page, or the sharing console.
fn subject_href(a: &StoredAlert) -> String {
    if a.subject == "case" { format!("/console/cases/{}", a.case_no) } else { "/console/sharing".into() }
}

struct AlertLine {
    case_no: String,
    /// Where the subject is read: the case's page, or the sharing console.
    href: String,
    key: String,
    agency: String,
    class_zh: &'static str,
    level: String,
    level_zh: &'static str,
    message: String,
    due_at: String,
    order: Option<String>,
    may_issue: bool,
}

struct OrderLine {
    id: String,
    case_no: String,
    agency: String,
    state_zh: &'static str,
    content: String,
    due_date: String,
    overdue: bool,
    issued_at: String,
}

struct CountCell {
    n: i64,
}

struct CountRow {
    class_zh: &'static str,
    cells: Vec<CountCell>,
    total: i64,
}

#[derive(Template)]
#[template(path = "console_supervision.html")]
struct ConsolePage {
    l: Layout,
    counts: Vec<CountRow>,
    level_totals: Vec<i64>,
    alerts: Vec<AlertLine>,
    orders: Vec<OrderLine>,
    class: String,
    level: String,
    supervisor: bool,
    overdue_orders: usize,
    open_orders: usize,
}

const CLASSES: [Class; 5] = [Class::Timeliness, Class::Process, Class::Content, Class::Fee, Class::Integrity];
const LEVELS: [(&str, &str); 3] = [("notice", "提示"), ("yellow", "黄牌"), ("red", "红牌")];

fn class_code(c: Class) -> &'static str {
    match c {
        Class::Timeliness => "timeliness",
        Class::Process => "process",
        Class::Content => "content",
        Class::Fee => "fee",
        Class::Integrity => "integrity",
    }
}

async fn agency_names(store: &Store) -> Result<BTreeMap<String, String>, ApiError> {
    Ok(store.agencies().await?.into_iter().map(|a| (a.uscc, a.name)).collect())
}

/// `GET /console/supervision?class=&level=`: alerts by class and level,
/// the latest alerts, and the orders with their deadlines.
pub async fn console(State(state): State<AppState>, auth: Auth, Query(q): Query<AlertQuery>) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let store = state.store();
    let class = parse_class(q.class.as_deref())?;
    let level = parse_level(q.level.as_deref())?;
    let scope = Scope::of(store, p).await?;
    let readable = scope.readable();
    let names = agency_names(store).await?;
    let name_of = |u: &str| names.get(u).cloned().unwrap_or_else(|| u.to_string());
    let counted = store.alert_counts(readable.as_deref()).await?;
    let mut level_totals = vec![0; LEVELS.len()];
    let counts = CLASSES
        .iter()
        .map(|c| {
            let cells: Vec<CountCell> = LEVELS
                .iter()
                .map(|(l, _)| CountCell {
                    n: counted.iter().filter(|(cc, ll, _)| cc == class_code(*c) && ll == l).map(|(_, _, n)| *n).sum(),
                })
                .collect();
            for (t, cell) in level_totals.iter_mut().zip(&cells) {
                *t += cell.n;
            }
            CountRow { class_zh: c.name_zh(), total: cells.iter().map(|c| c.n).sum(), cells }
        })
        .collect();
    let now = jiff::Timestamp::now();
    let order_rows = store.orders(readable.as_deref(), None, 200).await?;
    let by_alert: BTreeMap<(String, String), String> =
        order_rows.iter().map(|o| ((o.case_no.clone(), o.alert_key.clone()), o.id.clone())).collect();
    let alerts: Vec<AlertLine> = store
        .supervision_alerts(readable.as_deref(), class, level, 200)
        .await?
        .into_iter()
        .map(|a: StoredAlert| AlertLine {
            order: by_alert.get(&(a.case_no.clone(), a.key.clone())).cloned(),
            may_issue: scope.supervises(&a.agency_uscc) && a.subject == "case",
            href: subject_href(&a),
            agency: name_of(&a.agency_uscc),
            class_zh: class_of(&a.class).name_zh(),
            level_zh: level_zh(&a.level),
            level: a.level,
            message: a.message_zh,
            due_at: china_time(&a.due_at),
            case_no: a.case_no,
            key: a.key,
        })
        .collect();
    let orders: Vec<OrderLine> = order_rows
        .iter()
        .map(|o| OrderLine {
            id: o.id.clone(),
            case_no: o.case_no.clone(),
            agency: name_of(&o.agency_uscc),
            state_zh: OrderState::parse(&o.state).map_or("", OrderState::name_zh),
            content: o.content.clone(),
            due_date: o.due_date.clone(),
            overdue: overdue(o, now),
            issued_at: china_time(&o.issued_at),
        })
        .collect();
    let page = ConsolePage {
        l: Layout::new(&state, &auth, "电子监察").await,
        counts,
        level_totals,
        overdue_orders: orders.iter().filter(|o| o.overdue).count(),
        open_orders: order_rows.iter().filter(|o| o.state != "closed").count(),
        alerts,
        orders,
        class: class.unwrap_or("").to_string(),
        level: level.unwrap_or("").to_string(),
        supervisor: !scope.supervised.is_empty(),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueQuery {
    pub case_no: String,
    pub key: String,
}

#[derive(Template)]
#[template(path = "console_order_issue.html")]
struct IssuePage {
    l: Layout,
    alert: AlertLine,
    default_workdays: u32,
    max_workdays: u32,
    error: Option<String>,
    content: String,
}

async fn issue_page_with(
    state: &AppState,
    auth: &Auth,
    case_no: &str,
    key: &str,
    status: StatusCode,
    error: Option<String>,
    content: String,
) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let store = state.store();
    let scope = Scope::of(store, p).await?;
    let a = match store.supervision_alert(case_no, key).await? {
        Some(a) if scope.supervises(&a.agency_uscc) => a,
        _ => return Err(WebError::NotFound(format!("预警 {case_no} {key}")).into()),
    };
    let agency = store.agency(&a.agency_uscc).await?.map_or_else(|| a.agency_uscc.clone(), |x| x.name);
    let alert = AlertLine {
        href: subject_href(&a),
        may_issue: a.subject == "case",
        case_no: a.case_no,
        key: a.key,
        agency,
        class_zh: class_of(&a.class).name_zh(),
        level_zh: level_zh(&a.level),
        level: a.level,
        message: a.message_zh,
        due_at: china_time(&a.due_at),
        order: None,
    };
    let page = IssuePage {
        l: Layout::new(state, auth, "下发督办单").await,
        alert,
        default_workdays: DEFAULT_ORDER_WORKDAYS,
        max_workdays: orders::MAX_DEADLINE_WORKDAYS,
        error,
        content,
    };
    Ok(render(status, &page))
}

/// `GET /console/supervision/issue?case_no=&key=` (supervisors): the alert and the order form.
pub async fn issue_page(State(state): State<AppState>, auth: Auth, Query(q): Query<IssueQuery>) -> Result<Response, ApiError> {
    issue_page_with(&state, &auth, &q.case_no, &q.key, StatusCode::OK, None, String::new()).await
}

#[derive(Debug, Deserialize)]
pub struct IssueForm {
    pub case_no: String,
    pub key: String,
    #[serde(default)]
    pub content: String,
    pub workdays: Option<u32>,
}

/// `POST /console/supervision/orders` (supervisors).
pub async fn issue_submit(State(state): State<AppState>, auth: Auth, axum::Form(f): axum::Form<IssueForm>) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let input = IssueInput { case_no: f.case_no.clone(), alert_key: f.key.clone(), content: f.content.clone(), workdays: f.workdays };
    match issue(&state, p, &input).await {
        Ok(o) => Ok(crate::auth::see_other(&format!("/console/supervision/orders/{}", o.id))),
        Err(e) if e.status() < 500 && e.status() != 404 && e.status() != 403 => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            issue_page_with(&state, &auth, &f.case_no, &f.key, status, Some(e.message_zh().to_string()), f.content).await
        }
        Err(e) => Err(e),
    }
}

struct EventLine {
    at: String,
    who: String,
    what: &'static str,
    note: String,
}

#[derive(Template)]
#[template(path = "console_order.html")]
struct OrderPage {
    l: Layout,
    id: String,
    case_no: String,
    agency: String,
    issuer: String,
    state_zh: &'static str,
    content: String,
    due_date: String,
    overdue: bool,
    version: i64,
    events: Vec<EventLine>,
    /// (action code, button label, whether a note is required)
    actions: Vec<(&'static str, &'static str, bool)>,
    error: Option<String>,
    done: Option<&'static str>,
}

async fn order_page_with(
    state: &AppState,
    auth: &Auth,
    id: &str,
    status: StatusCode,
    error: Option<String>,
    done: Option<&'static str>,
) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let store = state.store();
    let scope = Scope::of(store, p).await?;
    let (o, events) = readable_order(store, &scope, id).await?;
    let names = agency_names(store).await?;
    let name = |u: &str| names.get(u).cloned().unwrap_or_else(|| u.to_string());
    let state_now = OrderState::parse(&o.state);
    let mut actions = Vec::new();
    let candidates: [(OrderAction, &str, bool); 5] = [
        (OrderAction::Acknowledged, "签收", false),
        (OrderAction::Rectified, "提交整改情况", true),
        (OrderAction::Verified, "核查通过", false),
        (OrderAction::Returned, "退回重新整改", true),
        (OrderAction::Closed, "办结督办单", false),
    ];
    for (action, label, note) in candidates {
        let allowed_now = matches!(
            (&action, state_now),
            (OrderAction::Acknowledged, Some(OrderState::Issued))
                | (OrderAction::Rectified, Some(OrderState::Acknowledged))
                | (OrderAction::Verified | OrderAction::Returned, Some(OrderState::Rectified))
                | (OrderAction::Closed, Some(OrderState::Verified))
        );
        if allowed_now && scope.may(action.party(), &o.agency_uscc) {
            actions.push((action.code(), label, note));
        }
    }
    let now = jiff::Timestamp::now();
    let page = OrderPage {
        l: Layout::new(state, auth, &format!("督办单 {}", o.id)).await,
        agency: name(&o.agency_uscc),
        issuer: name(&o.issuer_agency),
        state_zh: state_now.map_or("", OrderState::name_zh),
        overdue: overdue(&o, now),
        events: events
            .iter()
            .map(|e| EventLine {
                at: china_time(&e.event.at.to_string()),
                who: e.actor_name.clone(),
                what: e.event.action.name_zh(),
                note: e.event.note.clone(),
            })
            .collect(),
        id: o.id,
        case_no: o.case_no,
        content: o.content,
        due_date: o.due_date,
        version: o.version,
        actions,
        error,
        done,
    };
    Ok(render(status, &page))
}

#[derive(Debug, Deserialize)]
pub struct OrderPageQuery {
    pub done: Option<String>,
}

/// `GET /console/supervision/orders/{id}`: the order, its history, and the
/// steps the caller may take now.
pub async fn order_page(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<OrderPageQuery>,
) -> Result<Response, ApiError> {
    let done = q.done.as_deref().map(|_| "已办理。");
    order_page_with(&state, &auth, &id, StatusCode::OK, None, done).await
}

#[derive(Debug, Deserialize)]
pub struct ActForm {
    pub action: String,
    #[serde(default)]
    pub note: String,
    pub version: Option<i64>,
}

/// `POST /console/supervision/orders/{id}/events`.
pub async fn act_submit(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<ActForm>,
) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let input = ActInput { action: f.action, note: f.note, version: f.version };
    match act(&state, p, &id, &input).await {
        Ok(_) => Ok(crate::auth::see_other(&format!("/console/supervision/orders/{id}?done=1"))),
        Err(e) if e.status() < 500 && e.status() != 404 => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            order_page_with(&state, &auth, &id, status, Some(e.message_zh().to_string()), None).await
        }
        Err(e) => Err(e),
    }
}
