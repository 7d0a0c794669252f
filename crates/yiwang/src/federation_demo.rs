//! `yiwang federation demo`: the three-tier network on one machine (issue 21).
//! Four nodes, each a separate `yiwang serve` process with its own database:
//! the national node (publishes the signed registry), 浙江 (the demo province,
//! on PostgreSQL when `--postgres` is given), 江苏 (another province) and 杭州
//! (a city under 浙江). Each listens on its own loopback address, so a browser
//! keeps their cookies apart.
//!
//! The 异地可办 path it is seeded for: 张三, registered on the 浙江 node, signs
//! in at 江苏 through federated login (一次认证、多点互联) and applies for
//! 户口迁移（跨省通办）there. 江苏 fetches his 户籍证明 from 浙江's 人口库 and
//! his 居民身份证 from 浙江's 电子证照库 over the exchange, under grants 江苏
//! asked for with 共享申请 and 浙江 approved, both through the operator's
//! commands once the nodes run.
//!
//! Everything is set up as an operator would: the same store calls as
//! `yiwang demo`, `exchange key create`, `registry sign|install`, `oidc
//! add-client`, `exchange apply send`, `grant decide`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::Duration;

use anyhow::Context;
use yiwang_catalog::samples::{Place, build};
use yiwang_crypto::seal::SealKey;
use yiwang_exchange::{Directory, MemberEntry, NodeEntry, RegistryPolicy, Tier};
use yiwang_identity::Role;
use yiwang_store::{Agency, NodeInfo, NodeRegion, Store};

use crate::config::{self, Config, Overrides};
use crate::demo;

/// The test network's instance: ids are `CN-TEST/…`.
const INSTANCE: &str = "CN-TEST";

/// One node of the rig.
pub struct RigNode {
    /// Its short name: the config file, data directory and log are named after it.
    pub key: &'static str,
    pub name_zh: &'static str,
    pub division: &'static str,
    pub tier: Tier,
    pub parent: Option<&'static str>,
    /// The loopback address it listens on (one per node: cookies are per host).
    pub host: &'static str,
    /// Added to the base port.
    pub port_offset: u16,
}

pub const NODES: [RigNode; 4] = [
    RigNode {
        key: "national",
        name_zh: "国家政务服务平台（演示）",
        division: "000000",
        tier: Tier::National,
        parent: None,
        host: "127.0.0.1",
        port_offset: 0,
    },
    RigNode {
        key: "zhejiang",
        name_zh: "浙江省",
        division: "330000",
        tier: Tier::Provincial,
        parent: Some("000000"),
        host: "127.0.0.2",
        port_offset: 1,
    },
    RigNode {
        key: "jiangsu",
        name_zh: "江苏省",
        division: "320000",
        tier: Tier::Provincial,
        parent: Some("000000"),
        host: "127.0.0.3",
        port_offset: 2,
    },
    RigNode {
        key: "hangzhou",
        name_zh: "杭州市",
        division: "330100",
        tier: Tier::Municipal,
        parent: Some("330000"),
        host: "127.0.0.4",
        port_offset: 3,
    },
];

/// The base URL of the rig's node called `key`.
fn base_of(key: &str, base_port: u16) -> String {
    NODES.iter().find(|n| n.key == key).map(|n| n.base(base_port)).unwrap_or_default()
}

impl RigNode {
    pub fn node_id(&self) -> String {
        format!("{INSTANCE}/NODE/{}", self.division)
    }

    pub fn base(&self, base_port: u16) -> String {
        format!("http://{}:{}", self.host, base_port + self.port_offset)
    }

    /// The agency that runs the node (its data-sharing authority), as a USCC.
    fn authority(&self) -> anyhow::Result<String> {
        Ok(match self.key {
            // The demo province's own 政务服务管理办公室.
            "zhejiang" => demo::agency_uscc("zj_gov")?.as_str().to_string(),
            _ => demo::uscc("11", self.authority_division(), &format!("0099{}", &self.division[..4]))?.as_str().to_string(),
        })
    }

