//! The case data exchanged with external department systems, in the data
//! sets of GB/T 39046-2020 (domain.md §7.1): outgoing, each recorded event
//! that another system cares about as one record (表5 办事申请, 表6 事项受理,
//! 表7 事项办理 with its 特别程序, 表8 事项办结); incoming, the same records
//! from a department's own system, turned into our typed events. Field names
//! are ASCII snake case; each one's GB/T name is in docs/integration.md.
//! Times are China Standard Time as `YYYYMMDDThhmmss`, the standard's form.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{Case, Decision, Envelope, Event, SpecialKind, StepAction};

/// What the outgoing record says about the case besides the event.
#[derive(Debug, Clone, Copy)]
pub struct CaseRef<'a> {
    pub case_no: &'a str,
    pub implementation_code: &'a str,
    pub item_name: &'a str,
    pub agency_uscc: &'a str,
    /// `online` or `window` (申报来源).
    pub channel: &'a str,
    pub promised_due: Option<&'a str>,
    pub legal_due: Option<&'a str>,
}

/// `YYYYMMDDThhmmss` in China Standard Time.
pub fn gb_time(t: Timestamp) -> String {
    t.to_zoned(TimeZone::fixed(jiff::tz::offset(8))).strftime("%Y%m%dT%H%M%S").to_string()
}

/// Parse `YYYYMMDDThhmmss` (China Standard Time).
pub fn parse_gb_time(s: &str) -> Option<Timestamp> {
    let dt = jiff::civil::DateTime::strptime("%Y%m%dT%H%M%S", s.trim()).ok()?;
    dt.to_zoned(TimeZone::fixed(jiff::tz::offset(8))).ok().map(|z| z.timestamp())
}

/// The outgoing record of an event (`None`: internal, not exchanged): its
/// type (`case.accepted`…), and the data set's fields. `after` is the case
/// with the event applied.
pub fn outgoing(c: CaseRef<'_>, e: &Envelope, after: &Case) -> Option<(&'static str, Value)> {
    let base = json!({
        "case_no": c.case_no, "implementation_code": c.implementation_code, "item_name": c.item_name,
        "agency_uscc": c.agency_uscc, "state": after.state.code(),
    });
    let at = gb_time(e.at);
    let (kind, table, data) = match &e.event {
        Event::Submitted => {
            ("case.submitted", "5", json!({ "apply_time": at, "apply_source": if c.channel == "window" { "2" } else { "1" } }))
        }
        Event::CorrectionNotified { items } => ("case.correction_notified", "5", json!({ "notice_time": at, "items": items })),
        Event::CorrectionSubmitted => ("case.correction_submitted", "5", json!({ "corrected_time": at })),
        Event::Accepted { promised_days, legal_days, .. } => (
            "case.accepted",
            "6",
            json!({
                "accepting_agency_uscc": c.agency_uscc, "accepting_officer": e.actor, "accept_time": at,
                "promised_completion": c.promised_due, "legal_completion": c.legal_due,
                "promised_days": promised_days, "legal_days": legal_days,
            }),
        ),
        Event::NotAccepted { legal_basis } => {
            ("case.not_accepted", "6", json!({ "decision_time": at, "reason": e.reason, "legal_basis": legal_basis }))
        }
        Event::StepStarted { step } | Event::StepPassed { step, .. } | Event::StepReturned { step } => {
            let record = after.steps.iter().rev().find(|s| &s.step == step)?;
            let (action, status) = match record.action {
                None => ("", "1"),
                Some(StepAction::Passed) => ("通过", "2"),
                Some(StepAction::Returned) => ("退回", "2"),
            };
            (
                "case.step",
                "7",
                json!({
                    "step_name": step, "business_action": action, "step_status": status, "step_handler": e.actor,
                    "step_opinion": record.opinion, "step_start": gb_time(record.started_at),
                    // 如没有结束时间，则填写开始时间
                    "step_end": gb_time(record.ended_at.unwrap_or(record.started_at)),
                    "handling_agency_uscc": c.agency_uscc,
                }),
            )
        }
        Event::SpecialStarted { kind, name, extension_days } => (
            "case.special_started",
            "7",
            json!({
                "special_type": kind.code().to_string(), "special_name": name, "special_start": at, "special_reason": e.reason,
                "special_limit_days": if *kind == SpecialKind::Extension { Some(extension_days) } else { None },
                "special_handler": e.actor,
            }),
        ),
        Event::SpecialEnded { result } => {
            let s = after.specials.last()?;
            (
                "case.special_ended",
                "7",
                json!({
                    "special_type": s.kind.code().to_string(), "special_name": s.name, "special_end": at,
                    "special_result": result, "special_opinion": e.reason, "special_handler": e.actor,
                }),
            )
        }
        Event::Decided { decision } => (
            "case.decided",
            "8",
            json!({ "decision": match decision { Decision::Approve => "准予", Decision::Deny => "不予" }, "decision_time": at, "reason": e.reason }),
        ),
        Event::Concluded { result } => (
            "case.concluded",
            "8",
            json!({
                "completion_handler": e.actor, "completion_time": at, "result_description": result,
                "result_type": match after.decision { Some(Decision::Approve) => "准予", Some(Decision::Deny) => "不予", None => "其他" },
            }),
        ),
        Event::Delivered { method } => ("case.delivered", "8", json!({ "delivery_time": at, "delivery_method": method })),
        Event::Withdrawn => ("case.withdrawn", "8", json!({ "completion_time": at, "result_type": "撤回" })),
        Event::Voided => ("case.voided", "8", json!({ "completion_time": at, "result_type": "作废", "reason": e.reason })),
        _ => return None,
    };
    let mut out = base;
    out["gbt39046_table"] = json!(table);
    if let (Value::Object(o), Value::Object(d)) = (&mut out, data) {
        o.extend(d);
    }
    Some((kind, out))
}

