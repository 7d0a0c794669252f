//! The workflow engine inside a running node: the built-in service-task
//! handlers, the worker loop that fires due timers and runs handler calls,
//! and the deploy / read / simulate API.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use yiwang_identity::Role;
use yiwang_store::{Handler, HandlerCall, HandlerFuture, Handlers, Store, WorkflowError};
use yiwang_workflow::engine::{CalendarEnv, simulate_bounded};

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, WebError};

/// `notify`: tells the applicant that the case reached this step, through the
/// message outbox. The case data may name the channel and recipient
/// (`{"notify": {"channel": "sms", "recipient": "13800000000"}}`); otherwise
/// the instance's case tells its applicant's account, by email or else SMS.
/// A case with no account to tell (a window case) is not held up: the call
/// completes with `{"notified": false}`.
struct Notify;

impl Handler for Notify {
    fn call<'a>(&'a self, store: &'a Store, call: &'a HandlerCall) -> HandlerFuture<'a> {
        Box::pin(async move {
            let field = |name: &str| call.data.get("notify").and_then(|n| n.get(name)).and_then(Value::as_str).map(str::to_string);
            let (channel, recipient) = match (field("channel"), field("recipient")) {
                (Some(c), Some(r)) => (c, r),
                _ if call.data.get("notify").is_some() => return Err("case data notify needs channel and recipient".to_string()),
                _ => match applicant_contact(store, call.business_key.as_deref()).await? {
                    Some(target) => target,
                    None => return Ok(json!({ "notified": false })),
                },
            };
            let case = call.business_key.as_deref().unwrap_or(&call.instance_id);
            let step = if call.node_name.is_empty() { &call.node } else { &call.node_name };
            let body = format!("您的办件 {case} 已进入“{step}”环节。/ Your case {case} has reached the step \"{step}\".");
            let now = jiff::Timestamp::now();
            let mut tx = store.begin().await.map_err(|e| e.to_string())?;
            tx.enqueue_message(&channel, &recipient, "办件进度通知 / case progress", &body, now).await.map_err(|e| e.to_string())?;
            tx.commit().await.map_err(|e| e.to_string())?;
            Ok(json!({}))
        })
    }
}

/// The (channel, recipient) of a case's applicant account: its email, else its phone.
async fn applicant_contact(store: &Store, case_no: Option<&str>) -> Result<Option<(String, String)>, String> {
    let Some(case_no) = case_no else { return Ok(None) };
    let case = match store.case(case_no).await {
        Ok(c) => c,
        Err(yiwang_store::StoreError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    if case.account_id.is_empty() {
        return Ok(None);
    }
    let account = store.account(&case.account_id).await.map_err(|e| e.to_string())?;
    Ok(account.and_then(|a| a.email.map(|e| ("email".to_string(), e)).or_else(|| a.phone.map(|p| ("sms".to_string(), p)))))
}

/// `record`: writes the step into the audit chain (留痕) with the case data's
/// keys, not its values (which may be personal data).
struct Record;

impl Handler for Record {
    fn call<'a>(&'a self, store: &'a Store, call: &'a HandlerCall) -> HandlerFuture<'a> {
        Box::pin(async move {
            let keys: Vec<&String> = call.data.as_object().map(|m| m.keys().collect()).unwrap_or_default();
            let record = yiwang_audit::AuditRecord {
                at: yiwang_store::ts(jiff::Timestamp::now()),
                actor: "workflow".into(),
                action: "workflow.recorded".into(),
                object_type: "workflow_instance".into(),
                object_id: call.instance_id.clone(),
                reason: String::new(),
                data: json!({ "node": call.node, "business_key": call.business_key, "data_keys": keys }).to_string(),
            };
            store.audit(record).await.map_err(|e| e.to_string())?;
            Ok(json!({}))
        })
    }
}

