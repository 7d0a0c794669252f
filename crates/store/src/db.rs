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
use std::sync::Arc;

use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use sqlx::any::AnyRow;
use sqlx::error::{BoxDynError, DatabaseError, ErrorKind};
use sqlx::{Any, AnyPool, ColumnIndex, SqlSafeStr, SqlStr};

use crate::{Tx, TxConn};

mod sqlite_file;
pub(crate) use sqlite_file::{LiteReaders, LiteTx, LiteWriter, open_writer, spawn_checkpointer};

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

#[cfg(test)]
mod tests {
    use super::sqlite_file::WAL_SIZE_LIMIT;
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

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

    /// Group commit: writers that overlap share one `COMMIT`, each is answered
    /// only after it, and every acknowledged write is there afterwards.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn overlapping_writers_share_commits_and_each_write_is_kept() -> Result<(), Box<dyn std::error::Error>> {
        let (dir, writer) = writer_with_acks().await?;
        let path = dir.path().join("acks.db");
        let commits_before = wal_commits(&path)?;
        let mut tasks = Vec::new();
        for t in 0..16_i64 {
            let writer = writer.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..200_i64 {
                    let tx = writer.begin().await?;
                    tx.conn()?.execute("INSERT INTO acks (id) VALUES (?1)", [t * 1000 + i]).map_err(lite_error)?;
                    tx.commit().await?;
                }
                Ok::<_, sqlx::Error>(())
            }));
        }
        for t in tasks {
            t.await??;
        }
        // Read from another connection: what was acknowledged is committed.
        let reader = rusqlite::Connection::open(&path)?;
        let n: i64 = reader.query_row("SELECT COUNT(*) FROM acks", [], |r| r.get(0))?;
        assert_eq!(n, 16 * 200);
        // Fewer WAL commits than transactions: they were grouped.
        let commits = wal_commits(&path)? - commits_before;
        assert!(commits < 16 * 200, "{commits} commits for {} transactions", 16 * 200);
        Ok(())
    }

    /// A writer on a new file `acks.db` with one empty table, `acks`.
    async fn writer_with_acks() -> Result<(tempfile::TempDir, LiteWriter), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let writer = LiteWriter::new(open_writer(&dir.path().join("acks.db"))?);
        let tx = writer.begin().await?;
        tx.conn()?.execute_batch("CREATE TABLE acks (id INTEGER PRIMARY KEY)")?;
        tx.commit().await?;
        Ok((dir, writer))
    }

    /// The WAL's commit frames (one per `COMMIT`), read from the WAL file.
    fn wal_commits(path: &std::path::Path) -> std::io::Result<u64> {
        let wal = std::fs::read(path.with_extension("db-wal"))?;
        // A 32-byte header, then frames of a 24-byte header and a page; a frame
        // whose header's bytes 4..8 (the database size) are nonzero ends a commit.
        let page = u32::from_be_bytes([wal[8], wal[9], wal[10], wal[11]]) as usize;
        let mut commits = 0;
        let mut at = 32;
        while at + 24 + page <= wal.len() {
            if wal[at + 4..at + 8] != [0, 0, 0, 0] {
                commits += 1;
            }
            at += 24 + page;
        }
        Ok(commits)
    }

    /// A group whose last queued writer is cancelled before its turn is still
    /// committed (its waiting member ends it), and its write is kept.
    #[tokio::test(flavor = "current_thread")]
    async fn a_group_left_open_by_a_cancelled_writer_is_still_committed() -> Result<(), Box<dyn std::error::Error>> {
        let (dir, writer) = writer_with_acks().await?;
        let path = dir.path().join("acks.db");
        let first = writer.begin().await?;
        first.conn()?.execute("INSERT INTO acks (id) VALUES (1)", []).map_err(lite_error)?;
        // A second writer queues for the connection (polled once, so counted)...
        let mut second = Box::pin(writer.begin());
        assert!(tokio::time::timeout(std::time::Duration::ZERO, &mut second).await.is_err(), "the connection is held");
        // ...so the first, committing, hands the open group on and waits.
        let mut commit = Box::pin(first.commit());
        assert!(tokio::time::timeout(std::time::Duration::ZERO, &mut commit).await.is_err(), "it waits for the group");
        // The second is cancelled before its turn: nobody is left to end the group.
        drop(second);
        commit.await?;
        let reader = rusqlite::Connection::open(&path)?;
        let n: i64 = reader.query_row("SELECT COUNT(*) FROM acks", [], |r| r.get(0))?;
        assert_eq!(n, 1);
        Ok(())
    }
}
