//! How an event reads on a case's timeline (the applicant's page, the
//! workbench), in Chinese.

use crate::{Decision, Event, SpecialKind};

/// An amount in fen as 元 with two decimals: `1050` → `10.50 元`.
pub fn yuan(fen: u64) -> String {
    format!("{} 元", yuan_amount(fen))
}

/// The number of 元 alone, as a form takes it back: `1050` → `10.50`.
pub fn yuan_amount(fen: u64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

impl Event {
    /// The line this event makes on a case's timeline, for the applicant and staff.
    pub fn describe_zh(&self) -> String {
        match self {
            Event::Submitted => "提交申请".into(),
            Event::PreReviewStarted => "开始预审".into(),
            Event::CorrectionNotified { items } => format!("一次性告知补齐补正：{}", items.join("、")),
            Event::CorrectionSubmitted => "已补齐补正材料".into(),
            Event::Accepted { .. } => "受理".into(),
            Event::NotAccepted { legal_basis } => format!("不予受理（依据：{legal_basis}）"),
            Event::StepStarted { step } => format!("{step}：开始办理"),
            Event::StepPassed { step, .. } => format!("{step}：通过"),
            Event::StepReturned { step } => format!("{step}：退回"),
            Event::SpecialStarted { kind: SpecialKind::Extension, extension_days, .. } => format!("延长审批 {extension_days} 个工作日"),
            Event::SpecialStarted { name, .. } => format!("特别程序开始：{name}（暂停计时）"),
            Event::SpecialEnded { result } => format!("特别程序结束：{result}"),
            Event::PendingSupplied { name } => format!("已补交容缺材料：{name}"),
            Event::Decided { decision: Decision::Approve } => "决定：准予".into(),
            Event::Decided { decision: Decision::Deny } => "决定：不予许可".into(),
            Event::Concluded { result } => format!("办结：{result}"),
            Event::Delivered { method } => format!("送达：{method}"),
            Event::FeeAssessed { lines } => {
                let total = crate::FeeLine::total_fen(lines);
                format!(
                    "核定收费：{}，合计 {}",
                    lines.iter().map(|l| format!("{} {}", l.name, yuan(l.amount_fen))).collect::<Vec<_>>().join("、"),
                    yuan(total)
                )
            }
            Event::Withdrawn => "申请人撤回".into(),
            Event::Voided => "作废".into(),
            Event::FormSaved { fields } if fields.is_empty() => "保存申请表".into(),
            Event::FormSaved { fields } => format!("修改申请表：{}", fields.join("、")),
            Event::MaterialUploaded { material, file } => format!("上传材料：{material}（{}）", file.file_name),
            Event::MaterialRemoved { material, .. } => format!("撤下材料：{material}"),
            Event::CommitmentSigned { material } => format!("签署告知承诺：{material}"),
            Event::CommitmentChecked { material, truthful: true } => format!("告知承诺核查属实：{material}"),
            Event::CommitmentChecked { material, truthful: false } => format!("告知承诺核查不实：{material}"),
            Event::Claimed => "工作人员认领办件".into(),
            Event::CountersignRequested { step, agencies } => format!("{step}：发起会签（{}个部门）", agencies.len()),
            Event::Countersigned { step, agree: true, .. } => format!("{step}：会签同意"),
            Event::Countersigned { step, agree: false, .. } => format!("{step}：会签不同意"),
            Event::Released => "释放认领".into(),
            Event::StepOverdue { step, .. } => format!("环节超期：{step}"),
            Event::MessageReceived { message, .. } => format!("流程消息：{message}"),
            Event::SharedDataFetched { material, unavailable: None, .. } => format!("数据共享获取：{material}"),
            Event::SharedDataFetched { material, unavailable: Some(code), .. } => {
                format!("数据共享未能获取：{material}（{}）", crate::materials::unavailable_zh(code))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::Event;

    #[test]
    fn each_event_reads_as_a_chinese_line() {
        let signed = Event::Countersigned { step: "会签".into(), agency: "A".into(), agree: false };
        assert_eq!(signed.describe_zh(), "会签：会签不同意");
        let message = Event::MessageReceived { message: "缴费到账".into(), data: Default::default() };
        assert_eq!(message.describe_zh(), "流程消息：缴费到账");
        assert_eq!(Event::FormSaved { fields: vec![] }.describe_zh(), "保存申请表");
    }
}
