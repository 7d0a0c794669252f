//! The direct SQLite path of a file-backed node: its one writer connection
//! with group commit (`LiteWriter`, `LiteTx`), the reader connections
//! (`LiteReaders`), and the checkpointer thread that keeps the WAL short.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use super::{LiteDbError, lite_error};
/// A SQLite file's one writer connection, with group commit.
///
/// Each `Store::begin` is a logical transaction: a savepoint inside a SQLite
/// transaction that may span several of them. A logical commit releases its
/// savepoint; when other writers are queued for the connection it hands the
/// still-open SQLite transaction on to them and queues again behind them, and
/// whoever holds the connection when nobody else is queued (or when the group is
/// full) commits the whole group. Every member's commit returns only after that
/// `COMMIT`, with its outcome, so nothing is acknowledged before it is written.
/// A group writes each shared page (the newest index leaves, the counters) to the
/// WAL once instead of once per transaction.
#[derive(Clone, Debug)]
pub(crate) struct LiteWriter {
    conn: Arc<tokio::sync::Mutex<WriterConn>>,
    /// Tasks queued for the connection (to begin, or to finish a group).
    queued: Arc<AtomicUsize>,
}

#[derive(Debug)]
pub(crate) struct WriterConn {
    conn: rusqlite::Connection,
    /// The SQLite transaction open across logical transactions, if any.
    group: Option<Arc<Group>>,
}

/// One SQLite transaction shared by logical transactions.
#[derive(Debug, Default)]
struct Group {
    members: AtomicUsize,
    /// Set by the `COMMIT`: `Err` holds SQLite's message.
    outcome: OnceLock<Result<(), String>>,
}

/// At most this many logical transactions share one SQLite transaction, which
/// bounds how long the first of them waits for its answer.
const MAX_GROUP: usize = 32;

/// Counts a task as queued for the writer until it holds the connection (or is
/// cancelled while waiting).
struct Queued(Arc<AtomicUsize>);

