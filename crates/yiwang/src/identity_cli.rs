//! Operator commands for unified identity: OIDC clients and keys, base-data
//! import, agencies and staff.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use jiff::Timestamp;
use serde::Serialize;
use yiwang_codes::{CitizenId, DivisionCode, Uscc};
use yiwang_identity::{PasswordPolicy, RealNameLevel, Role, check_password_strength, hash_password, new_token, token_hash};
use yiwang_store::{AccountStatus, Agency, BaseEnterprise, BasePerson, NewAccount, Store};

use crate::config::Config;

#[derive(Subcommand)]
pub enum OidcCmd {
    /// Register a relying party; prints its client secret once (only its hash is stored).
    AddClient {
        #[arg(long)]
        client_id: String,
        /// Allowed redirect URI (exact match), repeatable.
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// Allowed post-logout redirect URI, repeatable.
        #[arg(long = "post-logout-uri")]
        post_logout_uris: Vec<String>,
        /// Display name shown on the consent page.
        #[arg(long)]
        name: Option<String>,
        /// A public client (no secret; PKCE only), e.g. a mobile app.
        #[arg(long)]
        public: bool,
    },
    /// List registered clients.
    List,
    /// Start signing with a new key; the old one stays published for the grace period.
    RotateKey,
}

#[derive(Subcommand)]
pub enum BaseCmd {
    /// Import 人口库 rows from CSV: citizen_id,name,birth_date,address_division,status.
    ImportPersons { file: PathBuf },
    /// Import 法人库 rows from CSV: uscc,name,legal_rep_name,legal_rep_id,registration_status.
    ImportEnterprises { file: PathBuf },
    /// Import 信用信息库 records (失信 flags from the credit platform) from CSV:
    /// subject_type,subject_id,kind,source,reason,until_on. All rows or none.
    ImportCredit { file: PathBuf },
    /// A subject's credit standing (citizen ID or USCC), as JSON.
    Credit {
        #[arg(long)]
        id: String,
    },
}

#[derive(Subcommand)]
pub enum AgencyCmd {
    /// Add or update an agency.
    Add {
        #[arg(long)]
        uscc: String,
        #[arg(long)]
        name: String,
        /// 6-digit division code of its region.
        #[arg(long)]
        division: String,
        #[arg(long, value_parser = ["national", "provincial", "municipal", "county", "township"])]
        level: String,
    },
    /// List agencies.
    List,
}

#[derive(Subcommand)]
pub enum StaffCmd {
    /// Grant staff roles in an agency; creates the person's account (L3, verified by
    /// the employer) if it does not exist. The password is read from stdin.
    Add {
        #[arg(long)]
        citizen_id: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        agency: String,
        /// Comma-separated: window_clerk, reviewer, department_head, catalog_editor,
        /// catalog_reviewer, supervisor, data_officer, admin.
        #[arg(long, value_delimiter = ',', required = true)]
        role: Vec<String>,
        /// Read the new account's password from stdin (else one is generated and printed).
        #[arg(long)]
        password_stdin: bool,
    },
    /// List an agency's staff.
    List { agency: String },
    /// Let an administrator read one agency's cases for a while (support
    /// access): an explicit, time-limited, audited grant. Admins are no members
    /// of any agency otherwise.
    SupportGrant {
        /// The administrator's citizen ID.
        #[arg(long)]
        citizen_id: String,
        #[arg(long)]
        agency: String,
        /// How long, in hours (at most `[security] support_access_max_hours`).
        #[arg(long)]
        hours: i64,
        #[arg(long)]
        reason: String,
    },
    /// List support grants, newest first.
    SupportList,
    /// End a support grant now.
    SupportRevoke { id: String },
}

fn invalid(msg: impl std::fmt::Display) -> anyhow::Result<ExitCode> {
    eprintln!("{msg}");
    Ok(ExitCode::from(1))
}

