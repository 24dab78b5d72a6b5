//! The migration runner: one ordered history for both databases.
//!
//! sqlx's own migrator keeps one directory per database, which would be two histories. Ours is
//! a list of versions, each with SQL for both databases (usually the same file), recorded in
//! `schema_migrations` with a checksum so that an edited migration is refused rather than
//! silently diverging between installations.

use chrono::Utc;
use sha2::{Digest, Sha256};

use crate::{Backend, Db, DbError, on_conn};

/// One step of the schema history.
#[derive(Debug)]
pub struct Migration {
    /// Position in the history, from 1.
    pub version: i64,
    /// Short name (the file name without number and extension).
    pub name: &'static str,
    /// SQL for SQLite.
    pub sqlite: &'static str,
    /// SQL for PostgreSQL.
    pub postgres: &'static str,
}

impl Migration {
    /// The SQL for `backend`.
    pub fn sql(&self, backend: Backend) -> &'static str {
        match backend {
            Backend::Sqlite => self.sqlite,
            Backend::Postgres => self.postgres,
        }
    }

    /// SHA-256 of the SQL for `backend`, hex-encoded.
    pub fn checksum(&self, backend: Backend) -> String {
        hex::encode(Sha256::digest(self.sql(backend).as_bytes()))
    }
}

macro_rules! both {
    ($v:expr, $file:literal, $name:literal) => {
        Migration {
            version: $v,
            name: $name,
            sqlite: include_str!(concat!("../migrations/", $file, ".sql")),
            postgres: include_str!(concat!("../migrations/", $file, ".sql")),
        }
    };
}

macro_rules! pair {
    ($v:expr, $file:literal, $name:literal) => {
        Migration {
            version: $v,
            name: $name,
            sqlite: include_str!(concat!("../migrations/", $file, ".sqlite.sql")),
            postgres: include_str!(concat!("../migrations/", $file, ".postgres.sql")),
        }
    };
}

/// The whole history, in order. Append only.
pub static MIGRATIONS: &[Migration] = &[
    both!(1, "0001_regions", "regions"),
    both!(2, "0002_providers", "providers"),
    both!(3, "0003_users", "users"),
    both!(4, "0004_sessions_and_tokens", "sessions_and_tokens"),
    both!(5, "0005_login_throttle", "login_throttle"),
    both!(6, "0006_audit_log", "audit_log"),
    pair!(7, "0007_audit_append_only", "audit_append_only"),
    both!(8, "0008_data_versions", "data_versions"),
    both!(9, "0009_elders", "elders"),
    both!(10, "0010_domain_events", "domain_events"),
    both!(11, "0011_policy_params", "policy_params"),
    both!(12, "0012_assessment_agencies", "assessment_agencies"),
    both!(13, "0013_assessments", "assessments"),
    pair!(14, "0014_elder_name_order", "elder_name_order"),
    both!(15, "0015_import_batches", "import_batches"),
    both!(16, "0016_search_indexes", "search_indexes"),
    both!(17, "0017_service_lists", "service_lists"),
    both!(18, "0018_eligibility", "eligibility"),
    both!(19, "0019_applications", "applications"),
    both!(20, "0020_evidence_files", "evidence_files"),
    both!(21, "0021_facilities", "facilities"),
    both!(22, "0022_facility_photos", "facility_photos"),
    both!(23, "0023_service_prices", "service_prices"),
    both!(24, "0024_home_services", "home_services"),
    both!(25, "0025_dispatch_and_plans", "dispatch_and_plans"),
    both!(26, "0026_visit_ratings", "visit_ratings"),
    both!(27, "0027_patrols", "patrols"),
    both!(28, "0028_family_beds", "family_beds"),
    both!(29, "0029_visit_signatures", "visit_signatures"),
    both!(30, "0030_visits_by_check_out", "visits_by_check_out"),
    both!(31, "0031_id_masks", "id_masks"),
    both!(32, "0032_signature_visits", "signature_visits"),
    both!(33, "0033_statement_payer", "statement_payer"),
    both!(34, "0034_rating_sources", "rating_sources"),
    both!(35, "0035_category_details", "category_details"),
    both!(36, "0036_virtual_stations", "virtual_stations"),
    both!(37, "0037_correction_reasons", "correction_reasons"),
    both!(38, "0038_credit_records", "credit_records"),
    both!(39, "0039_work_calendar", "work_calendar"),
    both!(40, "0040_idempotency_keys", "idempotency_keys"),
    both!(41, "0041_visit_code_misses", "visit_code_misses"),
    both!(42, "0042_notifications", "notifications"),
    both!(43, "0043_saved_filters", "saved_filters"),
    both!(44, "0044_purchase", "purchase"),
    both!(45, "0045_payment_batches", "payment_batches"),
    pair!(46, "0046_acceptance_evaluation", "acceptance_evaluation"),
    pair!(
        47,
        "0047_registry_order_and_tails",
        "registry_order_and_tails"
    ),
    both!(48, "0048_notification_keys", "notification_keys"),
    both!(49, "0049_bid_documents", "bid_documents"),
];

