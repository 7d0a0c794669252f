//! `yiwang demo`: a provincial node (浙江省 and four cities) with its data.
//! Later features add their demo data here, always through the same store calls
//! a real operator would use.

use yiwang_catalog::demo_items::LICENSE_TYPES;
use yiwang_codes::{CitizenId, DivisionCode, Uscc};
use yiwang_crypto::seal::MasterKey;
use yiwang_identity::{RealNameLevel, Role, hash_password};
use yiwang_store::{AccountStatus, Agency, BaseEnterprise, BasePerson, Holder, NewAccount, NewLicense, NodeInfo, NodeRegion, Store};

pub const DEMO_PROVINCE: &str = "330000";
pub const DEMO_CITIES: [&str; 4] = ["330100", "330200", "330300", "330500"];

fn region(code6: &str) -> anyhow::Result<NodeRegion> {
    let (d, _) = DivisionCode::parse(code6)?;
    let name = d.name().ok_or_else(|| anyhow::anyhow!("division {code6} missing from the bundled table"))?;
    Ok(NodeRegion {
        code: d.as_str().to_string(),
        name: name.to_string(),
        level: format!("{:?}", d.level()).to_lowercase(),
        parent_code: d.parent().map(|p| p.as_str().to_string()),
    })
}

/// Create the demo node if the database has none. Returns false if one existed.
pub async fn seed(store: &Store, master: &MasterKey) -> anyhow::Result<bool> {
    if store.node_info().await?.is_some() {
        // A demo made by an earlier version has no people yet: add them.
        if store.accounts_count().await? == 0 {
            seed_identity(store).await?;
        }
        if store.catalog_generation().await? == 0 {
            seed_agencies(store).await?;
            seed_catalog(store).await?;
        }
        if store.seal_keys().await?.is_empty() {
            seed_licenses(store, master).await?;
        }
        return Ok(false);
    }
    let province = region(DEMO_PROVINCE)?;
    let mut regions = vec![province.clone()];
    for c in DEMO_CITIES {
        regions.push(region(c)?);
    }
    let info = NodeInfo {
        division_code: province.code.clone(),
        name: format!("{}（演示）", province.name),
        tier: "provincial".into(),
        created_at: String::new(),
    };
    let mut tx = store.begin().await?;
    tx.create_node(&info, &regions, "demo", jiff::Timestamp::now()).await?;
    tx.commit().await?;
    seed_identity(store).await?;
    seed_catalog(store).await?;
    seed_licenses(store, master).await?;
    Ok(true)
}

/// E-licenses for the demo people and enterprise: each citizen's 居民身份证, and
/// the enterprise's 营业执照 and 食品经营许可证, sealed by their issuers.
async fn seed_licenses(store: &Store, master: &MasterKey) -> anyhow::Result<()> {
    let now = jiff::Timestamp::now();
    let issue = |key: &'static str, number: String, holder: Holder, years: i16, data: serde_json::Value| async move {
        let type_code = evidence_code(key)?;
        let issuer = LICENSE_TYPES.iter().find(|t| t.0 == key).map(|t| t.3).unwrap_or_default();
        let valid_from: jiff::civil::Date = "2024-06-01".parse()?;
        let new = NewLicense {
            type_code,
            number,
            issuer_uscc: agency_uscc(issuer)?.as_str().into(),
            holder,
            valid_from,
            valid_until: Some(valid_from.saturating_add(jiff::Span::new().years(years)).yesterday()?),
            case_no: None,
            data,
        };
        store.issue_license(&new, master, "demo", now).await.map_err(|e| anyhow::anyhow!("demo license {key}: {e}"))?;
        anyhow::Ok(())
    };
    for (name, body, ..) in CITIZENS {
        let id = citizen_id(body)?;
        let holder = Holder { name: (*name).into(), id_type: "111".into(), id: id.to_string() };
        issue("id_card", id.to_string(), holder, 20, serde_json::json!({ "address_division": "330106" })).await?;
    }
    let ent = uscc("91", "330106", "MA2H0001")?;
    let holder = Holder { name: DEMO_ENTERPRISE_NAME.into(), id_type: "049".into(), id: ent.as_str().into() };
    issue("business_license", ent.as_str().into(), holder.clone(), 30, serde_json::json!({ "legal_representative": "王五" })).await?;
    issue(
        "food_license",
        "JY13301060000001".into(),
        holder,
        5,
        serde_json::json!({ "business_form": "餐饮服务经营者", "items": ["热食类食品制售"] }),
    )
    .await
}

