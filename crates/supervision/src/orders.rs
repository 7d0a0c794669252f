//! 督办单 (supervision orders): the ladder's last rung. A supervisor issues an
//! order on an alert; the agency acknowledges it and reports its
//! rectification by a deadline in working days; the supervisor verifies the
//! report (or returns it) and closes the order. An order is the fold of its
//! events, as a case is, so its state and its history cannot disagree.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use yiwang_calendar::{Calendar, CalendarError, china_today};
use yiwang_errors::{Coded, ErrorKind};

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    /// 已下发
    Issued,
    /// 已签收
    Acknowledged,
    /// 已整改（待核查）
    Rectified,
    /// 已核查
    Verified,
    /// 已办结
    Closed,
}

impl OrderState {
    pub fn name_zh(self) -> &'static str {
        match self {
            OrderState::Issued => "已下发",
            OrderState::Acknowledged => "已签收",
            OrderState::Rectified => "已整改待核查",
            OrderState::Verified => "已核查",
            OrderState::Closed => "已办结",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            OrderState::Issued => "issued",
            OrderState::Acknowledged => "acknowledged",
            OrderState::Rectified => "rectified",
            OrderState::Verified => "verified",
            OrderState::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<OrderState> {
        [OrderState::Issued, OrderState::Acknowledged, OrderState::Rectified, OrderState::Verified, OrderState::Closed]
            .into_iter()
            .find(|st| st.code() == s)
    }
}

/// Who takes an action: the supervising office or the supervised agency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    Supervisor,
    Agency,
}

/// What happens to an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum OrderAction {
    /// 下发: on an alert of a case, to the case's agency, due by `due`.
    Issued { case_no: String, alert_key: String, agency_uscc: String, content: String, due: Date },
    /// 签收
    Acknowledged,
    /// 整改反馈: what the agency did (the note is the report).
    Rectified,
    /// 核查: the report holds.
    Verified,
    /// 退回重新整改: the report does not hold (the note says why).
    Returned,
    /// 办结
    Closed,
}

impl OrderAction {
    pub fn party(&self) -> Party {
        match self {
            OrderAction::Acknowledged | OrderAction::Rectified => Party::Agency,
            _ => Party::Supervisor,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            OrderAction::Issued { .. } => "issued",
            OrderAction::Acknowledged => "acknowledged",
            OrderAction::Rectified => "rectified",
            OrderAction::Verified => "verified",
            OrderAction::Returned => "returned",
            OrderAction::Closed => "closed",
        }
    }

    pub fn name_zh(&self) -> &'static str {
        match self {
            OrderAction::Issued { .. } => "下发督办单",
            OrderAction::Acknowledged => "签收",
            OrderAction::Rectified => "整改反馈",
            OrderAction::Verified => "核查通过",
            OrderAction::Returned => "退回重新整改",
            OrderAction::Closed => "办结",
        }
    }
}

/// One event of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderEvent {
    pub at: Timestamp,
    /// The account that acted.
    pub actor: String,
    #[serde(flatten)]
    pub action: OrderAction,
    /// The report, the reason for a return, or a remark.
    #[serde(default)]
    pub note: String,
}

/// An order as its events made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub state: OrderState,
    pub case_no: String,
    pub alert_key: String,
    pub agency_uscc: String,
    pub content: String,
    pub issued_at: Timestamp,
    pub issued_by: String,
    /// The last day (China time) by which the rectification is to be reported.
    pub due: Date,
    pub acknowledged_at: Option<Timestamp>,
    /// The last report's time.
    pub rectified_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    /// Reports returned as not holding.
    pub returns: u32,
}

