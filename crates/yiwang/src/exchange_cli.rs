//! The operator's commands for the node-to-node exchange (docs/exchange.md):
//! this node's signing keys, the node registry (made and signed by the
//! national operator, installed or fetched by every node), and a probe call
//! to a peer.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use jiff::Timestamp;
use yiwang_crypto::seal::SealKey;
use yiwang_errors::Coded;
use yiwang_exchange::{ClientId, Directory, Fetched, NodeId, sign_directory};
use yiwang_store::Store;
use yiwang_web::exchange::{Call, CallError, ExchangeRuntime};

use crate::config::Config;

#[derive(Subcommand)]
pub enum ExchangeCmd {
    /// This node's message-signing keys.
    #[command(subcommand)]
    Key(KeyCmd),
    /// The signed node registry.
    #[command(subcommand)]
    Registry(RegistryCmd),
    /// 共享申请 this node's agencies send to providers elsewhere.
    #[command(subcommand)]
    Apply(ApplyCmd),
    /// The resource catalog across the network.
    #[command(subcommand)]
    Catalog(CatalogCmd),
    /// Send one request to a peer and print its signed reply (a probe, e.g.
    /// `--service CN/GOV/{USCC}/meta/list/v1`).
    Call {
        /// The member or subsystem sending (hosted at this node).
        #[arg(long)]
        from: String,
        /// The node asked, `CN/NODE/{division}`.
        #[arg(long)]
        to: String,
        #[arg(long)]
        service: String,
        /// The request body (JSON).
        #[arg(long, default_value = "{}")]
        body: String,
        /// The purpose (事项 code or 事由) a data service checks against its grants.
        #[arg(long)]
        purpose: Option<String>,
        /// The case the request serves.
        #[arg(long)]
        issue: Option<String>,
        /// An opaque id of the operator asking (never an ID number).
        #[arg(long, default_value = "cli")]
        operator: String,
    },
}

#[derive(Subcommand)]
pub enum ApplyCmd {
    /// Send a 共享申请 (JSON: resource, fields, purposes, scenario,
    /// legal_basis, days) for one of this node's agencies to a provider's
    /// node; kept here once the provider acknowledges it.
    Send {
        /// The asking member or subsystem (hosted at this node).
        #[arg(long)]
        from: String,
        /// The provider's node, `CN/NODE/{division}`.
        #[arg(long)]
        to: String,
        /// The providing agency, `CN/GOV/{USCC}`.
        #[arg(long)]
        provider: String,
        #[arg(long)]
        file: PathBuf,
    },
    /// The requests this node sent, one JSON object per line (`--refresh`:
    /// ask the providers about undecided ones first).
    List {
        #[arg(long)]
        refresh: bool,
    },
}

#[derive(Subcommand)]
pub enum CatalogCmd {
    /// Register this node's catalog (its described resources and what nodes
    /// below registered) with its parent now; the node also does it every
    /// `exchange.refresh_secs`.
    Push,
    /// The resources nodes below registered here, one JSON object per line.
    List,
    /// Take the basic catalog (基本目录) from the parent node now, in place of
    /// the last; the node also does it every `exchange.refresh_secs`.
    Pull,
}

#[derive(Subcommand)]
pub enum KeyCmd {
    /// Make a new signing key (wrapped under the node master key). Send the
    /// printed public key to the national operator; the node signs with it
    /// once a registry lists it.
    Create,
    /// The node's keys, one JSON object per line.
    List,
}