/// `issue_license` (办结出证): issues the e-license a case results in, from the
/// case data's `license` object (a license as `POST /api/v1/licenses` takes
/// it; `case_no` defaults to the instance's business key), sealed by the
/// issuing agency. Calls are at least once: a retry after the license was
/// issued finds it by type and case number and issues no second version.
/// Registered on nodes that have a master key.
pub struct IssueLicense {
    master: yiwang_crypto::seal::MasterKey,
}

impl IssueLicense {
    pub fn new(master: &yiwang_crypto::seal::MasterKey) -> Result<Self, String> {
        let master = yiwang_crypto::seal::MasterKey::from_hex(&master.to_hex()).map_err(|e| e.to_string())?;
        Ok(IssueLicense { master })
    }
}

impl Handler for IssueLicense {
    fn call<'a>(&'a self, store: &'a Store, call: &'a HandlerCall) -> HandlerFuture<'a> {
        Box::pin(async move {
            let spec = call.data.get("license").cloned().ok_or("case data has no license to issue (license)")?;
            let mut new: yiwang_store::NewLicense = serde_json::from_value(spec).map_err(|e| format!("case data license: {e}"))?;
            if new.case_no.is_none() {
                new.case_no = call.business_key.clone().or_else(|| Some(call.instance_id.clone()));
            }
            let case_no = new.case_no.clone().unwrap_or_default();
            if let Some(done) = store.license_for_case(&new.type_code, &case_no).await.map_err(|e| e.to_string())? {
                return Ok(json!({ "license_id": done.id, "license_number": done.number }));
            }
            let actor = format!("workflow:{}", call.instance_id);
            let l = store.issue_license(&new, &self.master, &actor, jiff::Timestamp::now()).await.map_err(|e| e.to_string())?;
            Ok(json!({ "license_id": l.id, "license_number": l.number }))
        })
    }
}

/// The handlers every node has. Case handling adds its own.
pub fn builtin_handlers() -> Handlers {
    let mut h = Handlers::default();
    h.register("notify", Notify).register("record", Record);
    h
}

/// One pass of the worker: fire due timers, then run due handler calls.
pub async fn work_once(store: &Store, handlers: &Handlers, worker: &str) -> Result<(usize, usize), WorkflowError> {
    let calendar = store.load_calendar().await?;
    let env = CalendarEnv(&calendar);
    let now = jiff::Timestamp::now();
    let fired = store.fire_due_timers(worker, now, 100, &env).await?;
    let round = store.run_due_handlers(worker, handlers, now, 100, &env).await?;
    Ok((fired, round.completed))
}

/// Run the worker until the task is dropped, polling every `every`. Several
/// processes may run it against one PostgreSQL: timers and handler calls are
/// claimed with row locks.
pub async fn run_worker(store: Store, handlers: Handlers, worker: String, every: Duration) {
    loop {
        match work_once(&store, &handlers, &worker).await {
            Ok((0, 0)) => {}
            Ok((fired, handled)) => tracing::debug!(fired, handled, "workflow worker"),
            Err(e) => tracing::warn!(error = %e, "workflow worker round failed"),
        }
        tokio::time::sleep(every).await;
    }
}

fn invalid(e: WorkflowError) -> ApiError {
    match &e {
        WorkflowError::Deploy(d) => {
            let problems = json!({ "problems": d.problems });
            ApiError::from(e).with_detail(problems)
        }
        _ => ApiError::from(e),
    }
}

/// `POST /api/v1/workflows`: deploy BPMN XML (the request body). 201 with the
/// version; 422 `workflow.invalid` listing every offending element.
pub async fn deploy_api(State(state): State<AppState>, auth: Auth, body: String) -> Result<Response, ApiError> {
    let p = auth.require()?;
    let (process_id, version) =
        state.store().deploy_bpmn(&body, state.handlers(), &p.account_id, jiff::Timestamp::now()).await.map_err(invalid)?;
    let external = external_tasks(&body);
    Ok((StatusCode::CREATED, Json(json!({ "process_id": process_id, "version": version, "external_tasks": external }))).into_response())
}

