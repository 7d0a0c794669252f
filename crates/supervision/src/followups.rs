//! Alerts on what follows an alert or a rating (issue 22): a 督办单 whose
//! rectification is owed past its deadline (红牌), and a 差评 whose loop is
//! past its feedback deadline (黄牌). Like the rules on a case's events, a
//! pure function, here of (the open orders and loops, the day): the daily
//! sweep keeps what it gives, once per order or rating, so a supervisor can
//! issue an order on an overdue loop as on any alert.

use jiff::Timestamp;
use jiff::civil::Date;

use crate::orders::{OrderState, report_overdue};
use crate::ratings::LoopState;
use crate::{Alert, Class, Level};

/// An order as the sweep reads it.
#[derive(Debug, Clone)]
pub struct OpenOrder {
    pub id: String,
    pub case_no: String,
    pub agency_uscc: String,
    pub state: OrderState,
    pub due: Date,
}

/// A 差评's loop as the sweep reads it.
#[derive(Debug, Clone)]
pub struct OpenLoop {
    pub rating_id: String,
    pub case_no: String,
    pub agency_uscc: String,
    pub state: LoopState,
    pub due: Date,
}

/// The rule codes.
pub const ORDER_OVERDUE: &str = "timeliness.order_overdue";
pub const RATING_LOOP_OVERDUE: &str = "timeliness.rating_loop_overdue";

/// A loop still owes the agency's steps (or the supervisor's review).
fn loop_owed(s: LoopState) -> bool {
    matches!(s, LoopState::Open | LoopState::Rectifying | LoopState::ToFeedback | LoopState::Appealed)
}

/// The start (China time) of the day after `due`: when it became overdue.
fn day_after(due: Date) -> Option<Timestamp> {
    due.tomorrow().ok().and_then(yiwang_calendar::china_day_start)
}

/// Every follow-up alert due by `now`: orders whose rectification is owed
/// past their deadline, loops past their feedback deadline.
pub fn overdue_followups(orders: &[OpenOrder], loops: &[OpenLoop], now: Timestamp) -> Vec<Alert> {
    let mut out = Vec::new();
    for o in orders.iter().filter(|o| report_overdue(o.state, o.due, now)) {
        let Some(at) = day_after(o.due) else { continue };
        out.push(Alert {
            rule: ORDER_OVERDUE.into(),
            class: Class::Timeliness,
            level: Level::Red,
            case_no: o.case_no.clone(),
            agency_uscc: o.agency_uscc.clone(),
            at,
            key: format!("{ORDER_OVERDUE}:{}", o.id),
            message_zh: format!("督办单 {} 整改期限 {} 已过，尚未报告整改情况", o.id, o.due),
        });
    }
    let today = yiwang_calendar::china_today(now);
    for l in loops.iter().filter(|l| loop_owed(l.state) && today > l.due) {
        let Some(at) = day_after(l.due) else { continue };
        out.push(Alert {
            rule: RATING_LOOP_OVERDUE.into(),
            class: Class::Timeliness,
            level: Level::Yellow,
            case_no: l.case_no.clone(),
            agency_uscc: l.agency_uscc.clone(),
            at,
            key: format!("{RATING_LOOP_OVERDUE}:{}", l.rating_id),
            message_zh: format!("差评 {} 的整改反馈期限 {} 已过，仍{}", l.rating_id, l.due, l.state.name_zh()),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn order(state: OrderState, due: &str) -> OpenOrder {
        OpenOrder { id: "ord_1".into(), case_no: "C1".into(), agency_uscc: "A".into(), state, due: due.parse().unwrap() }
    }

    fn bad(state: LoopState, due: &str) -> OpenLoop {
        OpenLoop { rating_id: "rat_1".into(), case_no: "C2".into(), agency_uscc: "A".into(), state, due: due.parse().unwrap() }
    }

    #[test]
    fn an_order_owed_past_its_day_is_red_and_a_loop_past_its_day_is_yellow() {
        // 2026-12-08 10:00 China time.
        let now: Timestamp = "2026-12-08T02:00:00Z".parse().unwrap();
        let alerts = overdue_followups(&[order(OrderState::Acknowledged, "2026-12-07")], &[bad(LoopState::Rectifying, "2026-12-07")], now);
        assert_eq!(alerts.len(), 2);
        assert_eq!(
            (alerts[0].rule.as_str(), alerts[0].level, alerts[0].key.as_str()),
            (ORDER_OVERDUE, Level::Red, "timeliness.order_overdue:ord_1")
        );
        assert_eq!(alerts[0].at.to_string(), "2026-12-07T16:00:00Z", "due from the start of the next China day");
        assert_eq!((alerts[1].rule.as_str(), alerts[1].level, alerts[1].case_no.as_str()), (RATING_LOOP_OVERDUE, Level::Yellow, "C2"));
    }

    #[test]
    fn nothing_is_overdue_on_its_day_or_once_reported_or_closed() {
        let now: Timestamp = "2026-12-07T15:59:00Z".parse().unwrap(); // still 12-07 in China
        assert!(overdue_followups(&[order(OrderState::Issued, "2026-12-07")], &[bad(LoopState::Open, "2026-12-07")], now).is_empty());
        let later: Timestamp = "2026-12-20T02:00:00Z".parse().unwrap();
        let orders = [order(OrderState::Rectified, "2026-12-07"), order(OrderState::Closed, "2026-12-07")];
        let loops = [bad(LoopState::ToRevisit, "2026-12-07"), bad(LoopState::Closed, "2026-12-07"), bad(LoopState::Voided, "2026-12-07")];
        assert!(overdue_followups(&orders, &loops, later).is_empty());
    }
}