/// Every demo agency (also those added after a demo node was made).
async fn seed_agencies(store: &Store) -> anyhow::Result<()> {
    let now = jiff::Timestamp::now();
    let mut tx = store.begin().await?;
    for a in AGENCIES {
        let u = uscc("11", a.division, a.org8)?;
        tx.upsert_agency(
            &Agency { uscc: u.as_str().into(), name: a.name.into(), division_code: a.division.into(), level: a.level.into() },
            "demo",
            now,
        )
        .await?;
    }
    // 杭州市民中心: its comprehensive windows (run by the 政务服务中心) accept the
    // items of every Hangzhou agency (一窗受理).
    let hangzhou: Vec<String> = AGENCIES
        .iter()
        .filter(|a| a.division == "330100" && a.key != "hz_center")
        .map(|a| uscc("11", a.division, a.org8).map(|u| u.as_str().to_string()))
        .collect::<anyhow::Result<_>>()?;
    tx.commit().await?;
    // Through the operator's path (`yiwang hall add`, `POST /api/v1/halls`).
    let hall = yiwang_catalog::setup::HallInput {
        id: "hz-citizen-center".into(),
        name: "杭州市民中心政务服务大厅".into(),
        division_code: "330100".into(),
        agency_uscc: agency_uscc("hz_center")?.as_str().into(),
        address: "杭州市上城区解放东路18号".into(),
        serves: hangzhou,
    };
    store.register_hall(&hall, "demo", now).await?.map_err(|p| anyhow::anyhow!("demo hall: {p:?}"))?;
    Ok(())
}

/// The password of every demo account (documented in the README).
pub const DEMO_PASSWORD: &str = "Demo-2026";
/// The demo relying party's client secret (documented; demo only).
pub const DEMO_RP_SECRET: &str = "demo-rp-secret-2026";

/// A valid citizen ID from its first 17 digits.
pub fn citizen_id(body17: &str) -> anyhow::Result<CitizenId> {
    let check = yiwang_codes::citizen_check_char(body17).ok_or_else(|| anyhow::anyhow!("bad ID body {body17}"))?;
    Ok(CitizenId::parse(&format!("{body17}{check}"), jiff::civil::date(2026, 1, 1))?)
}

/// A valid USCC from registration department, type, division and an 8-character organisation code body.
pub fn uscc(dept_type: &str, division: &str, org8: &str) -> anyhow::Result<Uscc> {
    let org_check = yiwang_codes::org_code_check_char(org8).ok_or_else(|| anyhow::anyhow!("bad org code {org8}"))?;
    let body17 = format!("{dept_type}{division}{org8}{org_check}");
    let check = yiwang_codes::uscc_check_char(&body17).ok_or_else(|| anyhow::anyhow!("bad USCC body {body17}"))?;
    Ok(Uscc::parse(&format!("{body17}{check}"))?)
}

pub struct DemoAgency {
    pub key: &'static str,
    pub name: &'static str,
    pub division: &'static str,
    pub level: &'static str,
    pub org8: &'static str,
}

pub const AGENCIES: &[DemoAgency] = &[
    DemoAgency { key: "zj_gov", name: "浙江省政务服务管理办公室", division: "330000", level: "provincial", org8: "00250001" },
    DemoAgency { key: "hz_center", name: "杭州市政务服务中心", division: "330100", level: "municipal", org8: "00250002" },
    DemoAgency { key: "hz_samr", name: "杭州市市场监督管理局", division: "330100", level: "municipal", org8: "00250003" },
    DemoAgency { key: "nb_samr", name: "宁波市市场监督管理局", division: "330200", level: "municipal", org8: "00250004" },
    DemoAgency { key: "zj_psb", name: "浙江省公安厅", division: "330000", level: "provincial", org8: "00250005" },
    DemoAgency { key: "hz_psb", name: "杭州市公安局", division: "330100", level: "municipal", org8: "00250006" },
    DemoAgency { key: "hz_health", name: "杭州市卫生健康委员会", division: "330100", level: "municipal", org8: "00250007" },
    DemoAgency {
        key: "hz_hrss", name: "杭州市人力资源和社会保障局", division: "330100", level: "municipal", org8: "00250008"
    },
    DemoAgency {
        key: "zj_hrss", name: "浙江省人力资源和社会保障厅", division: "330000", level: "provincial", org8: "00250009"
    },
    DemoAgency { key: "hz_medical", name: "杭州市医疗保障局", division: "330100", level: "municipal", org8: "00250010" },
    DemoAgency { key: "hz_construction", name: "杭州市城乡建设委员会", division: "330100", level: "municipal", org8: "00250011" },
    DemoAgency { key: "hz_civil", name: "杭州市民政局", division: "330100", level: "municipal", org8: "00250012" },
    DemoAgency { key: "hz_tax", name: "国家税务总局杭州市税务局", division: "330100", level: "municipal", org8: "00250013" },
    DemoAgency { key: "zj_samr", name: "浙江省市场监督管理局", division: "330000", level: "provincial", org8: "00250014" },
];

