//! Workflow persistence: deployed definitions (versioned), instances (the
//! engine's state as one JSON document with a revision), and the tasks and
//! timers projected from the engine's effects.
//!
//! Every engine step runs in one transaction: lock the instance row (on
//! PostgreSQL `FOR UPDATE`; SQLite's `BEGIN IMMEDIATE` already serialises
//! writers), step the pure engine, save the state and apply the effects. A
//! timer is fired by a conditional `UPDATE … WHERE fired_at IS NULL` in that
//! same transaction, so when several processes share one database each timer
//! fires exactly once.

use std::sync::Arc;

use crate::db::RowLike;
use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use yiwang_workflow::engine::{self, Effect, EngineError, Env, Input, Instance, Status};
use yiwang_workflow::{Definition, DeployError};

use crate::accounts::{audit_rec, ordered_id};
use crate::{Result, Store, StoreError, Tx, backoff, safe, ts};

fn status_code(s: Status) -> &'static str {
    match s {
        Status::Running => "running",
        Status::Completed => "completed",
        Status::Terminated => "terminated",
    }
}

/// Why a workflow operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Deploy(#[from] DeployError),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl yiwang_errors::Coded for WorkflowError {
    fn code(&self) -> &'static str {
        match self {
            WorkflowError::Store(e) => e.code(),
            WorkflowError::Deploy(e) => e.code(),
            WorkflowError::Engine(e) => e.code(),
        }
    }
    fn kind(&self) -> yiwang_errors::ErrorKind {
        match self {
            WorkflowError::Store(e) => e.kind(),
            WorkflowError::Deploy(e) => e.kind(),
            WorkflowError::Engine(e) => e.kind(),
        }
    }
    fn message_zh(&self) -> String {
        match self {
            WorkflowError::Store(e) => e.message_zh(),
            WorkflowError::Deploy(e) => e.message_zh(),
            WorkflowError::Engine(e) => e.message_zh(),
        }
    }
}

/// Where a case is in its process: what the workbench shows and what the
/// edge checks a step's roles against.
#[derive(Debug, Clone, Serialize)]
pub struct CaseProcess {
    pub process_id: String,
    pub version: i64,
    pub name: String,
    pub status: Status,
    /// Open user tasks, each with the due time of a boundary timer on it.
    pub open: Vec<CaseStep>,
    /// Completed activities and events, by name, in order.
    pub trail: Vec<String>,
    /// The messages it waits for (receive tasks, message catch events): what a
    /// `message_received` event delivers.
    pub messages: Vec<WaitingMessage>,
}

/// A message a case's process waits for, and the node that waits.
#[derive(Debug, Clone, Serialize)]
pub struct WaitingMessage {
    pub node: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseStep {
    #[serde(flatten)]
    pub step: yiwang_case::process::OpenStep,
    pub due: Option<Timestamp>,
}

/// An open user task of an instance, as its state holds it.
#[derive(Debug, Clone, Serialize)]
pub struct OpenTask {
    pub instance_id: String,
    pub wait_id: i64,
    pub node: String,
    pub candidate_groups: Vec<String>,
}

/// A stored instance.
#[derive(Debug, Clone)]
pub struct StoredInstance {
    pub id: String,
    pub process_id: String,
    pub version: i64,
    pub business_key: Option<String>,
    pub revision: i64,
    pub state: Instance,
}

const INSTANCE_COLUMNS: &str = "id, process_id, version, business_key, revision, status, state";

/// An instance's row as read (`INSTANCE_COLUMNS`), its state not yet decoded.
#[derive(Debug)]
pub(crate) struct InstanceRow {
    id: String,
    process_id: String,
    version: i64,
    business_key: Option<String>,
    revision: i64,
    status: String,
    state: String,
}

impl InstanceRow {
    /// The columns of `INSTANCE_COLUMNS`, each named with `prefix` before it.
    fn read(row: &crate::db::Row, prefix: &str) -> Result<InstanceRow> {
        let col = |c: &str| format!("{prefix}{c}");
        Ok(InstanceRow {
            id: row.try_get(col("id").as_str())?,
            process_id: row.try_get(col("process_id").as_str())?,
            version: row.try_get(col("version").as_str())?,
            business_key: row.try_get(col("business_key").as_str())?,
            revision: row.try_get(col("revision").as_str())?,
            status: row.try_get(col("status").as_str())?,
            state: row.try_get(col("state").as_str())?,
        })
    }

