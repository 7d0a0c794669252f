//! `yiwang workflow simulate FILE.bpmn [--data JSON] [--decisions JSON] [--hold IDS]`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use serde_json::Value;
use yiwang_workflow::engine::{CalendarEnv, simulate};

#[derive(Subcommand)]
pub enum WorkflowCmd {
    /// Run a BPMN file to its end, completing user tasks automatically, and
    /// print the ordered trace of completed activities as JSON. A model that
    /// cannot be deployed is refused with every offending element id.
    Simulate {
        file: PathBuf,
        /// The case data to start with (a JSON object).
        #[arg(long, default_value = "{}")]
        data: String,
        /// Data per task id, merged when it completes (a JSON object; a list
        /// gives each instance of a multi-instance task its own entry).
        #[arg(long, default_value = "{}")]
        decisions: String,
        /// Task ids to leave open while anything else can happen, so that
        /// their boundary timers fire first (an overdue task), comma-separated.
        #[arg(long, value_delimiter = ',')]
        hold: Vec<String>,
        /// Simulated start time (RFC 3339); default now.
        #[arg(long)]
        at: Option<String>,
    },
    /// Deploy a BPMN file to this node's database: a new version unless it
    /// equals the latest; running instances stay on their version. A model
    /// with problems is refused with every offending element id.
    Deploy { file: PathBuf },
}

fn object(flag: &str, text: &str) -> Result<serde_json::Map<String, Value>, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(format!("--{flag} 应为 JSON 对象 / must be a JSON object")),
        Err(e) => Err(format!("--{flag} 不是有效的 JSON / is not valid JSON: {e}")),
    }
}

fn print_json(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

pub async fn deploy(file: &std::path::Path, store: &yiwang_store::Store) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(file).with_context(|| format!("打开 / opening {}", file.display()))?;
    match store.deploy_bpmn(&text, &yiwang_web::workflow::builtin_handlers(), "cli", jiff::Timestamp::now()).await {
        Ok((process_id, version)) => {
            let external = yiwang_web::workflow::external_tasks(&text);
            print_json(&serde_json::json!({ "ok": true, "process_id": process_id, "version": version, "external_tasks": external }));
            Ok(ExitCode::SUCCESS)
        }
        Err(yiwang_store::WorkflowError::Deploy(e)) => {
            print_json(&serde_json::json!({ "ok": false, "code": "workflow.invalid", "problems": e.problems }));
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}

pub fn run(cmd: WorkflowCmd) -> anyhow::Result<ExitCode> {
    let WorkflowCmd::Simulate { file, data, decisions, hold, at } = cmd else {
        anyhow::bail!("this workflow command needs the database");
    };
    let text = std::fs::read_to_string(&file).with_context(|| format!("打开 / opening {}", file.display()))?;
    let invalid = |v: Value| {
        print_json(&v);
        Ok(ExitCode::from(1))
    };
    let (data, decisions) = match (object("data", &data), object("decisions", &decisions)) {
        (Ok(d), Ok(k)) => (Value::Object(d), k),
        (Err(e), _) | (_, Err(e)) => return invalid(serde_json::json!({ "ok": false, "error": e })),
    };
    let now = match at.as_deref().map(str::parse::<jiff::Timestamp>) {
        None => jiff::Timestamp::now(),
        Some(Ok(t)) => t,
        Some(Err(e)) => return invalid(serde_json::json!({ "ok": false, "error": format!("--at: {e}") })),
    };
    // Simulation answers every handler call itself, but a model naming a
    // handler this node lacks would not deploy, so it does not simulate either.
    let handlers = yiwang_web::workflow::builtin_handlers();
    let def = match yiwang_workflow::deploy(&text, &|h| handlers.knows(h)) {
        Ok(d) => d,
        Err(e) => return invalid(serde_json::json!({ "ok": false, "code": "workflow.invalid", "problems": e.problems })),
    };
    let calendar = yiwang_calendar::Calendar::bundled()?;
    match simulate(&def, data, &decisions, &hold, now, &CalendarEnv(&calendar)) {
        Ok(sim) => {
            println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "ok": true, "process": def.process_id, "simulation": sim }))?);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => invalid(serde_json::json!({ "ok": false, "code": yiwang_errors::Coded::code(&e), "error": e.to_string() })),
    }
}
