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

pub mod audit;
pub mod audit_anchor;
pub mod calendar;
mod conn;
pub mod crypto;
mod error;
pub mod idempotency;
pub mod migrate;
pub mod notify;
pub mod policy;
pub mod regions;
pub mod saved_filters;
mod scope_sql;
pub mod sessions;
pub mod sms;
pub mod throttle;
pub mod tokens;
pub mod users;
pub mod versions;
pub mod worklist;
mod write;

// Areas (each a folder); their modules keep their flat paths (`jinglao_db::orders`).
pub mod capability;
pub mod entitlement;
pub mod home_services;
pub mod purchase;
pub mod registry;
pub mod supply;
pub use capability::{agencies, assessments};
pub use entitlement::{
    applications, deadline_reminders, eligibility, entitlements, evidence, service_lists, worklists,
};
pub use home_services::{
    dispatch, family_beds, orders, patrols, plans, prices, satisfaction, statements, visit_bulk,
    visit_gate, visit_queue, visit_signals, visits,
};
use home_services::{visit_batch, visit_check};
pub use registry::{
    elder_bulk, elder_import, elder_search, elders, life_events, population, search_keys,
};
pub use supply::{
    beds, credit, facilities, facility_bulk, facility_photos, finder, providers, ratings, staff,
};

#[cfg(feature = "testing")]
pub mod testing;
#[cfg(feature = "testing")]
pub mod testing_contract;

pub use audit::Actor;
pub use conn::{Backend, Conn, Db, PoolSettings, PooledConn, Tx, redact_url};
pub use error::DbError;
pub use write::WriteCtx;

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
    on_conn!(&mut c.conn(), |c| {
        sqlx::query("VACUUM INTO $1")
            .bind(&target)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}
