//! `yiwang`: one binary for every node tier and every operator task.

// The binary is an edge: commands, the worker and the benchmarks read the clock.
#![allow(clippy::disallowed_methods)]

mod bench;
mod catalog_cli;
mod config;
mod demo;
mod exchange_cli;
mod federation_demo;
mod identity_cli;
mod license_cli;
mod operator_cli;
mod supervision_cli;
mod synthetic;
mod workflow_cli;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use jiff::civil::Date;
use yiwang_calendar::{Calendar, Pause, SpecialDay};
use yiwang_errors::Coded;
use yiwang_store::{AuditReport, Backend, Store};

use crate::config::{Config, Overrides};

/// Exit codes: 0 success; 1 the input is invalid or the audit chain is broken;
/// 2 bad command line; 3 operational failure (database unreachable, bad config).
const EXIT_INVALID: u8 = 1;
const EXIT_FAILURE: u8 = 3;

#[derive(Parser)]
#[command(name = "yiwang", version, about = "一网 yiwang — 互联网+政务服务 platform node")]
struct Cli {
    /// TOML config file (default: $YIWANG_CONFIG, else ./yiwang.toml if present).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory (default ./yiwang-data).
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://… (default: SQLite in the data directory).
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the node's HTTP server (migrates the database first).
    Serve {
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Create a demo node (浙江省 with four cities) and serve it at http://127.0.0.1:8080.
    Demo {
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Delete the demo data directory first.
        #[arg(long)]
        fresh: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the effective configuration (secrets redacted) and where it came from.
    CheckConfig,
    /// Detect and validate an identifier; print its fields as JSON (exit 1 if invalid).
    Codes {
        value: String,
        /// Force a kind: citizen_id, uscc, org_code, division, basic_code, implementation_code, case_no, license_id.
        #[arg(long)]
        kind: Option<String>,
    },
    /// Working-day calendar.
    #[command(subcommand)]
    Calendar(CalendarCmd),
    /// Tamper-evident audit log.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// The node-to-node exchange's message log (docs/exchange.md).
    #[command(subcommand)]
    ExchangeLog(ExchangeLogCmd),
    /// The node-to-node exchange: signing keys, the node registry, a probe call.
    #[command(subcommand)]
    Exchange(exchange_cli::ExchangeCmd),
    /// This node's identity.
    #[command(subcommand)]
    Node(NodeCmd),
    /// OIDC relying parties and signing keys.
    #[command(subcommand)]
    Oidc(identity_cli::OidcCmd),
    /// Population and legal-entity base data (人口库, 法人库).
    #[command(subcommand)]
    Base(identity_cli::BaseCmd),
    /// Agencies (部门).
    #[command(subcommand)]
    Agency(identity_cli::AgencyCmd),
    /// Staff accounts and roles.
    #[command(subcommand)]
    Staff(identity_cli::StaffCmd),
    /// Halls (政务服务大厅) and the agencies their windows serve (一窗受理).
    #[command(subcommand)]
    Hall(operator_cli::HallCmd),
    /// Shared data resources: what exists and who provides it.
    #[command(subcommand)]
    Resource(operator_cli::ResourceCmd),
    /// Data sharing grants on this node's resources (default deny).
    #[command(subcommand)]
    Grant(operator_cli::GrantCmd),
    /// 一件事 bundles: several items applied for as one.
    #[command(subcommand)]
    Bundle(operator_cli::BundleCmd),
    /// Department systems' machine clients (OAuth 2.0 client credentials).
    #[command(subcommand)]
    Client(operator_cli::ClientCmd),
    /// The item catalog (事项目录): import, export, once-only analysis.
    #[command(subcommand)]
    Catalog(catalog_cli::CatalogCmd),
    /// E-licenses: verify a sealed license file or a QR token.
    #[command(subcommand)]
    License(license_cli::LicenseCmd),
    /// Workflow (BPMN): simulate a process before it goes live; deploy it.
    #[command(subcommand)]
    Workflow(workflow_cli::WorkflowCmd),
    /// Fill the node with synthetic base data and cases in realistic states,
    /// spread over the last year across the published items (for load tests
    /// and demonstrations; never on a production node).
    Synthetic {
        #[arg(long, default_value_t = 10_000)]
        citizens: usize,
        #[arg(long, default_value_t = 2_000)]
        enterprises: usize,
        #[arg(long, default_value_t = 100_000)]
        cases: usize,
    },
    /// Benchmarks against a throw-away node (build with --release).
    #[command(subcommand)]
    Bench(BenchCmd),
    /// The three-tier network on one machine (三级联动).
    #[command(subcommand)]
    Federation(FederationCmd),
    /// 电子监察: replay a rule set over stored history.
    #[command(subcommand)]
    Supervision(supervision_cli::SupervisionCmd),
}

#[derive(Subcommand)]
enum FederationCmd {
    /// Start four nodes (national, 浙江, 江苏, 杭州) as separate processes on
    /// 127.0.0.1–4, seeded for 异地可办: a 浙江 citizen applies at 江苏 with
    /// his 户籍 and ID card fetched from 浙江 over the exchange. Ctrl-C stops them.
    Demo {
        /// Where the nodes' configs, data and logs go.
        #[arg(long, default_value = "./yiwang-federation")]
        dir: PathBuf,
        /// An empty PostgreSQL database (or schema) for the 浙江 node; without it every node is on SQLite.
        #[arg(long, value_name = "URL")]
        postgres: Option<String>,
        /// The national node's port; the others take the next three.
        #[arg(long, default_value_t = 18091)]
        base_port: u16,
        /// Delete the directory first.
        #[arg(long)]
        fresh: bool,
        /// Set the nodes up, print them as JSON and exit without running them.
        #[arg(long)]
        prepare_only: bool,
    },
}

#[derive(Subcommand)]
enum BenchCmd {
    /// What the trust rules cost: throttle attempts, and a case read by its
    /// applicant next to the same read by audited, masked staff.
    Trust {
        #[arg(long, default_value_t = 20_000)]
        requests: usize,
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
    },
    /// OIDC token exchanges, userinfo calls and password logins over loopback.
    Identity {
        #[arg(long, default_value_t = 20_000)]
        requests: usize,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        #[arg(long, default_value_t = 300)]
        logins: usize,
        /// Database connections of the node under test.
        #[arg(long, default_value_t = 10)]
        pool: u32,
    },
    /// Workflow instances per second (parallel split, 3 user tasks, join), in
    /// memory and persisted, next to SpiffWorkflow on the same file.
    Workflow {
        #[arg(long, default_value_t = 100_000)]
        in_memory: usize,
        #[arg(long, default_value_t = 2_000)]
        persisted: usize,
        #[arg(long, default_value_t = 1_000)]
        spiff: usize,
    },
    /// SM2 seal signatures and verifications per second on one core, next to
    /// `openssl speed sm2` measured in the same run.
    Seal {
        #[arg(long, default_value_t = 3)]
        seconds: u32,
    },
    /// Full case lifecycles per second through the store (create, submit,
    /// accept, a step, decide, conclude, deliver).
    Cases {
        #[arg(long, default_value_t = 2_000)]
        lifecycles: usize,
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Subscribe a webhook receiver on loopback first, then measure the deliveries too.
        #[arg(long)]
        webhook: bool,
        /// File the cases under no account, so no notices are written (what the
        /// lifecycle cost before notices, for comparison in the same run).
        #[arg(long)]
        no_notices: bool,
        /// Run 电子监察's consumer alongside, as `serve` does (its 50 ms poll):
        /// what supervision adds to a lifecycle, against a run without it.
        #[arg(long)]
        supervise: bool,
    },
    /// gx/1 envelopes received per second on one node, without HTTP: each is
    /// sealed by a peer, opened (the receiver's checks) and logged in the
    /// hash-chained message log, one transaction each.
    ExchangeLog {
        #[arg(long, default_value_t = 10_000)]
        messages: usize,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
    },
    /// Synchronous gx/1 requests per second between two nodes on loopback,
    /// each with its own database, over HTTP; both message logs verified.
    /// `--database-url` puts the provider on PostgreSQL.
    Exchange {
        #[arg(long, default_value_t = 10_000)]
        messages: usize,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
    },
    /// One-way gx/1 events between two nodes on loopback: sealed, logged and
    /// queued in the outbox, then delivered with signed receipts; both logs
    /// verified. `--database-url` puts the receiver on PostgreSQL.
    ExchangeAsync {
        #[arg(long, default_value_t = 10_000)]
        messages: usize,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
    },
    /// 汇聚: GB/T 39046 records from a city through its province to the
    /// national node as signed events, caught up after the province's outage;
    /// nothing counted twice. `--database-url` puts the province on PostgreSQL.
    Aggregation {
        #[arg(long, default_value_t = 1_000_000)]
        records: usize,
    },
    /// 电子监察: the rules' evaluation per case, the consumer draining marked
    /// cases, and one event to its alert kept (docs/supervision.md).
    Supervision {
        #[arg(long, default_value_t = 2_000)]
        cases: usize,
    },
    /// 电子监察's daily sweep over N open cases, one in ONE_IN due that day.
    SupervisionSweep {
        #[arg(long, default_value_t = 1_000_000)]
        cases: usize,
        #[arg(long, default_value_t = 100)]
        one_in: i64,
    },
    /// The five evaluation indicators over N synthetic cases: counting every
    /// agency's items, cases and ratings for the year, scoring, the PDF.
    Indicators {
        #[arg(long, default_value_t = 1_000_000)]
        cases: usize,
    },
    /// A node with N synthetic cases, then a department's list page (100 and
    /// the total), one case by number, and new applications, over HTTP.
    CaseList {
        #[arg(long, default_value_t = 1_000_000)]
        cases: usize,
        #[arg(long, default_value_t = 2_000)]
        requests: usize,
    },
    /// Licenses issued per second, then the public verification page's latency.
    License {
        #[arg(long, default_value_t = 5_000)]
        licenses: usize,
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        #[arg(long, default_value_t = 5_000)]
        page_requests: usize,
    },
    /// Catalog search at a fixed request rate, service-guide pages and PDFs.
    Catalog {
        /// Published items in the catalog (the demo's, then copies at county agencies).
        #[arg(long, default_value_t = 5_000)]
        items: usize,
        /// Searches per second.
        #[arg(long, default_value_t = 500)]
        rate: u32,
        #[arg(long, default_value_t = 20)]
        seconds: u32,
    },
}

#[derive(Subcommand)]
enum CalendarCmd {
    /// The date of the N-th working day after DATE (DATE itself not counted).
    AddWorkdays {
        date: String,
        n: u32,
        /// A clock-stopping interval FROM..UNTIL (inclusive), repeatable.
        #[arg(long, value_name = "FROM..UNTIL")]
        pause: Vec<String>,
        /// Use the bundled table even if a database exists.
        #[arg(long)]
        bundled: bool,
    },
    /// Whether DATE is a working day (exit 0 yes, 1 no).
    IsWorkday {
        date: String,
        #[arg(long)]
        bundled: bool,
    },
    /// List the holidays and makeup workdays of YEAR.
    List { year: i16 },
    /// Set DATE to holiday, makeup (调休上班) or normal (admin override; audited).
    Set {
        date: String,
        kind: String,
        #[arg(long, default_value = "")]
        name: String,
    },
    /// Declare YEAR's holiday data complete (results stop being provisional).
    CoverYear {
        year: i16,
        #[arg(long)]
        uncover: bool,
    },
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Verify the whole hash chain; exit 1 naming the first bad entry.
    Verify,
    /// Print entries as JSON lines.
    List(LogPage),
}

/// A page of a log: the entries after `--after`, at most `--limit`.
#[derive(clap::Args)]
struct LogPage {
    #[arg(long, default_value_t = 0)]
    after: i64,
    #[arg(long, default_value_t = 100)]
    limit: i64,
}

#[derive(Subcommand)]
enum ExchangeLogCmd {
    /// Verify the whole hash chain and its head; exit 1 naming the first bad entry.
    Verify,
    /// Print entries as JSON lines (the exact header and signature line of each).
    List(LogPage),
}

#[derive(Subcommand)]
enum NodeCmd {
    /// Initialise this node's identity (once).
    Init {
        /// 6- or 12-digit division code of the region this node serves.
        #[arg(long)]
        division: String,
        /// Display name (default: the division's name).
        #[arg(long)]
        name: Option<String>,
        #[arg(long, value_parser = ["national", "provincial", "municipal", "county"])]
        tier: String,
    },
    /// Show this node's identity.
    Show,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start runtime: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("错误 / error: {e:#}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let env: HashMap<String, String> = std::env::vars().collect();
    let mut over = Overrides { config_file: cli.config, data_dir: cli.data_dir, database_url: cli.database_url, listen: None };
    match cli.cmd {
        Cmd::Codes { value, kind } => Ok(codes(&value, kind.as_deref())),
        Cmd::CheckConfig => {
            let (cfg, sources) = config::load(&over, &env)?;
            println!("# yiwang effective configuration (secrets redacted)");
            println!("# precedence: defaults < file < YIWANG_* env < flags");
            println!("# file: {}", sources.file.as_ref().map_or("(none)".to_string(), |f| f.display().to_string()));
            println!("# env: {}", if sources.env_vars.is_empty() { "(none)".to_string() } else { sources.env_vars.join(", ") });
            print!("{}", toml::to_string(&cfg.redacted())?);
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Migrate => {
            let (cfg, _) = config::load(&over, &env)?;
            let store = open_store(&cfg).await?;
            println!("数据库已是最新 / database is up to date ({})", yiwang_store::redact_url(&cfg.effective_database_url()));
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Serve { listen } => {
            over.listen = listen;
            let (cfg, _) = config::load(&over, &env)?;
            init_logging(&cfg);
            let store = open_store(&cfg).await?;
            serve(&cfg, store).await
        }
        Cmd::Demo { listen, fresh } => {
            over.listen = listen;
            if over.data_dir.is_none() && !env.contains_key("YIWANG_DATA_DIR") {
                over.data_dir = Some(PathBuf::from("./yiwang-demo-data"));
            }
            let (cfg, _) = config::load(&over, &env)?;
            init_logging(&cfg);
            if fresh && cfg.database_url.is_none() && cfg.data_dir.exists() {
                std::fs::remove_dir_all(&cfg.data_dir).with_context(|| format!("removing {}", cfg.data_dir.display()))?;
            }
            let store = open_store(&cfg).await?;
            if demo::seed(&store, &cfg.demo_master_key()?).await? {
                tracing::info!("demo node created in {}", cfg.data_dir.display());
            } else {
                tracing::info!("reusing the existing node in {} (use --fresh to start over)", cfg.data_dir.display());
            }
            serve(&cfg, store).await
        }
        Cmd::Calendar(c) => calendar(c, &over, &env).await,
        Cmd::Federation(FederationCmd::Demo { dir, postgres, base_port, fresh, prepare_only }) => {
            let (cfg, _) = config::load(&over, &env)?;
            init_logging(&cfg);
            let opts = federation_demo::DemoOptions { dir, postgres, base_port, fresh, prepare_only };
            federation_demo::run(opts).await
        }
        Cmd::Bench(BenchCmd::Trust { requests, concurrency }) => {
            for f in &bench::trust(requests.max(1), concurrency.max(1), over.database_url.clone()).await? {
                println!("{}", serde_json::to_string(f)?);
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Bench(BenchCmd::Identity { requests, concurrency, logins, pool }) => {
            let figures =
                bench::identity(requests.max(1), concurrency.max(1), logins.max(1), pool.max(1), over.database_url.clone()).await?;
            for f in &figures {
                println!("{}", serde_json::to_string(f)?);
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Bench(BenchCmd::Workflow { in_memory, persisted, spiff }) => {
            for f in bench::workflow(in_memory.max(1), persisted.max(1), spiff.max(1), over.database_url.clone()).await? {
                println!("{f}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Bench(BenchCmd::Seal { seconds }) => {
            for f in bench::seal(seconds.max(1))? {
                println!("{f}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Bench(BenchCmd::Cases { lifecycles, concurrency, webhook, no_notices, supervise }) => {
            let opts = bench::CasesBench { webhook, notices: !no_notices, supervise };
            for f in &bench::cases(lifecycles.max(1), concurrency.max(1), opts, over.database_url.clone()).await? {
                println!("{}", serde_json::to_string(f)?);
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Bench(BenchCmd::ExchangeLog { messages, concurrency }) => {
            for f in &bench::exchange_log(messages.max(1), concurrency.max(1), over.database_url.clone()).await? {
                println!("{}", serde_json::to_string(f)?);
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Bench(BenchCmd::Exchange { messages, concurrency }) => {
            for f in &bench::exchange_sync(messages.max(1), concurrency.max(1), over.database_url.clone()).await? {
                println!("{}", serde_json::to_string(f)?);
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Bench(BenchCmd::ExchangeAsync { messages, concurrency }) => {
            for f in &bench::exchange_async(messages.max(1), concurrency.max(1), over.database_url.clone()).await? {
                println!("{}", serde_json::to_string(f)?);
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Bench(BenchCmd::Supervision { cases }) => {
            for f in &bench::supervision(cases.max(1), over.database_url.clone()).await? {
                println!("{}", serde_json::to_string(f)?);
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Bench(BenchCmd::SupervisionSweep { cases, one_in }) => {
            for f in &bench::supervision_sweep(cases.max(1), one_in, over.database_url.clone()).await? {
                println!("{}", serde_json::to_string(f)?);
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Bench(BenchCmd::Indicators { cases }) => {
            for f in &bench::indicators(cases.max(1), over.database_url.clone()).await? {
                println!("{}", serde_json::to_string(f)?);
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Bench(BenchCmd::Aggregation { records }) => {
            for f in &bench::aggregation(records.max(1), over.database_url.clone()).await? {
                println!("{}", serde_json::to_string(f)?);
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Bench(BenchCmd::CaseList { cases, requests }) => {
            for f in &bench::case_list(cases.max(200), requests.max(1), over.database_url.clone()).await? {
                println!("{}", serde_json::to_string(f)?);
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Synthetic { citizens, enterprises, cases } => {
            let (cfg, _) = config::load(&over, &env)?;
            let store = open_store(&cfg).await?;
            let filled = synthetic::fill(&store, synthetic::Plan { citizens, enterprises, cases }, jiff::Timestamp::now()).await?;
            println!("{}", serde_json::to_string(&filled)?);
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Bench(BenchCmd::License { licenses, concurrency, page_requests }) => {
            let figures = bench::license(licenses.max(1), concurrency.max(1), page_requests.max(1), over.database_url.clone()).await?;
            for f in &figures {
                println!("{}", serde_json::to_string(f)?);
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Bench(BenchCmd::Catalog { items, rate, seconds }) => {
            let figures = bench::catalog(items, rate.max(1), seconds.max(1), over.database_url.clone()).await?;
            for f in &figures {
                println!("{}", serde_json::to_string(f)?);
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Oidc(c) => {
            let (cfg, _) = config::load(&over, &env)?;
            identity_cli::oidc(c, &cfg, &open_store(&cfg).await?).await
        }
        Cmd::Base(c) => {
            let (cfg, _) = config::load(&over, &env)?;
            identity_cli::base(c, &open_store(&cfg).await?).await
        }
        Cmd::Workflow(workflow_cli::WorkflowCmd::Deploy { file }) => {
            let (cfg, _) = config::load(&over, &env)?;
            workflow_cli::deploy(&file, &open_store(&cfg).await?).await
        }
        Cmd::Workflow(c) => workflow_cli::run(c),
        Cmd::Supervision(c) => {
            let (cfg, _) = config::load(&over, &env)?;
            supervision_cli::run(c, &open_store(&cfg).await?).await
        }
        Cmd::License(c) => {
            let (cfg, _) = config::load(&over, &env)?;
            license_cli::run(c, &open_store(&cfg).await?, &cfg).await
        }
        Cmd::Catalog(c) => {
            let (cfg, _) = config::load(&over, &env)?;
            catalog_cli::run(c, &open_store(&cfg).await?).await
        }
        Cmd::Agency(c) => {
            let (cfg, _) = config::load(&over, &env)?;
            identity_cli::agency(c, &open_store(&cfg).await?).await
        }
        Cmd::Hall(c) => {
            let (cfg, _) = config::load(&over, &env)?;
            operator_cli::hall(c, &open_store(&cfg).await?).await
        }
        Cmd::Resource(c) => {
            let (cfg, _) = config::load(&over, &env)?;
            operator_cli::resource(c, &open_store(&cfg).await?).await
        }
        Cmd::Grant(c) => {
            let (cfg, _) = config::load(&over, &env)?;
            operator_cli::grant(c, &open_store(&cfg).await?).await
        }
        Cmd::Bundle(c) => {
            let (cfg, _) = config::load(&over, &env)?;
            operator_cli::bundle(c, &open_store(&cfg).await?).await
        }
        Cmd::Client(c) => {
            let (cfg, _) = config::load(&over, &env)?;
            operator_cli::client(c, &open_store(&cfg).await?).await
        }
        Cmd::Staff(c) => {
            let (cfg, _) = config::load(&over, &env)?;
            identity_cli::staff(c, &open_store(&cfg).await?, cfg.security.support_access_max_hours).await
        }
        Cmd::Audit(a) => {
            let (cfg, _) = config::load(&over, &env)?;
            let store = open_store(&cfg).await?;
            let code = match a {
                AuditCmd::Verify => match store.audit_verify().await? {
                    AuditReport::Intact { entries, head_hash } => {
                        println!("审计链完整 / audit chain intact: {entries} entries, head {head_hash}");
                        ExitCode::SUCCESS
                    }
                    AuditReport::Broken { first_break, entry } => {
                        eprintln!("审计链已损坏 / audit chain BROKEN at entry {}: {}", first_break.seq(), first_break.message_zh());
                        eprintln!("  {first_break}");
                        let out = serde_json::json!({ "status": "broken", "first_bad_seq": first_break.seq(), "code": first_break.code(), "break": first_break, "entry": entry });
                        println!("{}", serde_json::to_string_pretty(&out)?);
                        ExitCode::from(EXIT_INVALID)
                    }
                },
                AuditCmd::List(LogPage { after, limit }) => {
                    let page = store.audit_page(after, limit.clamp(1, 10_000)).await?;
                    for e in page.entries {
                        println!("{}", serde_json::to_string(&e)?);
                    }
                    ExitCode::SUCCESS
                }
            };
            store.close().await;
            Ok(code)
        }
        Cmd::Exchange(c) => {
            let (cfg, _) = config::load(&over, &env)?;
            exchange_cli::run(c, &cfg).await
        }
        Cmd::ExchangeLog(c) => {
            let (cfg, _) = config::load(&over, &env)?;
            let store = open_store(&cfg).await?;
            let code = match c {
                ExchangeLogCmd::Verify => match store.exchange_log_verify().await? {
                    yiwang_store::LogReport::Intact { entries } => {
                        // The chain holds; so must every head the parent countersigned.
                        let (anchored, mismatches) = store.anchor_mismatches().await?;
                        if mismatches.is_empty() {
                            println!(
                                "交换报文日志完整 / exchange log intact: {entries} entries, {anchored} heads anchored by the parent agree"
                            );
                            ExitCode::SUCCESS
                        } else {
                            eprintln!("交换报文日志与上级节点锚定的记录不符 / the log disagrees with heads its parent anchored");
                            println!("{}", serde_json::json!({ "status": "rewritten", "mismatches": mismatches }));
                            ExitCode::from(EXIT_INVALID)
                        }
                    }
                    yiwang_store::LogReport::Broken { seq } => {
                        eprintln!("交换报文日志已损坏 / exchange log BROKEN at entry {seq}");
                        println!("{}", serde_json::json!({ "status": "broken", "first_bad_seq": seq }));
                        ExitCode::from(EXIT_INVALID)
                    }
                },
                ExchangeLogCmd::List(LogPage { after, limit }) => {
                    for e in store.exchange_log_page(after, limit).await? {
                        println!("{}", serde_json::to_string(&e)?);
                    }
                    ExitCode::SUCCESS
                }
            };
            store.close().await;
            Ok(code)
        }
        Cmd::Node(n) => {
            let (cfg, _) = config::load(&over, &env)?;
            let store = open_store(&cfg).await?;
            match n {
                NodeCmd::Show => match store.node_info().await? {
                    Some(info) => {
                        let regions = store.node_regions().await?;
                        println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "node": info, "regions": regions }))?);
                    }
                    None => println!("节点尚未初始化 / node not initialised: run `yiwang node init`"),
                },
                NodeCmd::Init { division, name, tier } => {
                    let (d, _) = match yiwang_codes::DivisionCode::parse(&division) {
                        Ok(d) => d,
                        Err(e) => {
                            eprintln!("{} / {e}", e.message_zh());
                            return Ok(ExitCode::from(EXIT_INVALID));
                        }
                    };
                    let name = name.or_else(|| d.name().map(str::to_string)).unwrap_or_else(|| d.as_str().to_string());
                    let info = yiwang_store::NodeInfo { division_code: d.as_str().to_string(), name, tier, created_at: String::new() };
                    let mut tx = store.begin().await?;
                    if let Err(e) = tx.create_node(&info, &[], "cli", jiff::Timestamp::now()).await {
                        eprintln!("{} / {e}", e.message_zh());
                        return Ok(ExitCode::from(EXIT_INVALID));
                    }
                    tx.commit().await?;
                    println!("节点已初始化 / node initialised: {} ({})", info.name, info.division_code);
                }
            }
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn init_logging(cfg: &Config) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&cfg.log.level));
    // Logs go to stderr (stdout carries command output), coloured only on a terminal.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    let _ = if cfg.log.format == "json" { builder.json().try_init() } else { builder.try_init() };
}

async fn open_store(cfg: &Config) -> anyhow::Result<Store> {
    let url = cfg.effective_database_url();
    if Backend::from_url(&url)? == Backend::Sqlite && cfg.database_url.is_none() {
        std::fs::create_dir_all(&cfg.data_dir).with_context(|| format!("creating data directory {}", cfg.data_dir.display()))?;
    }
    Store::open(&url, &cfg.store_options(), jiff::Timestamp::now())
        .await
        .with_context(|| format!("opening database {}", yiwang_store::redact_url(&url)))
}

async fn serve(cfg: &Config, store: Store) -> anyhow::Result<ExitCode> {
    // A bad rule set stops the node before it listens, as a bad [security] setting does.
    let rules = cfg.supervision.rule_set()?;
    tracing::info!(version = rules.version, "supervision rule set");
    let security = yiwang_web::SecurityRuntime::new(&cfg.security).map_err(|e| anyhow::anyhow!("配置无效 / invalid configuration: {e}"))?;
    let listener = tokio::net::TcpListener::bind(&cfg.listen).await.with_context(|| format!("cannot listen on {}", cfg.listen))?;
    let addr = listener.local_addr()?;
    let metrics_listener = match &cfg.security.metrics_listen {
        Some(at) => {
            let l = tokio::net::TcpListener::bind(at).await.with_context(|| format!("cannot listen on {at} (security.metrics_listen)"))?;
            // To the log, not stdout: the first address on stdout is the node's own.
            tracing::warn!("metrics / 运行指标 on http://{}/metrics", l.local_addr()?);
            Some(l)
        }
        None => None,
    };
    tracing::info!(database = %yiwang_store::redact_url(&cfg.effective_database_url()), "yiwang listening on http://{addr}");
    let stop = shutdown_signal();
    println!("yiwang 已启动 / listening on http://{addr}");
    // Sealing e-licenses needs the node master key; say early whether it is there.
    let master = match cfg.master_key() {
        Ok(key) => {
            tracing::info!(fingerprint = %key.fingerprint(), "node master key ready for sealing licenses");
            Some(key)
        }
        Err(e) => {
            tracing::warn!(error = %e, "e-licenses cannot be sealed on this node");
            None
        }
    };
    let identity = yiwang_web::IdentityRuntime::new(&cfg.identity, &addr.to_string());
    tracing::info!(issuer = %identity.issuer, "OIDC issuer");
    let channels = message_channels(cfg, &security.outbound)?;
    let dispatcher =
        tokio::spawn(yiwang_web::messaging::run_dispatcher(store.clone(), Box::new(channels), std::time::Duration::from_millis(500)));
    // Signed webhooks to department systems, from the outbox their events wrote.
    if let Some(key) = &master {
        // Secrets stored in the clear before issue 19 are wrapped now, once.
        match store.wrap_stored_secrets(key, jiff::Timestamp::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(wrapped = n, "stored secrets wrapped under the master key"),
            Err(e) => tracing::warn!(error = %e, "stored secrets could not be wrapped"),
        }
    } else {
        tracing::warn!("no master key: OIDC signing keys and webhook secrets are stored unwrapped");
    }
    let webhooks = tokio::spawn(yiwang_web::integration::run_dispatcher(
        store.clone(),
        security.outbound.clone(),
        master.clone(),
        std::time::Duration::from_millis(500),
    ));
    let mut state = yiwang_web::AppState::new(store.clone(), identity)
        .with_security(security)
        .with_indicator_weights(cfg.supervision.indicator_weights()?)
        .with_rating_loop(cfg.supervision.rating_loop()?)
        .with_rating_content(cfg.supervision.rating_content()?);
    // The exchange: its keys are wrapped under the master key, so it needs one.
    let exchange = yiwang_web::exchange::ExchangeRuntime::from_settings(&cfg.exchange)
        .map_err(|e| anyhow::anyhow!("配置无效 / invalid configuration: {e}"))?;
    if let Some(rt) = exchange {
        let key = master.as_ref().ok_or_else(|| anyhow::anyhow!("[exchange] needs the node master key (seal.master_key)"))?;
        rt.load(&store, key, jiff::Timestamp::now()).await.map_err(|e| anyhow::anyhow!("exchange: {e}"))?;
        tracing::info!(node = %rt.node(), registry = ?rt.registry().map(|r| r.directory.serial), "exchange ready");
        state = state.with_exchange(std::sync::Arc::new(rt));
    }
    if let Some(key) = master {
        state = state.with_master_key(key);
    }
    let registry_refresh = tokio::spawn(yiwang_web::exchange::run_registry_refresh(state.clone()));
    let sharing_refresh = tokio::spawn(yiwang_web::exchange::run_sharing_status_refresh(state.clone()));
    // One-way events to other nodes (汇聚 to the parent among them), from the exchange outbox.
    let exchange_outbox = tokio::spawn(yiwang_web::exchange_async::run_outbox(state.clone()));
    // 电子监察: the consumer of case events and the sweep (issue 22).
    let supervision = tokio::spawn(yiwang_web::supervision::run_supervision(state.clone(), rules));
    // Timers and service-task handlers; several processes may share one database.
    let worker = tokio::spawn(yiwang_web::workflow::run_worker(
        store.clone(),
        state.handlers().clone(),
        format!("{}:{}", addr, std::process::id()),
        std::time::Duration::from_secs(1),
    ));
    // Housekeeping: lapsed throttles, registrations, federation flows, orphaned files.
    let maintenance = {
        let store = store.clone();
        tokio::spawn(async move {
            loop {
                match store.maintain(jiff::Timestamp::now()).await {
                    Ok(m) => tracing::debug!(?m, "housekeeping"),
                    Err(e) => tracing::warn!(error = %e, "housekeeping failed"),
                }
                // 共享申请 undecided past their 10 working days: flagged once, for supervision.
                let now = jiff::Timestamp::now();
                match store.flag_overdue_sharing_requests(yiwang_calendar::china_today(now), now).await {
                    Ok(0) => {}
                    Ok(n) => tracing::warn!(flagged = n, "sharing requests overdue"),
                    Err(e) => tracing::warn!(error = %e, "the overdue sweep of sharing requests failed"),
                }
                tokio::time::sleep(std::time::Duration::from_secs(300)).await;
            }
        })
    };
    // Metrics on their own address (bound before the node says it listens).
    let metrics = metrics_listener.map(|l| {
        let router = yiwang_web::metrics_router(state.clone());
        tokio::spawn(async move { axum::serve(l, router).await })
    });
    yiwang_web::serve(listener, state, stop).await?;
    if let Some(m) = metrics {
        m.abort();
    }
    maintenance.abort();
    registry_refresh.abort();
    sharing_refresh.abort();
    exchange_outbox.abort();
    supervision.abort();
    worker.abort();
    dispatcher.abort();
    webhooks.abort();
    store.close().await;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Resolves on SIGTERM or Ctrl-C. The handlers are installed when this is
/// called, not when first polled, so a signal that arrives right after the
/// "listening" line still means a graceful stop.
fn shutdown_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    let (mut term, mut int) = {
        use tokio::signal::unix::{SignalKind, signal};
        (signal(SignalKind::terminate()).ok(), signal(SignalKind::interrupt()).ok())
    };
    async move {
        #[cfg(unix)]
        {
            let term = async {
                match term.as_mut() {
                    Some(s) => drop(s.recv().await),
                    None => std::future::pending::<()>().await,
                }
            };
            let int = async {
                match int.as_mut() {
                    Some(s) => drop(s.recv().await),
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = term => {},
                () = int => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn codes(value: &str, kind: Option<&str>) -> ExitCode {
    let kind = match kind.map(str::parse::<yiwang_codes::CodeKind>) {
        Some(Err(())) => {
            eprintln!("未知的编码类型 / unknown kind {:?}", kind.unwrap_or_default());
            return ExitCode::from(2);
        }
        Some(Ok(k)) => Some(k),
        None => None,
    };
    match yiwang_codes::detect_as(kind, value, yiwang_calendar::china_today(jiff::Timestamp::now())) {
        Ok(parsed) => {
            let mut v = serde_json::to_value(&parsed).unwrap_or_default();
            if let Some(obj) = v.as_object_mut() {
                obj.insert("valid".into(), true.into());
            }
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(yiwang_codes::DetectError { kind, error: e }) => {
            let out = serde_json::json!({
                "valid": false,
                "kind": kind,
                "reason": e.reason(),
                "code": e.code(),
                "message_zh": e.message_zh(),
                "message_en": e.message_en(),
                "error": e,
            });
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
            eprintln!("无效 / invalid ({}): {} / {}", e.reason(), e.message_zh(), e.message_en());
            ExitCode::from(EXIT_INVALID)
        }
    }
}

fn parse_date(s: &str) -> anyhow::Result<Date> {
    s.parse().map_err(|_| anyhow::anyhow!("“{s}”不是有效日期（YYYY-MM-DD）/ {s:?} is not a valid YYYY-MM-DD date"))
}

/// The calendar in force: the database's if one exists, else the bundled table
/// (a calculation should not create a database as a side effect).
async fn load_calendar(cfg: &Config, bundled: bool) -> anyhow::Result<Calendar> {
    let url = cfg.effective_database_url();
    let sqlite_missing = Backend::from_url(&url)? == Backend::Sqlite && cfg.database_url.is_none() && !cfg.default_sqlite_path().exists();
    if bundled || sqlite_missing {
        if !bundled {
            eprintln!("（未找到数据库，使用内置节假日表 / no database found, using the bundled holiday table）");
        }
        return Ok(Calendar::bundled()?);
    }
    let store = open_store(cfg).await?;
    let cal = store.load_calendar().await?;
    store.close().await;
    Ok(cal)
}

async fn calendar(c: CalendarCmd, over: &Overrides, env: &HashMap<String, String>) -> anyhow::Result<ExitCode> {
    let (cfg, _) = config::load(over, env)?;
    let provisional_note = |p: bool| {
        if p {
            eprintln!(
                "注意：所涉年份无节假日数据，仅按周末计算（临时结果）/ note: a year without holiday data was counted by weekends only (provisional)"
            );
        }
    };
    match c {
        CalendarCmd::AddWorkdays { date, n, pause, bundled } => {
            let start = parse_date(&date)?;
            let mut pauses = Vec::new();
            for p in &pause {
                let (a, b) =
                    p.split_once("..").ok_or_else(|| anyhow::anyhow!("暂停区间格式应为 FROM..UNTIL / pause must be FROM..UNTIL: {p}"))?;
                pauses.push(Pause { from: parse_date(a)?, until: parse_date(b)? });
            }
            let cal = load_calendar(&cfg, bundled).await?;
            match cal.add_workdays_paused(start, n, &pauses) {
                Ok(due) => {
                    println!("{}", due.value);
                    provisional_note(due.provisional);
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("{} / {e}", e.message_zh());
                    Ok(ExitCode::from(EXIT_INVALID))
                }
            }
        }
        CalendarCmd::IsWorkday { date, bundled } => {
            let d = parse_date(&date)?;
            let cal = load_calendar(&cfg, bundled).await?;
            let kind = cal.kind(d);
            println!("{} {} {} ({})", d, if kind.is_workday() { "true" } else { "false" }, kind.name_zh(), d.strftime("%A"));
            provisional_note(!cal.is_covered(d.year()));
            Ok(if kind.is_workday() { ExitCode::SUCCESS } else { ExitCode::from(EXIT_INVALID) })
        }
        CalendarCmd::List { year } => {
            let store = open_store(&cfg).await?;
            for d in store.calendar_days(year).await? {
                println!("{}\t{}\t{}\t{}", d.day, d.kind.as_str(), d.source, d.name);
            }
            let cal = store.load_calendar().await?;
            provisional_note(!cal.is_covered(year));
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        CalendarCmd::Set { date, kind, name } => {
            let d = parse_date(&date)?;
            let kind = match kind.as_str() {
                "normal" => None,
                k => Some(
                    SpecialDay::parse(k)
                        .ok_or_else(|| anyhow::anyhow!("类型应为 holiday、makeup 或 normal / kind must be holiday, makeup or normal"))?,
                ),
            };
            let store = open_store(&cfg).await?;
            let mut tx = store.begin().await?;
            tx.set_calendar_day(d, kind, &name, "cli:admin", jiff::Timestamp::now()).await?;
            tx.commit().await?;
            println!("已更新 / updated {d}");
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        CalendarCmd::CoverYear { year, uncover } => {
            let store = open_store(&cfg).await?;
            let mut tx = store.begin().await?;
            tx.set_calendar_year_covered(year, !uncover, "cli:admin", jiff::Timestamp::now()).await?;
            tx.commit().await?;
            println!("已更新 / updated {year}");
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The outbox's adapters: SMTP and the SMS gateway when configured, the spool
/// for the rest. A configured adapter that cannot be built stops the start:
/// an operator who set up mail wants to know now, not when the first notice fails.
fn message_channels(
    cfg: &config::Config,
    outbound: &yiwang_web::outbound::OutboundPolicy,
) -> anyhow::Result<yiwang_web::messaging::Channels> {
    use yiwang_web::messaging::{Channels, Deliver, SmsGateway, SmtpMailer, SpoolDir};
    let email = match &cfg.messaging.smtp {
        Some(s) => {
            let m = SmtpMailer::new(s).map_err(|e| anyhow::anyhow!("邮件配置有误 / messaging.smtp: {e}"))?;
            tracing::info!(host = %s.host, security = ?s.security, "email notices go through SMTP");
            Some(Box::new(m) as Box<dyn Deliver>)
        }
        None => None,
    };
    let sms = match &cfg.messaging.sms_http {
        Some(s) => {
            let g = SmsGateway::new(s, outbound).map_err(|e| anyhow::anyhow!("短信网关配置有误 / messaging.sms_http: {e}"))?;
            tracing::info!(url = %s.url, "SMS notices go through the HTTP gateway");
            Some(Box::new(g) as Box<dyn Deliver>)
        }
        None => None,
    };
    Ok(Channels { email, sms, spool: SpoolDir { dir: cfg.spool_dir() } })
}