/// Landed migrations are never edited — with one exception: a comment that said something
/// false may be corrected. The checksum each version had before such a correction is listed
/// here (version, backend, former SHA-256), so databases that ran the old text stay current.
/// Nothing but comments may differ; the test below holds the SQL equal.
static AMENDED_COMMENTS: &[(i64, Backend, &str)] = &[
    // 0006/0007 claimed the head row and `audit verify` catch deleted newest entries and dropped
    // triggers; without anchors kept outside the database they do not (issue 15).
    (
        6,
        Backend::Sqlite,
        "6bb50b333ceab02f81cf18325d5f6ff6de79d064bfa0c9a3b1d51952e4e3f1b3",
    ),
    (
        6,
        Backend::Postgres,
        "6bb50b333ceab02f81cf18325d5f6ff6de79d064bfa0c9a3b1d51952e4e3f1b3",
    ),
    (
        7,
        Backend::Sqlite,
        "f7e44e45b6e38d3d9a1f0ee4f9686a2bb7468abaf4c1d5283a444c0a12990578",
    ),
    (
        7,
        Backend::Postgres,
        "54dd4ea10ba0e6f4b7489f5f29be13f82d322e77bb3b53a0631ae2c15dab5b06",
    ),
];

/// SHA-256 of the amended migrations' statements (comment lines left out), as they were when
/// they landed: the test below fails if anything but a comment changes.
#[cfg(test)]
static AMENDED_STATEMENTS: &[(i64, Backend, &str)] = &[
    (
        6,
        Backend::Sqlite,
        "d6d63670e374707d4a0652125ee34f2af27a9a55a004ac76e3f9be8e91420efd",
    ),
    (
        7,
        Backend::Sqlite,
        "d101ce5685baa489e906cc6e63799b615de23ea042cce5bb85ca0004fc55fcf3",
    ),
    (
        7,
        Backend::Postgres,
        "8a5bfb283c16fb294bb4d905b3cbeffcd01d391b9eec92e49b35d1bbe3c916a7",
    ),
];

/// Whether `checksum` is the migration's, now or before a comment was corrected.
fn accepted_checksum(m: &Migration, backend: Backend, checksum: &str) -> bool {
    m.checksum(backend) == checksum
        || AMENDED_COMMENTS
            .iter()
            .any(|(v, b, old)| *v == m.version && *b == backend && *old == checksum)
}

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL
)";

/// Where the database stands against this program's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// Versions applied.
    pub applied: Vec<i64>,
    /// Migrations this program has that the database lacks, in order.
    pub pending: Vec<(i64, &'static str)>,
}

impl MigrationStatus {
    /// Whether the schema is current.
    pub fn is_current(&self) -> bool {
        self.pending.is_empty()
    }
}

#[derive(sqlx::FromRow)]
struct AppliedRow {
    version: i64,
    name: String,
    checksum: String,
}

async fn applied(db: &Db) -> Result<Vec<AppliedRow>, DbError> {
    let mut c = db.acquire().await?;
    let rows = on_conn!(&mut c.conn(), |c| {
        sqlx::query(CREATE_TABLE).execute(&mut *c).await?;
        sqlx::query_as::<_, AppliedRow>(
            "SELECT version, name, checksum FROM schema_migrations ORDER BY version",
        )
        .fetch_all(&mut *c)
        .await
    })?;
    Ok(rows)
}

/// Compares the database with [`MIGRATIONS`]. Fails if an applied migration was edited or
/// the database has migrations this program does not know (it is newer than this program).
pub async fn status(db: &Db) -> Result<MigrationStatus, DbError> {
    check(db.backend(), &applied(db).await?)
}