    /// The instance a case row joined as `wi` carries (`case_for_update`), if any.
    pub(crate) fn joined(row: &crate::db::Row) -> Result<Option<InstanceRow>> {
        match row.try_get::<Option<String>, _>("wi_id")? {
            Some(_) => Ok(Some(InstanceRow::read(row, "wi_")?)),
            None => Ok(None),
        }
    }

    fn decode(self) -> Result<StoredInstance> {
        Ok(StoredInstance {
            state: serde_json::from_str(&self.state)
                .map_err(|e| StoreError::Conflict(format!("stored workflow state does not decode: {e}")))?,
            id: self.id,
            process_id: self.process_id,
            version: self.version,
            business_key: self.business_key,
            revision: self.revision,
        })
    }
}

/// `INSTANCE_COLUMNS` of an instance joined as `wi`, each as `wi_<column>`
/// (what `InstanceRow::joined` reads).
pub(crate) fn joined_instance_columns() -> String {
    INSTANCE_COLUMNS.split(", ").map(|c| format!("wi.{c} AS wi_{c}")).collect::<Vec<_>>().join(", ")
}

/// The one decoder of an instance row (`INSTANCE_COLUMNS`).
fn stored_instance(row: &crate::db::Row) -> Result<StoredInstance> {
    InstanceRow::read(row, "")?.decode()
}

impl Tx {
    /// Deploy BPMN text (already validated by the caller): a new version unless
    /// it equals the latest. Returns the version.
    pub async fn deploy_workflow(&mut self, def: &Definition, bpmn: &str, actor: &str, now: Timestamp) -> Result<i64> {
        let (version, new) = self.insert_definition(def, bpmn, actor, now).await?;
        if new {
            self.append_audit(audit_rec(
                &ts(now),
                actor,
                "workflow.deployed",
                "workflow_definition",
                &def.process_id,
                serde_json::json!({ "version": version }),
            ))
            .await?;
        }
        Ok(version)
    }

    /// The version of `bpmn`: the latest if it has this text, else a new one
    /// (and whether it is new).
    async fn insert_definition(&mut self, def: &Definition, bpmn: &str, actor: &str, now: Timestamp) -> Result<(i64, bool)> {
        let latest = crate::db::query("SELECT version, bpmn FROM workflow_definitions WHERE process_id = $1 ORDER BY version DESC LIMIT 1")
            .bind(&def.process_id)
            .fetch_optional(&mut *self)
            .await?;
        if let Some(row) = &latest
            && row.try_get::<String, _>("bpmn")? == bpmn
        {
            return Ok((row.try_get("version")?, false));
        }
        let version = latest.map(|r| r.try_get::<i64, _>("version")).transpose()?.unwrap_or(0) + 1;
        let at = ts(now);
        crate::db::query(
            "INSERT INTO workflow_definitions (process_id, version, name, bpmn, deployed_by, deployed_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&def.process_id)
        .bind(version)
        .bind(&def.name)
        .bind(bpmn)
        .bind(actor)
        .bind(&at)
        .execute(&mut *self)
        .await?;
        Ok((version, true))
    }

    async fn lock_instance(&mut self, id: &str) -> Result<StoredInstance> {
        // Read with its case in this transaction, on SQLite's one writer: nothing
        // else can have changed it since.
        if let Some(read) = self.read_instance.take_if(|r| r.id == id) {
            return read.decode();
        }
        let lock = if self.is_postgres() { " FOR UPDATE" } else { "" };
        let row = crate::db::query(safe(format!("SELECT {INSTANCE_COLUMNS} FROM workflow_instances WHERE id = $1{lock}")))
            .bind(id)
            .fetch_optional(&mut *self)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("workflow instance {id}")))?;
        stored_instance(&row)
    }

