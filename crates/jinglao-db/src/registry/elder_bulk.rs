//! Writing many new records at once (imports and generated populations): multi-row
//! statements inside the caller's transaction, sized to stay under SQLite's limit of 32,766
//! bound values per statement.

use chrono::{DateTime, NaiveDate, Utc};
use jinglao_domain::RegionCode;
use jinglao_domain::category::CategoryInput;
use jinglao_domain::elder::{ElderInput, IncomeSource, MedicalPayment};
use uuid::Uuid;

use crate::elders::{Sealed, SealedContact, SealedPhone};
use crate::{Conn, Db, DbError, on_conn};

/// The ability fields of a new record (from an assessment loaded with it).
#[derive(Debug, Clone, Copy)]
pub struct Ability {
    /// Final level, 0–4.
    pub level: i32,
    /// Reference date of the assessment.
    pub assessed_on: NaiveDate,
    /// Next routine assessment.
    pub due: NaiveDate,
    /// A dementia diagnosis in it.
    pub dementia: bool,
}

/// A new record to insert.
pub(crate) struct NewElder<'a> {
    pub(crate) id: Uuid,
    pub(crate) input: &'a ElderInput,
    pub(crate) sealed: &'a Sealed,
    pub(crate) ability: Option<Ability>,
}

fn join_labels<T: Copy>(items: &[T], name: fn(T) -> &'static str) -> String {
    items.iter().map(|v| name(*v)).collect::<Vec<_>>().join(",")
}