#[derive(Subcommand)]
pub enum RegistryCmd {
    /// National operator: make a registry-signing key. Its secret goes to
    /// `--out` (readable by its owner only; keep it offline); its public key,
    /// printed, is what every node pins as `exchange.anchor_keys`.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
    /// National operator: sign a registry draft (nodes, members, policy,
    /// revoked; JSON) as serial `--serial`, issued now. Writes `--out` (the
    /// exact bytes) and `--out`.sig (the signature line).
    Sign {
        #[arg(long)]
        key: PathBuf,
        #[arg(long = "in")]
        input: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        serial: u64,
        /// Hours until nodes warn that their copy is old.
        #[arg(long, default_value_t = 1)]
        soft_hours: i64,
        /// Hours until nodes stop traffic without a newer copy.
        #[arg(long, default_value_t = 72)]
        hard_hours: i64,
    },
    /// Install a signed registry by hand (checked against the anchor and the
    /// copy in hand, as a fetched one is).
    Install {
        #[arg(long)]
        file: PathBuf,
        /// The signature line's file (default: FILE.sig).
        #[arg(long)]
        sig: Option<PathBuf>,
    },
    /// Fetch the registry from `exchange.registry_url` now.
    Fetch,
    /// The registry in hand: serial, validity, nodes and members.
    Show,
}