    async fn save_instance(&mut self, s: &StoredInstance, state: &Instance, now: Timestamp) -> Result<()> {
        self.read_instance = None;
        let text = serde_json::to_string(state).map_err(|e| StoreError::Conflict(e.to_string()))?;
        let done = crate::db::query(
            "UPDATE workflow_instances SET state = $1, status = $2, revision = revision + 1, updated_at = $3 WHERE id = $4 AND revision = $5",
        )
        .bind(text)
        .bind(status_code(state.status))
        .bind(ts(now))
        .bind(&s.id)
        .bind(s.revision)
        .execute(&mut *self)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict(format!("workflow instance {} changed meanwhile", s.id)));
        }
        Ok(())
    }

    /// Project the engine's effects into the task and timer tables.
    async fn apply_effects(&mut self, instance: &str, effects: &[Effect], now: Timestamp) -> Result<()> {
        let at = ts(now);
        for e in effects {
            match e {
                Effect::CallHandler { wait, node, handler } => {
                    crate::db::query(
                        "INSERT INTO workflow_tasks (instance_id, wait_id, node, kind, handler, candidate_groups, created_at) VALUES ($1, $2, $3, 'handler', $4, '', $5)",
                    )
                    .bind(instance)
                    .bind(*wait as i64)
                    .bind(node)
                    .bind(handler)
                    .bind(&at)
                    .execute(&mut *self)
                    .await?;
                }
                Effect::TaskCancelled { wait, .. } => {
                    crate::db::query(
                        "UPDATE workflow_tasks SET ended_at = $1, outcome = 'cancelled' WHERE instance_id = $2 AND wait_id = $3 AND ended_at IS NULL",
                    )
                    .bind(&at)
                    .bind(instance)
                    .bind(*wait as i64)
                    .execute(&mut *self)
                    .await?;
                }
                Effect::TimerScheduled { wait, node, due } => {
                    crate::db::query("INSERT INTO workflow_timers (instance_id, wait_id, node, due_at) VALUES ($1, $2, $3, $4)")
                        .bind(instance)
                        .bind(*wait as i64)
                        .bind(node)
                        .bind(ts(*due))
                        .execute(&mut *self)
                        .await?;
                }
                Effect::TimerCancelled { wait } => {
                    crate::db::query(
                        "UPDATE workflow_timers SET cancelled_at = $1 WHERE instance_id = $2 AND wait_id = $3 AND fired_at IS NULL",
                    )
                    .bind(&at)
                    .bind(instance)
                    .bind(*wait as i64)
                    .execute(&mut *self)
                    .await?;
                }
                Effect::TimerPaused { wait } => {
                    crate::db::query(
                        "UPDATE workflow_timers SET paused_at = $1 WHERE instance_id = $2 AND wait_id = $3 AND fired_at IS NULL",
                    )
                    .bind(&at)
                    .bind(instance)
                    .bind(*wait as i64)
                    .execute(&mut *self)
                    .await?;
                }
                Effect::TimerRescheduled { wait, due } => {
                    crate::db::query(
                        "UPDATE workflow_timers SET due_at = $1, paused_at = NULL WHERE instance_id = $2 AND wait_id = $3 AND fired_at IS NULL",
                    )
                    .bind(ts(*due))
                    .bind(instance)
                    .bind(*wait as i64)
                    .execute(&mut *self)
                    .await?;
                }
                // A user task lives in the instance's state only: the case's steps
                // and the workbench read it there, so no row is written for it.
                Effect::Finished { .. } | Effect::TaskCreated { .. } => {}
            }
        }
        Ok(())
    }
}

/// The process a case runs when its item names none (受理 → 审查 → 决定),
/// deployed by `Store::migrate` (a new version only when this text changes).
pub const DEFAULT_PROCESS_ID: &str = "yiwang_case_default";
const DEFAULT_PROCESS_BPMN: &str = include_str!("../../workflow/processes/case_default.bpmn");

fn cached_in(cache: &std::sync::Mutex<crate::DefinitionCache>, process_id: &str, version: i64) -> Option<Arc<Definition>> {
    cache.lock().unwrap_or_else(|e| e.into_inner()).get(&(process_id.to_string(), version)).cloned()
}

fn cache_in(cache: &std::sync::Mutex<crate::DefinitionCache>, process_id: &str, version: i64, def: Definition) -> Arc<Definition> {
    let def = Arc::new(def);
    cache.lock().unwrap_or_else(|e| e.into_inner()).insert((process_id.to_string(), version), def.clone());
    def
}

