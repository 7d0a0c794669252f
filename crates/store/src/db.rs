//! One query API over two ways of reaching the database.
//!
//! Most statements go through sqlx `Any` (both backends). A file-backed SQLite
//! node also keeps one direct connection (rusqlite, linked against the same
//! SQLite library) for its write transactions. sqlx's SQLite driver runs each
//! connection on its own thread and hands every statement and every row across
//! (two thread wake-ups per statement), which bounded case handling at about 450
//! lifecycles per second on two cores while SQLite itself was idle most of the
//! time. SQLite admits one writer at a time anyway, so the writer connection runs
//! its statements inline, under the writer lock, on the calling task's thread;
//! each statement is microseconds of work on a warm page cache.
//!
//! Queries are written once, with PostgreSQL-style `$n` placeholders, and run on
//! either path. Errors come back as `sqlx::Error`, with SQLite constraint
//! failures mapped to the same `DatabaseError` kinds sqlx reports, so callers
//! cannot tell the paths apart.

use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use sqlx::any::AnyRow;
use sqlx::error::{BoxDynError, DatabaseError, ErrorKind};
use sqlx::{Any, AnyPool, ColumnIndex, SqlSafeStr, SqlStr};

use crate::{Tx, TxConn};

/// A bound value, typed so that a NULL still tells PostgreSQL its type.
#[derive(Debug, Clone)]
pub(crate) enum Param {
    I64(Option<i64>),
    F64(Option<f64>),
    Bool(Option<bool>),
    Text(Option<String>),
    Blob(Option<Vec<u8>>),
}

/// What `bind` accepts: the value types the store binds.
pub(crate) trait IntoParam {
    fn into_param(self) -> Param;
}

macro_rules! into_param {
    ($variant:ident: $($t:ty => |$v:ident| $e:expr),* $(,)?) => {$(
        impl<'x> IntoParam for $t {
            fn into_param(self) -> Param {
                let $v = self;
                Param::$variant(Some($e))
            }
        }
        impl<'x> IntoParam for Option<$t> {
            fn into_param(self) -> Param {
                Param::$variant(self.map(|$v| $e))
            }
        }
        impl<'x> IntoParam for &Option<$t> where $t: Clone {
            fn into_param(self) -> Param {
                Param::$variant(self.clone().map(|$v| $e))
            }
        }
    )*};
}

into_param!(I64: i64 => |v| v, i32 => |v| i64::from(v), u32 => |v| i64::from(v), i16 => |v| i64::from(v));
into_param!(F64: f64 => |v| v);
into_param!(Bool: bool => |v| v);
into_param!(Text: String => |v| v, &'x str => |v| v.to_string(), &'x String => |v| v.clone());
into_param!(Blob: Vec<u8> => |v| v, &'x [u8] => |v| v.to_vec(), &'x Vec<u8> => |v| v.clone());

impl IntoParam for &i64 {
    fn into_param(self) -> Param {
        Param::I64(Some(*self))
    }
}

impl rusqlite::ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Param::I64(Some(v)) => ValueRef::Integer(*v),
            Param::F64(Some(v)) => ValueRef::Real(*v),
            Param::Bool(Some(v)) => ValueRef::Integer(i64::from(*v)),
            Param::Text(Some(v)) => ValueRef::Text(v.as_bytes()),
            Param::Blob(Some(v)) => ValueRef::Blob(v),
            _ => ValueRef::Null,
        }))
    }
}

/// A statement and its bound values, run with `execute` / `fetch_*` on the pool
/// or in a transaction.
pub(crate) struct Query {
    sql: SqlStr,
    params: Vec<Param>,
}

pub(crate) fn query(sql: impl SqlSafeStr) -> Query {
    Query { sql: sql.into_sql_str(), params: Vec::new() }
}

