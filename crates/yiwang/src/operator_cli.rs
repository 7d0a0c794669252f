//! The operator's commands for what a node offers beyond its catalog: halls
//! (政务服务大厅) and the agencies their windows serve, shared data resources,
//! and 一件事 bundles. Each goes through the same store calls the demo uses,
//! checked and audited.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use jiff::Timestamp;
use yiwang_catalog::setup::{HallInput, ResourceInput};
use yiwang_store::Store;

#[derive(Subcommand)]
pub enum HallCmd {
    /// Add or replace a hall: the agency that runs it and the agencies its
    /// comprehensive windows accept applications for (一窗受理).
    Add {
        /// A stable id, e.g. hz-smzx.
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        /// 6-digit division code of its region.
        #[arg(long)]
        division: String,
        /// The USCC of the agency that runs it (its window clerks take applications).
        #[arg(long)]
        agency: String,
        #[arg(long, default_value = "")]
        address: String,
        /// The agencies served (USCCs, comma-separated); the running agency is always served.
        #[arg(long, value_delimiter = ',')]
        serves: Vec<String>,
    },
    /// List halls, one JSON object per line.
    List,
}

#[derive(Subcommand)]
pub enum ResourceCmd {
    /// Register a shared data resource (what exists and who provides it; grants
    /// come with the data sharing platform).
    Add {
        /// The resource code in the data catalog.
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        /// The USCC of the providing agency.
        #[arg(long)]
        provider: String,
        /// Other names materials are matched by (comma-separated).
        #[arg(long, value_delimiter = ',')]
        aliases: Vec<String>,
        /// Its sharing attributes (JSON: share_type, legal_basis, items,
        /// share_method, update_cycle, format, classification, service; see
        /// docs/sharing.md).
        #[arg(long)]
        sharing: Option<PathBuf>,
    },
    /// List shared data resources, one JSON object per line.
    List,
}

#[derive(Subcommand)]
pub enum GrantCmd {
    /// Grant a consumer (a member `CN/GOV/{USCC}` or one of its systems) the
    /// named information items of a described resource, for purposes, rows
    /// and a period. Access is denied without one (default deny).
    Add {
        #[arg(long)]
        resource: String,
        #[arg(long)]
        consumer: String,
        /// Information items (comma-separated).
        #[arg(long, value_delimiter = ',', required = true)]
        fields: Vec<String>,
        /// Purposes (事项 codes or 事由, comma-separated); none: any stated purpose.
        #[arg(long, value_delimiter = ',')]
        purposes: Vec<String>,
        /// Only subjects registered under this division code prefix (e.g. 3301).
        #[arg(long)]
        division: Option<String>,
        /// Days the grant lasts from now.
        #[arg(long, default_value_t = 365)]
        days: i64,
        /// The approval it follows from (the 共享申请's number or document).
        #[arg(long)]
        approval: String,
    },
    /// Every grant, one JSON object per line.
    List,
    /// Revoke a grant from now on.
    Revoke { id: String },
    /// 共享申请 received over the exchange, undecided first, one JSON object per line.
    Requests,
    /// Decide a 共享申请: `--approve` (all asked items, or `--fields`; rows
    /// limited by `--division`) makes the grant; `--reject REASON` refuses it.
    Decide {
        id: String,
        #[arg(long, conflicts_with = "reject")]
        approve: bool,
        #[arg(long, value_delimiter = ',')]
        fields: Vec<String>,
        #[arg(long)]
        division: Option<String>,
        #[arg(long, value_name = "REASON")]
        reject: Option<String>,
    },
}