/// The USCC of a demo agency by key.
pub fn agency_uscc(key: &str) -> anyhow::Result<Uscc> {
    let a = AGENCIES.iter().find(|a| a.key == key).ok_or_else(|| anyhow::anyhow!("demo agency {key}"))?;
    uscc("11", a.division, a.org8)
}

/// The code of a demo license type or shared resource by its key: a license
/// type code is the defining agency's USCC + a 3-digit sequence (domain.md §3.2).
pub fn evidence_code(key: &str) -> anyhow::Result<String> {
    use yiwang_catalog::demo_items::{DATA_RESOURCES, LICENSE_TYPES};
    if let Some(i) = LICENSE_TYPES.iter().position(|t| t.0 == key) {
        return Ok(format!("{}{:03}", agency_uscc(LICENSE_TYPES[i].3)?.as_str(), i + 1));
    }
    if let Some(i) = DATA_RESOURCES.iter().position(|r| r.0 == key) {
        return Ok(format!("ZJ.GX.{:04}", i + 1));
    }
    anyhow::bail!("demo evidence {key}")
}

/// Resolves the evidence keys of the demo item specs to their codes.
pub fn evidence_resolver() -> anyhow::Result<impl Fn(&str) -> String> {
    use yiwang_catalog::demo_items::{DATA_RESOURCES, LICENSE_TYPES};
    let keys = LICENSE_TYPES.iter().map(|t| t.0).chain(DATA_RESOURCES.iter().map(|r| r.0));
    let codes = keys.map(|k| Ok((k, evidence_code(k)?))).collect::<anyhow::Result<std::collections::HashMap<_, _>>>()?;
    Ok(move |k: &str| codes.get(k).cloned().unwrap_or_else(|| k.to_string()))
}

