//! Test helpers: a fresh, migrated database per test, on SQLite or PostgreSQL, and the
//! [`test_on_both!`] macro that runs one test body on both.
//!
//! PostgreSQL tests create a database named `jl_test_<uuid>` through the server at
//! `JINGLAO_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`) and drop
//! it afterwards. They fail, loudly, when the server is not reachable; run only the SQLite half
//! with `cargo test -- on_sqlite`.

use std::path::PathBuf;

use crate::{Backend, Db, PoolSettings, on_conn};

/// The PostgreSQL server tests use.
pub fn postgres_admin_url() -> String {
    std::env::var("JINGLAO_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// Something a test can be given, started fresh on a backend.
pub trait Fixture: Sized {
    /// Builds the fixture on `backend`.
    fn start(backend: Backend) -> impl std::future::Future<Output = Self> + Send;
}

/// A fresh, migrated database that is deleted when dropped.
#[derive(Debug)]
pub struct TestDb {
    /// The pool.
    pub db: Db,
    /// Its URL (for starting the binary against it).
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl TestDb {
    /// A new, empty, migrated database on `backend`.
    pub async fn new(backend: Backend) -> TestDb {
        let t = Self::unmigrated(backend).await;
        crate::migrate::run(&t.db).await.expect("migrations run");
        t
    }

    /// A new, empty database with no schema at all.
    pub async fn unmigrated(backend: Backend) -> TestDb {
        let settings = PoolSettings {
            max_connections: 4,
            ..PoolSettings::default()
        };
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path: PathBuf = dir.path().join("test.db");
                let url = format!("sqlite://{}", path.display());
                let db = Db::connect(&url, &settings).await.expect("open sqlite");
                TestDb {
                    db,
                    url,
                    _dir: Some(dir),
                    pg_name: None,
                }
            }
            Backend::Postgres => {
                let admin_url = postgres_admin_url();
                let name = format!("jl_test_{}", uuid::Uuid::now_v7().simple());
                let admin = Db::connect(&admin_url, &PoolSettings::default())
                    .await
                    .unwrap_or_else(|e| {
                        panic!(
                            "PostgreSQL is not reachable at {admin_url} ({e}). Start it, set \
                             JINGLAO_TEST_POSTGRES_URL, or run only SQLite tests with \
                             `cargo test -- on_sqlite`."
                        )
                    });
                let mut c = admin.acquire().await.expect("admin connection");
                on_conn!(&mut c.conn(), c => {
                        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                            .execute(&mut *c)
                            .await
                .map(|r| r.rows_affected())
                    })
                .expect("create test database");
                drop(c);
                admin.close().await;
                let url = replace_database(&admin_url, &name);
                let db = Db::connect(&url, &settings)
                    .await
                    .expect("open test database");
                TestDb {
                    db,
                    url,
                    _dir: None,
                    pg_name: Some(name),
                }
            }
        }
    }

    /// Runs SQL directly, as someone with database access would, after dropping the audit
    /// trail's protective triggers: how tests simulate tampering.
    pub async fn tamper(&self, sql: &str) {
        let drop_triggers = match self.db.backend() {
            Backend::Sqlite => {
                "DROP TRIGGER IF EXISTS audit_log_no_update; \
                 DROP TRIGGER IF EXISTS audit_log_no_delete; \
                 DROP TRIGGER IF EXISTS audit_head_forward_only;"
            }
            Backend::Postgres => {
                "DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log; \
                 DROP TRIGGER IF EXISTS audit_head_forward_only ON audit_head;"
            }
        };
        let mut c = self.db.acquire().await.expect("connection");
        on_conn!(&mut c.conn(), c => {
            sqlx::raw_sql(drop_triggers)
                .execute(&mut *c)
                .await
                .expect("dropping the triggers works");
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())).execute(&mut *c).await
            .map(|r| r.rows_affected())
        })
        .expect("tampering SQL runs");
    }
}

impl Fixture for TestDb {
    fn start(backend: Backend) -> impl std::future::Future<Output = Self> + Send {
        TestDb::new(backend)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        let db = self.db.clone();
        // Drop runs inside the test's runtime; do the async clean-up on a thread of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                db.close().await;
                if let Ok(admin) =
                    Db::connect(&postgres_admin_url(), &PoolSettings::default()).await
                    && let Ok(mut c) = admin.acquire().await
                {
                    let _ = on_conn!(&mut c.conn(), c => {
                                sqlx::query(sqlx::AssertSqlSafe(format!(
                                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                                )))
                                .execute(&mut *c)
                                .await
                    .map(|r| r.rows_affected())
                            });
                }
            });
        })
        .join();
    }
}

/// `url` with its database name replaced by `name`.
pub fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[scheme_end..]
        .find('/')
        .map(|i| scheme_end + i)
        .unwrap_or(base.len());
    let mut out = format!("{}/{}", &base[..path_start], name);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Defines a test that runs once on SQLite (`<name>::on_sqlite`) and once on PostgreSQL
/// (`<name>::on_postgres`), each with a fresh fixture.
///
/// ```text
/// test_on_both! {
///     async fn regions_load(t: TestDb) { /* … */ }
/// }
/// ```
#[macro_export]
macro_rules! test_on_both {
    ($(#[$meta:meta])* async fn $name:ident($arg:ident : $fixture:ty) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($arg: $fixture) $body

            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_sqlite() {
                body(<$fixture as $crate::testing::Fixture>::start($crate::Backend::Sqlite).await).await
            }

            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_postgres() {
                body(<$fixture as $crate::testing::Fixture>::start($crate::Backend::Postgres).await).await
            }
        }
    };
}

/// Imports the seed region tree (`data/regions/seed-regions.csv`: 湘潭市 and its counties,
/// townships and villages) and returns it.
pub async fn seed_regions(
    db: &crate::Db,
    chain: &crate::audit::ChainKey,
) -> jinglao_domain::RegionTree {
    let text = include_str!("../../../data/regions/seed-regions.csv");
    let records = jinglao_domain::region_import::parse_region_csv(text, &Default::default())
        .expect("the seed file parses");
    crate::regions::import(
        db,
        chain,
        &crate::Actor::system(),
        &records,
        "test",
        chrono::Utc::now(),
    )
    .await
    .expect("the seed regions import");
    let mut c = db.acquire().await.expect("a connection");
    jinglao_domain::RegionTree::new(
        crate::regions::load_all(&mut c.conn())
            .await
            .expect("the regions load"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_in_a_url_is_replaced() {
        assert_eq!(
            replace_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            replace_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(replace_database("postgres://h", "x"), "postgres://h/x");
    }
}