impl Queued {
    fn enter(queued: &Arc<AtomicUsize>) -> Queued {
        queued.fetch_add(1, Ordering::SeqCst);
        Queued(queued.clone())
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl LiteWriter {
    pub(crate) fn new(conn: rusqlite::Connection) -> LiteWriter {
        LiteWriter { conn: Arc::new(tokio::sync::Mutex::new(WriterConn { conn, group: None })), queued: Arc::default() }
    }

    async fn lock(&self) -> tokio::sync::OwnedMutexGuard<WriterConn> {
        let _queued = Queued::enter(&self.queued);
        self.conn.clone().lock_owned().await
    }

    fn nobody_queued(&self) -> bool {
        self.queued.load(Ordering::SeqCst) == 0
    }

    /// Begin a logical transaction (joining the open group, if any).
    pub(crate) async fn begin(&self) -> Result<LiteTx, sqlx::Error> {
        let mut w = self.lock().await;
        if w.group.is_none() {
            control(&w.conn, "BEGIN IMMEDIATE").map_err(lite_error)?;
            w.group = Some(Arc::default());
        }
        if let Err(e) = control(&w.conn, "SAVEPOINT logical") {
            if self.nobody_queued() {
                let _ = w.finish();
            }
            return Err(lite_error(e));
        }
        Ok(LiteTx { conn: Some(w), writer: self.clone() })
    }
}

impl WriterConn {
    /// Commit the open group and record its outcome for its members.
    fn finish(&mut self) -> Result<(), sqlx::Error> {
        let Some(group) = self.group.take() else { return Ok(()) };
        let done = control(&self.conn, "COMMIT");
        if done.is_err() && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        let _ = group.outcome.set(done.as_ref().map(|_| ()).map_err(|e| e.to_string()));
        done.map_err(lite_error)
    }

    /// Undo a logical transaction's changes, leaving the group's others.
    fn abandon(&mut self) {
        if let Err(e) = self.conn.execute_batch("ROLLBACK TO logical; RELEASE logical") {
            tracing::error!(error = %e, "rolling back a SQLite savepoint failed");
        }
    }
}

/// Run a transaction-control statement, kept prepared: these run several times
/// for every transaction, and parsing them each time showed in profiles.
fn control(conn: &rusqlite::Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// The writer connection's side of a transaction.
pub(crate) struct LiteTx {
    conn: Option<tokio::sync::OwnedMutexGuard<WriterConn>>,
    writer: LiteWriter,
}

impl LiteTx {
    pub(crate) fn conn(&self) -> Result<&rusqlite::Connection, sqlx::Error> {
        self.conn.as_ref().map(|w| &w.conn).ok_or_else(|| sqlx::Error::Protocol("the transaction has ended".into()))
    }

    pub(crate) async fn commit(mut self) -> Result<(), sqlx::Error> {
        let mut w = self.conn.take().ok_or_else(|| sqlx::Error::Protocol("the transaction has ended".into()))?;
        if let Err(e) = control(&w.conn, "RELEASE logical") {
            w.abandon();
            if self.writer.nobody_queued() {
                let _ = w.finish();
            }
            return Err(lite_error(e));
        }
        let group = w.group.clone().ok_or_else(|| sqlx::Error::Protocol("no SQLite transaction is open".into()))?;
        let members = group.members.fetch_add(1, Ordering::SeqCst) + 1;
        if self.writer.nobody_queued() || members >= MAX_GROUP {
            return w.finish();
        }
        // Others are waiting: let them join this SQLite transaction and queue
        // again behind them. The group is committed by then, or this is the
        // last of it and commits it now (groups end only by commit, so an
        // open group is this one).
        drop(w);
        let mut w = self.writer.lock().await;
        match group.outcome.get() {
            Some(Ok(())) => Ok(()),
            Some(Err(message)) => Err(sqlx::Error::Database(Box::new(LiteDbError {
                message: format!("group commit failed: {message}"),
                extended_code: None,
            }))),
            None => w.finish(),
        }
    }

    pub(crate) fn rollback(mut self) -> Result<(), sqlx::Error> {
        self.end();
        Ok(())
    }

    fn end(&mut self) {
        if let Some(mut w) = self.conn.take() {
            w.abandon();
            // Nobody left to carry the group on: commit what its other members
            // released (they may have been cancelled while waiting).
            if self.writer.nobody_queued() {
                let _ = w.finish();
            }
        }
    }
}

impl Drop for LiteTx {
    fn drop(&mut self) {
        // A transaction dropped without commit (an error, a cancelled request)
        // is rolled back before the writer connection is handed on.
        self.end();
    }
}

/// Direct read connections to a SQLite file, used inline for short reads. Under
/// WAL each sees the last committed state and none blocks the writer.
#[derive(Debug)]
pub(crate) struct LiteReaders {
    path: std::path::PathBuf,
    idle: std::sync::Mutex<Vec<rusqlite::Connection>>,
}

/// Idle reader connections kept open; more are opened under a burst and closed after.
const IDLE_READERS: usize = 8;

impl LiteReaders {
    pub(crate) fn new(path: &std::path::Path) -> LiteReaders {
        LiteReaders { path: path.to_path_buf(), idle: std::sync::Mutex::new(Vec::new()) }
    }

    pub(super) fn with<T>(&self, f: impl FnOnce(&rusqlite::Connection) -> Result<T, sqlx::Error>) -> Result<T, sqlx::Error> {
        let idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop();
        let conn = match idle {
            Some(c) => c,
            None => {
                let c = open_connection(&self.path)?;
                // Readers share the OS page cache; each keeps a small cache of its own.
                c.execute_batch("PRAGMA query_only = ON; PRAGMA cache_size = -8192;").map_err(lite_error)?;
                c
            }
        };
        let out = f(&conn);
        // A read that failed midway leaves no state behind; the statement cache resets.
        let mut idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if idle.len() < IDLE_READERS {
            idle.push(conn);
        }
        out
    }
}

/// Open a direct connection to a SQLite file, set up as the pool's are.
fn open_connection(path: &std::path::Path) -> Result<rusqlite::Connection, sqlx::Error> {
    let conn = rusqlite::Connection::open(path).map_err(lite_error)?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;").map_err(lite_error)?;
    conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(lite_error)?;
    // Every statement the store runs stays prepared.
    conn.set_prepared_statement_cache_capacity(512);
    Ok(conn)
}

/// Open the writer connection. It keeps the pages it writes in a larger cache,
/// and leaves checkpoints to `spawn_checkpointer`: SQLite's automatic
/// checkpoint runs inside the `COMMIT` that crosses its threshold, copying pages
/// back and syncing the file while every other writer waits. After a burst, the
/// WAL file shrinks back to `WAL_SIZE_LIMIT` when it next starts over.
pub(crate) fn open_writer(path: &std::path::Path) -> Result<rusqlite::Connection, sqlx::Error> {
    let conn = open_connection(path)?;
    conn.execute_batch(&format!(
        "PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}; \
         PRAGMA temp_store = MEMORY;"
    ))
    .map_err(lite_error)?;
    Ok(conn)
}

/// How often the background checkpoint runs.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// A WAL holding more frames than this after a background checkpoint has not
/// started over, so the checkpointer briefly holds the writer (below).
const RESTART_AFTER_FRAMES: i64 = 1024;

/// The checkpointer takes the writer once no more than this many frames were
/// written during its last pass, or after `CATCH_UP_PASSES` passes.
const CATCH_UP_FRAMES: i64 = 256;
const CATCH_UP_PASSES: usize = 4;

/// The size, in bytes, a WAL file is cut back to when it starts over.
pub(super) const WAL_SIZE_LIMIT: i64 = 64 << 20;

/// Checkpoint the WAL from a thread of its own while `writer` lives.
///
/// A passive checkpoint never blocks the writer or the readers, and copies the
/// bulk of what was written since the last round. But SQLite starts the WAL
/// over only when a write transaction begins on a WAL that is checkpointed to
/// its end, and under a steady load the writer never waits long enough for
/// that: the WAL grew by about 160 MB a second at 2,000 lifecycles/s, every
/// frame written to a new part of the file, and every read searched a longer
/// WAL index. So when the WAL is still long after the passive round, the
/// checkpointer takes the writer for a moment: it commits the open group (its
/// members are waiting for that `COMMIT`), checkpoints the few frames written
/// since, and lets go. The next write transaction then starts the WAL over
/// (unless a reader still holds an old snapshot; the next round tries again).
pub(crate) fn spawn_checkpointer(path: &std::path::Path, writer: &LiteWriter) -> Result<(), sqlx::Error> {
    let conn = open_connection(path)?;
    let writer = Arc::downgrade(&writer.conn);
    std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            let mut last = 0;
            loop {
                std::thread::sleep(CHECKPOINT_EVERY);
                let Some(writer) = writer.upgrade() else { break };
                if let Err(e) = checkpoint_round(&conn, &writer, &mut last) {
                    tracing::warn!(error = %e, "SQLite checkpoint failed; the next one retries");
                }
            }
        })
        .map_err(sqlx::Error::Io)?;
    Ok(())
}

/// One round of the checkpointer; `last` is the WAL's length after the previous one.
fn checkpoint_round(conn: &rusqlite::Connection, writer: &tokio::sync::Mutex<WriterConn>, last: &mut i64) -> rusqlite::Result<()> {
    let (mut frames, copied) = passive_checkpoint(conn)?;
    let idle = frames == copied && frames == *last;
    *last = frames;
    // Copied to its end, the WAL starts over at the next write. With nothing
    // written since the last round, that write has not come yet; under load it
    // has usually come before this checkpoint returns.
    if frames <= RESTART_AFTER_FRAMES || idle {
        return Ok(());
    }
    // Catch up without the writer while it writes faster than the checkpoint
    // copies, so that it waits only for the last few frames.
    for _ in 0..CATCH_UP_PASSES {
        let (now, _) = passive_checkpoint(conn)?;
        if now < frames {
            return Ok(()); // it started over meanwhile
        }
        let written = now - frames;
        frames = now;
        if written <= CATCH_UP_FRAMES {
            break;
        }
    }
    let mut w = writer.blocking_lock();
    if let Err(e) = w.finish() {
        // The group's members get the failure from its outcome.
        tracing::warn!(error = %e, "committing a SQLite write group before a checkpoint failed");
    }
    passive_checkpoint(conn)?;
    drop(w);
    Ok(())
}

/// A passive checkpoint: the WAL's length in frames, and how many of them are
/// copied back to the database (both -1 outside WAL mode).
fn passive_checkpoint(conn: &rusqlite::Connection) -> rusqlite::Result<(i64, i64)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)))
}