pub async fn run(cmd: ExchangeCmd, cfg: &Config) -> anyhow::Result<ExitCode> {
    if let ExchangeCmd::Registry(RegistryCmd::Keygen { out }) = &cmd {
        return keygen(out);
    }
    if let ExchangeCmd::Registry(RegistryCmd::Sign { key, input, out, serial, soft_hours, hard_hours }) = &cmd {
        return sign(key, input, out, *serial, *soft_hours, *hard_hours);
    }
    let store: Store = crate::open_store(cfg).await?;
    let master = cfg.master_key()?;
    let now = Timestamp::now();
    let code = match cmd {
        ExchangeCmd::Key(KeyCmd::Create) => {
            let (kid, public) = store.create_exchange_key(&master, now).await?;
            println!("{}", serde_json::json!({ "kid": kid, "public_key": public }));
            eprintln!("新签名密钥已生成：请将公钥交国家级节点列入注册表 / new key made: send its public key to the national operator");
            ExitCode::SUCCESS
        }
        ExchangeCmd::Key(KeyCmd::List) => {
            for k in store.exchange_keys(&master).await? {
                println!("{}", serde_json::json!({ "kid": k.kid, "public_key": k.public_key, "created_at": k.created_at }));
            }
            ExitCode::SUCCESS
        }
        ExchangeCmd::Registry(r) => {
            let rt = runtime(cfg, &store, &master, now).await?;
            match r {
                RegistryCmd::Install { file, sig } => {
                    let sig = sig.unwrap_or_else(|| with_suffix(&file, ".sig"));
                    let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
                    let line = std::fs::read_to_string(&sig).with_context(|| format!("reading {}", sig.display()))?;
                    report(rt.install(&store, &bytes, line.trim(), now).await)
                }
                RegistryCmd::Fetch => {
                    if rt.settings().registry_url.is_none() {
                        anyhow::bail!("未配置 exchange.registry_url / exchange.registry_url is not set");
                    }
                    report(rt.refresh(&store).await)
                }
                RegistryCmd::Show => match rt.registry() {
                    None => {
                        eprintln!("本节点尚无节点注册表 / this node holds no registry");
                        ExitCode::from(crate::EXIT_INVALID)
                    }
                    Some(r) => {
                        let d = &r.directory;
                        let validity = d.validity(now).code();
                        let out = serde_json::json!({
                            "serial": d.serial, "validity": validity, "issued_at": d.issued_at,
                            "soft_expires_at": d.soft_expires_at, "hard_expires_at": d.hard_expires_at,
                            "nodes": d.nodes, "members": d.members, "revoked": d.revoked,
                        });
                        println!("{}", serde_json::to_string_pretty(&out)?);
                        ExitCode::SUCCESS
                    }
                },
                RegistryCmd::Keygen { .. } | RegistryCmd::Sign { .. } => ExitCode::SUCCESS,
            }
        }
        ExchangeCmd::Apply(ApplyCmd::Send { from, to, provider, file }) => {
            let rt = runtime(cfg, &store, &master, now).await?;
            let from = arg("--from", ClientId::parse(&from))?;
            let to = arg("--to", NodeId::parse(&to))?;
            let provider = arg("--provider", ClientId::parse(&provider))?;
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let application: yiwang_sharing::Application =
                serde_json::from_str(&text).with_context(|| format!("{} is not a 共享申请 (docs/sharing.md)", file.display()))?;
            let sent = yiwang_web::exchange::Apply {
                from: &from,
                provider_node: &to,
                provider_member: &provider,
                application: &application,
                applied_by: "cli",
            };
            match rt.apply_for_resource(&store, sent).await {
                Ok(row) => {
                    println!("{}", serde_json::to_string(&row)?);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{}", describe(&e));
                    ExitCode::from(crate::EXIT_INVALID)
                }
            }
        }
        ExchangeCmd::Catalog(CatalogCmd::Push) => {
            let rt = runtime(cfg, &store, &master, now).await?;
            with_parent(rt.push_catalog(&store).await, |n| {
                format!("已向上级节点登记 {n} 项资源 / {n} resources registered with the parent node")
            })
        }
        ExchangeCmd::Catalog(CatalogCmd::Pull) => {
            let rt = runtime(cfg, &store, &master, now).await?;
            with_parent(rt.pull_basic_catalog(&store).await, |n| {
                format!("已从上级节点取得基本目录 {n} 项 / {n} basic catalog entries taken from the parent node")
            })
        }
        ExchangeCmd::Catalog(CatalogCmd::List) => {
            for r in store.network_resources().await? {
                println!("{}", serde_json::to_string(&r)?);
            }
            ExitCode::SUCCESS
        }
        ExchangeCmd::Apply(ApplyCmd::List { refresh }) => {
            if refresh {
                let rt = runtime(cfg, &store, &master, now).await?;
                for app in store.sharing_applications().await?.iter().filter(|a| a.state == yiwang_sharing::RequestState::Submitted) {
                    if let Err(e) = rt.refresh_application(&store, app).await {
                        eprintln!("{}: {}", app.id, describe(&e));
                    }
                }
            }
            for app in store.sharing_applications().await? {
                println!("{}", serde_json::to_string(&app)?);
            }
            ExitCode::SUCCESS
        }
        ExchangeCmd::Call { from, to, service, body, purpose, issue, operator } => {
            let rt = runtime(cfg, &store, &master, now).await?;
            let from = arg("--from", ClientId::parse(&from))?;
            let to = arg("--to", NodeId::parse(&to))?;
            let user = purpose.map(|purpose| yiwang_exchange::User { id: operator, purpose, issue });
            let call = Call { from: &from, to: &to, service: &service, user, content_type: "application/json", body: body.as_bytes() };
            match rt.call(&store, call).await {
                Ok(reply) => {
                    let body: serde_json::Value =
                        serde_json::from_slice(&reply.body).unwrap_or_else(|_| String::from_utf8_lossy(&reply.body).into());
                    let out = serde_json::json!({
                        "status": reply.status, "kind": reply.header.kind, "msg_id": reply.header.msg_id,
                        "in_reply_to": reply.header.in_reply_to, "replayed": reply.replayed, "body": body,
                    });
                    println!("{}", serde_json::to_string_pretty(&out)?);
                    if reply.status < 400 { ExitCode::SUCCESS } else { ExitCode::from(crate::EXIT_INVALID) }
                }
                Err(e) => {
                    eprintln!("{}", describe(&e));
                    ExitCode::from(crate::EXIT_INVALID)
                }
            }
        }
    };
    store.close().await;
    Ok(code)
}

pub(crate) async fn runtime(
    cfg: &Config,
    store: &Store,
    master: &yiwang_crypto::seal::MasterKey,
    now: Timestamp,
) -> anyhow::Result<ExchangeRuntime> {
    let rt = ExchangeRuntime::from_settings(&cfg.exchange)
        .map_err(|e| anyhow::anyhow!("配置无效 / invalid configuration: {e}"))?
        .ok_or_else(|| anyhow::anyhow!("本节点未参与数据交换：请配置 [exchange] / this node has no [exchange] settings"))?;
    rt.load(store, master, now).await.map_err(|e| anyhow::anyhow!("{}", describe(&e)))?;
    Ok(rt)
}

