//! The one place that holds SQL. Both backends are built in and chosen at run
//! time by URL (`sqlite://…` or `postgres://…`) through sqlx `Any`; one set of
//! portable migrations, embedded in the binary, serves both.

mod accounts;
mod audit;
mod basic_catalog;
mod bundles;
mod calendar;
mod case_forms;
mod cases;
mod catalog;
mod conclusion;
mod credit;
mod db;
mod error;
mod exchange;
mod exchange_outbox;
mod halls;
mod integration;
mod licenses;
mod machine_clients;
mod maintenance;
mod node;
mod notices;
mod oidc;
mod ratings;
mod registrations;
mod secrets;
mod sessions;
mod setup;
mod sharing;
mod sharing_requests;
mod supervision;
mod supervision_orders;
mod support;
mod workflow;
mod workflow_handlers;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, ConnectOptions, Connection, Executor, Transaction};

pub use accounts::{Account, AccountStatus, Agency, BaseEnterprise, BasePerson, EnterpriseRole, NewAccount, StaffMember};
pub use audit::{AuditPage, AuditReport};
pub use basic_catalog::MAX_BASIC_ENTRIES;
pub use bundles::{BundleCase, BundlePlan, BundleState, BundleVersion, NewBundleCase, PlanItem};
pub use calendar::StoredDay;
pub use case_forms::{CommitmentCheck, FileUpload, FormContext, MAX_UPLOAD_BYTES, material_statuses};
pub use cases::{Applicant, AttachedMaterial, CaseRow, CaseStoreError, Claim, LoadedCase, NewCase, QueryCodeMatch, public_progress};
pub use catalog::{EvidenceType, ImportOutcome, ItemFilter, ItemHead, ItemVersion, PublishedItem, VersionMeta};
pub use credit::{COMMITMENT_VIOLATION, CreditProblem, CreditRecord, CreditStanding, DISHONEST, subject_division, subject_type_of};
pub use error::StoreError;
pub use exchange::{ExchangeKey, LogReport, Logged, StoredRegistry, StoredReply};
pub use exchange_outbox::{AggregateCount, AnchorCheck, AnchorMismatch, HeldAnchor, NewOutboxEvent, OutboxEvent, UpwardRecord};
pub use halls::Hall;
pub use integration::{DeliveryStatus, IdempotencyKey, Recorded, Webhook, WebhookDelivery};
pub use licenses::{
    Holder, LicenseMaterial, LicenseShare, LicenseStatus, LicenseStoreError, LicenseTypeDef, LicenseUse, MAX_SHARE_DAYS, NewLicense,
    Presented, PublishedSealKey, SharedCopy, StoredLicense, identifier_number, license_type_aliases, status_list_url, vc_issuer_url,
    vc_selective_claims,
};
pub use machine_clients::{MachineClient, MachineClientInput, NewMachineClient};
pub use maintenance::Maintained;
pub use node::{NodeInfo, NodeRegion};
pub use notices::{NoticePage, NoticePreferences, NoticeRow, RATING_FEEDBACK_NOTICE, SUPERVISION_ORDER_NOTICE};
pub use oidc::*;
pub use ratings::{RatedCase, RaterNotice, RatingInvitation, RatingRow, StoredLoopEvent};
pub use registrations::{NewRegistration, Registration, RegistrationCheck};
pub use secrets::is_wrapped;
pub use sessions::{Attempt, CodeCheck, NewSession, OutboxMessage, SessionPolicy, SessionRow, ThrottlePolicy};
pub use sharing::{DataAccess, NetworkResource, SharedResource};
pub use sharing_requests::{SHARING_OVERDUE_RULE, SentApplication, SharingApplicationRow, SharingRequestRow};
pub use supervision::{MonthCounts, StoredAlert, SweepClaim, SweepRow};
pub use supervision_orders::{ActedEvent, OrderNotice, OrderRow, StoredOrderEvent, new_order_id};
pub use support::SupportGrant;
pub use workflow::{CaseProcess, CaseStep, DEFAULT_PROCESS_ID, OpenTask, StoredInstance, WaitingMessage, WorkflowError};
pub use workflow_handlers::{Handler, HandlerCall, HandlerFuture, HandlerRound, Handlers};
pub use yiwang_license::verdict::{SealVerdict, Verdict, VerdictError, mask_identifier_number};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Migrations embedded at compile time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Backend> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl(redact_url(url)))
        }
    }
}

