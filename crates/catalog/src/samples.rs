//! Building complete item documents from a compact description: the demo node's
//! items, test fixtures and the synthetic catalog of the benchmarks all come from
//! here, so each is a full 实施清单 record that passes [`crate::publishable`].

use yiwang_codes::{BasicCode, ImplementationCode, Uscc, UseLevel};

use crate::code_lists::*;
use crate::model::*;

/// Where a sample material comes from.
#[derive(Debug, Clone, Copy)]
pub enum Src {
    /// The applicant provides it.
    Applicant,
    /// The applicant provides it or signs a commitment instead (告知承诺).
    Commitment,
    /// An e-license of this type code covers it.
    License(&'static str),
    /// A shared data resource covers it.
    Shared(&'static str),
}

/// A compact item description.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub basic_code: &'static str,
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub task_type: TaskType,
    pub objects: &'static [ServiceObject],
    pub themes: &'static [&'static str],
    pub by_law: &'static str,
    pub conditions: &'static str,
    pub materials: &'static [(&'static str, Src)],
    pub legal_days: u32,
    pub promised_days: u32,
    pub visits: u8,
    pub fully_online: bool,
    /// (fee name, standard) if charged.
    pub fee: Option<(&'static str, &'static str)>,
    /// (result name, result type, license type issued).
    pub result: (&'static str, ResultType, Option<&'static str>),
}

/// Where the item is handled.
#[derive(Debug, Clone)]
pub struct Place {
    pub agency: AgencyRef,
    pub level: UseLevel,
    pub hall: String,
    pub phone: String,
}

/// The full document for a spec at an agency. `resolve` turns the spec's
/// license-type and resource keys into codes. Errors only if the codes are invalid.
pub fn build(spec: &Spec, at: &Place, resolve: &dyn Fn(&str) -> String) -> Result<ItemDoc, yiwang_codes::CodeError> {
    let uscc = Uscc::parse(&at.agency.uscc)?;
    let basic = BasicCode::parse(spec.basic_code)?;
    let code = ImplementationCode::compose(&uscc, at.level, &basic);
    let mut doc = ItemDoc::blank(code.as_str(), basic.as_str(), at.agency.clone(), at.level);
    let natural = spec.objects.iter().any(|o| o.is_natural_person());
    doc.name = spec.name.into();
    doc.aliases = spec.aliases.iter().map(|s| s.to_string()).collect();
    doc.task_type = spec.task_type;
    doc.by_law = spec.by_law.into();
    doc.accept_conditions = spec.conditions.into();
    doc.materials = spec
        .materials
        .iter()
        .enumerate()
        .map(|(i, (name, src))| {
            let mut m = Material::new(name);
            m.source = match src {
                Src::Applicant | Src::Commitment => MaterialSource::Applicant,
                Src::License(t) => MaterialSource::License { license_type: resolve(t) },
                Src::Shared(r) => MaterialSource::Shared { resource: resolve(r) },
            };
            if m.source.is_exempt() {
                m.form = MaterialForm::Electronic;
                m.source_channel = SourceChannel::Government;
                m.originals = 0;
                m.source_explain = "由系统通过电子证照库或数据共享自动获取，申请人无需提交".into();
            } else if name.contains("申请表") || name.contains("申请书") {
                m.kind = MaterialKind::Form;
                m.blank_form = format!("/items/{}/forms/{}", code.as_str(), i + 1);
                m.example = format!("/items/{}/examples/{}", code.as_str(), i + 1);
                m.fill_notes = "如实填写，签字（盖章）确认".into();
            }
            m.accept_standard = "内容完整、清晰、真实有效".into();
            m.commitment_allowed = matches!(src, Src::Commitment);
            m
        })
        .collect();
    doc.process = vec![
        ProcessStep { name: "申请".into(), detail: "申请人通过网上或窗口提交申请".into() },
        ProcessStep {
            name: "受理".into(), detail: "窗口对材料进行审查，材料齐全、符合法定形式的予以受理".into()
        },
        ProcessStep { name: "审查".into(), detail: "业务部门对申请材料进行实质审查".into() },
        ProcessStep { name: "决定".into(), detail: "作出准予或不予的决定".into() },
        ProcessStep { name: "送达".into(), detail: "结果通过窗口领取、邮寄或电子证照方式送达".into() },
    ];
    doc.legal_limit = TimeLimit { amount: spec.legal_days, unit: TimeUnit::WorkingDay, explain: String::new() };
    doc.promised_limit = TimeLimit { amount: spec.promised_days, unit: TimeUnit::WorkingDay, explain: String::new() };
    doc.project_type = if spec.promised_days == 0 { ProjectType::Immediate } else { ProjectType::Promised };
    doc.visits = spec.visits;
    if spec.visits > 0 {
        doc.visits_explain = "需现场核验身份或领取纸质结果".into();
    }
    if spec.legal_days > 5 {
        doc.special_procedures = "需要现场核查、检验检测或听证的，所需时间不计入办理时限，并书面告知申请人".into();
    }
    if let Some((name, standard)) = spec.fee {
        doc.charged = true;
        doc.fees = vec![Fee {
            name: name.into(),
            standard: standard.into(),
            by_law: "按省发展改革委、财政厅核定的收费标准执行".into(),
            reducible: true,
            reduce_by_law: "符合条件的困难群众可申请减免".into(),
            min_fen: None,
            max_fen: None,
        }];
    } else {
        doc.fee_by_law = "依法不收费".into();
    }
    let (result, rt, license) = spec.result;
    doc.results = vec![ResultDoc {
        name: result.into(),
        result_type: rt,
        license_type: license.map(resolve),
        license_data: Default::default(),
        license_valid_years: None,
        sample: String::new(),
    }];
    doc.service_objects = spec.objects.to_vec();
    let themes: Vec<String> = spec.themes.iter().map(|s| s.to_string()).collect();
    if natural {
        doc.themes.natural = themes;
    } else {
        doc.themes.legal = themes;
    }
    doc.handling_forms = if spec.fully_online {
        vec![HandlingForm::OnlinePc, HandlingForm::OnlineMobile, HandlingForm::Window]
    } else {
        vec![HandlingForm::Window, HandlingForm::OnlinePc]
    };
    doc.online_depth = if spec.fully_online { OnlineDepth::FullyOnline } else { OnlineDepth::OnlinePreReview };
    doc.universal_scope = if spec.fully_online { UniversalScope::CrossCity } else { UniversalScope::None };
    doc.flags = Flags {
        appointment: true,
        online_payment: spec.fee.is_some(),
        express_delivery: spec.visits < 2,
        online: true,
        in_hall: true,
        self_service: spec.fully_online,
    };
    doc.form = Some(application_form(natural, spec.basic_code));
    doc.online_address = OnlineAddress { pc: format!("/items/{}/apply", code.as_str()), mobile: String::new(), sso: true };
    doc.jurisdiction = at.agency.division_code.clone();
    doc.system_level = SystemLevel::Provincial;
    doc.min_real_name_level = 2;
    doc.place = at.hall.clone();
    doc.hours = "周一至周五 9:00—12:00，13:30—17:00（法定节假日除外）".into();
    doc.consult_phone = at.phone.clone();
    doc.complaint_phone = "12345".into();
    doc.complaint_other = "浙江政务服务网“好差评”或12345政务服务便民热线".into();
    doc.faqs = vec![
        Faq {
            question: format!("办理“{}”需要本人到场吗？", spec.name),
            answer: if spec.visits == 0 {
                "不需要，可全程网上办理。".into()
            } else {
                format!("需到现场{}次，{}", spec.visits, doc.visits_explain)
            },
        },
        Faq {
            question: "办理进度如何查询？".into(), answer: "登录后在“我的办件”查看，或凭办件编号和查询码查询。".into()
        },
    ];
    doc.reconsideration =
        Some(Remedy { department: "本级人民政府".into(), address: String::new(), phone: "12345".into(), url: String::new() });
    doc.litigation = Some(Remedy { department: "有管辖权的人民法院".into(), ..Remedy::default() });
    Ok(doc)
}

