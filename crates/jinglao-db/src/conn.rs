//! Connections: the [`Db`] pool chosen from the URL, pooled connections, transactions, and the
//! [`on_conn!`] macro that compiles one query body for both drivers.

use std::str::FromStr;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};

use crate::DbError;

/// Which database engine is behind a [`Db`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite (the default; one file).
    Sqlite,
    /// PostgreSQL (production).
    Postgres,
}

impl Backend {
    /// The backend a URL selects: `sqlite:` or `postgres:`/`postgresql:`.
    pub fn from_url(url: &str) -> Result<Backend, DbError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            Err(DbError::Config(format!(
                "数据库地址应以 sqlite:// 或 postgres:// 开头，实际为“{}”",
                redact_url(url)
            )))
        }
    }

    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Pool tuning, from configuration.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Maximum open connections.
    pub max_connections: u32,
    /// How long SQLite waits for a lock before giving up.
    pub busy_timeout: Duration,
    /// How long to wait for a free connection.
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            max_connections: 8,
            busy_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone)]
enum Pool {
    /// Readers, and the one connection that writes (see [`Db::begin`]).
    Sqlite(SqlitePool, SqlitePool),
    Postgres(PgPool),
}

/// A pool of connections to SQLite or PostgreSQL.
#[derive(Debug, Clone)]
pub struct Db {
    pool: Pool,
    url: String,
    /// SQLite only: one write transaction at a time per process. Writers queue here, in
    /// order, instead of in SQLite's busy handler, which polls with sleeps of up to 100 ms:
    /// under many concurrent writers (caregivers checking in) the sleeps, not the writes,
    /// set the pace. Another process writing the same file still meets the busy timeout.
    write_gate: Option<std::sync::Arc<tokio::sync::Semaphore>>,
    busy_timeout: Duration,
}

/// Each SQLite connection's page cache (`PRAGMA cache_size`; negative: KiB), about 32 MB.
pub(crate) const SQLITE_CACHE_SIZE: &str = "-32000";

/// How much of the SQLite file each connection reads through a memory map (`PRAGMA
/// mmap_size`): up to SQLite's compiled-in ceiling of just under 2 GiB. Searching a million
/// people reads thousands of scattered rows; through the map they come from the operating
/// system's page cache without a `pread` call and a copy each. Writes still go through the
/// WAL as before. It is address space, not memory: pages are shared with the OS cache.
///
/// Only the reading connections map the file. A connection whose file changed under it
/// (another connection committed) unmaps the whole map at its next transaction; on the writing
/// connection, which sees no one else's writes, there is nothing to gain and under a stream of
/// small writes (check-ins) the unmapping and re-faulting took a quarter of the server's time.
pub(crate) const SQLITE_MMAP_SIZE: &str = "2147418112";