/// Remove a password from a URL so it can be logged.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("REDACTED"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions { max_connections: 10, acquire_timeout: Duration::from_secs(10) }
    }
}

/// Parsed workflow definitions keyed by (process id, version).
pub(crate) type DefinitionCache = std::collections::HashMap<(String, i64), Arc<yiwang_workflow::Definition>>;

#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite admits one writer at a time. Queueing this process's writers here,
    /// instead of letting them collide in SQLite's busy handler (which sleeps in
    /// steps of up to 100 ms), keeps write latency flat under load.
    sqlite_writer: SqliteWriter,
    /// Direct read connections, on a SQLite file (see `db`).
    sqlite_readers: Option<Arc<db::LiteReaders>>,
    /// Parsed workflow definitions by (process id, version). Versions never
    /// change once deployed, so entries never go stale.
    workflow_defs: Arc<std::sync::Mutex<DefinitionCache>>,
}

/// How a SQLite node's write transactions reach the file.
#[derive(Clone, Debug)]
pub(crate) enum SqliteWriter {
    /// Not SQLite.
    None,
    /// A file: one direct connection, used inline under its lock (see `db`).
    Direct(db::LiteWriter),
    /// An in-memory database lives in the pool's one connection, so writes go
    /// through the pool, queued by this lock.
    Pooled(Arc<tokio::sync::Mutex<()>>),
}

/// A transaction: business changes and their audit entries commit together.
pub struct Tx {
    conn: TxConn,
    backend: Backend,
    /// The store's parsed workflow definitions, so a case event can step its
    /// process inside its own transaction.
    workflow_defs: Arc<std::sync::Mutex<DefinitionCache>>,
    /// On SQLite, the process instance read with the case it drives
    /// (`case_for_update`), so the event's step needs no second read.
    read_instance: Option<workflow::InstanceRow>,
}

enum TxConn {
    Any {
        inner: Transaction<'static, Any>,
        /// Held for the transaction's life on in-memory SQLite (see `SqliteWriter`).
        _writer: Option<tokio::sync::OwnedMutexGuard<()>>,
    },
    Lite(db::LiteTx),
}

