//! The Rust side of BPMN service tasks. A deployed model names handlers
//! (`yiwang:handler="notify"`); the binary registers a `Handler` under each
//! name, and deployment refuses a model that names one nobody registered.
//!
//! The engine records a handler call as an open `workflow_tasks` row in the
//! same transaction as the step that reached it. A worker loop in any yiwang
//! process claims due calls for a while, runs the handler outside any
//! transaction, then completes the call as one engine step. A failed call is
//! retried with back-off; a claim lapses, so a crashed worker's calls are
//! taken up by another. Delivery is therefore at least once: a handler with
//! outside effects makes them idempotent on (instance id, wait id).

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::db::RowLike;
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use yiwang_workflow::engine::{EngineError, Env, Input};

use crate::workflow::WorkflowError;
use crate::{Backend, Store, StoreError, backoff, ts};

/// One call of a handler: which instance and service task, and the case data
/// at the time of the call.
#[derive(Debug, Clone)]
pub struct HandlerCall {
    pub instance_id: String,
    pub business_key: Option<String>,
    pub wait_id: u64,
    pub node: String,
    pub node_name: String,
    pub handler: String,
    /// 1 for the first try.
    pub attempt: i64,
    pub data: Value,
}

pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = std::result::Result<Value, String>> + Send + 'a>>;

/// A named piece of Rust a service task calls. It returns data to merge into
/// the case data, or an error to retry later.
pub trait Handler: Send + Sync {
    fn call<'a>(&'a self, store: &'a Store, call: &'a HandlerCall) -> HandlerFuture<'a>;
}

/// The handlers a node knows, by name.
#[derive(Clone, Default)]
pub struct Handlers {
    map: BTreeMap<String, Arc<dyn Handler>>,
}

impl Handlers {
    pub fn register(&mut self, name: &str, handler: impl Handler + 'static) -> &mut Self {
        self.map.insert(name.to_string(), Arc::new(handler));
        self
    }

    pub fn knows(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }
}

/// What one round of the handler worker did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HandlerRound {
    pub completed: usize,
    pub failed: usize,
}

/// How long a claim holds before another worker may take the call.
const CLAIM: SignedDuration = SignedDuration::from_mins(5);

struct Claimed {
    instance_id: String,
    wait_id: i64,
    node: String,
    handler: String,
    attempts: i64,
}

impl Store {
    /// Validate BPMN text against the registered handlers and deploy it: a
    /// new version unless it equals the latest. Returns (process id, version).
    /// Nothing is deployed when the model has problems; the error lists them all.
    pub async fn deploy_bpmn(
        &self,
        bpmn: &str,
        handlers: &Handlers,
        actor: &str,
        now: Timestamp,
    ) -> std::result::Result<(String, i64), WorkflowError> {
        let def = yiwang_workflow::deploy(bpmn, &|h| handlers.knows(h))?;
        let mut tx = self.begin().await?;
        let version = tx.deploy_workflow(&def, bpmn, actor, now).await?;
        tx.commit().await?;
        Ok((def.process_id, version))
    }