/// Register an OIDC client; returns its secret (None for a public client).
pub async fn add_client(
    store: &Store,
    client_id: &str,
    name: &str,
    redirect_uris: &[String],
    post_logout: &[String],
    secret: Option<String>,
    actor: &str,
) -> anyhow::Result<Option<String>> {
    for u in redirect_uris.iter().chain(post_logout) {
        let parsed = url::Url::parse(u).with_context(|| format!("无效的地址 / invalid URI {u:?}"))?;
        anyhow::ensure!(parsed.fragment().is_none(), "回调地址不能包含 # 片段 / redirect URIs must not contain a fragment: {u}");
    }
    let mut tx = store.begin().await?;
    tx.create_oidc_client(
        client_id,
        secret.as_deref().map(token_hash).as_deref(),
        name,
        redirect_uris,
        post_logout,
        false,
        actor,
        Timestamp::now(),
    )
    .await?;
    tx.commit().await?;
    Ok(secret)
}

pub async fn oidc(cmd: OidcCmd, cfg: &Config, store: &Store) -> anyhow::Result<ExitCode> {
    match cmd {
        OidcCmd::AddClient { client_id, redirect_uris, post_logout_uris, name, public } => {
            let secret = (!public).then(new_token);
            let name = name.unwrap_or_else(|| client_id.clone());
            match add_client(store, &client_id, &name, &redirect_uris, &post_logout_uris, secret, "cli").await {
                Ok(Some(secret)) => {
                    println!("client_id={client_id}");
                    println!("client_secret={secret}");
                    eprintln!("请妥善保存客户端密钥，它不会再次显示 / store the secret now: it is not shown again");
                }
                Ok(None) => println!("client_id={client_id} (public client, PKCE only)"),
                Err(e) => return invalid(format!("{e:#}")),
            }
        }
        OidcCmd::List => {
            for c in store.oidc_clients().await? {
                println!("{}", serde_json::to_string(&c)?);
            }
        }
        OidcCmd::RotateKey => {
            let key = yiwang_web::settings::new_signing_key();
            let grace = jiff::SignedDuration::from_hours(cfg.identity.key_grace_hours.max(1));
            // Wrapped under the node master key when there is one (as `serve` does).
            let master = cfg.master_key().ok();
            let mut tx = store.begin().await?;
            tx.rotate_signing_key(&key, grace, "cli", Timestamp::now(), master.as_ref()).await?;
            tx.commit().await?;
            println!("新签名密钥 / new signing key: {} (ES256); earlier keys stay in the JWKS for {} h", key.kid, grace.as_hours());
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct RowError {
    row: usize,
    field: &'static str,
    message: String,
}

#[derive(Serialize)]
struct ImportReport {
    imported: usize,
    rejected: usize,
    errors: Vec<RowError>,
}

pub(crate) fn progress(len: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(Some(len), indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} 行 rows {msg}") {
        bar.set_style(style);
    }
    bar
}

fn field<'a>(rec: &'a csv::StringRecord, headers: &csv::StringRecord, name: &str) -> &'a str {
    headers.iter().position(|h| h.trim() == name).and_then(|i| rec.get(i)).map_or("", str::trim)
}

fn check_person(rec: &csv::StringRecord, h: &csv::StringRecord, today: jiff::civil::Date) -> Result<BasePerson, (&'static str, String)> {
    let id = CitizenId::parse(field(rec, h, "citizen_id"), today)
        .map_err(|e| ("citizen_id", format!("{} / {e}", yiwang_errors::Coded::message_zh(&e))))?;
    let name = field(rec, h, "name");
    if name.is_empty() || name.chars().count() > 50 {
        return Err(("name", "姓名为空或过长 / name empty or too long".into()));
    }
    let birth = field(rec, h, "birth_date");
    if birth != id.info().birth_date {
        return Err(("birth_date", format!("出生日期与身份证号不符（应为 {}）/ does not match the ID", id.info().birth_date)));
    }
    let div = field(rec, h, "address_division");
    DivisionCode::parse(div).map_err(|e| ("address_division", format!("{e}")))?;
    let status = field(rec, h, "status");
    if !["normal", "deceased", "cancelled"].contains(&status) {
        return Err(("status", "应为 normal、deceased 或 cancelled".into()));
    }
    Ok(BasePerson {
        citizen_id: id.to_string(),
        name: name.into(),
        birth_date: birth.into(),
        address_division: div.into(),
        status: status.into(),
    })
}