/// Why an order refuses an action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error("an order in state {from} cannot take the action {action}")]
    Transition { from: &'static str, action: &'static str },
    #[error("an order begins with its issue")]
    NotIssued,
    #[error("{0} needs a note")]
    NoteRequired(&'static str),
    #[error("a note is at most {0} characters")]
    NoteTooLong(usize),
    #[error("the deadline must be 1 to {max} working days, got {got}")]
    BadDeadline { got: u32, max: u32 },
    #[error("working-day arithmetic: {0}")]
    Calendar(#[from] CalendarError),
}

/// The longest note or content kept.
pub const NOTE_MAX: usize = 2000;
/// The longest deadline a supervisor may give, in working days.
pub const MAX_DEADLINE_WORKDAYS: u32 = 60;

impl Coded for OrderError {
    fn code(&self) -> &'static str {
        match self {
            OrderError::Transition { .. } => "supervision.order_transition",
            OrderError::NotIssued => "supervision.order_not_issued",
            OrderError::NoteRequired(_) => "supervision.note_required",
            OrderError::NoteTooLong(_) => "supervision.note_too_long",
            OrderError::BadDeadline { .. } => "supervision.bad_deadline",
            OrderError::Calendar(e) => e.code(),
        }
    }

    fn kind(&self) -> ErrorKind {
        match self {
            OrderError::Transition { .. } | OrderError::NotIssued => ErrorKind::Conflict,
            OrderError::Calendar(e) => e.kind(),
            _ => ErrorKind::Unprocessable,
        }
    }

    fn message_zh(&self) -> String {
        match self {
            OrderError::Transition { from, action } => format!("督办单当前状态（{from}）不允许此操作（{action}）"),
            OrderError::NotIssued => "督办单须先下发".into(),
            OrderError::NoteRequired(what) => format!("{what}须填写说明"),
            OrderError::NoteTooLong(n) => format!("说明不得超过 {n} 字"),
            OrderError::BadDeadline { max, .. } => format!("整改期限须为 1 至 {max} 个工作日"),
            OrderError::Calendar(e) => e.message_zh(),
        }
    }
}

/// The deadline of an order issued at `at` with `workdays` to rectify: that
/// many working days after the day of issue (China time).
pub fn due_date(calendar: &Calendar, at: Timestamp, workdays: u32) -> Result<Date, OrderError> {
    if !(1..=MAX_DEADLINE_WORKDAYS).contains(&workdays) {
        return Err(OrderError::BadDeadline { got: workdays, max: MAX_DEADLINE_WORKDAYS });
    }
    Ok(calendar.add_workdays(china_today(at), workdays)?.value)
}

/// Whether an order in `state` owes its report and its deadline `due` (a
/// China day) has passed by `now`.
pub fn report_overdue(state: OrderState, due: Date, now: Timestamp) -> bool {
    matches!(state, OrderState::Issued | OrderState::Acknowledged) && china_today(now) > due
}

fn check_note(note: &str, required: Option<&'static str>) -> Result<(), OrderError> {
    if note.chars().count() > NOTE_MAX {
        return Err(OrderError::NoteTooLong(NOTE_MAX));
    }
    match required {
        Some(what) if note.trim().is_empty() => Err(OrderError::NoteRequired(what)),
        _ => Ok(()),
    }
}