    /// Claim up to `limit` due handler calls, run each, and complete or
    /// reschedule it.
    pub async fn run_due_handlers(
        &self,
        worker: &str,
        handlers: &Handlers,
        now: Timestamp,
        limit: i64,
        env: &dyn Env,
    ) -> std::result::Result<HandlerRound, WorkflowError> {
        let mut round = HandlerRound::default();
        let names: Vec<&str> = handlers.names().collect();
        for call in self.claim_handler_calls(&names, limit, now).await? {
            let outcome = match handlers.map.get(&call.handler) {
                None => Err(format!("no handler named {:?} is registered on this node", call.handler)),
                Some(h) => {
                    let hc = self.handler_call(&call).await?;
                    h.call(self, &hc).await
                }
            };
            let outcome = match outcome {
                Ok(data) => {
                    let wait = u64::try_from(call.wait_id).map_err(|_| StoreError::Conflict(format!("bad wait id {}", call.wait_id)))?;
                    match self.step_workflow(&call.instance_id, Input::HandlerDone { wait, data }, worker, now, env).await {
                        Ok(_) => Ok(()),
                        // Interrupted meanwhile (a boundary timer, a terminate): nothing to complete.
                        Err(WorkflowError::Engine(EngineError::NoSuchWait | EngineError::NotRunning)) => continue,
                        // An incident after the handler (say, a condition over missing data): retry later.
                        Err(WorkflowError::Engine(e)) => Err(e.to_string()),
                        Err(e) => return Err(e),
                    }
                }
                Err(error) => Err(error),
            };
            match outcome {
                Ok(()) => round.completed += 1,
                Err(error) => {
                    tracing::warn!(instance = %call.instance_id, node = %call.node, handler = %call.handler, attempt = call.attempts + 1, %error, "workflow handler failed; will retry");
                    crate::db::query(
                        "UPDATE workflow_tasks SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2, claimed_until = NULL WHERE instance_id = $3 AND wait_id = $4",
                    )
                    .bind(&error)
                    .bind(ts(now + backoff(call.attempts)))
                    .bind(&call.instance_id)
                    .bind(call.wait_id)
                    .execute(self.write())
                    .await
                    .map_err(StoreError::from)?;
                    round.failed += 1;
                }
            }
        }
        Ok(round)
    }

    /// Due calls of the handlers this worker has (`names`); calls of any
    /// other (external tasks) wait for an answer from outside.
    async fn claim_handler_calls(&self, names: &[&str], limit: i64, now: Timestamp) -> crate::Result<Vec<Claimed>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let lock = if self.backend == Backend::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
        let params = crate::cases::in_list(3, names.len());
        let mut tx = self.begin().await?;
        let mut q = crate::db::query(crate::safe(format!(
            "SELECT instance_id, wait_id, node, handler, attempts FROM workflow_tasks WHERE kind = 'handler' AND ended_at IS NULL \
             AND handler IN ({params}) \
             AND (next_attempt_at IS NULL OR next_attempt_at <= $1) AND (claimed_until IS NULL OR claimed_until <= $1) \
             ORDER BY created_at, instance_id, wait_id LIMIT $2{lock}"
        )))
        .bind(ts(now))
        .bind(limit);
        for name in names {
            q = q.bind(*name);
        }
        let rows = q.fetch_all(&mut tx).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let c = Claimed {
                instance_id: r.try_get("instance_id")?,
                wait_id: r.try_get("wait_id")?,
                node: r.try_get("node")?,
                handler: r.try_get::<Option<String>, _>("handler")?.unwrap_or_default(),
                attempts: r.try_get("attempts")?,
            };
            // The claim condition is repeated so that a racing worker's claim wins cleanly.
            let claimed = crate::db::query(
                "UPDATE workflow_tasks SET claimed_until = $1 WHERE instance_id = $2 AND wait_id = $3 AND ended_at IS NULL AND (claimed_until IS NULL OR claimed_until <= $4)",
            )
            .bind(ts(now + CLAIM))
            .bind(&c.instance_id)
            .bind(c.wait_id)
            .bind(ts(now))
            .execute(&mut tx)
            .await?;
            if claimed.rows_affected() == 1 {
                out.push(c);
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn handler_call(&self, c: &Claimed) -> std::result::Result<HandlerCall, WorkflowError> {
        let stored = self.workflow_instance(&c.instance_id).await?;
        let def = self.cached_definition(&stored.process_id, stored.version).await?;
        let node_name = def.node(&c.node).map(|ix| def.nodes[ix].name.clone()).unwrap_or_default();
        Ok(HandlerCall {
            instance_id: c.instance_id.clone(),
            business_key: stored.business_key,
            wait_id: u64::try_from(c.wait_id).map_err(|_| StoreError::Conflict(format!("bad wait id {}", c.wait_id)))?,
            node: c.node.clone(),
            node_name,
            handler: c.handler.clone(),
            attempt: c.attempts + 1,
            data: stored.state.data,
        })
    }
}