impl Tx {
    /// A deployed version, from the store's cache or read through this
    /// transaction's own connection (a pool read while holding a transaction
    /// could wait on itself).
    pub(crate) async fn definition(&mut self, process_id: &str, version: i64) -> std::result::Result<Arc<Definition>, WorkflowError> {
        if let Some(d) = cached_in(&self.workflow_defs, process_id, version) {
            return Ok(d);
        }
        let row = crate::db::query("SELECT bpmn FROM workflow_definitions WHERE process_id = $1 AND version = $2")
            .bind(process_id)
            .bind(version)
            .fetch_optional(&mut *self)
            .await
            .map_err(StoreError::from)?
            .ok_or_else(|| StoreError::NotFound(format!("workflow {process_id} version {version}")))?;
        let bpmn: String = row.try_get("bpmn").map_err(StoreError::from)?;
        Ok(cache_in(&self.workflow_defs, process_id, version, yiwang_workflow::deploy(&bpmn, &|_| true)?))
    }

    /// Start an instance of a given version inside this transaction; its id.
    pub(crate) async fn start_instance(
        &mut self,
        def: &Definition,
        version: i64,
        business_key: Option<&str>,
        data: Value,
        now: Timestamp,
        env: &dyn Env,
    ) -> std::result::Result<(String, Instance), WorkflowError> {
        let (state, effects) = engine::start(def, data, now, env)?;
        let id = ordered_id("wfi");
        let text = serde_json::to_string(&state).map_err(|e| StoreError::Conflict(e.to_string()))?;
        crate::db::query(
            "INSERT INTO workflow_instances (id, process_id, version, business_key, status, state, revision, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7)",
        )
        .bind(&id)
        .bind(&def.process_id)
        .bind(version)
        .bind(business_key)
        .bind(status_code(state.status))
        .bind(text)
        .bind(ts(now))
        .execute(&mut *self)
        .await
        .map_err(StoreError::from)?;
        self.apply_effects(&id, &effects, now).await?;
        Ok((id, state))
    }

    /// Lock an instance and give it with its definition (for a step inside
    /// this transaction).
    /// Whether an instance still runs, from its status column alone (no state
    /// to decode): what 办结 asks of a case's process.
    pub(crate) async fn instance_running(&mut self, id: &str) -> Result<bool> {
        if let Some(read) = self.read_instance.as_ref().filter(|r| r.id == id) {
            return Ok(read.status == status_code(Status::Running));
        }
        let row = crate::db::query("SELECT status FROM workflow_instances WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("workflow instance {id}")))?;
        Ok(row.try_get::<String, _>("status")? == status_code(Status::Running))
    }

    pub(crate) async fn instance_for_update(&mut self, id: &str) -> std::result::Result<(StoredInstance, Arc<Definition>), WorkflowError> {
        let stored = self.lock_instance(id).await?;
        let def = self.definition(&stored.process_id, stored.version).await?;
        Ok((stored, def))
    }

    /// Apply one input to a locked instance inside this transaction.
    pub(crate) async fn step_instance(
        &mut self,
        stored: &StoredInstance,
        def: &Definition,
        input: Input,
        actor: &str,
        now: Timestamp,
        env: &dyn Env,
    ) -> std::result::Result<Instance, WorkflowError> {
        // Only service tasks (handler calls, external tasks) have a row to close.
        let completes = match &input {
            Input::CompleteTask { wait, .. } | Input::HandlerDone { wait, .. } => {
                stored.state.waits.iter().any(|w| w.id == *wait && matches!(w.kind, engine::WaitKind::Handler)).then_some(*wait)
            }
            _ => None,
        };
        let (state, effects) = engine::step(def, &stored.state, input, now, env)?;
        if let Some(wait) = completes {
            crate::db::query(
                "UPDATE workflow_tasks SET ended_at = $1, outcome = 'completed', ended_by = $2 WHERE instance_id = $3 AND wait_id = $4 AND ended_at IS NULL",
            )
            .bind(ts(now))
            .bind(actor)
            .bind(&stored.id)
            .bind(wait as i64)
            .execute(&mut *self)
            .await
            .map_err(StoreError::from)?;
        }
        self.save_instance(stored, &state, now).await?;
        self.apply_effects(&stored.id, &effects, now).await?;
        Ok(state)
    }
}

impl Store {
    /// A deployed version, parsed once per process and then cached.
    pub(crate) async fn cached_definition(&self, process_id: &str, version: i64) -> std::result::Result<Arc<Definition>, WorkflowError> {
        if let Some(d) = cached_in(&self.workflow_defs, process_id, version) {
            return Ok(d);
        }
        let (_, def) = self.workflow_definition(process_id, Some(version)).await?;
        Ok(cache_in(&self.workflow_defs, process_id, version, def))
    }