/// Inserts the records with their phones and contacts.
pub(crate) async fn insert_many(
    conn: &mut Conn<'_>,
    rows: &[NewElder<'_>],
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    // 32 values per row: 1,000 rows stay under SQLite's 32,766 bound values.
    for chunk in rows.chunks(1000) {
        on_conn!(conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO elders (id, name, id_cipher, id_hash, id_masked, birth_date, sex, ethnicity, \
                 hukou_region_code, residence_region_code, address, longitude, latitude, living_arrangement, \
                 marital_status, education, income_sources, medical_payments, children_count, children_local, \
                 children_can_care, under_age_reason, status, content_digest, ability_level, \
                 ability_assessed_on, reassessment_due, dementia, created_at, updated_at, name_key, id_tail_hash) ",
            );
            q.push_values(chunk, |mut b, r| {
                let i = r.input;
                let s = r.sealed;
                b.push_bind(r.id)
                    .push_bind(i.name.clone())
                    .push_bind(s.id_cipher.clone())
                    .push_bind(s.id_hash.clone())
                    .push_bind(s.id_masked.clone())
                    .push_bind(i.birth_date())
                    .push_bind(i.sex().as_str())
                    .push_bind(i.ethnicity)
                    .push_bind(i.hukou_region.as_str().to_string())
                    .push_bind(i.residence_region.as_str().to_string())
                    .push_bind(i.address.clone())
                    .push_bind(i.location.map(|l| l.0))
                    .push_bind(i.location.map(|l| l.1))
                    .push_bind(i.living.as_str())
                    .push_bind(i.marital.as_str())
                    .push_bind(i.education.as_str())
                    .push_bind(join_labels(&i.income_sources, IncomeSource::as_str))
                    .push_bind(join_labels(&i.medical_payments, MedicalPayment::as_str))
                    .push_bind(i.children_count)
                    .push_bind(i.children_local)
                    .push_bind(i.children_can_care)
                    .push_bind(i.under_age_reason.clone())
                    .push_bind("active")
                    .push_bind(s.digest.clone())
                    .push_bind(r.ability.map(|a| a.level))
                    .push_bind(r.ability.map(|a| a.assessed_on))
                    .push_bind(r.ability.map(|a| a.due))
                    .push_bind(r.ability.is_some_and(|a| a.dementia))
                    .push_bind(now)
                    .push_bind(now)
                    .push_bind(s.name_key.clone())
                    .push_bind(s.id_tail_hash.clone());
            });
            q.build().execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    let phones: Vec<(Uuid, i32, &SealedPhone)> = rows
        .iter()
        .flat_map(|r| {
            r.sealed
                .phones
                .iter()
                .enumerate()
                .map(move |(p, v)| (r.id, p as i32, v))
        })
        .collect();
    for chunk in phones.chunks(5000) {
        on_conn!(conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO elder_phones (elder_id, position, phone_cipher, phone_hash, phone_masked, \
                 tail_hash) ",
            );
            q.push_values(chunk, |mut b, (id, pos, (ct, hash, masked, tail))| {
                b.push_bind(*id)
                    .push_bind(*pos)
                    .push_bind(ct.clone())
                    .push_bind(hash.clone())
                    .push_bind(masked.clone())
                    .push_bind(tail.clone());
            });
            q.build().execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    let contacts: Vec<(Uuid, i32, &SealedContact)> = rows
        .iter()
        .flat_map(|r| {
            r.sealed
                .contacts
                .iter()
                .enumerate()
                .map(move |(p, v)| (r.id, p as i32, v))
        })
        .collect();
    for chunk in contacts.chunks(4000) {
        on_conn!(conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO elder_contacts (elder_id, position, name, relation, phone_cipher, phone_masked) ",
            );
            q.push_values(chunk, |mut b, (id, pos, (name, relation, ct, masked))| {
                b.push_bind(*id)
                    .push_bind(*pos)
                    .push_bind(name.clone())
                    .push_bind(relation.clone())
                    .push_bind(ct.clone())
                    .push_bind(masked.clone());
            });
            q.build().execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// A category row to insert: the holder, the holder's residence (copied onto the row for
/// search, see migration 0016) and the category.
pub(crate) type NewCategory<'a> = (Uuid, &'a RegionCode, &'a CategoryInput);

/// Inserts categories of (possibly new) records.
pub(crate) async fn insert_categories(
    conn: &mut Conn<'_>,
    rows: &[NewCategory<'_>],
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    // 9 values per row.
    for chunk in rows.chunks(3500) {
        on_conn!(conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO elder_categories (id, elder_id, residence_region_code, kind, detail, start_date, \
                 end_date, evidence, created_at) ",
            );
            q.push_values(chunk, |mut b, (elder_id, residence, cat)| {
                b.push_bind(Uuid::now_v7())
                    .push_bind(*elder_id)
                    .push_bind(residence.as_str())
                    .push_bind(cat.kind.as_str())
                    .push_bind(cat.detail.clone())
                    .push_bind(cat.start)
                    .push_bind(cat.end)
                    .push_bind(cat.evidence.clone())
                    .push_bind(now);
            });
            q.build().execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// Refreshes the planner's statistics after a bulk write. PostgreSQL's autovacuum analyses a
/// table only some time after a large change; until then the planner believes the registry is
/// nearly empty and picks sequential scans, which made re-importing 100,000 people take minutes
/// instead of seconds. SQLite never gathers statistics by itself; without them it walked the
/// whole name index to answer "低保 in this township" (seconds at a million people). Its
/// analysis is sampled (`analysis_limit`) so it stays well under a second.
pub async fn refresh_statistics(db: &Db) -> Result<(), DbError> {
    let statements: &[&'static str] = match db.backend() {
        crate::Backend::Postgres => {
            &["ANALYZE elders, elder_phones, elder_contacts, elder_categories, assessments"]
        }
        crate::Backend::Sqlite => &[
            "PRAGMA analysis_limit = 2000",
            "ANALYZE elders",
            "ANALYZE elder_phones",
            "ANALYZE elder_categories",
            "ANALYZE assessments",
        ],
    };
    let mut c = db.acquire().await?;
    for &sql in statements {
        on_conn!(&mut c.conn(), |c| {
            sqlx::query(sql)
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// The page cache of a bulk write on SQLite (KiB, negative as `PRAGMA cache_size` wants): 512 MB.
const BULK_CACHE_SIZE: &str = "-524288";

/// Lets a bulk write on SQLite keep its working set in memory (with the default cache, every
/// insert past a few hundred thousand rows spilled pages to the WAL) and write without the
/// memory map (remapping a file that grows by a gigabyte cost more than it saved: BENCHMARKS.md
/// §5). Called with `true` at the start of the transaction and with `false` before its commit or
/// rollback, so the pooled connection goes back as it was; a no-op on PostgreSQL.
pub async fn bulk_cache(conn: &mut Conn<'_>, on: bool) -> Result<(), DbError> {
    if let Conn::Sqlite(c) = conn {
        let (size, mmap) = if on {
            (BULK_CACHE_SIZE, "0")
        } else {
            (
                crate::conn::SQLITE_CACHE_SIZE,
                crate::conn::SQLITE_MMAP_SIZE,
            )
        };
        for sql in [
            format!("PRAGMA cache_size = {size}"),
            format!("PRAGMA mmap_size = {mmap}"),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut **c)
                .await?;
        }
    }
    Ok(())
}

/// The registry's tables whose secondary indexes a large bulk write rebuilds.
const BULK_TABLES: [&str; 5] = [
    "elders",
    "elder_phones",
    "elder_contacts",
    "elder_categories",
    "assessments",
];

/// Fewest new records for which rebuilding the indexes can pay off.
const REBUILD_FROM: usize = 10_000;

/// Secondary indexes dropped for the duration of a bulk write, with the statements that
/// create them again.
#[derive(Debug, Default)]
#[must_use = "the indexes must be built again before the transaction commits"]
pub(crate) struct SuspendedIndexes(Vec<(String, String)>);

/// Inside the caller's transaction, drops the secondary indexes of the registry tables when
/// `incoming` new records at least double the registry (and are at least 10,000).
///
/// Inserting a million people one index entry at a time into five random-key B-trees is what
/// made loading a million people take two minutes; building each index once from the finished
/// table is a sort. Below that size, or into a registry larger than the batch, keeping the
/// indexes is cheaper. The definitions are read from the database itself (so whatever the
/// migrations say is rebuilt exactly), and primary keys and constraints are left alone. DDL is
/// transactional on both databases: if the write fails, the rollback puts the indexes back.
/// While the transaction is open, PostgreSQL readers of these tables wait for it; SQLite
/// readers keep seeing the previous state.
pub(crate) async fn suspend_indexes(
    conn: &mut Conn<'_>,
    incoming: usize,
) -> Result<SuspendedIndexes, DbError> {
    if incoming < REBUILD_FROM {
        return Ok(SuspendedIndexes::default());
    }
    let existing: i64 = on_conn!(conn, |c| {
        sqlx::query_scalar("SELECT COUNT(*) FROM elders")
            .fetch_one(&mut *c)
            .await
    })?;
    if (incoming as i64) < existing {
        return Ok(SuspendedIndexes::default());
    }
    let indexes = secondary_indexes(conn).await?;
    for (name, _) in &indexes {
        // The name comes from the catalogue, not from input; quoted all the same.
        let sql = format!("DROP INDEX \"{}\"", name.replace('"', "\"\""));
        on_conn!(conn, |c| {
            sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected())
        })?;
    }
    tracing::info!(
        indexes = indexes.len(),
        incoming,
        existing,
        "bulk write: secondary indexes suspended"
    );
    Ok(SuspendedIndexes(indexes))
}

/// The secondary indexes of the registry tables (name and definition, by name): those that
/// no primary key or constraint owns.
pub async fn secondary_indexes(conn: &mut Conn<'_>) -> Result<Vec<(String, String)>, DbError> {
    let tables: Vec<String> = BULK_TABLES.iter().map(|t| t.to_string()).collect();
    Ok(match conn {
        Conn::Sqlite(c) => {
            let mut q = sqlx::QueryBuilder::new(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
                 AND tbl_name IN (",
            );
            let mut sep = q.separated(", ");
            for t in &tables {
                sep.push_bind(t.clone());
            }
            q.push(") ORDER BY name");
            q.build_query_as().fetch_all(&mut **c).await?
        }
        Conn::Postgres(c) => {
            sqlx::query_as(
                "SELECT i.relname::text, pg_get_indexdef(i.oid) \
                 FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid \
                 JOIN pg_class t ON t.oid = x.indrelid \
                 JOIN pg_namespace n ON n.oid = t.relnamespace \
                 WHERE n.nspname = current_schema() AND t.relname = ANY($1) \
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.oid) \
                 ORDER BY 1",
            )
            .bind(&tables)
            .fetch_all(&mut **c)
            .await?
        }
    })
}

/// Builds the suspended indexes again, inside the same transaction. A unique index that no
/// longer holds (two records with one ID number) fails here, and the whole write with it.
pub(crate) async fn restore_indexes(
    conn: &mut Conn<'_>,
    suspended: SuspendedIndexes,
) -> Result<(), DbError> {
    for (_, sql) in suspended.0 {
        on_conn!(conn, |c| {
            sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}