impl Order {
    /// The order after `e`; `None` before its issue.
    pub fn apply(before: Option<&Order>, e: &OrderEvent) -> Result<Order, OrderError> {
        let refuse = |from: OrderState| OrderError::Transition { from: from.name_zh(), action: e.action.name_zh() };
        match (&e.action, before) {
            (OrderAction::Issued { case_no, alert_key, agency_uscc, content, due }, None) => {
                check_note(content, Some("督办内容"))?;
                check_note(&e.note, None)?;
                Ok(Order {
                    state: OrderState::Issued,
                    case_no: case_no.clone(),
                    alert_key: alert_key.clone(),
                    agency_uscc: agency_uscc.clone(),
                    content: content.clone(),
                    issued_at: e.at,
                    issued_by: e.actor.clone(),
                    due: *due,
                    acknowledged_at: None,
                    rectified_at: None,
                    closed_at: None,
                    returns: 0,
                })
            }
            (_, None) => Err(OrderError::NotIssued),
            (OrderAction::Issued { .. }, Some(o)) => Err(refuse(o.state)),
            (action, Some(o)) => {
                let mut next = o.clone();
                next.state = match (action, o.state) {
                    (OrderAction::Acknowledged, OrderState::Issued) => {
                        check_note(&e.note, None)?;
                        next.acknowledged_at = Some(e.at);
                        OrderState::Acknowledged
                    }
                    (OrderAction::Rectified, OrderState::Acknowledged) => {
                        check_note(&e.note, Some("整改反馈"))?;
                        next.rectified_at = Some(e.at);
                        OrderState::Rectified
                    }
                    (OrderAction::Verified, OrderState::Rectified) => {
                        check_note(&e.note, None)?;
                        OrderState::Verified
                    }
                    (OrderAction::Returned, OrderState::Rectified) => {
                        check_note(&e.note, Some("退回重新整改"))?;
                        next.returns += 1;
                        OrderState::Acknowledged
                    }
                    (OrderAction::Closed, OrderState::Verified) => {
                        check_note(&e.note, None)?;
                        next.closed_at = Some(e.at);
                        OrderState::Closed
                    }
                    (_, from) => return Err(refuse(from)),
                };
                Ok(next)
            }
        }
    }

    /// Fold a stored history.
    pub fn fold(events: &[OrderEvent]) -> Result<Order, OrderError> {
        let mut order: Option<Order> = None;
        for e in events {
            order = Some(Order::apply(order.as_ref(), e)?);
        }
        order.ok_or(OrderError::NotIssued)
    }

    /// Whether the report is still owed and its deadline has passed.
    pub fn is_overdue(&self, now: Timestamp) -> bool {
        report_overdue(self.state, self.due, now)
    }

    /// Whether the accepted rectification was reported by the deadline (for
    /// the public figure "督办按期办结"); `None` until verified.
    pub fn rectified_on_time(&self) -> Option<bool> {
        match self.state {
            OrderState::Verified | OrderState::Closed => self.rectified_at.map(|r| china_today(r) <= self.due),
            _ => None,
        }
    }
}

/// The record kind an order event goes up as (汇聚).
pub const ORDER_RECORD: &str = "supervision.order";

/// 监察预警类型代码 (n1): the standard gives no code list [I: ours, by class].
pub fn warning_type_code(class: crate::Class) -> &'static str {
    match class {
        crate::Class::Timeliness => "1",
        crate::Class::Process => "2",
        crate::Class::Content => "3",
        crate::Class::Fee => "4",
        crate::Class::Integrity => "5",
    }
}

/// What the record of an order event says about the alert it was issued on
/// and the case's item.
pub struct OrderContext<'a> {
    pub rule: &'a str,
    pub class: crate::Class,
    pub agency_name: &'a str,
    /// 事项类型代码 (GB/T 39046 A.1) of the case's item.
    pub item_type: &'a str,
}