/// A command-line identifier, or why it is not one (Chinese and English).
fn arg<T>(name: &str, parsed: Result<T, yiwang_exchange::ExchangeError>) -> anyhow::Result<T> {
    parsed.map_err(|e| anyhow::anyhow!("{name}: {} / {e}", e.message_zh()))
}

fn describe(e: &CallError) -> String {
    match e {
        CallError::Local(e) => format!("{}: {} / {e}", e.code(), e.message_zh()),
        other => other.to_string(),
    }
}

/// How an exchange with the parent node ended: how many went (`said`), no
/// parent (the national node), or why not.
fn with_parent(outcome: Result<Option<usize>, CallError>, said: impl Fn(usize) -> String) -> ExitCode {
    match outcome {
        Ok(Some(n)) => {
            println!("{}", said(n));
            ExitCode::SUCCESS
        }
        Ok(None) => {
            println!("国家级节点无上级 / the national node has no parent");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}", describe(&e));
            ExitCode::from(crate::EXIT_INVALID)
        }
    }
}

fn report(outcome: Result<Fetched, CallError>) -> ExitCode {
    match outcome {
        Ok(Fetched::Newer(d)) => {
            println!("节点注册表已更新 / registry installed: serial {}", d.serial);
            ExitCode::SUCCESS
        }
        Ok(Fetched::Unchanged) => {
            println!("节点注册表未变 / registry unchanged");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}", describe(&e));
            ExitCode::from(crate::EXIT_INVALID)
        }
    }
}

fn with_suffix(path: &std::path::Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn keygen(out: &std::path::Path) -> anyhow::Result<ExitCode> {
    let key = SealKey::generate();
    crate::config::write_secret_file(out, hex::encode(key.secret_bytes().as_slice()).as_bytes())?;
    println!("{}", serde_json::json!({ "public_key": key.public_key_hex(), "kid": yiwang_exchange::key_id(&key.public_key_hex()) }));
    Ok(ExitCode::SUCCESS)
}

fn sign(
    key: &std::path::Path,
    input: &std::path::Path,
    out: &std::path::Path,
    serial: u64,
    soft: i64,
    hard: i64,
) -> anyhow::Result<ExitCode> {
    let secret = std::fs::read_to_string(key).with_context(|| format!("reading {}", key.display()))?;
    let secret = hex::decode(secret.trim()).context("the registry key file is not hex")?;
    let key = SealKey::from_secret_bytes(&secret).map_err(|e| anyhow::anyhow!("the registry key: {e}"))?;
    let draft = std::fs::read_to_string(input).with_context(|| format!("reading {}", input.display()))?;
    let mut draft: serde_json::Value = serde_json::from_str(&draft).with_context(|| format!("{} is not JSON", input.display()))?;
    let now = Timestamp::now();
    let hours = |h: i64| now + jiff::SignedDuration::from_hours(h.clamp(0, 24 * 365));
    let fields = draft.as_object_mut().ok_or_else(|| anyhow::anyhow!("the draft must be a JSON object"))?;
    fields.insert("serial".into(), serial.into());
    fields.insert("issued_at".into(), now.to_string().into());
    fields.insert("soft_expires_at".into(), hours(soft).to_string().into());
    fields.insert("hard_expires_at".into(), hours(hard).to_string().into());
    let directory: Directory = serde_json::from_value(draft).context("the draft is not a registry (see docs/exchange.md)")?;
    let signed = match sign_directory(&directory, &key) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{}: {} / {e}", e.code(), e.message_zh());
            return Ok(ExitCode::from(crate::EXIT_INVALID));
        }
    };
    std::fs::write(out, &signed.bytes).with_context(|| format!("writing {}", out.display()))?;
    let sig = with_suffix(out, ".sig");
    std::fs::write(&sig, &signed.signature_line).with_context(|| format!("writing {}", sig.display()))?;
    println!("已签发注册表 / registry signed: serial {serial}, {} and {}", out.display(), sig.display());
    Ok(ExitCode::SUCCESS)
}