/// Where a query runs.
pub(crate) enum On<'a> {
    Pool(&'a AnyPool),
    Tx(&'a mut Tx),
    /// A short read (a point lookup or a bounded page): on a SQLite file, one of
    /// the direct reader connections, inline; elsewhere the pool.
    Read(&'a crate::Store),
    /// One statement outside a transaction: on a SQLite file, through the
    /// writer connection (so it queues with the transactions instead of meeting
    /// them in SQLite's busy handler); elsewhere the pool.
    Write(&'a crate::Store),
}

impl<'a> From<&'a AnyPool> for On<'a> {
    fn from(p: &'a AnyPool) -> Self {
        On::Pool(p)
    }
}

impl<'a> From<&'a mut Tx> for On<'a> {
    fn from(t: &'a mut Tx) -> Self {
        On::Tx(t)
    }
}

/// The outcome of `execute`.
pub(crate) struct Done {
    rows_affected: u64,
}

impl Done {
    pub(crate) fn rows_affected(&self) -> u64 {
        self.rows_affected
    }
}

impl Query {
    pub(crate) fn bind(mut self, value: impl IntoParam) -> Self {
        self.params.push(value.into_param());
        self
    }

    fn to_sqlx(&self) -> sqlx::query::Query<'static, Any, sqlx::any::AnyArguments> {
        let mut q = sqlx::query(self.sql.clone());
        for p in &self.params {
            q = match p.clone() {
                Param::I64(v) => q.bind(v),
                Param::F64(v) => q.bind(v),
                Param::Bool(v) => q.bind(v),
                Param::Text(v) => q.bind(v),
                Param::Blob(v) => q.bind(v),
            };
        }
        q
    }

    pub(crate) async fn execute<'a>(self, on: impl Into<On<'a>>) -> Result<Done, sqlx::Error> {
        match on.into() {
            On::Write(store) | On::Read(store) => match &store.sqlite_writer {
                crate::SqliteWriter::Direct(writer) => {
                    let tx = writer.begin().await?;
                    let n = run(tx.conn()?, &self, |_| Ok(()))?;
                    tx.commit().await?;
                    Ok(Done { rows_affected: n })
                }
                _ => Ok(Done { rows_affected: self.to_sqlx().execute(store.pool()).await?.rows_affected() }),
            },
            On::Pool(p) => Ok(Done { rows_affected: self.to_sqlx().execute(p).await?.rows_affected() }),
            On::Tx(tx) => match &mut tx.conn {
                TxConn::Any { inner, .. } => Ok(Done { rows_affected: self.to_sqlx().execute(&mut **inner).await?.rows_affected() }),
                TxConn::Lite(lite) => run(lite.conn()?, &self, |_| Ok(())).map(|n| Done { rows_affected: n }),
            },
        }
    }

    pub(crate) async fn fetch_all<'a>(self, on: impl Into<On<'a>>) -> Result<Vec<Row>, sqlx::Error> {
        let mut rows = Vec::new();
        match on.into() {
            On::Read(store) if let Some(readers) = &store.sqlite_readers => {
                readers.with(|conn| {
                    run(conn, &self, |r| {
                        rows.push(Row::Lite(r));
                        Ok(())
                    })
                })?;
                Ok(rows)
            }
            On::Write(store) if let crate::SqliteWriter::Direct(writer) = &store.sqlite_writer => {
                let tx = writer.begin().await?;
                run(tx.conn()?, &self, |r| {
                    rows.push(Row::Lite(r));
                    Ok(())
                })?;
                tx.commit().await?;
                Ok(rows)
            }
            On::Read(store) | On::Write(store) => Ok(self.to_sqlx().fetch_all(store.pool()).await?.into_iter().map(Row::Any).collect()),
            On::Pool(p) => Ok(self.to_sqlx().fetch_all(p).await?.into_iter().map(Row::Any).collect()),
            On::Tx(tx) => match &mut tx.conn {
                TxConn::Any { inner, .. } => Ok(self.to_sqlx().fetch_all(&mut **inner).await?.into_iter().map(Row::Any).collect()),
                TxConn::Lite(lite) => {
                    run(lite.conn()?, &self, |r| {
                        rows.push(Row::Lite(r));
                        Ok(())
                    })?;
                    Ok(rows)
                }
            },
        }
    }

    pub(crate) async fn fetch_optional<'a>(self, on: impl Into<On<'a>>) -> Result<Option<Row>, sqlx::Error> {
        let on = on.into();
        if let On::Pool(p) = on {
            return Ok(self.to_sqlx().fetch_optional(p).await?.map(Row::Any));
        }
        if let On::Tx(Tx { conn: TxConn::Any { inner, .. }, .. }) = on {
            return Ok(self.to_sqlx().fetch_optional(&mut **inner).await?.map(Row::Any));
        }
        // The direct paths read all rows, as sqlx does, and keep the first.
        Ok(self.fetch_all(on).await?.into_iter().next())
    }

    pub(crate) async fn fetch_one<'a>(self, on: impl Into<On<'a>>) -> Result<Row, sqlx::Error> {
        self.fetch_optional(on).await?.ok_or(sqlx::Error::RowNotFound)
    }
}

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