    /// The first 17 digits of the ID of the node's administrator (浙江: the demo's 褚八).
    pub fn admin(&self) -> Option<&'static str> {
        match self.key {
            "national" => Some("11010219800101001"),
            "jiangsu" => Some("32010219800101002"),
            "hangzhou" => Some("33010219800101099"),
            _ => None,
        }
    }

    fn authority_division(&self) -> &'static str {
        // The national authority is registered in 北京.
        if self.division == "000000" { "110000" } else { self.division }
    }

    fn authority_name(&self) -> String {
        match self.key {
            "national" => "国家政务服务平台管理机构".into(),
            "hangzhou" => "杭州市数据资源管理局".into(),
            _ => format!("{}政务服务管理办公室", self.name_zh),
        }
    }
}

/// 钱一, who handles the item at 江苏 (the first 17 digits of the ID).
const JIANGSU_STAFF: &str = "32010219800101001";

/// The agency at 江苏 that takes 户口迁移（跨省通办）: 南京市公安局.
fn nanjing_psb() -> anyhow::Result<String> {
    Ok(demo::uscc("11", "320100", "00260002")?.as_str().to_string())
}

/// 浙江's 电子证照库: a resource whose items are the license types (in lower case).
pub const LICENSE_LIBRARY: &str = "ZJ.ZZ.0001";
/// The item 江苏 implements for the 异地可办 path.
pub const CROSS_PROVINCE_ITEM: &str = "户口迁移（跨省通办）";
/// The OIDC client 江苏 is at 浙江, and the provider's name at 江苏 (`/federation/zj/login`).
const JIANGSU_CLIENT: &str = "jiangsu-node";
pub const ZHEJIANG_PROVIDER: &str = "zj";

pub struct DemoOptions {
    pub dir: PathBuf,
    pub postgres: Option<String>,
    pub base_port: u16,
    pub fresh: bool,
    /// Set the nodes up and exit without running them (tests run them themselves).
    pub prepare_only: bool,
}