/// A record sent in by a department's own system (GB/T 39046 表6–8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "table", rename_all = "snake_case", deny_unknown_fields)]
pub enum Record {
    /// 表6 事项受理 (the limits are the item's, not the record's).
    Acceptance {
        accept_time: String,
        accepting_officer: String,
        #[serde(default)]
        acceptance_doc_no: String,
    },
    /// 表7 事项办理: a step started (`step_status` 1) or done (2, with 通过 or 退回).
    Handling {
        step_name: String,
        step_status: String,
        #[serde(default)]
        business_action: String,
        step_handler: String,
        #[serde(default)]
        step_opinion: String,
        step_start: String,
        #[serde(default)]
        step_end: String,
        /// Not in the national table (our extension): what the step found, as
        /// a step passed on the workbench records it; an external task's answer
        /// (`{"credit": "A"}`) that the process's gateways route on.
        #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
        step_data: serde_json::Map<String, Value>,
    },
    /// 表7 特别程序: started (no end yet), or ended with its result.
    SpecialProcedure {
        special_type: String,
        special_name: String,
        special_start: String,
        #[serde(default)]
        special_reason: String,
        #[serde(default)]
        special_limit_days: Option<u32>,
        #[serde(default)]
        special_end: String,
        #[serde(default)]
        special_result: String,
    },
    /// 表8 事项办结: the decision and the conclusion at once.
    Completion { result_type: String, result_description: String, completion_time: String, completion_handler: String },
}

/// Why an incoming record cannot be recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("field {0}: expected YYYYMMDDThhmmss (China Standard Time), not in the future")]
    Time(&'static str),
    #[error("field {field}: {detail}")]
    Field { field: &'static str, detail: &'static str },
    #[error("the record's time is before the case's last recorded event")]
    Order,
}

