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
    /// A new, empty, migrated database on `backend`: a copy of one migrated once per test
    /// process (see [`Template`]).
    pub async fn new(backend: Backend) -> TestDb {
        static MIGRATED: Template<()> = Template::new();
        MIGRATED
            .instantiate(backend, async |db: &Db| {
                crate::migrate::run(db).await.expect("migrations run");
            })
            .await
            .0
    }

    /// A new, empty database with no schema at all.
    pub async fn unmigrated(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path = dir.path().join("test.db");
                Self::open_sqlite(dir, path).await
            }
            Backend::Postgres => {
                let name = format!("jl_test_{}", uuid::Uuid::now_v7().simple());
                postgres_admin(&format!("CREATE DATABASE {name}")).await;
                Self::open_postgres(name).await
            }
        }
    }

    /// Opens the SQLite file `path` in `dir` (deleted with the database).
    async fn open_sqlite(dir: tempfile::TempDir, path: PathBuf) -> TestDb {
        let url = format!("sqlite://{}", path.display());
        let db = Db::connect(&url, &test_pool()).await.expect("open sqlite");
        TestDb {
            db,
            url,
            _dir: Some(dir),
            pg_name: None,
        }
    }

    /// Opens the PostgreSQL database `name` (dropped with the database).
    async fn open_postgres(name: String) -> TestDb {
        let url = replace_database(&postgres_admin_url(), &name);
        let db = Db::connect(&url, &test_pool())
            .await
            .expect("open test database");
        TestDb {
            db,
            url,
            _dir: None,
            pg_name: Some(name),
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
        on_conn!(&mut c.conn(), |c| {
            sqlx::raw_sql(drop_triggers)
                .execute(&mut *c)
                .await
                .expect("dropping the triggers works");
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(&mut *c)
                .await
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
                postgres_admin(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
            });
        })
        .join();
    }
}

/// Pool settings of a test database.
fn test_pool() -> PoolSettings {
    PoolSettings {
        max_connections: 4,
        ..PoolSettings::default()
    }
}

/// Runs one statement on the PostgreSQL server's administrative database (creating and
/// dropping test databases), failing loudly when the server is not reachable.
async fn postgres_admin(sql: &str) {
    let admin_url = postgres_admin_url();
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
    let sql = sql.to_string();
    on_conn!(&mut c.conn(), |c| {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })
    .unwrap_or_else(|e| panic!("`{sql}` failed on the test server: {e}"));
    drop(c);
    admin.close().await;
}

/// Names of the PostgreSQL databases on the test server that start with `prefix` (compared
/// exactly, not as a `LIKE` pattern).
async fn postgres_databases(prefix: &str) -> Vec<String> {
    let admin = Db::connect(&postgres_admin_url(), &PoolSettings::default())
        .await
        .expect("the PostgreSQL test server is reachable");
    let mut c = admin.acquire().await.expect("admin connection");
    let names = on_conn!(&mut c.conn(), |c| {
        sqlx::query_scalar::<_, String>("SELECT datname FROM pg_database")
            .fetch_all(&mut *c)
            .await
    })
    .expect("the database list reads");
    drop(c);
    admin.close().await;
    names
        .into_iter()
        .filter(|n| n.starts_with(prefix))
        .collect()
}

/// A database built once per test process — migrated, and seeded by the caller's `build` —
/// and copied for every test that asks for one: a file copy on SQLite, `CREATE DATABASE …
/// TEMPLATE` on PostgreSQL. Building (migrations, a region tree, password hashes) costs far
/// more than copying, and each test still gets a database of its own.
///
/// The value `build` returns (ids, generated passwords) is handed to every copy. Templates
/// live until the process ends; a later test process removes those whose process is gone.
pub struct Template<T> {
    sqlite: tokio::sync::OnceCell<(TemplateSource, T)>,
    postgres: tokio::sync::OnceCell<(TemplateSource, T)>,
}

/// Where a built template is.
enum TemplateSource {
    /// A SQLite file (in a directory kept for the process's life).
    Sqlite(PathBuf),
    /// A PostgreSQL database name.
    Postgres(String),
}

/// Prefix of template names: `jl_tpl_<host>_<pid>_<n>_<random>` (databases) and
/// `jl-tpl-<pid>-<n>` (directories in this machine's temporary directory).
const TEMPLATE_PREFIX: &str = "jl_tpl_";

/// Eight hex digits naming this machine (from its host name), so that test processes of
/// several machines sharing one PostgreSQL server never judge each other's templates.
fn host_tag() -> String {
    use sha2::Digest;
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_default();
    hex::encode(&sha2::Sha256::digest(host.trim().as_bytes())[..4])
}