/// `yiwang federation demo`.
pub async fn run(opts: DemoOptions) -> anyhow::Result<ExitCode> {
    if opts.fresh && opts.dir.exists() {
        std::fs::remove_dir_all(&opts.dir).with_context(|| format!("removing {}", opts.dir.display()))?;
    }
    let marker = opts.dir.join("prepared");
    let fresh = !marker.exists();
    if fresh {
        prepare(&opts).await?;
    } else {
        eprintln!("沿用 {} 中已有的四个节点（--fresh 重新开始）/ reusing the rig in {}", opts.dir.display(), opts.dir.display());
    }
    if opts.prepare_only {
        println!("{}", serde_json::to_string_pretty(&summary(&opts))?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut children = Vec::new();
    for n in &NODES {
        let child = spawn_node(&opts.dir, n.key)?;
        // For whoever stops or kills one node to see the others carry on (the rig's fault tests).
        std::fs::write(opts.dir.join(format!("{}.pid", n.key)), child.id().to_string())?;
        children.push((n.key, child));
    }
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?;
    for n in &NODES {
        if let Err(e) = wait_ready(&http, &n.base(opts.base_port)).await {
            stop(&mut children);
            return Err(e.context(format!(
                "节点 {} 未能启动，见 {} / node {} did not start",
                n.name_zh,
                log_path(&opts.dir, n.key).display(),
                n.key
            )));
        }
    }
    // Once per rig, even when an earlier run stopped between setting up and granting.
    if !opts.dir.join("granted").exists() {
        if let Err(e) = grant_across(&opts).await {
            stop(&mut children);
            return Err(e);
        }
        std::fs::write(opts.dir.join("granted"), b"")?;
    }
    print_guide(&opts);
    let outcome = supervise(&mut children).await;
    stop(&mut children);
    outcome
}

fn config_path(dir: &Path, key: &str) -> PathBuf {
    dir.join(format!("{key}.toml"))
}

fn log_path(dir: &Path, key: &str) -> PathBuf {
    dir.join(format!("{key}.log"))
}

/// What the rig is, as JSON: each node's id, URL, config and log.
pub fn summary(opts: &DemoOptions) -> serde_json::Value {
    let nodes: Vec<serde_json::Value> = NODES
        .iter()
        .map(|n| {
            serde_json::json!({
                "key": n.key, "name": n.name_zh, "node": n.node_id(), "url": n.base(opts.base_port),
                "config": config_path(&opts.dir, n.key), "log": log_path(&opts.dir, n.key),
            })
        })
        .collect();
    serde_json::json!({ "dir": opts.dir, "nodes": nodes })
}

/// Write each node's config, make its database and keys, seed it, sign the
/// registry and install it everywhere.
async fn prepare(opts: &DemoOptions) -> anyhow::Result<()> {
    std::fs::create_dir_all(&opts.dir).with_context(|| format!("creating {}", opts.dir.display()))?;
    let dir = std::fs::canonicalize(&opts.dir)?;
    // The national operator's registry key.
    let anchor = SealKey::generate();
    config::write_secret_file(&dir.join("registry.key"), hex::encode(anchor.secret_bytes().as_slice()).as_bytes())?;
    let client_secret = hex::encode(rand::random::<[u8; 24]>());
    let base = |key: &str| base_of(key, opts.base_port);
    for n in &NODES {
        let data = dir.join(n.key);
        let mut toml = format!(
            "listen = \"{host}:{port}\"\ndata_dir = \"{data}\"\n",
            host = n.host,
            port = opts.base_port + n.port_offset,
            data = data.display()
        );
        if n.key == "zhejiang"
            && let Some(url) = &opts.postgres
        {
            toml.push_str(&format!("database_url = \"{url}\"\n[seal]\nmaster_key_file = \"{}\"\n", data.join("master.key").display()));
        }
        toml.push_str(&format!("[identity]\npublic_url = \"{}\"\n", n.base(opts.base_port)));
        if n.key == "jiangsu" {
            toml.push_str(&format!(
                "[[identity.federation]]\nname = \"{ZHEJIANG_PROVIDER}\"\nlabel = \"浙江省统一身份认证\"\nissuer = \"{}\"\n\
                 client_id = \"{JIANGSU_CLIENT}\"\nclient_secret = \"{client_secret}\"\nmax_level = 2\n",
                base("zhejiang")
            ));
        }
        // The registry comes from the node above: the national node publishes it, 浙江 mirrors it for 杭州.
        let registry_from = match n.parent {
            None => String::new(),
            Some("000000") => format!("registry_url = \"{}/gx/1/registry\"\n", base("national")),
            Some(_) => format!("registry_url = \"{}/gx/1/registry\"\n", base("zhejiang")),
        };
        toml.push_str(&format!(
            "[exchange]\nnode = \"{}\"\nmember = \"{INSTANCE}/GOV/{}\"\nanchor_instance = \"{INSTANCE}\"\nanchor_keys = [\"{}\"]\n\
             {registry_from}refresh_secs = 30\naggregate_upward = {}\nanchor_secs = 30\n",
            n.node_id(),
            n.authority()?,
            anchor.public_key_hex(),
            n.parent.is_some(),
        ));
        std::fs::write(config_path(&dir, n.key), toml)?;
    }
    // Each node's database, data and signing key.
    let mut entries = Vec::new();
    let mut members = Vec::new();
    for n in &NODES {
        let (cfg, store) = open(&dir, n.key).await?;
        if store.node_info().await?.is_some() {
            anyhow::bail!(
                "节点 {} 的数据库已有数据：请换一个空库（或空 schema）/ the database for {} already holds a node: give an empty one",
                n.name_zh,
                n.key
            );
        }
        let master = cfg.master_key()?;
        match n.key {
            "zhejiang" => seed_zhejiang(&store, &master, opts.base_port, &client_secret).await?,
            "jiangsu" => {
                let item = seed_jiangsu(&store).await?;
                std::fs::write(dir.join(ITEM_FILE), item)?;
            }
            "national" => {
                seed_bare(&store, n).await?;
                // The basic catalog the State Council's departments define, sent down to every node.
                store.define_basic_entries(&national_basic_catalog(), "federation-demo", jiff::Timestamp::now()).await?;
            }
            _ => seed_bare(&store, n).await?,
        }
        let authority = n.authority()?;
        if store.agency(&authority).await?.is_none() {
            register_agency(&store, &authority, &n.authority_name(), n.authority_division(), tier_level(n.tier)).await?;
        }
        // An administrator for the console's 数据交换 and 共享 pages (浙江 has the demo's own).
        if let Some(body) = n.admin() {
            let id = demo::citizen_id(body)?;
            let roles = [Role::Admin, Role::DataOfficer, Role::Supervisor];
            crate::identity_cli::add_staff(&store, &id, "管理员", &authority, &roles, Some(demo::DEMO_PASSWORD), "federation-demo").await?;
        }
        let (_, public) = store.create_exchange_key(&master, jiff::Timestamp::now()).await?;
        entries.push(NodeEntry {
            id: yiwang_exchange::NodeId::parse(&n.node_id())?,
            tier: n.tier,
            parent: n.parent.map(|p| yiwang_exchange::NodeId::parse(&format!("{INSTANCE}/NODE/{p}"))).transpose()?,
            endpoints: vec![n.base(opts.base_port)],
            keys: vec![public],
        });
        let mut hosted = vec![authority];
        match n.key {
            "zhejiang" => {
                hosted.push(demo::agency_uscc("zj_psb")?.as_str().to_string());
                hosted.push(demo::agency_uscc("zj_samr")?.as_str().to_string());
            }
            "jiangsu" => hosted.push(nanjing_psb()?),
            _ => {}
        }
        for uscc in hosted {
            members.push(MemberEntry {
                id: yiwang_exchange::ClientId::parse(&format!("{INSTANCE}/GOV/{uscc}"))?,
                home: yiwang_exchange::NodeId::parse(&n.node_id())?,
            });
        }
        store.close().await;
    }
    let now = jiff::Timestamp::now();
    let directory = Directory {
        instance: INSTANCE.into(),
        serial: 1,
        issued_at: now,
        soft_expires_at: now + jiff::SignedDuration::from_hours(24 * 7),
        hard_expires_at: now + jiff::SignedDuration::from_hours(24 * 30),
        nodes: entries,
        members,
        policy: RegistryPolicy { max_skew_seconds: 300, max_ttl_seconds: 86_400 },
        revoked: Vec::new(),
    };
    let signed = yiwang_exchange::sign_directory(&directory, &anchor).map_err(|e| anyhow::anyhow!("signing the registry: {e}"))?;
    std::fs::write(dir.join("registry.json"), &signed.bytes)?;
    std::fs::write(dir.join("registry.json.sig"), &signed.signature_line)?;
    for n in &NODES {
        let (cfg, store) = open(&dir, n.key).await?;
        let master = cfg.master_key()?;
        let rt = crate::exchange_cli::runtime(&cfg, &store, &master, now).await?;
        rt.install(&store, &signed.bytes, &signed.signature_line, now)
            .await
            .map_err(|e| anyhow::anyhow!("installing the registry at {}: {e:?}", n.key))?;
        store.close().await;
    }
    std::fs::write(dir.join("prepared"), b"")?;
    Ok(())
}

async fn open(dir: &Path, key: &str) -> anyhow::Result<(Config, Store)> {
    let over = Overrides { config_file: Some(config_path(dir, key)), ..Overrides::default() };
    let (cfg, _) = config::load(&over, &std::collections::HashMap::new())?;
    let store = crate::open_store(&cfg).await?;
    Ok((cfg, store))
}

fn tier_level(t: Tier) -> &'static str {
    match t {
        Tier::National => "national",
        Tier::Provincial => "provincial",
        _ => "municipal",
    }
}

fn region(code: &str, name: &str, level: &str, parent: Option<&str>) -> NodeRegion {
    NodeRegion { code: code.into(), name: name.into(), level: level.into(), parent_code: parent.map(str::to_string) }
}

async fn create_node(store: &Store, division: &str, name: &str, tier: &str, regions: &[NodeRegion]) -> anyhow::Result<()> {
    let info = NodeInfo { division_code: division.into(), name: name.into(), tier: tier.into(), created_at: String::new() };
    let mut tx = store.begin().await?;
    tx.create_node(&info, regions, "federation-demo", jiff::Timestamp::now()).await?;
    tx.commit().await?;
    Ok(())
}

async fn register_agency(store: &Store, uscc: &str, name: &str, division: &str, level: &str) -> anyhow::Result<()> {
    let agency = Agency { uscc: uscc.into(), name: name.into(), division_code: division.into(), level: level.into() };
    let mut tx = store.begin().await?;
    tx.upsert_agency(&agency, "federation-demo", jiff::Timestamp::now()).await?;
    tx.commit().await?;
    Ok(())
}

/// The national node and 杭州: the node itself and its authority.
async fn seed_bare(store: &Store, n: &RigNode) -> anyhow::Result<()> {
    let regions = match n.key {
        "national" => vec![region("000000", "全国", "national", None)],
        _ => vec![region("330100", "杭州市", "municipal", Some("330000"))],
    };
    create_node(store, n.division, n.name_zh, tier_level(n.tier), &regions).await
}

/// The national basic catalog (基本目录) of the demo: one entry per basic code
/// the demo items implement, with their name, type and legal basis.
fn national_basic_catalog() -> Vec<yiwang_catalog::BasicItem> {
    let mut by_code = std::collections::BTreeMap::new();
    for (_, spec) in yiwang_catalog::demo_items::ITEMS {
        by_code.entry(spec.basic_code).or_insert_with(|| yiwang_catalog::BasicItem {
            basic_code: spec.basic_code.into(),
            name: spec.name.into(),
            task_type: spec.task_type,
            by_law: spec.by_law.into(),
            use_levels: Vec::new(),
            local_code: None,
        });
    }
    by_code.into_values().collect()
}

/// 浙江: the whole `yiwang demo` province (people, items, licenses, base
/// data), its 电子证照库 described as a resource, and 江苏 registered as an
/// OIDC client for federated login.
async fn seed_zhejiang(store: &Store, master: &yiwang_crypto::seal::MasterKey, base_port: u16, secret: &str) -> anyhow::Result<()> {
    demo::seed(store, master).await?;
    let now = jiff::Timestamp::now();
    let items = yiwang_catalog::demo_items::LICENSE_TYPES
        .iter()
        .map(|(key, name, ..)| {
            Ok(yiwang_sharing::ResourceItem {
                name: demo::evidence_code(key)?.to_lowercase(),
                label: (*name).into(),
                data_type: "string".into(),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let library = yiwang_catalog::setup::ResourceInput {
        code: LICENSE_LIBRARY.into(),
        name: "浙江省电子证照库".into(),
        provider_uscc: demo::agency_uscc("zj_gov")?.as_str().into(),
        aliases: vec!["电子证照".into()],
        sharing: Some(yiwang_sharing::ResourceSharing {
            share_type: yiwang_sharing::ShareType::Conditional,
            legal_basis: "《国务院关于在线政务服务的若干规定》（国务院令第716号）第十一条".into(),
            items,
            share_method: "api".into(),
            update_cycle: "realtime".into(),
            format: "application/json".into(),
            classification: String::new(),
            service: Some("base-data/license/v1".into()),
        }),
    };
    store.register_data_resource(&library, "federation-demo", now).await?.map_err(|p| anyhow::anyhow!("电子证照库: {p:?}"))?;
    let jiangsu = base_of("jiangsu", base_port);
    let redirect = format!("{jiangsu}/federation/{ZHEJIANG_PROVIDER}/callback");
    crate::identity_cli::add_client(store, JIANGSU_CLIENT, "江苏政务服务网", &[redirect], &[], Some(secret.to_string()), "federation-demo")
        .await?;
    Ok(())
}

/// 江苏: the node, 南京市公安局 with a reviewer, and its 户口迁移（跨省通办）,
/// whose 户籍证明 and 居民身份证 come from 浙江's resources.
async fn seed_jiangsu(store: &Store) -> anyhow::Result<String> {
    create_node(
        store,
        "320000",
        "江苏省",
        "provincial",
        &[region("320000", "江苏省", "provincial", None), region("320100", "南京市", "municipal", Some("320000"))],
    )
    .await?;
    let psb = nanjing_psb()?;
    register_agency(store, &psb, "南京市公安局", "320100", "municipal").await?;
    // Its window in the 南京 citizen centre (一窗受理), as `yiwang hall add` registers it.
    let hall = yiwang_catalog::setup::HallInput {
        id: "nj-citizen-center".into(),
        name: "南京市民服务中心".into(),
        division_code: "320100".into(),
        agency_uscc: psb.clone(),
        address: "南京市建邺区江东中路265号".into(),
        serves: vec![psb.clone()],
    };
    store.register_hall(&hall, "federation-demo", jiff::Timestamp::now()).await?.map_err(|p| anyhow::anyhow!("江苏 hall: {p:?}"))?;
    let reviewer = demo::citizen_id(JIANGSU_STAFF)?;
    crate::identity_cli::add_staff(
        store,
        &reviewer,
        "钱一",
        &psb,
        &[Role::WindowClerk, Role::Reviewer, Role::DepartmentHead],
        Some(demo::DEMO_PASSWORD),
        "federation-demo",
    )
    .await?;
    let (_, spec) = yiwang_catalog::demo_items::ITEMS
        .iter()
        .find(|(_, s)| s.name == CROSS_PROVINCE_ITEM)
        .ok_or_else(|| anyhow::anyhow!("demo item {CROSS_PROVINCE_ITEM}"))?;
    let place = Place {
        agency: yiwang_catalog::AgencyRef { uscc: psb.clone(), name: "南京市公安局".into(), division_code: "320100".into() },
        level: yiwang_codes::UseLevel::Municipal,
        hall: "南京市建邺区江东中路265号 南京市民服务中心（公安窗口）".into(),
        phone: "025-12345".into(),
    };
    let resolve = demo::evidence_resolver()?;
    let doc = build(spec, &place, &resolve)?;
    let now = jiff::Timestamp::now();
    let mut tx = store.begin().await?;
    tx.import_item(&doc, true, "federation-demo", now).await?;
    tx.commit().await?;
    Ok(doc.implementation_code)
}

/// Where `prepare` keeps the code 江苏 gave 户口迁移（跨省通办）.
const ITEM_FILE: &str = "cross-province-item";

/// Once the nodes run: 江苏 asks 浙江 for the 人口库 and the 电子证照库 (共享申请
/// over the exchange), 浙江 approves, and 江苏 learns of it, each through the
/// operator's command.
async fn grant_across(opts: &DemoOptions) -> anyhow::Result<()> {
    let dir = std::fs::canonicalize(&opts.dir)?;
    let item = std::fs::read_to_string(dir.join(ITEM_FILE)).context("the rig's item code")?;
    let from = format!("{INSTANCE}/GOV/{}", nanjing_psb()?);
    let population = demo::evidence_code("population")?;
    let id_card = demo::evidence_code("id_card")?.to_lowercase();
    let asks = [
        (
            population.as_str(),
            demo::agency_uscc("zj_psb")?.as_str().to_string(),
            serde_json::json!(["name", "citizen_id", "birth_date", "address_division", "status"]),
            "办理户口迁移（跨省通办）时核验迁出地户籍信息，免提交户籍证明",
        ),
        (
            LICENSE_LIBRARY,
            demo::agency_uscc("zj_gov")?.as_str().to_string(),
            serde_json::json!([id_card]),
            "办理户口迁移（跨省通办）时调取申请人居民身份证电子证照，免提交身份证复印件",
        ),
    ];
    for (resource, provider, fields, scenario) in asks {
        let application = serde_json::json!({
            "resource": resource, "fields": fields, "purposes": [item], "scenario": scenario,
            "legal_basis": "《国务院办公厅关于加快推进政务服务“跨省通办”的指导意见》（国办发〔2020〕35号）", "days": 365,
        });
        let file = dir.join(format!("apply-{resource}.json"));
        std::fs::write(&file, serde_json::to_vec_pretty(&application)?)?;
        let sent = cli(
            &dir,
            "jiangsu",
            &[
                "exchange",
                "apply",
                "send",
                "--from",
                &from,
                "--to",
                &format!("{INSTANCE}/NODE/330000"),
                "--provider",
                &format!("{INSTANCE}/GOV/{provider}"),
                "--file",
                &file.to_string_lossy(),
            ],
        )?;
        let sent: serde_json::Value = serde_json::from_str(sent.trim()).context("the sent 共享申请")?;
        let request = sent["request_id"].as_str().ok_or_else(|| anyhow::anyhow!("no request_id in {sent}"))?;
        cli(&dir, "zhejiang", &["grant", "decide", request, "--approve"])?;
    }
    cli(&dir, "jiangsu", &["exchange", "apply", "list", "--refresh"])?;
    // 目录清单 down the tiers now rather than at the next refresh: the provinces from the
    // national node, then 杭州 from 浙江.
    for key in ["zhejiang", "jiangsu", "hangzhou"] {
        cli(&dir, key, &["exchange", "catalog", "pull"])?;
    }
    Ok(())
}

/// Run this binary against one node's config; its stdout, or why it failed.
fn cli(dir: &Path, key: &str, args: &[&str]) -> anyhow::Result<String> {
    let exe = std::env::current_exe()?;
    let out = Command::new(exe).arg("--config").arg(config_path(dir, key)).args(args).env_remove("YIWANG_CONFIG").output()?;
    anyhow::ensure!(
        out.status.success(),
        "`yiwang --config {key}.toml {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn spawn_node(dir: &Path, key: &str) -> anyhow::Result<Child> {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(log_path(dir, key))?;
    let exe = std::env::current_exe()?;
    Command::new(exe)
        .arg("--config")
        .arg(config_path(dir, key))
        .arg("serve")
        .env_remove("YIWANG_CONFIG")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting node {key}"))
}

async fn wait_ready(http: &reqwest::Client, base: &str) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        anyhow::ensure!(std::time::Instant::now() < deadline, "{base}/healthz did not answer within 2 minutes");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Until Ctrl-C (or SIGTERM); a node that stops is reported, the others go on.
async fn supervise(children: &mut [(&'static str, Child)]) -> anyhow::Result<ExitCode> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut reported = std::collections::BTreeSet::new();
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
            _ = term.recv() => return Ok(ExitCode::SUCCESS),
            () = tokio::time::sleep(Duration::from_secs(1)) => {
                for (key, child) in children.iter_mut() {
                    if let Ok(Some(status)) = child.try_wait()
                        && reported.insert(*key)
                    {
                        eprintln!("节点 {key} 已停止（{status}）/ node {key} stopped: restart it with `yiwang --config {key}.toml serve`");
                    }
                }
            }
        }
    }
}

fn stop(children: &mut [(&'static str, Child)]) {
    for (_, child) in children.iter_mut() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

fn print_guide(opts: &DemoOptions) {
    let url = |key: &str| base_of(key, opts.base_port);
    println!("三级联动演示已启动 / the federation demo runs (Ctrl-C stops all four nodes):");
    for n in &NODES {
        println!("  {:<10} {:<12} {}  日志 {}", n.key, n.node_id(), n.base(opts.base_port), log_path(&opts.dir, n.key).display());
    }
    println!();
    println!("异地可办 / apply in another province:");
    println!("  1. 打开 {}/login ，选择“浙江省统一身份认证”", url("jiangsu"));
    println!("  2. 在浙江节点以 张三（手机号 13800000001，密码 {}）登录并同意授权", demo::DEMO_PASSWORD);
    println!("  3. 在江苏节点搜索“{CROSS_PROVINCE_ITEM}”并在线申请：户籍证明与居民身份证由浙江节点经数据交换提供，无需上传");
    let staff = demo::citizen_id(JIANGSU_STAFF).map(|id| id.to_string()).unwrap_or_default();
    println!("  4. 江苏节点工作人员 钱一（身份证号 {staff}，密码同上）在 {}/console 受理", url("jiangsu"));
    let admins: Vec<String> = NODES
        .iter()
        .map(|n| {
            let id =
                n.admin().or(Some("33010219800101008")).and_then(|b| demo::citizen_id(b).ok()).map(|i| i.to_string()).unwrap_or_default();
            format!("{} {id}", n.name_zh)
        })
        .collect();
    println!("数据交换记录 / exchange log: 各节点 /console/exchange，国家节点的汇聚统计见 {}/console/exchange", url("national"));
    println!("  各节点管理员（密码同上）/ administrators: {}", admins.join("；"));
}
