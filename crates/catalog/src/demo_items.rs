//! The demo node's catalog: realistic items of a provincial node (浙江) and its
//! cities, with the e-license types and shared data resources their materials
//! draw on. Agencies and evidence are named by keys; the demo resolves them to
//! real USCCs and type codes. Two materials are deliberately still asked from
//! applicants although a license covers them, so the once-only analyzer has
//! something to find.

use crate::TaskType;
use crate::code_lists::{ResultType, ServiceObject};
use crate::samples::{Spec, Src};

const P: &[ServiceObject] = &[ServiceObject::NaturalPerson];
const E: &[ServiceObject] = &[ServiceObject::EnterpriseLegalPerson];
const PE: &[ServiceObject] = &[ServiceObject::NaturalPerson, ServiceObject::EnterpriseLegalPerson];

const BASE: Spec = Spec {
    basic_code: "000000000000",
    name: "",
    aliases: &[],
    task_type: TaskType::License,
    objects: P,
    themes: &[],
    by_law: "",
    conditions: "",
    materials: &[],
    legal_days: 20,
    promised_days: 5,
    visits: 0,
    fully_online: true,
    fee: None,
    result: ("", ResultType::Other, None),
};

/// A demo e-license type or shared data resource: (key, name, aliases, issuing agency key).
pub type DemoEvidence = (&'static str, &'static str, &'static [&'static str], &'static str);

/// E-license types (the license library defines them; the catalog references them).
pub const LICENSE_TYPES: &[DemoEvidence] = &[
    ("id_card", "居民身份证", &["身份证", "身份证件"], "zj_psb"),
    ("household", "居民户口簿", &["户口簿", "户口本"], "zj_psb"),
    ("business_license", "营业执照", &["营业执照副本", "营业执照正本"], "zj_samr"),
    ("birth_cert", "出生医学证明", &[], "hz_health"),
    ("marriage_cert", "结婚证", &[], "hz_civil"),
    ("food_license", "食品经营许可证", &[], "hz_samr"),
    ("ssc", "社会保障卡", &["社保卡"], "zj_hrss"),
];

/// Shared data resources.
pub const DATA_RESOURCES: &[DemoEvidence] = &[
    ("population", "人口基本信息", &["户籍证明", "户籍信息"], "zj_psb"),
    ("enterprise_base", "法人基本信息", &["企业登记信息"], "zj_samr"),
    ("insured", "社会保险参保信息", &["参保证明", "社保缴费证明"], "zj_hrss"),
    ("marriage_record", "婚姻登记信息", &["婚姻状况证明"], "hz_civil"),
];