impl Db {
    /// Opens a pool for `url`. SQLite files are created if missing and run in WAL mode with
    /// foreign keys enforced and a busy timeout.
    pub async fn connect(url: &str, settings: &PoolSettings) -> Result<Db, DbError> {
        let pool = match Backend::from_url(url)? {
            Backend::Sqlite => {
                // SQLite's own allocations go to mimalloc; must precede the first connection.
                if jinglao_sqlite_mem::install() == jinglao_sqlite_mem::Installed::TooLate {
                    tracing::warn!(
                        "SQLite was initialised before jinglao configured it; it keeps the C library's allocator"
                    );
                }
                let opts = SqliteConnectOptions::from_str(url)
                    .map_err(|e| DbError::Config(format!("SQLite 地址无效：{e}")))?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(settings.busy_timeout)
                    .pragma("temp_store", "memory")
                    .pragma("cache_size", SQLITE_CACHE_SIZE)
                    .pragma("mmap_size", SQLITE_MMAP_SIZE);
                // No liveness ping on every acquire: a local file does not hang up, and the
                // ping is a round trip to the connection's worker thread that doubled the cost
                // of small queries.
                let pool = |max: u32| {
                    SqlitePoolOptions::new()
                        .max_connections(max)
                        .acquire_timeout(settings.acquire_timeout)
                        .test_before_acquire(false)
                };
                // The writer first: it creates the file and switches it to WAL.
                let writer = pool(1)
                    .connect_with(opts.clone().pragma("mmap_size", "0"))
                    .await?;
                let readers = pool(settings.max_connections).connect_with(opts).await?;
                Pool::Sqlite(readers, writer)
            }
            Backend::Postgres => {
                let opts = PgConnectOptions::from_str(url)
                    .map_err(|e| DbError::Config(format!("PostgreSQL 地址无效：{e}")))?
                    .application_name("jinglao");
                // Ping a connection before use only when it has been idle for a while (the
                // server or a firewall may have dropped it); a ping before every query would
                // add a network round trip to each one.
                Pool::Postgres(
                    PgPoolOptions::new()
                        .max_connections(settings.max_connections)
                        .acquire_timeout(settings.acquire_timeout)
                        .test_before_acquire(false)
                        .before_acquire(|conn, meta| {
                            Box::pin(async move {
                                if meta.idle_for > Duration::from_secs(30) {
                                    use sqlx::Connection;
                                    conn.ping().await?;
                                }
                                Ok(true)
                            })
                        })
                        .connect_with(opts)
                        .await?,
                )
            }
        };
        let write_gate = matches!(pool, Pool::Sqlite(..))
            .then(|| std::sync::Arc::new(tokio::sync::Semaphore::new(1)));
        Ok(Db {
            pool,
            url: url.to_string(),
            write_gate,
            busy_timeout: settings.busy_timeout,
        })
    }

    /// The engine behind this pool.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(..) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// The URL with any password replaced by `***`, for logs and messages.
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }

    /// Takes a connection from the pool for reads.
    pub async fn acquire(&self) -> Result<PooledConn, DbError> {
        Ok(match &self.pool {
            Pool::Sqlite(p, _) => PooledConn::Sqlite(p.acquire().await?),
            Pool::Postgres(p) => PooledConn::Postgres(p.acquire().await?),
        })
    }

    /// Starts a write transaction. On SQLite it is `BEGIN IMMEDIATE`, which takes the write
    /// lock at once: a deferred transaction that reads and then writes could otherwise fail
    /// with `SQLITE_BUSY` when another writer committed in between. SQLite has one writer at a
    /// time anyway; every transaction runs on the same connection, whose page cache therefore
    /// stays valid from one transaction to the next (a connection that sees another's commit
    /// drops its cache and reads the pages again).
    pub async fn begin(&self) -> Result<Tx, DbError> {
        Ok(match &self.pool {
            Pool::Sqlite(_, p) => {
                let permit = match &self.write_gate {
                    Some(gate) => {
                        let wait = gate.clone().acquire_owned();
                        match tokio::time::timeout(self.busy_timeout, wait).await {
                            Ok(Ok(permit)) => Some(permit),
                            // Closed never happens; a wait as long as SQLite's own busy
                            // timeout fails the same way (retryable).
                            _ => return Err(DbError::Sqlx(sqlx::Error::PoolTimedOut)),
                        }
                    }
                    None => None,
                };
                Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?, permit)
            }
            Pool::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// Checks that the database answers (`/readyz`).
    pub async fn ping(&self) -> Result<(), DbError> {
        let mut c = self.acquire().await?;
        crate::on_conn!(&mut c.conn(), |c| {
            sqlx::query("SELECT 1").execute(c).await.map(|_| ())
        })?;
        Ok(())
    }

    /// Closes every connection (on shutdown).
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(readers, writer) => {
                readers.close().await;
                writer.close().await;
            }
            Pool::Postgres(p) => p.close().await,
        }
    }
}

/// A connection borrowed from the pool.
#[derive(Debug)]
pub enum PooledConn {
    /// SQLite.
    Sqlite(PoolConnection<Sqlite>),
    /// PostgreSQL.
    Postgres(PoolConnection<Postgres>),
}