/// The GB/T 39046 表11 record of an order event: 督办基本信息 at the issue,
/// 过程信息 for the agency's and the supervisor's steps, 结果信息 at the close.
pub fn order_record(order_id: &str, order: &Order, e: &OrderEvent, ctx: &OrderContext<'_>) -> serde_json::Value {
    let gb = yiwang_case::gbt39046::gb_time;
    let part = match e.action {
        OrderAction::Issued { .. } => "basic",
        OrderAction::Closed => "result",
        _ => "process",
    };
    let result = match e.action {
        OrderAction::Closed => format!(
            "督办办结；整改{}；退回重新整改 {} 次",
            if order.rectified_on_time() == Some(true) { "按期" } else { "逾期" },
            order.returns
        ),
        _ => format!("{}{}{}", e.action.name_zh(), if e.note.trim().is_empty() { "" } else { "：" }, e.note.trim()),
    };
    serde_json::json!({
        "part": part,
        "case_no": order.case_no,
        "supervise_content": order.content,
        "org_name": ctx.agency_name,
        "task_type": ctx.item_type,
        "supervise_time": gb(order.issued_at),
        "monitor_no": order_id,
        "monitor_rule_no": ctx.rule,
        "warning_type": warning_type_code(ctx.class),
        "status_time": gb(e.at),
        "status": order.state.code(),
        "monitor_result": result,
        "responsible_dept": order.agency_uscc,
        "due_date": order.due.to_string(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn ev(t: &str, actor: &str, action: OrderAction, note: &str) -> OrderEvent {
        OrderEvent { at: at(t), actor: actor.into(), action, note: note.into() }
    }

    fn issue(due: Date) -> OrderEvent {
        ev(
            "2026-12-07T02:00:00Z",
            "sup",
            OrderAction::Issued {
                case_no: "C1".into(),
                alert_key: "timeliness.promised_overdue".into(),
                agency_uscc: "A".into(),
                content: "请说明超期原因并限期办结".into(),
                due,
            },
            "",
        )
    }

    #[test]
    fn an_order_runs_its_whole_lifecycle_with_a_return() {
        let due = jiff::civil::date(2026, 12, 14);
        let events = vec![
            issue(due),
            ev("2026-12-07T03:00:00Z", "head", OrderAction::Acknowledged, ""),
            ev("2026-12-08T03:00:00Z", "head", OrderAction::Rectified, "已办结该件，并对窗口人员约谈"),
            ev("2026-12-08T05:00:00Z", "sup", OrderAction::Returned, "未附约谈记录"),
            ev("2026-12-09T03:00:00Z", "head", OrderAction::Rectified, "补充约谈记录"),
            ev("2026-12-09T05:00:00Z", "sup", OrderAction::Verified, ""),
            ev("2026-12-09T06:00:00Z", "sup", OrderAction::Closed, ""),
        ];
        let o = Order::fold(&events).unwrap();
        assert_eq!(o.state, OrderState::Closed);
        assert_eq!(o.returns, 1);
        assert_eq!(o.rectified_at, Some(at("2026-12-09T03:00:00Z")));
        assert_eq!(o.rectified_on_time(), Some(true));
        assert!(!o.is_overdue(at("2027-01-01T00:00:00Z")));
    }

    #[test]
    fn out_of_order_actions_and_missing_notes_are_refused() {
        let due = jiff::civil::date(2026, 12, 14);
        let o = Order::apply(None, &issue(due)).unwrap();
        // Not yet acknowledged: no report, no verification, no closing.
        for action in [OrderAction::Rectified, OrderAction::Verified, OrderAction::Closed, OrderAction::Returned] {
            let e = Order::apply(Some(&o), &ev("2026-12-07T03:00:00Z", "x", action, "n")).unwrap_err();
            assert_eq!(e.code(), "supervision.order_transition");
        }
        assert_eq!(Order::apply(Some(&o), &issue(due)).unwrap_err().code(), "supervision.order_transition");
        assert_eq!(Order::apply(None, &ev("2026-12-07T03:00:00Z", "x", OrderAction::Acknowledged, "")).unwrap_err(), OrderError::NotIssued);
        let o = Order::apply(Some(&o), &ev("2026-12-07T03:00:00Z", "head", OrderAction::Acknowledged, "")).unwrap();
        let e = Order::apply(Some(&o), &ev("2026-12-07T04:00:00Z", "head", OrderAction::Rectified, "  ")).unwrap_err();
        assert_eq!(e.code(), "supervision.note_required");
        let long = "字".repeat(NOTE_MAX + 1);
        let e = Order::apply(Some(&o), &ev("2026-12-07T04:00:00Z", "head", OrderAction::Rectified, &long)).unwrap_err();
        assert_eq!(e.code(), "supervision.note_too_long");
        let o = Order::apply(Some(&o), &ev("2026-12-07T04:00:00Z", "head", OrderAction::Rectified, "已整改")).unwrap();
        let e = Order::apply(Some(&o), &ev("2026-12-07T05:00:00Z", "sup", OrderAction::Returned, "")).unwrap_err();
        assert_eq!(e.code(), "supervision.note_required");
    }

    #[test]
    fn the_deadline_counts_working_days_and_overdue_follows_it() {
        let cal = Calendar::bundled().unwrap();
        // Issued Friday 2026-12-04 (China time): 5 working days → Friday 2026-12-11.
        let due = due_date(&cal, at("2026-12-04T02:00:00Z"), 5).unwrap();
        assert_eq!(due, jiff::civil::date(2026, 12, 11));
        assert_eq!(due_date(&cal, at("2026-12-04T02:00:00Z"), 0).unwrap_err().code(), "supervision.bad_deadline");
        assert_eq!(due_date(&cal, at("2026-12-04T02:00:00Z"), MAX_DEADLINE_WORKDAYS + 1).unwrap_err().code(), "supervision.bad_deadline");
        let o = Order::apply(None, &issue(due)).unwrap();
        // The whole of the due day (China time) is in time; the next day is not.
        assert!(!o.is_overdue(at("2026-12-11T15:59:00Z")));
        assert!(o.is_overdue(at("2026-12-11T16:00:00Z")));
        // A report after the deadline, verified: closed late.
        let o = Order::apply(Some(&o), &ev("2026-12-08T01:00:00Z", "head", OrderAction::Acknowledged, "")).unwrap();
        let o = Order::apply(Some(&o), &ev("2026-12-14T01:00:00Z", "head", OrderAction::Rectified, "迟报")).unwrap();
        assert!(!o.is_overdue(at("2026-12-20T00:00:00Z")));
        assert_eq!(o.rectified_on_time(), None);
        let o = Order::apply(Some(&o), &ev("2026-12-14T02:00:00Z", "sup", OrderAction::Verified, "")).unwrap();
        assert_eq!(o.rectified_on_time(), Some(false));
    }

    #[test]
    fn each_event_makes_its_table_11_record() {
        let due = jiff::civil::date(2026, 12, 14);
        let issued = issue(due);
        let o = Order::apply(None, &issued).unwrap();
        let ctx = OrderContext {
            rule: "timeliness.promised_overdue",
            class: crate::Class::Timeliness,
            agency_name: "杭州市市场监督管理局",
            item_type: "01",
        };
        let r = order_record("DB2026120700000001", &o, &issued, &ctx);
        assert_eq!(r["part"], "basic");
        assert_eq!(r["warning_type"], "1");
        assert_eq!(r["supervise_time"], "20261207T100000");
        assert_eq!(r["monitor_no"], "DB2026120700000001");
        let ack = ev("2026-12-07T03:00:00Z", "head", OrderAction::Acknowledged, "");
        let o = Order::apply(Some(&o), &ack).unwrap();
        assert_eq!(order_record("X", &o, &ack, &ctx)["part"], "process");
        let rect = ev("2026-12-08T03:00:00Z", "head", OrderAction::Rectified, "已办结");
        let o = Order::apply(Some(&o), &rect).unwrap();
        assert_eq!(order_record("X", &o, &rect, &ctx)["monitor_result"], "整改反馈：已办结");
        let o = Order::apply(Some(&o), &ev("2026-12-08T04:00:00Z", "sup", OrderAction::Verified, "")).unwrap();
        let close = ev("2026-12-08T05:00:00Z", "sup", OrderAction::Closed, "");
        let o = Order::apply(Some(&o), &close).unwrap();
        let r = order_record("X", &o, &close, &ctx);
        assert_eq!((r["part"].as_str(), r["status"].as_str()), (Some("result"), Some("closed")));
        assert_eq!(r["monitor_result"], "督办办结；整改按期；退回重新整改 0 次");
    }

    #[test]
    fn events_round_trip_as_json() {
        let e = issue(jiff::civil::date(2026, 12, 14));
        let json = serde_json::to_string(&e).unwrap();
        assert!(json.contains("\"action\":\"issued\""), "{json}");
        assert_eq!(serde_json::from_str::<OrderEvent>(&json).unwrap(), e);
    }
}
