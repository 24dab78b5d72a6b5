//! Storage for jinglao: one code path for SQLite (the embedded default) and PostgreSQL (the
//! production database).
//!
//! Every query is written once, in the SQL both databases accept (`$1` placeholders, standard
//! types, `ON CONFLICT`, `RETURNING`), and compiled for both drivers by the [`on_conn!`]
//! macro, so values are bound and decoded natively by each driver (UUIDs as `UUID` in
//! PostgreSQL, timestamps as `TIMESTAMPTZ`, booleans as `BOOLEAN`). Repositories take and
//! return domain types; database rows never leave this crate.
//!
//! Writes go through a [`Tx`], and every write function that changes data also appends its
//! audit entry in the same transaction, so a change and its audit record commit or fail
//! together.

pub mod agencies;
pub mod applications;
pub mod assessments;
pub mod audit;
pub mod audit_anchor;
pub mod beds;
pub mod calendar;
mod conn;
pub mod credit;
pub mod crypto;
pub mod dispatch;
pub mod elder_bulk;
pub mod elder_import;
pub mod elder_search;
pub mod elders;
pub mod eligibility;
pub mod entitlements;
mod error;
pub mod evidence;
pub mod facilities;
pub mod facility_bulk;
pub mod facility_photos;
pub mod family_beds;
pub mod finder;
pub mod idempotency;
pub mod life_events;
pub mod migrate;
pub mod orders;
pub mod patrols;
pub mod plans;
pub mod policy;
pub mod population;
pub mod prices;
pub mod providers;
pub mod ratings;
pub mod regions;
pub mod satisfaction;
mod scope_sql;
pub mod service_lists;
pub mod sessions;
pub mod staff;
pub mod statements;
pub mod throttle;
pub mod tokens;
pub mod users;
mod visit_batch;
pub mod visit_bulk;
mod visit_check;
pub mod visit_queue;
pub mod visit_signals;
pub mod visits;
pub mod worklists;

#[cfg(feature = "testing")]
pub mod testing;

pub use audit::Actor;
pub use conn::{Backend, Conn, Db, PoolSettings, PooledConn, Tx, redact_url};
pub use error::DbError;

/// Result type of this crate.
pub type Result<T, E = DbError> = std::result::Result<T, E>;

/// Writes a consistent copy of a SQLite database to `path` while it stays in use
/// (`VACUUM INTO`: one read transaction, so writers are not blocked in WAL mode).
pub async fn backup_sqlite(db: &Db, path: &std::path::Path) -> Result<()> {
    if db.backend() != Backend::Sqlite {
        return Err(DbError::Config("只有 SQLite 数据库可以这样备份".into()));
    }
    let target = path.to_string_lossy().to_string();
    let mut c = db.acquire().await?;
    on_conn!(&mut c.conn(), c => {
        sqlx::query("VACUUM INTO $1")
            .bind(&target)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}
