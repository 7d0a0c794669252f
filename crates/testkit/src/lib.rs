//! Test fixtures shared by the crates' test suites: a fresh database per test on
//! either backend, so tests run in parallel without seeing each other's rows.
//!
//! PostgreSQL: `YIWANG_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`);
//! each test gets its own schema selected through `search_path`.

// Fixtures stand in for the edges that read the clock in a running node.
#![allow(clippy::disallowed_methods)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use sqlx::{Connection, Executor};
use yiwang_audit::AuditRecord;
use yiwang_store::{Backend, Store, StoreOptions};

pub use yiwang_store;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    Sqlite,
    Postgres,
}

pub fn pg_base_url() -> String {
    std::env::var("YIWANG_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// A migrated, empty database for one test.
pub struct TestDb {
    pub store: Store,
    /// URL another process (e.g. the `yiwang` binary) can use to reach the same database.
    pub url: String,
    dir: Option<tempfile::TempDir>,
    pg_schema: Option<String>,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique_name() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("t_{}_{}_{}", std::process::id(), n, rand::random::<u32>())
}

impl TestDb {
    pub async fn new(backend: TestBackend) -> anyhow::Result<TestDb> {
        let now = jiff::Timestamp::now();
        match backend {
            TestBackend::Sqlite => {
                let dir = tempfile::tempdir()?;
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                let store = Store::open(&url, &StoreOptions::default(), now).await?;
                Ok(TestDb { store, url, dir: Some(dir), pg_schema: None })
            }
            TestBackend::Postgres => {
                let base = pg_base_url();
                let schema = unique_name();
                let mut conn = sqlx::PgConnection::connect(&base).await.with_context(|| format!("connecting to {base}"))?;
                conn.execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).await?;
                conn.close().await?;
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
                let store = Store::open(&url, &StoreOptions { max_connections: 4, ..Default::default() }, now).await?;
                Ok(TestDb { store, url, dir: None, pg_schema: Some(schema) })
            }
        }
    }

    /// Remove the append-only triggers that `Store::migrate` installs on
    /// `audit_log`, as a DBA with direct access could, so a test can tamper by SQL.
    pub async fn drop_audit_guards(&self) {
        let sql = match self.store.backend() {
            Backend::Sqlite => "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete",
            Backend::Postgres => "DROP TRIGGER audit_log_append_only ON audit_log",
        };
        sqlx::raw_sql(sql).execute(self.store.pool()).await.expect("dropping the audit guards");
    }

    /// Remove the exchange message log's append-only triggers (to simulate tampering).
    pub async fn drop_exchange_log_guards(&self) {
        let sql = match self.store.backend() {
            Backend::Sqlite => "DROP TRIGGER exchange_log_no_update; DROP TRIGGER exchange_log_no_delete",
            Backend::Postgres => "DROP TRIGGER exchange_log_append_only ON exchange_log",
        };
        sqlx::raw_sql(sql).execute(self.store.pool()).await.expect("dropping the exchange log guards");
    }

    /// Append `n` sample entries ([`audit_record`] 1..=n), each in its own transaction.
    pub async fn append_audit_records(&self, n: usize) {
        for i in 1..=n {
            self.store.audit(audit_record(i)).await.expect("appending an audit entry");
        }
    }

    /// Close the pool and drop the schema or files.
    pub async fn cleanup(self) {
        self.store.close().await;
        if let Some(schema) = &self.pg_schema
            && let Ok(mut conn) = sqlx::PgConnection::connect(&pg_base_url()).await
        {
            let _ = conn.execute(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE"))).await;
            let _ = conn.close().await;
        }
        drop(self.dir);
    }
}

/// A sample audit record, distinct for each `i`.
pub fn audit_record(i: usize) -> AuditRecord {
    AuditRecord {
        at: format!("2026-11-23T08:00:00.{i:06}Z"),
        actor: "test".into(),
        action: "test.event".into(),
        object_type: "thing".into(),
        object_id: i.to_string(),
        reason: "测试".into(),
        data: format!(r#"{{"i":{i}}}"#),
    }
}

/// Define one async test body and run it on both backends:
/// `both_backends!(name, |db| { ... })` makes `name::sqlite` and `name::postgres`.
/// `db` is a `&TestDb`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, |$db:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($db: &$crate::TestDb) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::TestDb::new($crate::TestBackend::Sqlite).await.expect("sqlite test db");
                run(&db).await;
                db.cleanup().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let db = $crate::TestDb::new($crate::TestBackend::Postgres).await.expect("postgres test db (is PostgreSQL running at 127.0.0.1:5432?)");
                run(&db).await;
                db.cleanup().await;
            }
        }
    };
}