impl PooledConn {
    /// The connection, for repository functions.
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            PooledConn::Sqlite(c) => Conn::Sqlite(c),
            PooledConn::Postgres(c) => Conn::Postgres(c),
        }
    }
}

/// An open transaction. Dropping it without [`Tx::commit`] rolls it back.
#[derive(Debug)]
pub enum Tx {
    /// SQLite, with this process's write permit (released when the transaction ends).
    Sqlite(
        Transaction<'static, Sqlite>,
        Option<tokio::sync::OwnedSemaphorePermit>,
    ),
    /// PostgreSQL.
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    /// The transaction's connection, for repository functions.
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            Tx::Sqlite(t, _) => Conn::Sqlite(t),
            Tx::Postgres(t) => Conn::Postgres(t),
        }
    }

    /// Makes the changes permanent.
    pub async fn commit(self) -> Result<(), DbError> {
        match self {
            Tx::Sqlite(t, permit) => {
                t.commit().await?;
                drop(permit);
            }
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}

/// A borrowed connection of either kind: what repository functions take.
#[derive(Debug)]
pub enum Conn<'c> {
    /// SQLite.
    Sqlite(&'c mut SqliteConnection),
    /// PostgreSQL.
    Postgres(&'c mut PgConnection),
}

impl Conn<'_> {
    /// A shorter-lived handle on the same connection, for a helper that takes its `Conn` by
    /// value within the caller's transaction.
    pub fn reborrow(&mut self) -> Conn<'_> {
        match self {
            Conn::Sqlite(c) => Conn::Sqlite(c),
            Conn::Postgres(c) => Conn::Postgres(c),
        }
    }

    /// The engine behind this connection (for the rare dialect difference, such as
    /// `FOR UPDATE`, which SQLite does not need because its writers are serialised).
    pub fn backend(&self) -> Backend {
        match self {
            Conn::Sqlite(_) => Backend::Sqlite,
            Conn::Postgres(_) => Backend::Postgres,
        }
    }

    /// `" FOR UPDATE"` on PostgreSQL, empty on SQLite.
    pub fn for_update(&self) -> &'static str {
        match self {
            Conn::Sqlite(_) => "",
            Conn::Postgres(_) => " FOR UPDATE",
        }
    }
}

/// Runs `$body` with `$c` bound to the concrete driver connection (`&mut SqliteConnection` or
/// `&mut PgConnection`). The body is written once and compiled for both drivers.
///
/// Written like a closure, `on_conn!(conn, |c| body)`, so that rustfmt can read and format
/// the body (it leaves macro arguments alone unless they parse as expressions). It is not a
/// closure: the body runs in place, so `.await` and `?` work as in the surrounding function.
#[macro_export]
macro_rules! on_conn {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::Conn::Sqlite($c) => {
                let $c: &mut ::sqlx::SqliteConnection = &mut **$c;
                $body
            }
            $crate::Conn::Postgres($c) => {
                let $c: &mut ::sqlx::PgConnection = &mut **$c;
                $body
            }
        }
    };
}

/// Replaces the password in a database URL with `***`.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((userinfo, host)) = rest.split_once('@')
        && let Some((user, _password)) = userinfo.split_once(':')
    {
        return format!("{scheme}://{user}:***@{host}");
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_appear_in_a_redacted_url() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db.internal:5432/jinglao"),
            "postgres://app:***@db.internal:5432/jinglao"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
        assert_eq!(redact_url("sqlite://a.db"), "sqlite://a.db");
    }

    #[test]
    fn the_url_scheme_selects_the_backend() {
        assert_eq!(Backend::from_url("sqlite://x.db").unwrap(), Backend::Sqlite);
        assert_eq!(
            Backend::from_url("postgresql://h/db").unwrap(),
            Backend::Postgres
        );
        assert!(Backend::from_url("mysql://h/db").is_err());
    }
}
