//! Notices to applicants (办件通知): which case events a person is told about,
//! and what the message says, in Chinese with English alongside. Pure: the
//! store decides who receives it and through which channels (in-app always;
//! email and SMS by the person's preferences), and sends it through the outbox.

use crate::{Decision, Event};

/// What the message needs to know about the case beyond the event.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub case_no: &'a str,
    pub item_name: &'a str,
    /// The envelope's reason (不予受理的理由, 作废原因…), trimmed.
    pub reason: &'a str,
    /// The case's decision, known by the time it concludes.
    pub decision: Option<Decision>,
    /// Names of the e-licenses this event issued (办结出证).
    pub licenses: &'a [String],
}

/// One notice: a stable kind, a title, the full text (in-app and email) and a
/// short text for SMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub kind: &'static str,
    pub title: String,
    pub body: String,
    pub sms: String,
}

/// The kinds a person can be notified of, with their Chinese names (for the
/// preferences page and the message list).
pub const KINDS: &[(&str, &str)] = &[
    ("correction", "补齐补正告知"),
    ("accepted", "受理"),
    ("not_accepted", "不予受理"),
    ("fee", "缴费通知"),
    ("concluded", "办结"),
    ("delivered", "送达"),
    ("withdrawn", "撤回"),
    ("voided", "作废"),
];

/// The notice an event gives the applicant, if any.
pub fn for_event(event: &Event, f: &Facts<'_>) -> Option<Notice> {
    let no = f.case_no;
    let item = f.item_name;
    let reason = if f.reason.is_empty() { "（未说明）" } else { f.reason };
    let (kind, title, body, sms) = match event {
        Event::CorrectionNotified { items } => {
            let list: String = items.iter().map(|i| format!("\n  · {i}")).collect();
            (
                "correction",
                format!("请补齐补正材料：{item}"),
                format!(
                    "您申请的「{item}」（办件编号 {no}）需要补齐补正以下材料（一次性告知）：{list}\n请登录一网通办，在“我的办件”中补正后提交。\n\
                     Your application {no} needs the materials listed above; please supply them online."
                ),
                format!("【一网通办】您的办件{no}（{item}）需补齐补正材料，请登录查看一次性告知。"),
            )
        }
        Event::Accepted { promised_days, .. } => (
            "accepted",
            format!("已受理：{item}"),
            format!(
                "您申请的「{item}」（办件编号 {no}）已受理，承诺 {promised_days} 个工作日内办结。\n\
                 Your application {no} was accepted; the promised time limit is {promised_days} working days."
            ),
            format!("【一网通办】您的办件{no}（{item}）已受理，承诺{promised_days}个工作日内办结。"),
        ),
        Event::NotAccepted { legal_basis } => (
            "not_accepted",
            format!("不予受理：{item}"),
            format!(
                "您申请的「{item}」（办件编号 {no}）不予受理。\n理由：{reason}\n依据：{legal_basis}\n\
                 如不服，可依法申请行政复议或者提起行政诉讼。\nYour application {no} was not accepted; the reason and legal basis are above."
            ),
            format!("【一网通办】您的办件{no}（{item}）不予受理，理由请登录查看。"),
        ),
        Event::Concluded { result } => {
            let outcome = match f.decision {
                Some(Decision::Approve) => "准予",
                Some(Decision::Deny) => "不予许可",
                None => "办结",
            };
            let licenses = if f.licenses.is_empty() {
                String::new()
            } else {
                format!("\n已签发电子证照：{}，可在“我的证照”中查看、出示和下载。", f.licenses.join("、"))
            };
            let sms_license = if f.licenses.is_empty() { "" } else { "，电子证照已签发" };
            (
                "concluded",
                format!("已办结：{item}"),
                format!(
                    "您申请的「{item}」（办件编号 {no}）已办结，结果：{outcome}。{result}{licenses}\n\
                     Your application {no} is concluded."
                ),
                format!("【一网通办】您的办件{no}（{item}）已办结（{outcome}）{sms_license}。"),
            )
        }
        Event::FeeAssessed { lines } => {
            let total = crate::FeeLine::total_fen(lines);
            let list: String = lines
                .iter()
                .map(|l| format!("\n  · {}：{}{}", l.name, crate::describe::yuan(l.amount_fen), if l.reduced { "（已减免）" } else { "" }))
                .collect();
            let total = crate::describe::yuan(total);
            (
                "fee",
                format!("缴费通知：{item}"),
                format!(
                    "您申请的「{item}」（办件编号 {no}）经核定需缴纳以下费用：{list}\n合计：{total}\n\
                     Your application {no} is charged the fees above ({total} in all)."
                ),
                format!("【一网通办】您的办件{no}（{item}）核定收费合计{total}，请登录查看缴费通知。"),
            )
        }
        Event::Delivered { method } => (
            "delivered",
            format!("已送达：{item}"),
            format!("您申请的「{item}」（办件编号 {no}）的办理结果已送达（{method}）。\nThe result of {no} was delivered ({method})."),
            format!("【一网通办】您的办件{no}（{item}）办理结果已送达（{method}）。"),
        ),
        Event::Withdrawn => (
            "withdrawn",
            format!("已撤回：{item}"),
            format!("您申请的「{item}」（办件编号 {no}）已撤回。\nYour application {no} was withdrawn."),
            format!("【一网通办】您的办件{no}（{item}）已撤回。"),
        ),
        Event::Voided => (
            "voided",
            format!("已作废：{item}"),
            format!(
                "您申请的「{item}」（办件编号 {no}）已由办理机关作废。\n原因：{reason}\nYour application {no} was voided by the agency."
            ),
            format!("【一网通办】您的办件{no}（{item}）已作废，原因请登录查看。"),
        ),
        _ => return None,
    };
    Some(Notice { kind, title, body, sms })
}