fn check_enterprise(
    rec: &csv::StringRecord,
    h: &csv::StringRecord,
    today: jiff::civil::Date,
) -> Result<BaseEnterprise, (&'static str, String)> {
    let uscc = Uscc::parse(field(rec, h, "uscc")).map_err(|e| ("uscc", format!("{e}")))?;
    let name = field(rec, h, "name");
    if name.is_empty() || name.chars().count() > 200 {
        return Err(("name", "名称为空或过长 / name empty or too long".into()));
    }
    let rep_name = field(rec, h, "legal_rep_name");
    if rep_name.is_empty() {
        return Err(("legal_rep_name", "法定代表人姓名为空 / empty".into()));
    }
    let rep_id = CitizenId::parse(field(rec, h, "legal_rep_id"), today).map_err(|e| ("legal_rep_id", format!("{e}")))?;
    let status = field(rec, h, "registration_status");
    if !["active", "revoked", "cancelled"].contains(&status) {
        return Err(("registration_status", "应为 active、revoked 或 cancelled".into()));
    }
    Ok(BaseEnterprise {
        uscc: uscc.as_str().into(),
        name: name.into(),
        legal_rep_name: rep_name.into(),
        legal_rep_id: rep_id.to_string(),
        registration_status: status.into(),
    })
}