    /// Deploy the node's default case process (idempotent).
    pub(crate) async fn deploy_default_process(&self, now: Timestamp) -> Result<()> {
        let def = yiwang_workflow::deploy(DEFAULT_PROCESS_BPMN, &|_| true)
            .map_err(|e| StoreError::Corrupt(format!("the bundled default process does not deploy: {e}")))?;
        // Bundled, like the holiday calendar: seeded, not an act to audit. Two
        // processes starting on one database at once may both insert it: the
        // loser's unique violation means the version is there.
        let mut tx = self.begin().await?;
        match tx.insert_definition(&def, DEFAULT_PROCESS_BPMN, "system", now).await {
            Ok(_) => tx.commit().await,
            Err(StoreError::Database(e)) if e.as_database_error().is_some_and(|d| d.is_unique_violation()) => tx.rollback().await,
            Err(e) => Err(e),
        }
    }

    /// Where a case is in its process (none before acceptance, or for a case
    /// no process drives).
    pub async fn case_process(&self, c: &crate::CaseRow) -> std::result::Result<Option<CaseProcess>, WorkflowError> {
        let Some(id) = &c.workflow_instance else { return Ok(None) };
        let stored = self.workflow_instance(id).await?;
        let def = self.cached_definition(&stored.process_id, stored.version).await?;
        let inst = &stored.state;
        let open = yiwang_case::process::open_steps(&def, inst)
            .into_iter()
            .map(|step| {
                let due = inst.waits.iter().find_map(|w| match w.kind {
                    yiwang_workflow::engine::WaitKind::Timer { due, boundary_of: Some(of) } if of == step.wait => Some(due),
                    _ => None,
                });
                CaseStep { step, due }
            })
            .collect();
        let name_of = |id: &str| {
            def.node(id).map(|ix| &def.nodes[ix]).and_then(|n| match n.kind {
                yiwang_workflow::NodeKind::ExclusiveGateway { .. }
                | yiwang_workflow::NodeKind::InclusiveGateway { .. }
                | yiwang_workflow::NodeKind::ParallelGateway => None,
                _ => Some(yiwang_case::process::display_name(n)),
            })
        };
        let trail = inst.trace.iter().filter_map(|id| name_of(id)).collect();
        let messages = inst
            .waits
            .iter()
            .filter_map(|w| match &w.kind {
                yiwang_workflow::engine::WaitKind::Message { name } => Some(WaitingMessage { node: w.node.clone(), message: name.clone() }),
                _ => None,
            })
            .collect();
        Ok(Some(CaseProcess {
            process_id: stored.process_id,
            version: stored.version,
            name: def.name.clone(),
            status: inst.status,
            open,
            trail,
            messages,
        }))
    }

    /// The latest deployed version of a process, if any.
    pub async fn latest_process_version(&self, process_id: &str) -> Result<Option<i64>> {
        Ok(crate::db::query("SELECT MAX(version) AS v FROM workflow_definitions WHERE process_id = $1")
            .bind(process_id)
            .fetch_one(self.read())
            .await?
            .try_get::<Option<i64>, _>("v")?)
    }

    /// Every deployed (process id, version, name), newest version first per
    /// process: what an item's process can be chosen from.
    pub async fn deployed_processes(&self) -> Result<Vec<(String, i64, String)>> {
        crate::db::query("SELECT process_id, version, name FROM workflow_definitions ORDER BY process_id, version DESC")
            .fetch_all(self.read())
            .await?
            .iter()
            .map(|r| Ok((r.try_get("process_id")?, r.try_get("version")?, r.try_get("name")?)))
            .collect()
    }

    /// The deployed version a reference names: `version` if it is deployed,
    /// without one the latest; none if there is no such deployment.
    pub async fn deployed_process_version(&self, process_id: &str, version: Option<i64>) -> Result<Option<i64>> {
        let Some(v) = version else { return self.latest_process_version(process_id).await };
        Ok(crate::db::query("SELECT 1 AS one FROM workflow_definitions WHERE process_id = $1 AND version = $2")
            .bind(process_id)
            .bind(v)
            .fetch_optional(self.read())
            .await?
            .map(|_| v))
    }