/// The Chinese name of a notice kind (the code itself when unknown).
pub fn kind_name(kind: &str) -> &str {
    KINDS.iter().find(|(k, _)| *k == kind).map_or(kind, |(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(licenses: &'a [String]) -> Facts<'a> {
        Facts { case_no: "C1", item_name: "食品经营许可", reason: "", decision: Some(Decision::Approve), licenses }
    }

    #[test]
    fn the_events_an_applicant_is_told_of() {
        let none: Vec<String> = vec![];
        let accepted =
            Event::Accepted { promised_days: 5, legal_days: 20, pending: vec![], commitment_check_days: 0, units: Default::default() };
        let n = for_event(&accepted, &facts(&none)).expect("accepted is notified");
        assert_eq!(n.kind, "accepted");
        assert!(n.body.contains("5 个工作日") && n.sms.contains("C1"), "{n:?}");
        assert!(for_event(&Event::StepStarted { step: "审查".into() }, &facts(&none)).is_none(), "internal steps are not");
        assert!(for_event(&Event::Claimed, &facts(&none)).is_none());
    }

    #[test]
    fn a_conclusion_names_the_license_it_issued() {
        let issued = vec!["食品经营许可证".to_string()];
        let n = for_event(&Event::Concluded { result: "准予许可。".into() }, &facts(&issued)).expect("concluded");
        assert!(n.body.contains("准予") && n.body.contains("食品经营许可证") && n.sms.contains("电子证照已签发"), "{n:?}");
        let n = for_event(&Event::Concluded { result: String::new() }, &Facts { decision: Some(Decision::Deny), ..facts(&[]) })
            .expect("concluded");
        assert!(n.body.contains("不予许可") && !n.body.contains("电子证照"), "{n:?}");
    }

    #[test]
    fn a_correction_lists_every_item_once() {
        let none: Vec<String> = vec![];
        let e = Event::CorrectionNotified { items: vec!["身份证复印件不清晰".into(), "缺少租赁合同".into()] };
        let n = for_event(&e, &facts(&none)).expect("correction");
        assert_eq!(n.body.matches("  · ").count(), 2);
        assert_eq!(kind_name("correction"), "补齐补正告知");
    }
}