/// Import a CSV: invalid rows are reported by row and field, valid rows are kept.
/// Exit 0 if every row was imported, 1 if some were rejected.
pub async fn base(cmd: BaseCmd, store: &Store) -> anyhow::Result<ExitCode> {
    let (file, persons) = match cmd {
        BaseCmd::ImportPersons { file } => (file, true),
        BaseCmd::ImportEnterprises { file } => (file, false),
        BaseCmd::ImportCredit { file } => return import_credit(&file, store).await,
        BaseCmd::Credit { id } => {
            let id = id.trim().to_uppercase();
            let kind = yiwang_store::subject_type_of(&id);
            let standing = store.credit_standing(kind, &id, yiwang_calendar::china_today(Timestamp::now())).await?;
            println!(
                "{}",
                serde_json::json!({ "subject_type": kind, "commitment_offered": standing.commitment_offered(), "standing": standing })
            );
            return Ok(ExitCode::SUCCESS);
        }
    };
    let mut reader =
        csv::ReaderBuilder::new().flexible(true).from_path(&file).with_context(|| format!("打开 / opening {}", file.display()))?;
    let headers = reader.headers()?.clone();
    let need: &[&str] = if persons {
        &["citizen_id", "name", "birth_date", "address_division", "status"]
    } else {
        &["uscc", "name", "legal_rep_name", "legal_rep_id", "registration_status"]
    };
    if let Some(missing) = need.iter().find(|n| !headers.iter().any(|h| h.trim() == **n)) {
        return invalid(format!("缺少列 / missing column {missing:?}; expected header: {}", need.join(",")));
    }
    let records: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().context("CSV 格式错误 / malformed CSV")?;
    let bar = progress(records.len() as u64);
    let now = Timestamp::now();
    let today = yiwang_calendar::china_today(now);
    let source = format!("import:{}", file.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default());
    let mut report = ImportReport { imported: 0, rejected: 0, errors: Vec::new() };
    for chunk in records.chunks(500).enumerate() {
        let (ci, rows) = chunk;
        let mut tx = store.begin().await?;
        for (i, rec) in rows.iter().enumerate() {
            // Row numbers as a spreadsheet shows them: the header is row 1.
            let row = ci * 500 + i + 2;
            let outcome = if persons {
                match check_person(rec, &headers, today) {
                    Ok(p) => tx.upsert_base_person(&p, &source, now).await.map(|()| None)?,
                    Err(e) => Some(e),
                }
            } else {
                match check_enterprise(rec, &headers, today) {
                    Ok(e) => tx.upsert_base_enterprise(&e, &source, now).await.map(|()| None)?,
                    Err(e) => Some(e),
                }
            };
            match outcome {
                None => report.imported += 1,
                Some((field, message)) => {
                    report.rejected += 1;
                    report.errors.push(RowError { row, field, message });
                }
            }
            bar.inc(1);
        }
        tx.commit().await?;
    }
    bar.finish_and_clear();
    let mut tx = store.begin().await?;
    tx.append_audit(yiwang_audit::AuditRecord {
        at: yiwang_store::ts(now),
        actor: "cli".into(),
        action: if persons { "base.persons_imported" } else { "base.enterprises_imported" }.into(),
        object_type: "base_data".into(),
        object_id: source.clone(),
        reason: String::new(),
        data: serde_json::json!({ "imported": report.imported, "rejected": report.rejected }).to_string(),
    })
    .await?;
    tx.commit().await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    eprintln!("导入 {} 行，拒绝 {} 行 / imported {}, rejected {}", report.imported, report.rejected, report.imported, report.rejected);
    Ok(if report.rejected == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

pub async fn agency(cmd: AgencyCmd, store: &Store) -> anyhow::Result<ExitCode> {
    match cmd {
        AgencyCmd::Add { uscc, name, division, level } => {
            let u = match Uscc::parse(&uscc) {
                Ok(u) => u,
                Err(e) => return invalid(format!("统一社会信用代码无效 / invalid USCC: {e}")),
            };
            if let Err(e) = DivisionCode::parse(&division) {
                return invalid(format!("区划代码无效 / invalid division: {e}"));
            }
            let mut tx = store.begin().await?;
            tx.upsert_agency(
                &Agency { uscc: u.as_str().into(), name: name.clone(), division_code: division, level },
                "cli",
                Timestamp::now(),
            )
            .await?;
            tx.commit().await?;
            println!("部门已登记 / agency saved: {name} ({})", u.as_str());
        }
        AgencyCmd::List => {
            for a in store.agencies().await? {
                println!("{}", serde_json::to_string(&a)?);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Create (if needed) a staff member's account and grant roles. Returns the account id.
pub async fn add_staff(
    store: &Store,
    citizen_id: &CitizenId,
    name: &str,
    agency: &str,
    roles: &[Role],
    password: Option<&str>,
    actor: &str,
) -> anyhow::Result<String> {
    let now = Timestamp::now();
    anyhow::ensure!(store.agency(agency).await?.is_some(), "部门未登记 / unknown agency {agency}: run `yiwang agency add` first");
    let existing = store.account_by_citizen_id(citizen_id.as_str()).await?;
    let hash = match (&existing, password) {
        (None, Some(pw)) => Some(hash_password(pw)?),
        _ => None,
    };
    let mut tx = store.begin().await?;
    let id = match existing {
        Some(a) => a.id,
        None => {
            let new = NewAccount {
                citizen_id: citizen_id.to_string(),
                name: name.to_string(),
                phone: None,
                email: None,
                password_hash: hash,
                level: RealNameLevel::L3,
                level_source: "staff_onboarding".into(),
                status: AccountStatus::Active,
            };
            tx.create_account(&new, actor, now).await?.id
        }
    };
    for r in roles {
        tx.grant_staff_role(&id, agency, *r, actor, now).await?;
    }
    tx.commit().await?;
    Ok(id)
}

pub async fn staff(cmd: StaffCmd, store: &Store, max_support_hours: i64) -> anyhow::Result<ExitCode> {
    match cmd {
        StaffCmd::Add { citizen_id, name, agency, role, password_stdin } => {
            let today = yiwang_calendar::china_today(Timestamp::now());
            let id = match CitizenId::parse(&citizen_id, today) {
                Ok(id) => id,
                Err(e) => return invalid(format!("身份证号无效 / invalid citizen ID: {e}")),
            };
            let roles: Result<Vec<Role>, _> = role.iter().map(|r| r.trim().parse::<Role>()).collect();
            let roles = match roles {
                Ok(r) => r,
                Err(e) => return invalid(format!("{e}")),
            };
            let (password, generated) = if password_stdin {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s)?;
                (s.trim_end_matches(['\r', '\n']).to_string(), false)
            } else {
                (format!("Yw-{}", &new_token()[..16]), true)
            };
            if let Err(e) = check_password_strength(&password, PasswordPolicy::default()) {
                return invalid(format!("{e}"));
            }
            let account = add_staff(store, &id, &name, &agency, &roles, Some(&password), "cli").await?;
            println!("account_id={account}");
            if generated {
                println!("password={password}");
            }
        }
        StaffCmd::List { agency } => {
            for s in store.agency_staff(&agency).await? {
                println!("{}", serde_json::to_string(&s)?);
            }
        }
        StaffCmd::SupportGrant { citizen_id, agency, hours, reason } => {
            if !(1..=max_support_hours).contains(&hours) {
                return invalid(format!("--hours 须为 1 至 {max_support_hours} / must be 1 to {max_support_hours}"));
            }
            let Some(acc) = store.account_by_citizen_id(citizen_id.trim()).await? else {
                return invalid("没有此身份证号的账号 / no account with this citizen ID");
            };
            if store.agency(&agency).await?.is_none() {
                return invalid("没有此部门 / no such agency");
            }
            let now = Timestamp::now();
            let mut tx = store.begin().await?;
            let g = match tx.grant_support(&acc.id, &agency, &reason, "cli", now + jiff::SignedDuration::from_hours(hours), now).await {
                Ok(g) => g,
                Err(e) => return invalid(e),
            };
            tx.commit().await?;
            println!("{}", serde_json::to_string(&g)?);
        }
        StaffCmd::SupportList => {
            for g in store.support_grants(1000).await? {
                println!("{}", serde_json::to_string(&g)?);
            }
        }
        StaffCmd::SupportRevoke { id } => {
            let mut tx = store.begin().await?;
            let ended = tx.revoke_support(&id, "cli", Timestamp::now()).await?;
            tx.commit().await?;
            if !ended {
                return invalid("没有此进行中的支持访问 / no live grant with this id");
            }
            println!("revoked={id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `yiwang base import-credit FILE`: 信用信息库 records from CSV, all or none.
async fn import_credit(file: &std::path::Path, store: &Store) -> anyhow::Result<ExitCode> {
    let mut reader = csv::ReaderBuilder::new().from_path(file).with_context(|| format!("打开 / opening {}", file.display()))?;
    let headers = reader.headers()?.clone();
    let need = ["subject_type", "subject_id", "kind", "source", "reason", "until_on"];
    if let Some(missing) = need.iter().find(|n| !headers.iter().any(|h| h.trim() == **n)) {
        return invalid(format!("缺少列 / missing column {missing:?}; expected header: {}", need.join(",")));
    }
    let col = |rec: &csv::StringRecord, name: &str| -> String {
        headers.iter().position(|h| h.trim() == name).and_then(|i| rec.get(i)).unwrap_or_default().trim().to_string()
    };
    let mut records = Vec::new();
    for rec in reader.records() {
        let rec = rec.context("CSV 格式错误 / malformed CSV")?;
        let until = col(&rec, "until_on");
        records.push(yiwang_store::CreditRecord {
            subject_type: col(&rec, "subject_type"),
            subject_id: col(&rec, "subject_id").to_uppercase(),
            kind: col(&rec, "kind"),
            source: col(&rec, "source"),
            case_no: None,
            reason: col(&rec, "reason"),
            until_on: (!until.is_empty()).then_some(until),
        });
    }
    match store.import_credit(&records, "cli", Timestamp::now()).await? {
        Ok(n) => {
            println!("{}", serde_json::json!({ "imported": n }));
            Ok(ExitCode::SUCCESS)
        }
        Err(problems) => {
            println!("{}", serde_json::json!({ "imported": 0, "problems": problems }));
            invalid(format!("{} 行有误，未导入 / rows with problems, nothing imported", problems.len()))
        }
    }
}