/// Whether the `$n` parameters of `sql` first appear as `$1`, `$2`, `$3`, …
/// (text in single quotes skipped), so that SQLite's parameter `n` is `$n`.
fn parameters_in_order(sql: &str) -> bool {
    let bytes = sql.as_bytes();
    let (mut next, mut i, mut quoted) = (1usize, 0, false);
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => quoted = !quoted,
            b'$' if !quoted => {
                let digits = bytes[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
                let n = sql.get(i + 1..i + 1 + digits).and_then(|d| d.parse::<usize>().ok());
                match n {
                    Some(n) if n == next => next += 1,
                    Some(n) if (1..next).contains(&n) => {}
                    // `$0`, a gap, or a `$` without digits: SQLite's numbering differs.
                    _ => return false,
                }
                i += digits;
            }
            _ => {}
        }
        i += 1;
    }
    true
}

/// Run one statement to completion on a direct connection, passing each row to
/// `each`; returns the number of rows changed.
fn run(conn: &rusqlite::Connection, q: &Query, mut each: impl FnMut(LiteRow) -> Result<(), sqlx::Error>) -> Result<u64, sqlx::Error> {
    let mut stmt = conn.prepare_cached(q.sql.as_str()).map_err(lite_error)?;
    // `$n` names the n-th bound value; SQLite numbers parameters by first
    // appearance, so the name, not the position, decides. Looking a name up
    // scans the statement's list of names, which made a bulk insert of
    // thousands of values quadratic; when the names first appear in order,
    // the position is the name.
    let in_order = parameters_in_order(q.sql.as_str());
    for i in 1..=stmt.parameter_count() {
        let n = match in_order {
            true => Some(i),
            false => stmt.parameter_name(i).map_or(Some(i), |name| name.get(1..).and_then(|d| d.parse::<usize>().ok())),
        };
        let value = n
            .and_then(|n| n.checked_sub(1))
            .and_then(|n| q.params.get(n))
            .ok_or_else(|| sqlx::Error::Protocol(format!("statement parameter {i} has no bound value ({} bound)", q.params.len())))?;
        stmt.raw_bind_parameter(i, value).map_err(lite_error)?;
    }
    let names: Arc<[String]> = stmt.column_names().into_iter().map(str::to_string).collect();
    let mut rows = stmt.raw_query();
    while let Some(r) = rows.next().map_err(lite_error)? {
        let values = (0..names.len())
            .map(|c| {
                r.get_ref(c)
                    .and_then(|v| Value::try_from(v).map_err(|e| rusqlite::Error::FromSqlConversionFailure(c, v.data_type(), Box::new(e))))
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(lite_error)?;
        each(LiteRow { names: names.clone(), values })?;
    }
    drop(rows);
    Ok(conn.changes())
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

/// A row read through the writer connection.
#[derive(Debug)]
pub(crate) struct LiteRow {
    names: Arc<[String]>,
    values: Vec<Value>,
}

/// A row from either path.
pub(crate) enum Row {
    Any(AnyRow),
    Lite(LiteRow),
}

/// A column, by name or position.
pub(crate) trait Col: ColumnIndex<AnyRow> + std::fmt::Debug + Copy {
    fn position(self, names: &[String]) -> Option<usize>;
}

impl Col for &str {
    fn position(self, names: &[String]) -> Option<usize> {
        names.iter().position(|n| n == self)
    }
}

impl Col for usize {
    fn position(self, names: &[String]) -> Option<usize> {
        (self < names.len()).then_some(self)
    }
}

/// Reading typed columns, the same way for both paths (and for the pool's rows).
pub(crate) trait RowLike {
    fn try_get<T: FromValue, C: Col>(&self, col: C) -> Result<T, sqlx::Error>;
}

impl RowLike for AnyRow {
    fn try_get<T: FromValue, C: Col>(&self, col: C) -> Result<T, sqlx::Error> {
        sqlx::Row::try_get(self, col)
    }
}

impl RowLike for LiteRow {
    fn try_get<T: FromValue, C: Col>(&self, col: C) -> Result<T, sqlx::Error> {
        let i = col.position(&self.names).ok_or_else(|| sqlx::Error::ColumnNotFound(format!("{col:?}")))?;
        let v = self.values.get(i).ok_or_else(|| sqlx::Error::ColumnNotFound(format!("{col:?}")))?;
        T::from_lite(v).map_err(|source| sqlx::Error::ColumnDecode { index: format!("{col:?}"), source })
    }
}

impl RowLike for Row {
    fn try_get<T: FromValue, C: Col>(&self, col: C) -> Result<T, sqlx::Error> {
        match self {
            Row::Any(r) => RowLike::try_get(r, col),
            Row::Lite(r) => r.try_get(col),
        }
    }
}

/// A column type both paths decode.
pub(crate) trait FromValue: for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any> + Sized {
    fn from_lite(v: &Value) -> Result<Self, BoxDynError>;
}

fn unexpected(v: &Value, want: &str) -> BoxDynError {
    match v {
        Value::Null => Box::new(sqlx::error::UnexpectedNullError),
        other => format!("expected {want}, found SQLite {:?}", other.data_type()).into(),
    }
}

impl FromValue for i64 {
    fn from_lite(v: &Value) -> Result<Self, BoxDynError> {
        match v {
            Value::Integer(i) => Ok(*i),
            other => Err(unexpected(other, "an integer")),
        }
    }
}

impl FromValue for i32 {
    fn from_lite(v: &Value) -> Result<Self, BoxDynError> {
        Ok(i32::try_from(i64::from_lite(v)?)?)
    }
}

impl FromValue for f64 {
    fn from_lite(v: &Value) -> Result<Self, BoxDynError> {
        match v {
            Value::Real(f) => Ok(*f),
            Value::Integer(i) => Ok(*i as f64),
            other => Err(unexpected(other, "a number")),
        }
    }
}

impl FromValue for bool {
    fn from_lite(v: &Value) -> Result<Self, BoxDynError> {
        Ok(i64::from_lite(v)? != 0)
    }
}

impl FromValue for String {
    fn from_lite(v: &Value) -> Result<Self, BoxDynError> {
        match v {
            Value::Text(s) => Ok(s.clone()),
            other => Err(unexpected(other, "text")),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_lite(v: &Value) -> Result<Self, BoxDynError> {
        match v {
            Value::Blob(b) => Ok(b.clone()),
            Value::Text(s) => Ok(s.as_bytes().to_vec()),
            other => Err(unexpected(other, "bytes")),
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_lite(v: &Value) -> Result<Self, BoxDynError> {
        match v {
            Value::Null => Ok(None),
            other => T::from_lite(other).map(Some),
        }
    }
}

/// A SQLite failure on the writer connection, reported the way sqlx reports its own.
#[derive(Debug)]
struct LiteDbError {
    message: String,
    extended_code: Option<i32>,
}

impl std::fmt::Display for LiteDbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LiteDbError {}

impl DatabaseError for LiteDbError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        self.extended_code.map(|c| Cow::Owned(c.to_string()))
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> ErrorKind {
        use rusqlite::ffi;
        match self.extended_code {
            Some(ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY) => ErrorKind::UniqueViolation,
            Some(ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => ErrorKind::ForeignKeyViolation,
            Some(ffi::SQLITE_CONSTRAINT_NOTNULL) => ErrorKind::NotNullViolation,
            Some(ffi::SQLITE_CONSTRAINT_CHECK) => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

pub(crate) fn lite_error(e: rusqlite::Error) -> sqlx::Error {
    match e {
        rusqlite::Error::SqliteFailure(f, message) => sqlx::Error::Database(Box::new(LiteDbError {
            message: message.unwrap_or_else(|| f.to_string()),
            extended_code: Some(f.extended_code),
        })),
        other => sqlx::Error::Database(Box::new(LiteDbError { message: other.to_string(), extended_code: None })),
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

    fn with<T>(&self, f: impl FnOnce(&rusqlite::Connection) -> Result<T, sqlx::Error>) -> Result<T, sqlx::Error> {
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
const WAL_SIZE_LIMIT: i64 = 64 << 20;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_in_order_reads_first_appearances() {
        assert!(parameters_in_order("SELECT 1"));
        assert!(parameters_in_order("UPDATE t SET a = $1, b = $2 WHERE c = $1 AND d = $3"));
        assert!(parameters_in_order("INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"));
        assert!(!parameters_in_order("SELECT $2, $1"));
        assert!(!parameters_in_order("SELECT $1, $3"));
        assert!(!parameters_in_order("SELECT $ FROM t"));
        assert!(!parameters_in_order("SELECT $0, $1"));
        assert!(!parameters_in_order("SELECT $1, $0"));
        // Quoted text is not a parameter, and does not count as one.
        assert!(parameters_in_order("SELECT '$2 costs', $1 FROM t WHERE x = 'it''s $9' AND y = $2"));
        assert!(!parameters_in_order("SELECT $1, '$2', $3"));
    }

    /// Each `$n` takes the n-th bound value, in order or not.
    #[test]
    fn statements_bind_by_parameter_name() {
        let conn = rusqlite::Connection::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
        let select = |sql: &'static str| {
            let q = query(sql).bind("a").bind("b").bind("c");
            let mut got = Vec::new();
            run(&conn, &q, |row| {
                got = row.values.iter().map(|v| format!("{v:?}")).collect();
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{e}"));
            got.join(",")
        };
        assert_eq!(select("SELECT $1, $2, $3, $1"), r#"Text("a"),Text("b"),Text("c"),Text("a")"#);
        assert_eq!(select("SELECT $3, $2, $1, $1"), r#"Text("c"),Text("b"),Text("a"),Text("a")"#);
        assert_eq!(select("SELECT '$1', $2, $3, $1"), r#"Text("$1"),Text("b"),Text("c"),Text("a")"#);
    }

    /// Under writes that never pause, the WAL still starts over, again and
    /// again, and its file stays far smaller than what went through it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn wal_starts_over_under_a_steady_write_load() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("wal.db");
        let wal_path = dir.path().join("wal.db-wal");
        let writer = LiteWriter::new(open_writer(&path)?);
        spawn_checkpointer(&path, &writer)?;
        {
            let tx = writer.begin().await?;
            tx.conn()?.execute_batch("CREATE TABLE pages (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")?;
            tx.commit().await?;
        }
        // The WAL header's checkpoint sequence number counts the times it started over.
        let restarts = || -> std::io::Result<u32> {
            use std::io::Read;
            let mut header = [0u8; 16];
            std::fs::File::open(&wal_path)?.read_exact(&mut header)?;
            Ok(u32::from_be_bytes([header[12], header[13], header[14], header[15]]))
        };
        let before = restarts()?;
        // 4 writers rewrite 1,000 rows of 16 KiB, 8 x WAL_SIZE_LIMIT through the WAL
        // in all (2 s or so), while the database file stays at about 16 MiB.
        const BODY: usize = 16 << 10;
        let total = usize::try_from(8 * WAL_SIZE_LIMIT)? / BODY;
        let next = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let (writer, next) = (writer.clone(), next.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        return Ok::<_, sqlx::Error>(());
                    }
                    let tx = writer.begin().await?;
                    let body = vec![u8::try_from(i % 251).unwrap_or(0); BODY];
                    tx.conn()?
                        .execute(
                            "INSERT OR REPLACE INTO pages (id, body) VALUES (?1, ?2)",
                            rusqlite::params![i64::try_from(i % 1000).unwrap_or(0), body],
                        )
                        .map_err(lite_error)?;
                    tx.commit().await?;
                }
            }));
        }
        for t in tasks {
            t.await??;
        }
        let started_over = restarts()? - before;
        assert!(started_over >= 2, "the WAL started over {started_over} times under the load");
        let wal = std::fs::metadata(&wal_path)?.len();
        let written = u64::try_from(total * BODY)?;
        assert!(wal < written / 2, "the WAL file is {wal} bytes after {written} bytes went through it");
        Ok(())
    }
}