impl Store {
    /// Connect (creating a SQLite file if missing). Does not migrate.
    pub async fn connect(url: &str, opts: &StoreOptions) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") && !url.contains(":memory:") => {
                format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
            }
            _ => url.to_string(),
        };
        let connect_opts =
            AnyConnectOptions::from_str(&url)?.log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_millis(500));
        let max = if url.contains(":memory:") { 1 } else { opts.max_connections };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(opts.acquire_timeout)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers proceed during a write; NORMAL is durable under WAL on commit.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(connect_opts)
            .await?;
        let (sqlite_writer, sqlite_readers) = match backend {
            Backend::Postgres => (SqliteWriter::None, None),
            Backend::Sqlite if url.contains(":memory:") => (SqliteWriter::Pooled(Arc::default()), None),
            Backend::Sqlite => {
                let opts = sqlx::sqlite::SqliteConnectOptions::from_str(&url)?;
                let conn = db::open_writer(opts.get_filename())?;
                let readers = db::LiteReaders::new(opts.get_filename());
                let writer = db::LiteWriter::new(conn);
                db::spawn_checkpointer(opts.get_filename(), &writer)?;
                (SqliteWriter::Direct(writer), Some(Arc::new(readers)))
            }
        };
        Ok(Store { pool, backend, sqlite_writer, sqlite_readers, workflow_defs: Arc::default() })
    }

    /// Apply pending migrations, install backend guards, seed reference data.
    pub async fn migrate(&self, now: jiff::Timestamp) -> Result<()> {
        MIGRATOR.run(&self.pool).await?;
        self.install_guards().await?;
        self.install_case_counts().await?;
        self.seed_bundled_calendar(now).await?;
        self.backfill_blob_refs(now).await?;
        self.backfill_license_refs().await?;
        self.deploy_default_process(now).await?;
        Ok(())
    }

    /// Connect and migrate.
    pub async fn open(url: &str, opts: &StoreOptions, now: jiff::Timestamp) -> Result<Store> {
        let store = Store::connect(url, opts).await?;
        store.migrate(now).await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Where a short read runs (a point lookup or a bounded page); scans stay
    /// on the pool, whose SQLite connections run on their own threads.
    pub(crate) fn read(&self) -> db::On<'_> {
        db::On::Read(self)
    }

    /// Where one statement outside a transaction runs.
    pub(crate) fn write(&self) -> db::On<'_> {
        db::On::Write(self)
    }

    /// Round-trip to the database (readiness).
    pub async fn ping(&self) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        conn.ping().await?;
        Ok(())
    }

    /// Begin a write transaction. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`): a deferred transaction that reads and then writes would
    /// fail with SQLITE_BUSY_SNAPSHOT, without waiting, if another writer committed
    /// in between.
    pub async fn begin(&self) -> Result<Tx> {
        let conn = match &self.sqlite_writer {
            SqliteWriter::Direct(writer) => TxConn::Lite(writer.begin().await?),
            SqliteWriter::Pooled(lock) => {
                let writer = lock.clone().lock_owned().await;
                TxConn::Any { inner: self.pool.begin_with("BEGIN IMMEDIATE").await?, _writer: Some(writer) }
            }
            SqliteWriter::None => TxConn::Any { inner: self.pool.begin().await?, _writer: None },
        };
        Ok(Tx { conn, backend: self.backend, workflow_defs: self.workflow_defs.clone(), read_instance: None })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The triggers that keep `case_counts` with every new case and state
    /// change (dialects differ, so they are installed here, idempotently).
    async fn install_case_counts(&self) -> Result<()> {
        let stmts: &[&str] = match self.backend {
            Backend::Sqlite => &[
                "CREATE TRIGGER IF NOT EXISTS cases_count_insert AFTER INSERT ON cases BEGIN \
                 INSERT INTO case_counts (agency_uscc, state, shard, n) VALUES (NEW.agency_uscc, NEW.state, unicode(substr(NEW.case_no, -1)) % 8, 1) \
                 ON CONFLICT (agency_uscc, state, shard) DO UPDATE SET n = n + 1; END",
                "CREATE TRIGGER IF NOT EXISTS cases_count_update AFTER UPDATE OF state ON cases WHEN OLD.state <> NEW.state BEGIN \
                 UPDATE case_counts SET n = n - 1 WHERE agency_uscc = OLD.agency_uscc AND state = OLD.state \
                 AND shard = unicode(substr(OLD.case_no, -1)) % 8; \
                 INSERT INTO case_counts (agency_uscc, state, shard, n) VALUES (NEW.agency_uscc, NEW.state, unicode(substr(NEW.case_no, -1)) % 8, 1) \
                 ON CONFLICT (agency_uscc, state, shard) DO UPDATE SET n = n + 1; END",
            ],
            Backend::Postgres => {
                let present =
                    crate::db::query("SELECT 1 AS one FROM pg_trigger WHERE tgname = 'cases_count' AND tgrelid = 'cases'::regclass")
                        .fetch_optional(&self.pool)
                        .await?;
                if present.is_some() {
                    return Ok(());
                }
                &[
                    "CREATE OR REPLACE FUNCTION yiwang_case_counts() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                     IF TG_OP = 'UPDATE' THEN \
                       IF OLD.state = NEW.state THEN RETURN NULL; END IF; \
                       UPDATE case_counts SET n = n - 1 WHERE agency_uscc = OLD.agency_uscc AND state = OLD.state \
                         AND shard = ascii(right(OLD.case_no, 1)) % 8; \
                     END IF; \
                     INSERT INTO case_counts (agency_uscc, state, shard, n) VALUES (NEW.agency_uscc, NEW.state, ascii(right(NEW.case_no, 1)) % 8, 1) \
                       ON CONFLICT (agency_uscc, state, shard) DO UPDATE SET n = case_counts.n + 1; \
                     RETURN NULL; END $$",
                    "CREATE OR REPLACE TRIGGER cases_count AFTER INSERT OR UPDATE OF state ON cases FOR EACH ROW EXECUTE FUNCTION yiwang_case_counts()",
                ]
            }
        };
        for s in stmts {
            sqlx::raw_sql(*s).execute(&self.pool).await?;
        }
        Ok(())
    }

    /// Append-only guards on the audit log and the exchange's message log.
    /// Triggers differ by dialect, so they are installed here, idempotently,
    /// rather than in the portable migrations.
    async fn install_guards(&self) -> Result<()> {
        for table in ["audit_log", "exchange_log"] {
            if self.backend == Backend::Postgres {
                // Several processes may start at once: replacing a function concurrently
                // fails in PostgreSQL, so only install what is missing.
                let present = crate::db::query("SELECT 1 AS one FROM pg_trigger WHERE tgname = $1 AND tgrelid = $2::regclass")
                    .bind(format!("{table}_append_only"))
                    .bind(table)
                    .fetch_optional(&self.pool)
                    .await?;
                if present.is_some() {
                    continue;
                }
            }
            // The audit log's function keeps its first name, so existing nodes are unchanged.
            let function =
                if table == "audit_log" { "yiwang_audit_append_only".to_string() } else { format!("yiwang_{table}_append_only") };
            let stmts = match self.backend {
                Backend::Sqlite => vec![
                    format!(
                        "CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                    ),
                    format!(
                        "CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                    ),
                ],
                Backend::Postgres => vec![
                    format!(
                        "CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{table} is append-only'; END $$"
                    ),
                    format!(
                        "CREATE OR REPLACE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION {function}()"
                    ),
                ],
            };
            for stmt in stmts {
                sqlx::raw_sql(sqlx::AssertSqlSafe(stmt)).execute(&self.pool).await?;
            }
        }
        Ok(())
    }
}

impl Tx {
    pub fn is_postgres(&self) -> bool {
        self.backend == Backend::Postgres
    }

    pub async fn commit(self) -> Result<()> {
        match self.conn {
            TxConn::Any { inner, .. } => inner.commit().await?,
            TxConn::Lite(lite) => lite.commit().await?,
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<()> {
        match self.conn {
            TxConn::Any { inner, .. } => inner.rollback().await?,
            TxConn::Lite(lite) => lite.rollback()?,
        }
        Ok(())
    }
}

/// Our dynamic SQL is assembled from constants and placeholders only; values are bound.
pub(crate) fn safe(sql: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(sql)
}

/// The stored form of a timestamp.
/// Back-off after the n-th failed try of something retried in the background
/// (outbox delivery, workflow timers and handler calls): 5 s, 10 s, 20 s …
/// capped at an hour.
pub(crate) fn backoff(attempts: i64) -> jiff::SignedDuration {
    jiff::SignedDuration::from_secs((5i64 << attempts.clamp(0, 10)).min(3600))
}

/// A unit enum's serde code (`snake_case` as it serialises), for a TEXT column.
pub(crate) fn code_text<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_value(v)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| StoreError::Corrupt("not a code".into()))
}

pub fn ts(t: jiff::Timestamp) -> String {
    // Fixed-width UTC, so lexical order is time order.
    t.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}