    /// The BPMN text of a deployed version (the latest if `None`), parsed.
    pub async fn workflow_definition(
        &self,
        process_id: &str,
        version: Option<i64>,
    ) -> std::result::Result<(i64, Definition), WorkflowError> {
        let row = match version {
            Some(v) => crate::db::query("SELECT version, bpmn FROM workflow_definitions WHERE process_id = $1 AND version = $2")
                .bind(process_id)
                .bind(v)
                .fetch_optional(self.read())
                .await
                .map_err(StoreError::from)?,
            None => crate::db::query("SELECT version, bpmn FROM workflow_definitions WHERE process_id = $1 ORDER BY version DESC LIMIT 1")
                .bind(process_id)
                .fetch_optional(self.read())
                .await
                .map_err(StoreError::from)?,
        };
        let row = row.ok_or_else(|| StoreError::NotFound(format!("workflow {process_id}")))?;
        let version: i64 = row.try_get("version").map_err(StoreError::from)?;
        let bpmn: String = row.try_get("bpmn").map_err(StoreError::from)?;
        // Deployed text was valid when deployed; handlers are checked then.
        Ok((version, yiwang_workflow::deploy(&bpmn, &|_| true)?))
    }

    /// Start an instance of the latest version of a process.
    pub async fn start_workflow(
        &self,
        process_id: &str,
        business_key: Option<&str>,
        data: Value,
        now: Timestamp,
        env: &dyn Env,
    ) -> std::result::Result<String, WorkflowError> {
        let version =
            self.latest_process_version(process_id).await?.ok_or_else(|| StoreError::NotFound(format!("workflow {process_id}")))?;
        let def = self.cached_definition(process_id, version).await?;
        let mut tx = self.begin().await?;
        let (id, _) = tx.start_instance(&def, version, business_key, data, now, env).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Apply one input to an instance, on the definition version it started with.
    pub async fn step_workflow(
        &self,
        id: &str,
        input: Input,
        actor: &str,
        now: Timestamp,
        env: &dyn Env,
    ) -> std::result::Result<Instance, WorkflowError> {
        let mut tx = self.begin().await?;
        let (stored, def) = tx.instance_for_update(id).await?;
        let state = tx.step_instance(&stored, &def, input, actor, now, env).await?;
        tx.commit().await?;
        Ok(state)
    }

    /// The stored state of an instance.
    pub async fn workflow_instance(&self, id: &str) -> Result<StoredInstance> {
        let row = crate::db::query(safe(format!("SELECT {INSTANCE_COLUMNS} FROM workflow_instances WHERE id = $1")))
            .bind(id)
            .fetch_optional(self.read())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("workflow instance {id}")))?;
        stored_instance(&row)
    }

    /// Open user tasks of an instance, oldest first: from its state, where
    /// they live (no table projects them; a case's steps come from the same
    /// state, and who did which step is in the case's events).
    pub async fn open_tasks(&self, instance: &str) -> std::result::Result<Vec<OpenTask>, WorkflowError> {
        let stored = self.workflow_instance(instance).await?;
        let def = self.cached_definition(&stored.process_id, stored.version).await?;
        Ok(stored
            .state
            .waits
            .iter()
            .filter(|w| matches!(w.kind, engine::WaitKind::Task { .. }))
            .map(|w| OpenTask {
                instance_id: stored.id.clone(),
                wait_id: i64::try_from(w.id).unwrap_or(i64::MAX),
                node: w.node.clone(),
                candidate_groups: def
                    .node(&w.node)
                    .and_then(|ix| match &def.nodes[ix].kind {
                        yiwang_workflow::NodeKind::UserTask { candidate_groups, .. } => Some(candidate_groups.clone()),
                        _ => None,
                    })
                    .unwrap_or_default(),
            })
            .collect())
    }