/// (agency key, item). Agency keys are those of the demo's agency table.
pub const ITEMS: &[(&str, Spec)] = &[
    (
        "hz_samr",
        Spec {
            basic_code: "000104001000",
            name: "企业设立登记（营业执照办理）",
            aliases: &["营业执照", "公司注册", "开办企业"],
            objects: E,
            themes: &["开办企业", "准营准办"],
            by_law: "《中华人民共和国市场主体登记管理条例》第三条、第十九条",
            conditions: "申请人名称经自主申报，住所、经营范围等符合法律法规规定",
            materials: &[
                ("公司登记（备案）申请书", Src::Applicant),
                ("公司章程", Src::Applicant),
                ("股东主体资格证明", Src::Applicant),
                ("法定代表人居民身份证", Src::License("id_card")),
                ("住所使用相关文件", Src::Applicant),
            ],
            legal_days: 15,
            promised_days: 1,
            result: ("营业执照", ResultType::License, Some("business_license")),
            ..BASE
        },
    ),
    (
        "hz_samr",
        Spec {
            basic_code: "000104002000",
            name: "个体工商户设立登记",
            aliases: &["个体户营业执照", "个体户注册"],
            objects: P,
            themes: &["开办企业", "就业创业"],
            by_law: "《促进个体工商户发展条例》第八条；《中华人民共和国市场主体登记管理条例》",
            conditions: "有经营能力的自然人，有固定的经营场所",
            // Still asked from the applicant although 居民身份证 is an e-license: the analyzer flags it.
            materials: &[
                ("个体工商户登记（备案）申请书", Src::Applicant),
                ("经营者居民身份证复印件", Src::Applicant),
                ("经营场所使用证明", Src::Applicant),
            ],
            legal_days: 15,
            promised_days: 0,
            result: ("营业执照（个体工商户）", ResultType::License, Some("business_license")),
            ..BASE
        },
    ),
    (
        "hz_samr",
        Spec {
            basic_code: "000104003000",
            name: "企业变更登记",
            aliases: &["营业执照变更", "公司变更"],
            objects: E,
            themes: &["变更登记"],
            by_law: "《中华人民共和国市场主体登记管理条例》第二十四条",
            conditions: "登记事项发生变更的，应自作出变更决议之日起30日内申请变更登记",
            materials: &[
                ("变更登记申请书", Src::Applicant),
                ("营业执照", Src::License("business_license")),
                ("变更决议或决定", Src::Applicant),
            ],
            legal_days: 15,
            promised_days: 1,
            result: ("营业执照", ResultType::License, Some("business_license")),
            ..BASE
        },
    ),
    (
        "hz_samr",
        Spec {
            basic_code: "000104004000",
            name: "企业注销登记",
            aliases: &["公司注销", "营业执照注销"],
            objects: E,
            themes: &["注销清算"],
            by_law: "《中华人民共和国市场主体登记管理条例》第三十一条",
            conditions: "企业已完成清算，或符合简易注销条件",
            materials: &[("注销登记申请书", Src::Applicant), ("清算报告", Src::Applicant), ("营业执照", Src::License("business_license"))],
            legal_days: 15,
            promised_days: 3,
            result: ("准予注销登记通知书", ResultType::Approval, None),
            ..BASE
        },
    ),
    (
        "hz_samr",
        Spec {
            basic_code: "000104010000",
            name: "食品经营许可",
            aliases: &["食品经营许可证", "餐饮许可", "餐饮服务许可"],
            objects: E,
            themes: &["餐饮", "准营准办"],
            by_law: "《中华人民共和国食品安全法》第三十五条；《食品经营许可和备案管理办法》",
            conditions: "具有与经营的食品品种、数量相适应的食品原料处理和食品加工、销售、贮存等场所",
            materials: &[
                ("食品经营许可申请书", Src::Applicant),
                ("营业执照", Src::License("business_license")),
                ("与食品经营相适应的主要设备设施布局、操作流程等文件", Src::Applicant),
                ("食品安全自查、从业人员健康管理等制度", Src::Commitment),
            ],
            legal_days: 10,
            promised_days: 5,
            visits: 0,
            result: ("食品经营许可证", ResultType::License, Some("food_license")),
            ..BASE
        },
    ),
    (
        "hz_samr",
        Spec {
            basic_code: "000104011000",
            name: "小餐饮登记",
            aliases: &["小餐饮店", "餐饮备案"],
            objects: PE,
            themes: &["餐饮"],
            by_law: "《浙江省食品小作坊小餐饮店小食杂店和食品摊贩管理规定》",
            conditions: "从业人员少、经营条件简单的小餐饮店",
            materials: &[
                ("小餐饮登记申请表", Src::Applicant),
                ("营业执照", Src::License("business_license")),
                ("经营者居民身份证", Src::License("id_card")),
            ],
            legal_days: 10,
            promised_days: 3,
            result: ("小餐饮登记证", ResultType::License, None),
            ..BASE
        },
    ),
    (
        "nb_samr",
        Spec {
            basic_code: "000104010000",
            name: "食品经营许可",
            aliases: &["食品经营许可证", "餐饮许可"],
            objects: E,
            themes: &["餐饮", "准营准办"],
            by_law: "《中华人民共和国食品安全法》第三十五条",
            conditions: "具有与经营的食品品种、数量相适应的经营场所和设备设施",
            materials: &[
                ("食品经营许可申请书", Src::Applicant),
                ("营业执照", Src::License("business_license")),
                ("设备设施布局图", Src::Applicant),
            ],
            legal_days: 10,
            promised_days: 7,
            result: ("食品经营许可证", ResultType::License, Some("food_license")),
            ..BASE
        },
    ),
    (
        "hz_samr",
        Spec {
            basic_code: "000104020000",
            name: "特种设备使用登记",
            aliases: &["电梯使用登记", "锅炉登记"],
            objects: E,
            themes: &["安全生产"],
            by_law: "《中华人民共和国特种设备安全法》第三十三条",
            conditions: "特种设备在投入使用前或者投入使用后三十日内",
            materials: &[
                ("特种设备使用登记表", Src::Applicant),
                ("营业执照", Src::License("business_license")),
                ("产品合格证", Src::Applicant),
                ("监督检验证明", Src::Applicant),
            ],
            legal_days: 15,
            promised_days: 5,
            visits: 1,
            fully_online: false,
            result: ("特种设备使用登记证", ResultType::License, None),
            ..BASE
        },
    ),
    (
        "zj_psb",
        Spec {
            basic_code: "000107001000",
            name: "居民身份证换领",
            aliases: &["身份证换证", "身份证到期换领", "换身份证"],
            task_type: TaskType::Confirmation,
            themes: &["户籍办理", "证件办理"],
            by_law: "《中华人民共和国居民身份证法》第五条、第十一条",
            conditions: "居民身份证有效期满或登记项目变更、证件严重损坏不能辨认的",
            materials: &[
                ("居民户口簿", Src::License("household")),
                ("原居民身份证", Src::Applicant),
                ("本人近期免冠彩色照片（现场采集）", Src::Applicant),
            ],
            legal_days: 60,
            promised_days: 20,
            visits: 1,
            fully_online: false,
            fee: Some(("居民身份证工本费", "每证20元")),
            result: ("居民身份证", ResultType::License, Some("id_card")),
            ..BASE
        },
    ),
    (
        "zj_psb",
        Spec {
            basic_code: "000107002000",
            name: "居民身份证挂失补领",
            aliases: &["身份证丢失补办", "补办身份证"],
            task_type: TaskType::Confirmation,
            themes: &["证件办理"],
            by_law: "《中华人民共和国居民身份证法》第十一条",
            conditions: "居民身份证丢失的",
            materials: &[("居民户口簿", Src::License("household")), ("本人近期免冠彩色照片（现场采集）", Src::Applicant)],
            legal_days: 60,
            promised_days: 20,
            visits: 1,
            fully_online: false,
            fee: Some(("居民身份证工本费", "每证40元")),
            result: ("居民身份证", ResultType::License, Some("id_card")),
            ..BASE
        },
    ),
    (
        "zj_psb",
        Spec {
            basic_code: "000107003000",
            name: "临时居民身份证办理",
            aliases: &["临时身份证"],
            task_type: TaskType::Confirmation,
            themes: &["证件办理"],
            by_law: "《中华人民共和国临时居民身份证管理办法》",
            conditions: "正在申领、换领、补领居民身份证期间，急需使用居民身份证的",
            materials: &[("居民户口簿", Src::License("household")), ("本人近期免冠彩色照片", Src::Applicant)],
            legal_days: 3,
            promised_days: 0,
            visits: 1,
            fully_online: false,
            fee: Some(("临时居民身份证工本费", "每证10元")),
            result: ("临时居民身份证", ResultType::License, None),
            ..BASE
        },
    ),
    (
        "hz_psb",
        Spec {
            basic_code: "000107010000",
            name: "出生登记",
            aliases: &["新生儿落户", "出生落户", "报户口"],
            task_type: TaskType::Confirmation,
            themes: &["生育收养", "户籍办理"],
            by_law: "《中华人民共和国户口登记条例》第七条",
            conditions: "婴儿出生后一个月以内，由户主、亲属、抚养人或者邻居向婴儿常住地户口登记机关申报出生登记",
            materials: &[
                ("出生医学证明", Src::License("birth_cert")),
                ("父母居民户口簿", Src::License("household")),
                ("父母结婚证", Src::License("marriage_cert")),
                ("父母居民身份证", Src::License("id_card")),
            ],
            legal_days: 20,
            promised_days: 1,
            visits: 0,
            result: ("居民户口簿（户口登记）", ResultType::License, Some("household")),
            ..BASE
        },
    ),
    (
        "hz_psb",
        Spec {
            basic_code: "000107011000",
            name: "户口迁移（市外迁入）",
            aliases: &["户口迁入", "落户", "户籍迁移"],
            task_type: TaskType::Confirmation,
            themes: &["户籍办理", "人才落户"],
            by_law: "《中华人民共和国户口登记条例》第十条、第十三条",
            conditions: "符合本市户口迁入政策的人员",
            materials: &[
                ("户口迁移申请表", Src::Applicant),
                ("居民户口簿", Src::License("household")),
                ("居民身份证", Src::License("id_card")),
                ("合法稳定住所证明", Src::Applicant),
            ],
            legal_days: 20,
            promised_days: 5,
            visits: 0,
            result: ("准予迁入证明", ResultType::Approval, None),
            ..BASE
        },
    ),
    (
        "hz_psb",
        Spec {
            basic_code: "000107012000",
            name: "户口迁移（跨省通办）",
            aliases: &["户口迁移一站式办理", "异地迁户口"],
            task_type: TaskType::Confirmation,
            themes: &["户籍办理"],
            by_law: "《国务院办公厅关于加快推进政务服务“跨省通办”的指导意见》",
            conditions: "符合迁入地落户条件，在迁入地一站式办理迁移",
            materials: &[
                ("户口迁移申请表", Src::Applicant),
                ("居民身份证", Src::License("id_card")),
                ("户籍证明", Src::Shared("population")),
            ],
            legal_days: 20,
            promised_days: 10,
            result: ("户口迁移证明", ResultType::Approval, None),
            ..BASE
        },
    ),
    (
        "hz_psb",
        Spec {
            basic_code: "000107020000",
            name: "居住证办理",
            aliases: &["办居住证", "暂住证"],
            task_type: TaskType::Confirmation,
            themes: &["证件办理"],
            by_law: "《居住证暂行条例》第九条",
            conditions: "离开常住户口所在地，到本市居住半年以上，有合法稳定就业、住所或连续就读之一的",
            materials: &[("居民身份证", Src::License("id_card")), ("居住登记证明", Src::Applicant), ("劳动合同或就读证明", Src::Applicant)],
            legal_days: 15,
            promised_days: 7,
            result: ("浙江省居住证", ResultType::License, None),
            ..BASE
        },
    ),
    (
        "hz_psb",
        Spec {
            basic_code: "000107030000",
            name: "机动车驾驶证换证",
            aliases: &["驾照换证", "驾驶证到期换证"],
            task_type: TaskType::Confirmation,
            themes: &["交通出行"],
            by_law: "《机动车驾驶证申领和使用规定》第六十五条",
            conditions: "驾驶证有效期满前九十日内",
            materials: &[("居民身份证", Src::License("id_card")), ("身体条件证明", Src::Applicant)],
            legal_days: 5,
            promised_days: 1,
            fee: Some(("驾驶证工本费", "每证10元")),
            result: ("机动车驾驶证", ResultType::License, None),
            ..BASE
        },
    ),
    (
        "hz_health",
        Spec {
            basic_code: "000109001000",
            name: "出生医学证明首次签发",
            aliases: &["出生证明", "出生证"],
            task_type: TaskType::PublicService,
            themes: &["生育收养"],
            by_law: "《中华人民共和国母婴保健法》第二十三条",
            conditions: "在本市依法取得助产技术服务资质的医疗保健机构内出生的新生儿",
            materials: &[("新生儿父母居民身份证", Src::License("id_card")), ("出生医学证明首次签发登记表", Src::Applicant)],
            legal_days: 5,
            promised_days: 0,
            visits: 0,
            result: ("出生医学证明", ResultType::License, Some("birth_cert")),
            ..BASE
        },
    ),
    (
        "hz_health",
        Spec {
            basic_code: "000109002000",
            name: "医师执业注册",
            aliases: &["医师注册", "医师执业证书"],
            themes: &["职业资格"],
            by_law: "《中华人民共和国医师法》第十三条",
            conditions: "取得医师资格，拟在医疗卫生机构中执业",
            materials: &[
                ("医师执业注册申请审核表", Src::Applicant),
                ("医师资格证书", Src::Applicant),
                ("居民身份证", Src::License("id_card")),
                ("健康体检证明", Src::Applicant),
            ],
            legal_days: 20,
            promised_days: 10,
            result: ("医师执业证书", ResultType::License, None),
            ..BASE
        },
    ),
    (
        "hz_health",
        Spec {
            basic_code: "000109003000",
            name: "公共场所卫生许可",
            aliases: &["卫生许可证"],
            objects: E,
            themes: &["准营准办"],
            by_law: "《公共场所卫生管理条例》第八条",
            conditions: "经营宾馆、美容美发、游泳场所等公共场所的",
            materials: &[
                ("公共场所卫生许可申请表", Src::Applicant),
                ("营业执照", Src::License("business_license")),
                ("卫生检测报告", Src::Applicant),
            ],
            legal_days: 20,
            promised_days: 5,
            visits: 1,
            fully_online: false,
            result: ("公共场所卫生许可证", ResultType::License, None),
            ..BASE
        },
    ),
    (
        "hz_hrss",
        Spec {
            basic_code: "000112001000",
            name: "社会保障卡申领",
            aliases: &["社保卡", "社保卡办理", "市民卡"],
            task_type: TaskType::PublicService,
            themes: &["社会保障"],
            by_law: "《中华人民共和国社会保险法》第五十八条",
            conditions: "参加本市社会保险的人员",
            materials: &[("居民身份证", Src::License("id_card")), ("本人近期免冠照片", Src::Applicant)],
            legal_days: 30,
            promised_days: 10,
            result: ("社会保障卡", ResultType::License, Some("ssc")),
            ..BASE
        },
    ),
    (
        "hz_hrss",
        Spec {
            basic_code: "000112002000",
            name: "社会保障卡挂失补换",
            aliases: &["社保卡补办", "社保卡挂失"],
            task_type: TaskType::PublicService,
            themes: &["社会保障"],
            by_law: "《社会保障卡管理办法》",
            conditions: "社会保障卡遗失、损坏的持卡人",
            materials: &[("居民身份证", Src::License("id_card"))],
            legal_days: 30,
            promised_days: 7,
            fee: Some(("社会保障卡补卡工本费", "每卡20元")),
            result: ("社会保障卡", ResultType::License, Some("ssc")),
            ..BASE
        },
    ),
    (
        "hz_hrss",
        Spec {
            basic_code: "000112003000",
            name: "失业保险金申领",
            aliases: &["失业金", "领取失业金"],
            task_type: TaskType::Benefit,
            themes: &["社会保障", "就业创业"],
            by_law: "《失业保险条例》第十四条",
            conditions: "非因本人意愿中断就业，失业前缴纳失业保险费满一年，已办理失业登记并有求职要求",
            materials: &[
                ("居民身份证", Src::License("id_card")),
                ("参保证明", Src::Shared("insured")),
                ("解除劳动合同证明", Src::Applicant),
            ],
            legal_days: 20,
            promised_days: 5,
            result: ("失业保险金核定通知", ResultType::Approval, None),
            ..BASE
        },
    ),
    (
        "zj_hrss",
        Spec {
            basic_code: "000112010000",
            name: "职工基本养老保险关系转移",
            aliases: &["养老保险转移", "社保转移"],
            task_type: TaskType::PublicService,
            themes: &["社会保障"],
            by_law: "《城镇企业职工基本养老保险关系转移接续暂行办法》",
            conditions: "参保人员跨省流动就业",
            materials: &[
                ("基本养老保险关系转移接续申请表", Src::Applicant),
                ("居民身份证", Src::License("id_card")),
                ("社保缴费证明", Src::Shared("insured")),
            ],
            legal_days: 45,
            promised_days: 15,
            result: ("基本养老保险关系转移接续联系函", ResultType::Other, None),
            ..BASE
        },
    ),
    (
        "hz_medical",
        Spec {
            basic_code: "000113001000",
            name: "城乡居民基本医疗保险参保登记",
            aliases: &["医保参保", "居民医保"],
            task_type: TaskType::PublicService,
            themes: &["医疗保障", "社会保障"],
            by_law: "《中华人民共和国社会保险法》第二十五条",
            conditions: "未参加职工基本医疗保险的本市户籍或持居住证人员",
            materials: &[("居民身份证", Src::License("id_card")), ("户籍信息", Src::Shared("population"))],
            legal_days: 10,
            promised_days: 0,
            result: ("参保登记结果", ResultType::Other, None),
            ..BASE
        },
    ),
    (
        "hz_medical",
        Spec {
            basic_code: "000113002000",
            name: "异地就医备案",
            aliases: &["医保异地备案", "跨省就医"],
            task_type: TaskType::PublicService,
            themes: &["医疗保障"],
            by_law: "《关于进一步做好基本医疗保险跨省异地就医直接结算工作的通知》",
            conditions: "参保人员异地长期居住或临时外出就医",
            materials: &[("异地就医备案表", Src::Applicant), ("社会保障卡", Src::License("ssc"))],
            legal_days: 5,
            promised_days: 0,
            result: ("备案结果", ResultType::Other, None),
            ..BASE
        },
    ),
    (
        "hz_medical",
        Spec {
            basic_code: "000113003000",
            name: "生育津贴支付",
            aliases: &["生育保险", "生育津贴"],
            task_type: TaskType::Benefit,
            themes: &["生育收养", "医疗保障"],
            by_law: "《中华人民共和国社会保险法》第五十四条",
            conditions: "参加生育保险的职工按规定享受生育津贴",
            materials: &[
                ("出生医学证明", Src::License("birth_cert")),
                ("结婚证", Src::License("marriage_cert")),
                ("社会保险参保信息", Src::Shared("insured")),
            ],
            legal_days: 20,
            promised_days: 10,
            result: ("生育津贴支付结果", ResultType::Other, None),
            ..BASE
        },
    ),
    (
        "hz_construction",
        Spec {
            basic_code: "000115001000",
            name: "建筑工程施工许可证核发",
            aliases: &["施工许可", "施工许可证"],
            objects: E,
            themes: &["工程建设"],
            by_law: "《中华人民共和国建筑法》第七条；《建筑工程施工许可管理办法》",
            conditions: "依法应当办理用地批准手续的已办理，已取得规划许可证，施工场地已基本具备施工条件",
            // 营业执照 asked on paper although it is an e-license: the analyzer flags it.
            materials: &[
                ("建筑工程施工许可申请表", Src::Applicant),
                ("建设单位营业执照复印件", Src::Applicant),
                ("建设工程规划许可证", Src::Applicant),
                ("施工合同", Src::Applicant),
            ],
            legal_days: 7,
            promised_days: 3,
            visits: 0,
            result: ("建筑工程施工许可证", ResultType::License, None),
            ..BASE
        },
    ),
    (
        "hz_construction",
        Spec {
            basic_code: "000115002000",
            name: "商品房预售许可",
            aliases: &["预售证", "商品房预售许可证"],
            objects: E,
            themes: &["工程建设", "住房保障"],
            by_law: "《城市商品房预售管理办法》第六条",
            conditions: "已交付全部土地使用权出让金，取得土地使用权证书，持有建设工程规划许可证和施工许可证",
            materials: &[
                ("商品房预售许可申请表", Src::Applicant),
                ("营业执照", Src::License("business_license")),
                ("工程施工进度证明", Src::Applicant),
            ],
            legal_days: 10,
            promised_days: 5,
            visits: 1,
            fully_online: false,
            result: ("商品房预售许可证", ResultType::License, None),
            ..BASE
        },
    ),
    (
        "hz_civil",
        Spec {
            basic_code: "000110001000",
            name: "内地居民婚姻登记",
            aliases: &["结婚登记", "领结婚证"],
            task_type: TaskType::Confirmation,
            themes: &["婚姻登记"],
            by_law: "《中华人民共和国民法典》第一千零四十九条；《婚姻登记条例》第四条",
            conditions: "男女双方自愿结婚，达到法定婚龄，双方均无配偶",
            materials: &[
                ("居民身份证", Src::License("id_card")),
                ("婚姻状况证明", Src::Shared("marriage_record")),
                ("本人近期半身免冠合影照片", Src::Applicant),
            ],
            legal_days: 0,
            promised_days: 0,
            visits: 1,
            fully_online: false,
            fee: Some(("结婚证工本费", "每证9元")),
            result: ("结婚证", ResultType::License, Some("marriage_cert")),
            ..BASE
        },
    ),
    (
        "hz_civil",
        Spec {
            basic_code: "000110002000",
            name: "社会团体成立登记",
            aliases: &["社团登记", "成立协会"],
            objects: &[ServiceObject::SocialOrganisation],
            themes: &["社会组织"],
            by_law: "《社会团体登记管理条例》第九条",
            conditions: "有50个以上的个人会员或者30个以上的单位会员，有规范的名称和相应的组织机构",
            materials: &[("成立登记申请书", Src::Applicant), ("章程草案", Src::Applicant), ("负责人居民身份证", Src::License("id_card"))],
            legal_days: 30,
            promised_days: 20,
            result: ("社会团体法人登记证书", ResultType::License, None),
            ..BASE
        },
    ),
    (
        "hz_tax",
        Spec {
            basic_code: "000116001000",
            name: "新办纳税人涉税事项",
            aliases: &["税务登记", "新办企业领发票", "税务报到"],
            task_type: TaskType::PublicService,
            objects: E,
            themes: &["开办企业", "纳税缴费"],
            by_law: "《中华人民共和国税收征收管理法》第十五条",
            conditions: "领取营业执照的新办纳税人",
            materials: &[("营业执照", Src::License("business_license")), ("法人基本信息", Src::Shared("enterprise_base"))],
            legal_days: 1,
            promised_days: 0,
            result: ("税务信息确认", ResultType::Other, None),
            ..BASE
        },
    ),
    (
        "hz_center",
        Spec {
            basic_code: "330199001000",
            name: "公章刻制备案",
            aliases: &["刻章", "印章备案", "公章刻制"],
            task_type: TaskType::PublicService,
            objects: E,
            themes: &["开办企业"],
            by_law: "《印铸刻字业暨仿印刷业管理暂行规则》；《浙江省印章刻制治安管理办法》",
            conditions: "新设立企业需刻制公章的",
            materials: &[("营业执照", Src::License("business_license")), ("法定代表人居民身份证", Src::License("id_card"))],
            legal_days: 1,
            promised_days: 0,
            result: ("印章备案信息", ResultType::Other, None),
            ..BASE
        },
    ),
    (
        "zj_gov",
        Spec {
            basic_code: "330099001000",
            name: "政务服务“好差评”申诉",
            aliases: &["差评申诉"],
            task_type: TaskType::PublicService,
            objects: PE,
            themes: &["其他"],
            by_law: "《国务院办公厅关于建立政务服务“好差评”制度提高政务服务水平的意见》",
            conditions: "对差评处理结果有异议的服务机构",
            materials: &[("申诉说明", Src::Applicant)],
            legal_days: 10,
            promised_days: 5,
            result: ("申诉处理结果", ResultType::Other, None),
            ..BASE
        },
    ),
];