/// The data schemas and print templates of the demo license types that the
/// demo issues (domain.md §3): (type key, schema, template).
fn demo_license_formats() -> [(&'static str, serde_json::Value, serde_json::Value); 3] {
    use serde_json::json;
    [
        (
            "id_card",
            json!({ "type": "object", "required": ["address_division"], "properties": {
                "address_division": { "type": "string", "title": "住址区划", "maxLength": 12 },
            } }),
            json!({ "layout": "card", "fields": ["address_division"] }),
        ),
        (
            "business_license",
            json!({ "type": "object", "required": ["legal_representative"], "properties": {
                "legal_representative": { "type": "string", "title": "法定代表人", "maxLength": 40 },
                "registered_capital": { "type": "string", "title": "注册资本", "maxLength": 40 },
                "scope": { "type": "string", "title": "经营范围", "maxLength": 2000 },
            } }),
            json!({ "fields": ["legal_representative", "registered_capital", "scope"], "footer": "国家企业信用信息公示系统网址：www.gsxt.gov.cn" }),
        ),
        (
            "food_license",
            json!({ "type": "object", "required": ["business_form", "items"], "properties": {
                "business_form": { "type": "string", "title": "主体业态", "enum": ["餐饮服务经营者", "单位食堂", "食品销售经营者"] },
                "items": { "type": "array", "title": "经营项目", "items": { "type": "string", "maxLength": 40 } },
            } }),
            json!({ "fields": ["business_form", "items"] }),
        ),
    ]
}

/// The demo's BPMN process for 杭州's 食品经营许可: a gateway on the form and
/// the tax bureau's 会签.
const FOOD_LICENSE_PROCESS: &str = include_str!("../demo/food_license_hz.bpmn");

/// The catalog: license types, shared resources and every demo item, published.
async fn seed_catalog(store: &Store) -> anyhow::Result<()> {
    use yiwang_catalog::demo_items::{BUNDLES, DATA_RESOURCES, ITEMS, LICENSE_TYPES};
    use yiwang_catalog::samples::{Place, build};
    let now = jiff::Timestamp::now();
    // As the issuing agency's editor does it (`PUT /api/v1/license-types/{code}` with aliases).
    for (key, name, aliases, issuer) in LICENSE_TYPES {
        let code = evidence_code(key)?;
        anyhow::ensure!(code.starts_with(agency_uscc(issuer)?.as_str()), "demo license type {key} is its issuer's");
        let aliases: Vec<String> = aliases.iter().map(|a| a.to_string()).collect();
        store
            .define_license_type(&code, name, &serde_json::json!({}), &serde_json::Value::Null, "demo", now)
            .await
            .map_err(|e| anyhow::anyhow!("demo license type {key}: {e}"))?;
        store.set_license_type_aliases(&code, &aliases, "demo", now).await.map_err(|e| anyhow::anyhow!("demo license type {key}: {e}"))?;
    }
    // Through the operator's path (`yiwang resource add --sharing`, `POST /api/v1/data-resources`).
    for (key, name, aliases, provider) in DATA_RESOURCES {
        let r = yiwang_catalog::setup::ResourceInput {
            code: evidence_code(key)?,
            name: (*name).into(),
            provider_uscc: agency_uscc(provider)?.as_str().into(),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            sharing: demo_resource_sharing(key),
        };
        store.register_data_resource(&r, "demo", now).await?.map_err(|p| anyhow::anyhow!("demo resource {key}: {p:?}"))?;
    }
    for (key, schema, template) in demo_license_formats() {
        let name = LICENSE_TYPES.iter().find(|t| t.0 == key).map(|t| t.1).unwrap_or_default();
        store
            .define_license_type(&evidence_code(key)?, name, &schema, &template, "demo", now)
            .await
            .map_err(|e| anyhow::anyhow!("demo license type {key}: {e}"))?;
    }
    // The process of 杭州's 食品经营许可, deployed as `yiwang workflow deploy` does.
    let tax = agency_uscc("hz_tax")?;
    anyhow::ensure!(FOOD_LICENSE_PROCESS.contains(tax.as_str()), "the demo process names the tax bureau {}", tax.as_str());
    let (process_id, process_version) = store
        .deploy_bpmn(FOOD_LICENSE_PROCESS, &yiwang_web::workflow::builtin_handlers(), "demo", now)
        .await
        .map_err(|e| anyhow::anyhow!("demo process: {e}"))?;
    let mut tx = store.begin().await?;
    let resolve = evidence_resolver()?;
    let mut codes = Vec::with_capacity(ITEMS.len());
    let mut docs = Vec::with_capacity(ITEMS.len());
    for (key, spec) in ITEMS {
        let a = AGENCIES.iter().find(|a| a.key == *key).ok_or_else(|| anyhow::anyhow!("demo agency {key}"))?;
        let (level, hall, phone) = match a.division {
            "330000" => (yiwang_codes::UseLevel::Provincial, "杭州市西湖区省府路8号 浙江政务服务中心", "0571-87054321"),
            "330200" => (yiwang_codes::UseLevel::Municipal, "宁波市鄞州区宁穗路588号 宁波市民服务中心", "0574-89180000"),
            _ => (yiwang_codes::UseLevel::Municipal, "杭州市上城区解放东路18号 杭州市民中心", "0571-85252000"),
        };
        let agency = yiwang_catalog::AgencyRef {
            uscc: uscc("11", a.division, a.org8)?.as_str().into(),
            name: a.name.into(),
            division_code: a.division.into(),
        };
        let mut doc = build(spec, &Place { agency, level, hall: format!("{hall}（{}窗口）", a.name), phone: phone.into() }, &resolve)?;
        if (*key, spec.basic_code) == ("hz_samr", "000104010000") {
            // Its process drives handling, and 办结 issues the 食品经营许可证 filled from the form.
            doc.workflow = Some(yiwang_catalog::ProcessRef { id: process_id.clone(), version: Some(process_version) });
            if let Some(result) = doc.results.first_mut() {
                result.license_data = [("business_form", "form.business_form"), ("items", "form.items")]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                result.license_valid_years = Some(5);
            }
        }
        tx.import_item(&doc, true, "demo", now).await?;
        codes.push(((*key, spec.basic_code), doc.implementation_code.clone()));
        docs.push(doc);
    }
    tx.commit().await?;
    seed_grants(store, &docs, now).await?;
    for (code, name, description, promised_days, items) in BUNDLES {
        let items: Vec<String> = items
            .iter()
            .map(|k| codes.iter().find(|(c, _)| c == k).map(|(_, code)| code.clone()).ok_or_else(|| anyhow::anyhow!("bundle item {k:?}")))
            .collect::<anyhow::Result<_>>()?;
        let bundle = yiwang_catalog::Bundle {
            code: (*code).into(),
            name: (*name).into(),
            description: (*description).into(),
            division_code: "330100".into(),
            lead_item: items[0].clone(),
            items,
            promised_days: *promised_days,
            issue_together: false,
        };
        store.define_bundle(&bundle, "demo", now).await.map_err(|e| anyhow::anyhow!("demo bundle {code}: {e}"))?;
    }
    Ok(())
}

/// The sharing attributes of the demo's 人口库 and 法人库 resources, served
/// on this node from its base data; the others are registered only (their
/// providers serve no interface here, so applicants upload those materials).
fn demo_resource_sharing(key: &str) -> Option<yiwang_sharing::ResourceSharing> {
    let item = |name: &str, label: &str, data_type: &str| yiwang_sharing::ResourceItem {
        name: name.into(),
        label: label.into(),
        data_type: data_type.into(),
    };
    let (items, service, basis) = match key {
        "population" => (
            vec![
                item("name", "姓名", "string"),
                item("citizen_id", "公民身份号码", "string"),
                item("birth_date", "出生日期", "date"),
                item("address_division", "户籍地行政区划", "code"),
                item("status", "户籍状态", "code"),
            ],
            "base-data/person/v1",
            "《中华人民共和国居民身份证法》《政务信息资源共享管理暂行办法》（国发〔2016〕51号）第九条",
        ),
        "enterprise_base" => (
            vec![
                item("name", "名称", "string"),
                item("uscc", "统一社会信用代码", "string"),
                item("legal_rep_name", "法定代表人", "string"),
                item("legal_rep_id", "法定代表人身份证件号码", "string"),
                item("registration_status", "登记状态", "code"),
            ],
            "base-data/enterprise/v1",
            "《中华人民共和国市场主体登记管理条例》第三十五条；国发〔2016〕51号",
        ),
        _ => return None,
    };
    Some(yiwang_sharing::ResourceSharing {
        share_type: yiwang_sharing::ShareType::Conditional,
        legal_basis: basis.into(),
        items,
        share_method: "api".into(),
        update_cycle: "realtime".into(),
        format: "application/json".into(),
        classification: "2010100".into(),
        service: Some(service.into()),
    })
}

/// The demo's grants (as `yiwang grant add` makes them): each agency whose
/// items source a material from a described resource may read it, for those
/// items only, for three years.
async fn seed_grants(store: &Store, docs: &[yiwang_catalog::ItemDoc], now: jiff::Timestamp) -> anyhow::Result<()> {
    let mut wanted: std::collections::BTreeMap<(String, String), Vec<String>> = std::collections::BTreeMap::new();
    for doc in docs {
        for m in &doc.materials {
            if let yiwang_catalog::MaterialSource::Shared { resource } = &m.source {
                let purposes = wanted.entry((resource.clone(), doc.agency.uscc.clone())).or_default();
                if !purposes.contains(&doc.implementation_code) {
                    purposes.push(doc.implementation_code.clone());
                }
            }
        }
    }
    for ((resource, agency), purposes) in wanted {
        let Some(r) = store.shared_resource(&resource).await? else { continue };
        let grant = yiwang_sharing::Grant {
            id: String::new(),
            resource,
            consumer: format!("CN/GOV/{agency}"),
            fields: r.sharing.item_names(),
            purposes,
            row_scope: yiwang_sharing::RowScope::All,
            valid_from: now,
            valid_until: now + jiff::SignedDuration::from_hours(3 * 365 * 24),
            revoked_at: None,
        };
        store
            .create_grant(grant, "demo", "浙数资共享〔2026〕示例1号", now)
            .await?
            .map_err(|e| anyhow::anyhow!("demo grant on {}: {e}", r.code))?;
    }
    Ok(())
}

/// (name, first 17 ID digits, agency key, roles)
pub const STAFF: &[(&str, &str, &str, &[Role])] = &[
    ("钱一", "33010219800101001", "hz_center", &[Role::WindowClerk]),
    ("孙二", "33010219800101002", "hz_samr", &[Role::Reviewer]),
    ("周三", "33010219800101003", "hz_samr", &[Role::DepartmentHead]),
    ("吴四", "33010219800101004", "hz_samr", &[Role::CatalogEditor]),
    ("郑五", "33010219800101005", "zj_gov", &[Role::CatalogReviewer]),
    ("冯六", "33010219800101006", "zj_gov", &[Role::Supervisor]),
    ("陈七", "33010219800101007", "zj_gov", &[Role::DataOfficer]),
    ("褚八", "33010219800101008", "zj_gov", &[Role::Admin]),
    ("卫九", "33020319800101009", "nb_samr", &[Role::Reviewer, Role::DepartmentHead]),
    // The other departments of 开办餐饮店 (并联审批): each handles its own child case.
    ("蒋十", "33010219800101010", "hz_tax", &[Role::Reviewer, Role::DepartmentHead]),
    ("沈十一", "33010219800101011", "hz_center", &[Role::Reviewer, Role::DepartmentHead]),
];

/// A demo citizen: (name, first 17 ID digits, phone, email, in 人口库, level).
type DemoCitizen = (&'static str, &'static str, Option<&'static str>, Option<&'static str>, bool, RealNameLevel);

pub const CITIZENS: &[DemoCitizen] = &[
    ("张三", "33010619900101123", Some("13800000001"), None, true, RealNameLevel::L2),
    ("李四", "33010619920202234", None, Some("lisi@example.cn"), false, RealNameLevel::L1),
    ("王五", "33010619850303345", Some("13800000003"), None, true, RealNameLevel::L3),
    ("赵六", "33010619950404456", Some("13800000004"), Some("zhaoliu@example.cn"), true, RealNameLevel::L2),
];

pub const DEMO_ENTERPRISE_NAME: &str = "杭州一网餐饮有限公司";

/// Agencies, base data, citizens, an enterprise with an agent, staff of every
/// role and a sample OIDC relying party.
async fn seed_identity(store: &Store) -> anyhow::Result<()> {
    let now = jiff::Timestamp::now();
    seed_agencies(store).await?;
    for (name, body, agency, roles) in STAFF {
        let id = citizen_id(body)?;
        let agency = agency_uscc(agency)?;
        crate::identity_cli::add_staff(store, &id, name, agency.as_str(), roles, Some(DEMO_PASSWORD), "demo").await?;
    }
    let mut tx = store.begin().await?;
    let mut accounts = Vec::new();
    for (name, body, phone, email, in_base, level) in CITIZENS {
        let id = citizen_id(body)?;
        let info = id.info();
        if *in_base {
            let p = BasePerson {
                citizen_id: id.to_string(),
                name: (*name).into(),
                birth_date: info.birth_date.clone(),
                address_division: "330106".into(),
                status: "normal".into(),
            };
            tx.upsert_base_person(&p, "demo", now).await?;
        }
        let new = NewAccount {
            citizen_id: id.to_string(),
            name: (*name).into(),
            phone: phone.map(String::from),
            email: email.map(String::from),
            password_hash: Some(hash_password(DEMO_PASSWORD)?),
            level: *level,
            level_source: if *level == RealNameLevel::L3 {
                "in_person".into()
            } else if *in_base {
                "base_data_match".into()
            } else {
                "self_registered".into()
            },
            status: AccountStatus::Active,
        };
        accounts.push(tx.create_account(&new, "demo", now).await?);
    }
    let ent = uscc("91", "330106", "MA2H0001")?;
    let (wang, zhao) = (&accounts[2], &accounts[3]);
    tx.upsert_base_enterprise(
        &BaseEnterprise {
            uscc: ent.as_str().into(),
            name: DEMO_ENTERPRISE_NAME.into(),
            legal_rep_name: wang.name.clone(),
            legal_rep_id: wang.citizen_id.clone(),
            registration_status: "active".into(),
        },
        "demo",
        now,
    )
    .await?;
    tx.create_enterprise(ent.as_str(), DEMO_ENTERPRISE_NAME, &wang.id, "demo", now).await?;
    tx.add_enterprise_agent(ent.as_str(), &zhao.id, &wang.id, now).await?;
    tx.commit().await?;
    crate::identity_cli::add_client(
        store,
        "demo-rp",
        "示例应用（演示）",
        &["http://127.0.0.1:9000/callback".to_string()],
        &["http://127.0.0.1:9000/".to_string()],
        Some(DEMO_RP_SECRET.to_string()),
        "demo",
    )
    .await?;
    Ok(())
}