impl yiwang_errors::Coded for RecordError {
    fn code(&self) -> &'static str {
        match self {
            RecordError::Time(_) => "integration.time",
            RecordError::Field { .. } => "integration.field",
            RecordError::Order => "integration.order",
        }
    }
    fn kind(&self) -> yiwang_errors::ErrorKind {
        yiwang_errors::ErrorKind::Unprocessable
    }
    fn message_zh(&self) -> String {
        match self {
            RecordError::Time(f) => format!("字段 {f} 须为 YYYYMMDDThhmmss 格式的北京时间，且不晚于当前时间"),
            RecordError::Field { field, .. } => format!("字段 {field} 的取值无效"),
            RecordError::Order => "记录时间早于该办件已有的最近一次记录，请核对时间".into(),
        }
    }
}

impl Record {
    /// The kind of this record, as a role check and a log name use it.
    pub fn table(&self) -> &'static str {
        match self {
            Record::Acceptance { .. } => "acceptance",
            Record::Handling { .. } => "handling",
            Record::SpecialProcedure { .. } => "special_procedure",
            Record::Completion { .. } => "completion",
        }
    }

    /// The events this record means for `case` as it stands, each with its
    /// time, actor (as the department's system reports it) and reason.
    /// Acceptance limits are left 0 for the caller to fill from the item.
    pub fn events(&self, case: &Case, now: Timestamp) -> Result<Vec<(Timestamp, String, String, Event)>, RecordError> {
        let time = |s: &str, field: &'static str| parse_gb_time(s).filter(|t| *t <= now).ok_or(RecordError::Time(field));
        Ok(match self {
            Record::Acceptance { accept_time, accepting_officer, acceptance_doc_no } => {
                let reason = if acceptance_doc_no.is_empty() { String::new() } else { format!("受理文书编号 {acceptance_doc_no}") };
                let e = Event::Accepted {
                    promised_days: 0,
                    legal_days: 0,
                    pending: vec![],
                    commitment_check_days: 0,
                    units: Default::default(),
                };
                vec![(time(accept_time, "accept_time")?, accepting_officer.clone(), reason, e)]
            }
            Record::Handling { step_name, step_status, business_action, step_handler, step_opinion, step_start, step_end, step_data } => {
                let open = case.steps.iter().rev().find(|s| s.action.is_none()).map(|s| s.step.as_str());
                let start = time(step_start, "step_start")?;
                let mut out = Vec::new();
                if open != Some(step_name.as_str()) {
                    out.push((start, step_handler.clone(), String::new(), Event::StepStarted { step: step_name.clone() }));
                }
                match step_status.as_str() {
                    "1" => {}
                    "2" => {
                        let end = if step_end.is_empty() { start } else { time(step_end, "step_end")? };
                        let step = step_name.clone();
                        let event = match business_action.as_str() {
                            "通过" => Event::StepPassed { step, data: step_data.clone() },
                            "退回" => Event::StepReturned { step },
                            _ => {
                                return Err(RecordError::Field {
                                    field: "business_action",
                                    detail: "expected 通过 or 退回 when step_status is 2",
                                });
                            }
                        };
                        out.push((end, step_handler.clone(), step_opinion.clone(), event));
                    }
                    _ => return Err(RecordError::Field { field: "step_status", detail: "expected 1 (待办) or 2 (已办)" }),
                }
                out
            }
            Record::SpecialProcedure {
                special_type,
                special_name,
                special_start,
                special_reason,
                special_limit_days,
                special_end,
                special_result,
            } => {
                let kind = match special_type.as_str() {
                    "1" => SpecialKind::Extension,
                    "2" => SpecialKind::Other,
                    _ => return Err(RecordError::Field { field: "special_type", detail: "expected 1 (延长审批) or 2 (其他)" }),
                };
                let open = case.specials.last().is_some_and(|s| s.ended_on.is_none() && s.name == *special_name);
                let mut out = Vec::new();
                if !open {
                    let extension_days = if kind == SpecialKind::Extension {
                        special_limit_days.ok_or(RecordError::Field { field: "special_limit_days", detail: "required for 延长审批" })?
                    } else {
                        0
                    };
                    let e = Event::SpecialStarted { kind, name: special_name.clone(), extension_days };
                    out.push((time(special_start, "special_start")?, String::new(), special_reason.clone(), e));
                }
                if !special_end.is_empty() && kind == SpecialKind::Other {
                    if special_result.trim().is_empty() {
                        return Err(RecordError::Field { field: "special_result", detail: "required when the procedure has ended" });
                    }
                    let e = Event::SpecialEnded { result: special_result.clone() };
                    out.push((time(special_end, "special_end")?, String::new(), String::new(), e));
                }
                out
            }
            Record::Completion { result_type, result_description, completion_time, completion_handler } => {
                let decision = match result_type.as_str() {
                    "准予" | "同意" => Decision::Approve,
                    "不予" | "不同意" => Decision::Deny,
                    _ => return Err(RecordError::Field { field: "result_type", detail: "expected 准予 or 不予" }),
                };
                let at = time(completion_time, "completion_time")?;
                vec![
                    (at, completion_handler.clone(), String::new(), Event::Decided { decision }),
                    (at, completion_handler.clone(), String::new(), Event::Concluded { result: result_description.clone() }),
                ]
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn times_are_china_standard_time_in_the_standard_form() {
        assert_eq!(gb_time(t("2026-03-02T01:30:05Z")), "20260302T093005");
        assert_eq!(parse_gb_time("20260302T093005"), Some(t("2026-03-02T01:30:05Z")));
        assert_eq!(parse_gb_time("2026-03-02 09:30"), None);
    }

    #[test]
    fn a_done_step_starts_it_first_and_needs_an_action() {
        let now = t("2026-03-03T00:00:00Z");
        let handling = |action: &str, start: &str| Record::Handling {
            step_name: "审查".into(),
            step_status: "2".into(),
            business_action: action.into(),
            step_handler: "外部系统:张审".into(),
            step_opinion: "符合条件".into(),
            step_start: start.into(),
            step_end: "20260302T100000".into(),
            step_data: Default::default(),
        };
        let events = handling("通过", "20260302T093000").events(&Case::default(), now).unwrap_or_else(|e| panic!("{e}"));
        let kinds: Vec<&str> = events.iter().map(|e| e.3.name()).collect();
        assert_eq!(kinds, ["step_started", "step_passed"]);
        assert_eq!(events[1].2, "符合条件");
        // An external task's answer rides on the passed step.
        let answer: Record = serde_json::from_value(json!({
            "table": "handling", "step_name": "信用核查", "step_status": "2", "business_action": "通过",
            "step_handler": "信用系统", "step_start": "20260302T093000", "step_data": { "credit": "A" },
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let events = answer.events(&Case::default(), now).unwrap_or_else(|e| panic!("{e}"));
        match &events[1].3 {
            Event::StepPassed { step, data } => assert_eq!((step.as_str(), data.get("credit")), ("信用核查", Some(&json!("A")))),
            other => panic!("{other:?}"),
        }
        let bad = handling("其他", "20260302T093000").events(&Case::default(), now);
        assert!(matches!(bad, Err(RecordError::Field { field: "business_action", .. })));
        let future = handling("通过", "20300101T000000").events(&Case::default(), now);
        assert_eq!(future, Err(RecordError::Time("step_start")));
    }

    #[test]
    fn a_completion_is_the_decision_and_the_conclusion() {
        let r = Record::Completion {
            result_type: "准予".into(),
            result_description: "准予许可".into(),
            completion_time: "20260302T093000".into(),
            completion_handler: "周三".into(),
        };
        let events = r.events(&Case::default(), t("2026-03-03T00:00:00Z")).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(events[0].3, Event::Decided { decision: Decision::Approve }));
        assert!(matches!(&events[1].3, Event::Concluded { result } if result == "准予许可"));
    }
}