/// The demo application form: who applies and how to reach them, bound to
/// held data (the applicant never retypes it), plus the item's own fields
/// where the demo has them (`demo_items::form_fields`).
fn application_form(natural: bool, basic_code: &str) -> yiwang_form::Schema {
    use serde_json::json;
    let (who, mut order, mut required) = if natural {
        (
            json!({
                "applicant_name": { "type": "string", "title": "申请人姓名", "x-prefill": "person.name" },
                "citizen_id": { "type": "string", "title": "公民身份号码", "format": "citizen_id", "x-prefill": "applicant.id" },
            }),
            vec!["applicant_name", "citizen_id"],
            vec!["applicant_name", "citizen_id"],
        )
    } else {
        (
            json!({
                "applicant_name": { "type": "string", "title": "单位名称", "x-prefill": "enterprise.name" },
                "uscc": { "type": "string", "title": "统一社会信用代码", "format": "uscc", "x-prefill": "applicant.id" },
                "legal_rep_name": { "type": "string", "title": "法定代表人", "x-prefill": "enterprise.legal_rep_name" },
            }),
            vec!["applicant_name", "uscc", "legal_rep_name"],
            vec!["applicant_name", "uscc"],
        )
    };
    let mut properties = who.as_object().cloned().unwrap_or_default();
    let contact = json!({
        "contact_name": { "type": "string", "title": "联系人", "maxLength": 40, "x-prefill": "profile.name", "x-editable": true },
        "contact_phone": { "type": "string", "title": "联系电话", "format": "phone", "x-prefill": "profile.phone", "x-editable": true },
        "address": { "type": "string", "title": "通讯地址", "maxLength": 200, "x-prefill": "previous.address", "x-editable": true },
        "remark": { "type": "string", "title": "备注", "maxLength": 500, "x-widget": "textarea" },
    });
    properties.extend(contact.as_object().cloned().unwrap_or_default());
    order.extend(["contact_name", "contact_phone", "address"]);
    required.extend(["contact_name", "contact_phone"]);
    if let Some((fields, field_order, field_required)) = crate::demo_items::form_fields(basic_code) {
        properties.extend(fields.as_object().cloned().unwrap_or_default());
        order.extend(field_order);
        required.extend(field_required);
    }
    order.push("remark");
    let schema = json!({
        "type": "object", "title": "申请表", "additionalProperties": false,
        "properties": properties, "required": required, "x-order": order,
    });
    serde_json::from_value(schema).unwrap_or_default()
}