pub async fn grant(cmd: GrantCmd, store: &Store) -> anyhow::Result<ExitCode> {
    use yiwang_errors::Coded;
    match cmd {
        GrantCmd::Add { resource, consumer, fields, purposes, division, days, approval } => {
            if yiwang_exchange::ClientId::parse(consumer.trim()).is_err() {
                eprintln!("--consumer 须为成员或子系统标识 / --consumer must be CN/GOV/{{USCC}}[/system]: {consumer}");
                return Ok(ExitCode::from(crate::EXIT_INVALID));
            }
            let now = Timestamp::now();
            let grant = yiwang_sharing::Grant {
                id: String::new(),
                resource,
                consumer: consumer.trim().into(),
                fields,
                purposes,
                row_scope: match division {
                    Some(prefix) => yiwang_sharing::RowScope::Division { prefix },
                    None => yiwang_sharing::RowScope::All,
                },
                valid_from: now,
                valid_until: now + jiff::SignedDuration::from_hours(24 * days.clamp(1, 3650)),
                revoked_at: None,
            };
            match store.create_grant(grant, "cli", approval.trim(), now).await? {
                Ok(g) => println!("{}", serde_json::to_string(&g)?),
                Err(e) => {
                    eprintln!("{}: {} / {e}", e.code(), e.message_zh());
                    return Ok(ExitCode::from(crate::EXIT_INVALID));
                }
            }
        }
        GrantCmd::List => {
            for g in store.grants().await? {
                println!("{}", serde_json::to_string(&g)?);
            }
        }
        GrantCmd::Requests => {
            for r in store.sharing_requests().await? {
                println!("{}", serde_json::to_string(&r)?);
            }
        }
        GrantCmd::Decide { id, approve, fields, division, reject } => {
            let decision = match (approve, reject) {
                (true, None) => yiwang_sharing::Decision::Approve {
                    fields,
                    row_scope: match division {
                        Some(prefix) => yiwang_sharing::RowScope::Division { prefix },
                        None => yiwang_sharing::RowScope::All,
                    },
                },
                (false, Some(reason)) => yiwang_sharing::Decision::Reject { reason },
                _ => {
                    eprintln!("须选择 --approve 或 --reject 理由 / give --approve or --reject REASON");
                    return Ok(ExitCode::from(crate::EXIT_INVALID));
                }
            };
            match store.decide_sharing_request(&id, &decision, "cli", Timestamp::now()).await? {
                Ok(r) => println!("{}", serde_json::to_string(&r)?),
                Err(e) => {
                    eprintln!("{}: {} / {e}", e.code(), e.message_zh());
                    return Ok(ExitCode::from(crate::EXIT_INVALID));
                }
            }
        }
        GrantCmd::Revoke { id } => {
            if !store.revoke_grant(&id, "cli", Timestamp::now()).await? {
                eprintln!("没有生效中的授权 {id} / no grant {id} in force");
                return Ok(ExitCode::from(crate::EXIT_INVALID));
            }
            println!("授权已撤销 / grant revoked: {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Subcommand)]
pub enum BundleCmd {
    /// Define (or redefine) a 一件事 from a JSON file: code, name, description,
    /// division_code, lead_item, items, promised_days, issue_together (多证同发:
    /// every child's license issued together at the join). Every item must be
    /// published and their forms must merge.
    Define { file: PathBuf },
    /// List bundles, one JSON object per line.
    List,
}

#[derive(Subcommand)]
pub enum ClientCmd {
    /// Register a department system's machine client (OAuth 2.0 client
    /// credentials) for an agency. Prints its id and, for
    /// client_secret_basic, its secret, which is shown only this once.
    Add {
        #[arg(long)]
        name: String,
        /// The USCC of the agency whose cases it handles.
        #[arg(long)]
        agency: String,
        /// A JWK Set file of its ES256 public keys: the client authenticates
        /// with private_key_jwt instead of a secret.
        #[arg(long)]
        jwks: Option<PathBuf>,
    },
    /// List machine clients, one JSON object per line (never a secret).
    List,
    /// Revoke a client; every token it holds stops working.
    Revoke {
        client_id: String,
        #[arg(long)]
        reason: String,
    },
}

fn invalid(message: String) -> anyhow::Result<ExitCode> {
    eprintln!("{message}");
    Ok(ExitCode::from(2))
}

fn refused(problems: Vec<yiwang_catalog::FieldError>) -> anyhow::Result<ExitCode> {
    for p in problems {
        eprintln!("{}: {} / {}", p.field, p.message_zh, p.message_en);
    }
    Ok(ExitCode::from(2))
}

pub async fn hall(cmd: HallCmd, store: &Store) -> anyhow::Result<ExitCode> {
    match cmd {
        HallCmd::Add { id, name, division, agency, address, serves } => {
            let input = HallInput { id, name, division_code: division, agency_uscc: agency, address, serves };
            match store.register_hall(&input, "cli", Timestamp::now()).await? {
                Ok(hall) => println!("大厅已登记 / hall saved: {} ({}), 受理 {} 个部门的事项", hall.name, hall.id, hall.agencies.len()),
                Err(problems) => return refused(problems),
            }
        }
        HallCmd::List => {
            for h in store.halls().await? {
                println!("{}", serde_json::to_string(&h)?);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn resource(cmd: ResourceCmd, store: &Store) -> anyhow::Result<ExitCode> {
    match cmd {
        ResourceCmd::Add { code, name, provider, aliases, sharing } => {
            let sharing = match sharing {
                None => None,
                Some(file) => {
                    let text = std::fs::read_to_string(&file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
                    Some(
                        serde_json::from_str(&text)
                            .map_err(|e| anyhow::anyhow!("{}: 不是共享属性 / not sharing attributes: {e}", file.display()))?,
                    )
                }
            };
            let input = ResourceInput { code, name, provider_uscc: provider, aliases, sharing };
            match store.register_data_resource(&input, "cli", Timestamp::now()).await? {
                Ok(t) => println!("共享数据资源已登记 / resource saved: {} ({})", t.name, t.code),
                Err(problems) => return refused(problems),
            }
        }
        ResourceCmd::List => {
            for r in store.data_resources().await? {
                println!("{}", serde_json::to_string(&r)?);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn bundle(cmd: BundleCmd, store: &Store) -> anyhow::Result<ExitCode> {
    match cmd {
        BundleCmd::Define { file } => {
            let text = std::fs::read_to_string(&file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let b: yiwang_catalog::Bundle = match serde_json::from_str(&text) {
                Ok(b) => b,
                Err(e) => return invalid(format!("“一件事”定义不是有效的 JSON / not a bundle: {e}")),
            };
            match store.define_bundle(&b, "cli", Timestamp::now()).await {
                Ok(plan) => println!("“一件事”已定义 / bundle defined: {} ({}), {} 个事项", b.name, b.code, plan.items.len()),
                Err(e) => {
                    use yiwang_errors::Coded;
                    return invalid(format!("{} / {}", e.message_zh(), e.message_en()));
                }
            }
        }
        BundleCmd::List => {
            for b in store.bundles().await? {
                println!("{}", serde_json::to_string(&b)?);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn client(cmd: ClientCmd, store: &Store) -> anyhow::Result<ExitCode> {
    match cmd {
        ClientCmd::Add { name, agency, jwks } => {
            let (auth_method, jwks) = match jwks {
                None => ("client_secret_basic", None),
                Some(file) => {
                    let text = std::fs::read_to_string(&file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
                    match serde_json::from_str::<serde_json::Value>(&text) {
                        Ok(v) => ("private_key_jwt", Some(v)),
                        Err(e) => return invalid(format!("公钥集不是有效的 JSON / jwks is not JSON: {e}")),
                    }
                }
            };
            let input = yiwang_store::MachineClientInput { name, agency_uscc: agency, auth_method: auth_method.into(), jwks };
            match store.add_machine_client(&input, "cli", Timestamp::now()).await? {
                Ok((c, secret)) => {
                    println!("{}", serde_json::json!({ "client_id": c.client_id, "auth_method": c.auth_method, "client_secret": secret }));
                    if secret.is_some() {
                        eprintln!("客户端密钥只显示这一次，请妥善保存 / the client secret is shown only this once");
                    }
                }
                Err(problems) => return refused(problems),
            }
        }
        ClientCmd::List => {
            for c in store.machine_clients(None).await? {
                println!("{}", serde_json::to_string(&c)?);
            }
        }
        ClientCmd::Revoke { client_id, reason } => {
            if reason.trim().is_empty() {
                return invalid("请说明撤销原因 / give a reason".into());
            }
            if !store.revoke_machine_client(&client_id, "cli", reason.trim(), Timestamp::now()).await? {
                return invalid(format!("没有未撤销的客户端 {client_id} / no live client {client_id}"));
            }
            println!("已撤销 / revoked: {client_id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