    /// Fire every timer due at `now` (up to `limit`), each in its own
    /// transaction. Returns how many this caller fired; a timer another
    /// process fired first is skipped.
    pub async fn fire_due_timers(
        &self,
        worker: &str,
        now: Timestamp,
        limit: i64,
        env: &dyn Env,
    ) -> std::result::Result<usize, WorkflowError> {
        let due = crate::db::query(
            "SELECT t.instance_id, t.wait_id, t.attempts, t.due_at, i.business_key FROM workflow_timers t \
             JOIN workflow_instances i ON i.id = t.instance_id WHERE t.fired_at IS NULL AND t.cancelled_at IS NULL AND t.paused_at IS NULL AND t.due_at <= $1 \
             AND (t.next_attempt_at IS NULL OR t.next_attempt_at <= $1) ORDER BY t.due_at, t.instance_id, t.wait_id LIMIT $2",
        )
        .bind(ts(now))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from)?;
        let mut fired = 0;
        let mut calendar = None;
        for row in due {
            let instance: String = row.try_get("instance_id").map_err(StoreError::from)?;
            let wait: i64 = row.try_get("wait_id").map_err(StoreError::from)?;
            let attempts: i64 = row.try_get("attempts").map_err(StoreError::from)?;
            let due_at: String = row.try_get("due_at").map_err(StoreError::from)?;
            let business_key: Option<String> = row.try_get("business_key").map_err(StoreError::from)?;
            // A case's instance has the case number as its business key; the
            // calendar is read before the transaction (the case's deadlines need
            // it), once per sweep.
            if business_key.is_some() && calendar.is_none() {
                calendar = Some(self.load_calendar().await?);
            }
            let mut tx = self.begin().await?;
            // The case before its instance, the order case events lock them in.
            let case = match &business_key {
                Some(no) => match tx.case_for_update(no).await {
                    Ok(c) if c.workflow_instance.as_deref() == Some(instance.as_str()) => Some(c),
                    Ok(_) | Err(StoreError::NotFound(_)) => None,
                    Err(e) => return Err(e.into()),
                },
                None => None,
            };
            let stored = tx.lock_instance(&instance).await?;
            let def = tx.definition(&stored.process_id, stored.version).await?;
            let claimed = crate::db::query(
                "UPDATE workflow_timers SET fired_at = $1, fired_by = $2 WHERE instance_id = $3 AND wait_id = $4 AND fired_at IS NULL AND cancelled_at IS NULL",
            )
            .bind(ts(now))
            .bind(worker)
            .bind(&instance)
            .bind(wait)
            .execute(&mut tx)
            .await
            .map_err(StoreError::from)?;
            if claimed.rows_affected() != 1 {
                tx.rollback().await?;
                continue;
            }
            let wait_id = u64::try_from(wait).map_err(|_| StoreError::Conflict(format!("bad wait id {wait}")))?;
            let (state, effects) = match engine::step(&def, &stored.state, Input::TimerFired { wait: wait_id }, now, env) {
                Ok(next) => next,
                Err(e) => {
                    // An incident (say, a condition over missing data) must not block
                    // the timers queued behind this one: note it and retry later.
                    tx.rollback().await?;
                    tracing::warn!(%instance, wait, error = %e, "workflow timer step failed; will retry");
                    crate::db::query(
                        "UPDATE workflow_timers SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2 WHERE instance_id = $3 AND wait_id = $4",
                    )
                    .bind(e.to_string())
                    .bind(ts(now + backoff(attempts)))
                    .bind(&instance)
                    .bind(wait)
                    .execute(self.write())
                    .await
                    .map_err(StoreError::from)?;
                    continue;
                }
            };
            // A time limit on a case's step: the case records 超期 for supervision.
            let overdue = yiwang_case::process::overdue_step(&def, &stored.state, wait_id);
            tx.save_instance(&stored, &state, now).await?;
            tx.apply_effects(&instance, &effects, now).await?;
            if let (Some(c), Some(step), Some(calendar)) = (case, overdue, calendar.as_ref()) {
                let envelope = yiwang_case::Envelope {
                    at: now,
                    actor: format!("system:{worker}"),
                    reason: format!("办理时限已到 / the step's time limit passed ({due_at})"),
                    event: yiwang_case::Event::StepOverdue { step, due: due_at },
                };
                // A case past its handling (concluded, withdrawn) refuses it before
                // writing anything: the timer still counts as fired.
                if let Err(e) = tx.write_case_event(c, &envelope, None, calendar, None).await {
                    tracing::debug!(%instance, error = %e, "overdue not recorded on the case");
                }
            }
            tx.commit().await?;
            fired += 1;
        }
        Ok(fired)
    }
}