/// E-license fixtures: one issuing agency (a USCC with its check character
/// computed) defining one license type, and licenses issued by it.
pub mod licenses {
    use yiwang_store::{Agency, EvidenceType, Holder, NewLicense, Store};

    pub fn issuer() -> String {
        let body = "11330100002489348";
        format!("{body}{}", yiwang_codes::uscc::uscc_check_char(body).unwrap())
    }

    /// 食品经营许可证, defined by `issuer()`.
    pub fn type_code() -> String {
        format!("{}001", issuer())
    }

    /// Create the issuing agency and its license type.
    pub async fn seed_issuer(store: &Store, now: jiff::Timestamp) {
        let mut tx = store.begin().await.unwrap();
        let agency =
            Agency {
                uscc: issuer(), name: "杭州市市场监督管理局".into(), division_code: "330100".into(), level: "municipal".into()
            };
        tx.upsert_agency(&agency, "test", now).await.unwrap();
        let t = EvidenceType { code: type_code(), name: "食品经营许可证".into(), agency_uscc: issuer(), aliases: vec![] };
        tx.upsert_license_type(&t, "test", now).await.unwrap();
        tx.commit().await.unwrap();
    }

    /// Publish the demo item 食品经营许可 as implemented by `issuer()`. With
    /// `license_material`, its first material (named 原食品经营许可证) is one the
    /// license type `type_code()` satisfies. Call `seed_issuer` first.
    pub async fn publish_food_item(store: &Store, license_material: bool) -> yiwang_catalog::ItemDoc {
        let mut doc = demo_item("食品经营许可");
        if license_material {
            doc.materials[0].name = "原食品经营许可证".into();
            doc.materials[0].source = yiwang_catalog::MaterialSource::License { license_type: type_code() };
        }
        publish(store, &doc).await;
        doc
    }

    /// The first demo item called `name`, as implemented by `issuer()` (its
    /// evidence keys stand for their codes).
    pub fn demo_item(name: &str) -> yiwang_catalog::ItemDoc {
        let (_, spec) = yiwang_catalog::demo_items::ITEMS.iter().find(|(_, s)| s.name == name).unwrap();
        let place = yiwang_catalog::samples::Place {
            agency: yiwang_catalog::AgencyRef {
                uscc: issuer(), name: "杭州市市场监督管理局".into(), division_code: "330100".into()
            },
            level: yiwang_codes::UseLevel::Municipal,
            hall: "市民中心".into(),
            phone: "0571-12345".into(),
        };
        yiwang_catalog::samples::build(spec, &place, &|k| k.to_string()).unwrap()
    }

    /// Import and publish an item.
    pub async fn publish(store: &Store, doc: &yiwang_catalog::ItemDoc) {
        let mut tx = store.begin().await.unwrap();
        tx.import_item(doc, true, "test", jiff::Timestamp::now()).await.unwrap();
        tx.commit().await.unwrap();
    }

    /// The holder enterprise of the fixtures.
    pub fn restaurant() -> Holder {
        Holder { name: "张三餐饮店".into(), id_type: "049".into(), id: "92330102MA2H3XYW0E".into() }
    }

    /// A license of `type_code()` by `issuer()`, valid from 2026-01-01 without end.
    pub fn new_license(number: &str, holder: Holder) -> NewLicense {
        NewLicense {
            type_code: type_code(),
            number: number.into(),
            issuer_uscc: issuer(),
            holder,
            valid_from: jiff::civil::date(2026, 1, 1),
            valid_until: None,
            case_no: None,
            data: serde_json::json!({}),
        }
    }
}