fn check(backend: Backend, rows: &[AppliedRow]) -> Result<MigrationStatus, DbError> {
    for row in rows {
        let Some(m) = MIGRATIONS.iter().find(|m| m.version == row.version) else {
            return Err(DbError::Migration(format!(
                "数据库包含本程序不认识的迁移 {:04}_{}：数据库比程序新，请升级 jinglao",
                row.version, row.name
            )));
        };
        if !accepted_checksum(m, backend, &row.checksum) {
            return Err(DbError::Migration(format!(
                "迁移 {:04}_{} 在执行后被修改过（校验和不符）；已执行的迁移不得修改",
                m.version, m.name
            )));
        }
    }
    let applied: Vec<i64> = rows.iter().map(|r| r.version).collect();
    let pending = MIGRATIONS
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .map(|m| (m.version, m.name))
        .collect();
    Ok(MigrationStatus { applied, pending })
}

/// Applies every pending migration, each in its own transaction, and returns what was applied.
/// Safe to run from several processes at once: PostgreSQL takes an advisory lock, SQLite's
/// `BEGIN IMMEDIATE` serialises writers, and each step re-checks that it is still pending.
pub async fn run(db: &Db) -> Result<Vec<(i64, &'static str)>, DbError> {
    let backend = db.backend();
    status(db).await?;
    let mut done = Vec::new();
    for m in MIGRATIONS {
        let mut tx = db.begin().await?;
        let mut conn = tx.conn();
        let already: Option<i64> = on_conn!(&mut conn, |c| {
            if backend == Backend::Postgres {
                sqlx::query("SELECT pg_advisory_xact_lock(727072)")
                    .execute(&mut *c)
                    .await?;
            }
            sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                .bind(m.version)
                .fetch_optional(&mut *c)
                .await
        })?;
        if already.is_some() {
            continue;
        }
        tracing::info!(version = m.version, name = m.name, "applying migration");
        on_conn!(&mut conn, |c| {
            sqlx::raw_sql(m.sql(backend)).execute(&mut *c).await?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, name, checksum, applied_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(m.version)
            .bind(m.name)
            .bind(m.checksum(backend))
            .bind(Utc::now())
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
        })
        .map_err(|e| {
            DbError::Migration(format!("迁移 {:04}_{} 执行失败：{e}", m.version, m.name))
        })?;
        if m.version == 46 && backend == Backend::Sqlite {
            // 0046 rewrites the users table's CHECK in place; if the stored text was not what it
            // expected, nothing changed: stop rather than leave a role that cannot be stored.
            let sql: String = on_conn!(&mut conn, |c| {
                sqlx::query_scalar(
                    "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'users'",
                )
                .fetch_one(&mut *c)
                .await
            })?;
            if !sql.contains("'evaluator'") {
                return Err(DbError::Migration(
                    "迁移 0046：未能在 users 表的角色约束中加入 evaluator（表定义与预期不同）"
                        .into(),
                ));
            }
        }
        tx.commit().await?;
        done.push((m.version, m.name));
    }
    // Reference data that ships with the code: calendar years not yet in the database.
    crate::calendar::load_shipped(db).await?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_consecutive_from_one() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1, "{}", m.name);
        }
    }

    #[test]
    fn an_edited_migration_is_refused() {
        let rows = vec![AppliedRow {
            version: 1,
            name: "regions".into(),
            checksum: "edited".into(),
        }];
        let err = check(Backend::Sqlite, &rows).unwrap_err();
        assert!(err.to_string().contains("被修改过"), "{err}");
    }

    #[test]
    fn a_migration_whose_comment_was_corrected_keeps_its_statements_and_its_former_checksum() {
        for (version, backend, statements) in AMENDED_STATEMENTS {
            let m = MIGRATIONS.iter().find(|m| m.version == *version).unwrap();
            let body: Vec<&str> = m
                .sql(*backend)
                .split('\n')
                .filter(|l| !l.trim().starts_with("--"))
                .collect();
            let digest = hex::encode(Sha256::digest(body.join("\n").as_bytes()));
            assert_eq!(
                &digest, statements,
                "{:04} on {backend:?}: only comments may change",
                version
            );
        }
        // A database that ran the text before the correction is current.
        let rows = vec![AppliedRow {
            version: 6,
            name: "audit_log".into(),
            checksum: "6bb50b333ceab02f81cf18325d5f6ff6de79d064bfa0c9a3b1d51952e4e3f1b3".into(),
        }];
        assert!(check(Backend::Sqlite, &rows).is_ok());
        assert!(check(Backend::Postgres, &rows).is_ok());
    }

    #[test]
    fn a_database_newer_than_the_program_is_refused() {
        let rows = vec![AppliedRow {
            version: 9999,
            name: "future".into(),
            checksum: String::new(),
        }];
        let err = check(Backend::Postgres, &rows).unwrap_err();
        assert!(err.to_string().contains("比程序新"), "{err}");
    }
}