/// A demo 一件事: (code, name, description, combined promised working days,
/// items as (agency key, basic code), the first the lead item).
pub type DemoBundle = (&'static str, &'static str, &'static str, Option<u32>, &'static [(&'static str, &'static str)]);

pub const BUNDLES: &[DemoBundle] = &[(
    "hz-open-restaurant",
    "开办餐饮店",
    "开一家餐饮店要办的企业设立登记、食品经营许可、公章刻制备案和新办纳税人涉税事项：一张表单、一套材料、一次受理，各部门并联办理。",
    Some(3),
    &[("hz_samr", "000104001000"), ("hz_samr", "000104010000"), ("hz_center", "330199001000"), ("hz_tax", "000116001000")],
)];

/// The item-specific fields of the demo application forms, by basic code:
/// (properties, display order, required).
pub fn form_fields(basic_code: &str) -> Option<(serde_json::Value, Vec<&'static str>, Vec<&'static str>)> {
    use serde_json::json;
    match basic_code {
        // 食品经营许可
        "000104010000" => Some((
            json!({
                "premises": { "type": "string", "title": "经营场所", "maxLength": 200, "x-prefill": "previous.premises", "x-editable": true },
                "business_form": { "type": "string", "title": "主体业态", "enum": ["餐饮服务经营者", "单位食堂", "食品销售经营者"] },
                "items": {
                    "type": "array", "title": "经营项目", "description": "每行一项，如：热食类食品制售",
                    "items": { "type": "string", "maxLength": 40 },
                },
                "staff": { "type": "integer", "title": "从业人员数", "minimum": 1, "maximum": 100000 },
            }),
            vec!["premises", "business_form", "items", "staff"],
            vec!["premises", "business_form", "items"],
        )),
        _ => None,
    }
}