/// The external service tasks of a deployed model (`[{"element", "handler"}]`):
/// tasks no worker of this node runs, which wait for a department system's
/// answer or staff's, so a modeller sees a mistyped handler at once.
pub fn external_tasks(bpmn: &str) -> Value {
    let def = yiwang_workflow::deploy(bpmn, &|_| true).ok();
    let list = def.as_ref().map(|d| d.external_tasks()).unwrap_or_default();
    Value::Array(list.into_iter().map(|(element, handler)| json!({ "element": element, "handler": handler })).collect())
}

#[derive(Debug, Deserialize)]
pub struct VersionQuery {
    pub version: Option<i64>,
}

/// `GET /api/v1/workflows/{process_id}[?version=N]`: a deployed version
/// (the latest by default) as its parsed nodes and flows.
pub async fn definition_api(
    State(state): State<AppState>,
    auth: Auth,
    Path(process_id): Path<String>,
    Query(q): Query<VersionQuery>,
) -> Result<Response, ApiError> {
    auth.require()?;
    let (version, def) = state.store().workflow_definition(&process_id, q.version).await?;
    Ok(Json(json!({ "process_id": process_id, "version": version, "definition": def })).into_response())
}

#[derive(Debug, Deserialize)]
pub struct SimulateBody {
    pub bpmn: String,
    #[serde(default)]
    pub data: serde_json::Map<String, Value>,
    #[serde(default)]
    pub decisions: serde_json::Map<String, Value>,
    #[serde(default)]
    pub hold: Vec<String>,
    /// Simulated start (RFC 3339); now by default.
    pub at: Option<String>,
}

/// Who may simulate models: those who write and review them, and administrators.
pub const SIMULATORS: &[Role] = &[Role::CatalogEditor, Role::CatalogReviewer, Role::Admin];

/// A simulation's budget on the node: steps, and wall time on a blocking thread.
const SIMULATION_STEPS: usize = 10_000;
const SIMULATION_TIME: std::time::Duration = std::time::Duration::from_secs(2);

/// `POST /api/v1/workflows/simulate`: what `yiwang workflow simulate` does,
/// against this node's handlers and holiday calendar; nothing is stored. The
/// run is bounded (steps, wall time, instances per multi-instance task) and
/// runs off the async workers, so no request can stall the node.
pub async fn simulate_api(State(state): State<AppState>, auth: Auth, Json(body): Json<SimulateBody>) -> Result<Response, ApiError> {
    auth.require()?;
    let at = match body.at.as_deref().map(str::parse::<jiff::Timestamp>) {
        None => jiff::Timestamp::now(),
        Some(Ok(t)) => t,
        Some(Err(e)) => return Err(WebError::BadParam { name: "at", detail: e.to_string() }.into()),
    };
    let known: std::collections::HashSet<String> = state.handlers().names().map(str::to_string).collect();
    let calendar = state.store().load_calendar().await?;
    let run = tokio::task::spawn_blocking(move || {
        let def = yiwang_workflow::deploy(&body.bpmn, &|h| known.contains(h)).map_err(|e| invalid(e.into()))?;
        let started = std::time::Instant::now();
        let keep_going = || started.elapsed() < SIMULATION_TIME;
        let bounds = yiwang_workflow::engine::Bounds { max_steps: SIMULATION_STEPS, keep_going: &keep_going };
        let sim = simulate_bounded(&def, Value::Object(body.data), &body.decisions, &body.hold, at, &CalendarEnv(&calendar), &bounds)?;
        Ok::<_, ApiError>(json!({ "process_id": def.process_id, "simulation": sim }))
    });
    let answer = run.await.map_err(|_| ApiError::new(&WebError::Panic))??;
    Ok(Json(answer).into_response())
}