impl<T: Clone + Send + Sync> Template<T> {
    /// An unbuilt template (for a `static`).
    pub const fn new() -> Self {
        Template {
            sqlite: tokio::sync::OnceCell::const_new(),
            postgres: tokio::sync::OnceCell::const_new(),
        }
    }

    /// A fresh copy of the template on `backend` (building the template first if this is the
    /// first call in the process) and the value its build returned.
    pub async fn instantiate(
        &self,
        backend: Backend,
        build: impl AsyncFnOnce(&Db) -> T,
    ) -> (TestDb, T) {
        let cell = match backend {
            Backend::Sqlite => &self.sqlite,
            Backend::Postgres => &self.postgres,
        };
        let (source, value) = cell
            .get_or_init(async || Self::build(backend, build).await)
            .await;
        let db = match source {
            TemplateSource::Sqlite(file) => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path = dir.path().join("test.db");
                std::fs::copy(file, &path).expect("the template file copies");
                TestDb::open_sqlite(dir, path).await
            }
            TemplateSource::Postgres(template) => {
                let name = format!("jl_test_{}", uuid::Uuid::now_v7().simple());
                postgres_admin(&format!(
                    "CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY"
                ))
                .await;
                TestDb::open_postgres(name).await
            }
        };
        (db, value.clone())
    }

    async fn build(backend: Backend, build: impl AsyncFnOnce(&Db) -> T) -> (TemplateSource, T) {
        static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let pid = std::process::id();
        match backend {
            Backend::Sqlite => {
                let parent = std::env::temp_dir();
                remove_stale_template_dirs(&parent);
                let dir = parent.join(format!("jl-tpl-{pid}-{n}"));
                std::fs::create_dir_all(&dir).expect("a template directory");
                let scratch = dir.join("build.db");
                let url = format!("sqlite://{}", scratch.display());
                let db = Db::connect(&url, &test_pool()).await.expect("open sqlite");
                let value = build(&db).await;
                // One self-contained file, whatever the journal mode left beside it.
                let file = dir.join("template.db");
                let _ = std::fs::remove_file(&file);
                let mut c = db.acquire().await.expect("a connection");
                let into = format!("VACUUM INTO '{}'", file.display());
                on_conn!(&mut c.conn(), |c| {
                    sqlx::raw_sql(sqlx::AssertSqlSafe(into.clone()))
                        .execute(&mut *c)
                        .await
                        .map(|r| r.rows_affected())
                })
                .expect("the template is written");
                drop(c);
                db.close().await;
                (TemplateSource::Sqlite(file), value)
            }
            Backend::Postgres => {
                // Only this machine's templates are judged (by its process table); another
                // machine's on a shared server are never touched.
                let ours = format!("{TEMPLATE_PREFIX}{}_", host_tag());
                for stale in postgres_databases(TEMPLATE_PREFIX).await {
                    let Some(rest) = stale.strip_prefix(&ours) else {
                        continue;
                    };
                    let plain = stale
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
                    if plain && !owner_alive(rest, '_') {
                        postgres_admin(&format!(
                            "DROP DATABASE IF EXISTS \"{stale}\" WITH (FORCE)"
                        ))
                        .await;
                    }
                }
                let name = format!(
                    "{ours}{pid}_{n}_{}",
                    &uuid::Uuid::now_v7().simple().to_string()[24..]
                );
                postgres_admin(&format!("CREATE DATABASE {name}")).await;
                let url = replace_database(&postgres_admin_url(), &name);
                let db = Db::connect(&url, &test_pool())
                    .await
                    .expect("open the template database");
                let value = build(&db).await;
                // A template takes no copies while anyone is connected to it.
                db.close().await;
                (TemplateSource::Postgres(name), value)
            }
        }
    }
}

impl<T: Clone + Send + Sync> Default for Template<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether the process whose id starts `rest` (up to `sep`) is still running.
fn owner_alive(rest: &str, sep: char) -> bool {
    match rest.split(sep).next().and_then(|p| p.parse::<u32>().ok()) {
        Some(pid) => std::path::Path::new(&format!("/proc/{pid}")).exists(),
        // Not one of ours: leave it alone.
        None => true,
    }
}

/// Removes template directories under `parent` left by test processes that have ended.
fn remove_stale_template_dirs(parent: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(rest) = name.strip_prefix("jl-tpl-")
            && !owner_alive(rest, '-')
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
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
