//! The region tree: import, scoped reads, subtree statistics and the urban/rural flag.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use jinglao_domain::region_import::RegionRecord;
use jinglao_domain::{AreaType, Invalid, Region, RegionCode, RegionLevel, Scope};
use serde_json::json;

use crate::audit::{self, ChainKey, Event};
use crate::{Actor, Conn, Db, DbError, on_conn};

#[derive(sqlx::FromRow)]
struct RegionRow {
    code: String,
    name: String,
    level: String,
    parent_code: Option<String>,
    area_type: Option<String>,
    area_type_manual: bool,
    source: String,
}

impl TryFrom<RegionRow> for Region {
    type Error = DbError;
    fn try_from(r: RegionRow) -> Result<Self, DbError> {
        let corrupt = |what: &str| DbError::Corrupt(format!("区划 {}：{what}", r.code));
        Ok(Region {
            code: RegionCode::parse(&r.code).map_err(|e| corrupt(&e.to_string()))?,
            name: r.name.clone(),
            level: r.level.parse::<RegionLevel>().map_err(|e| corrupt(&e))?,
            parent_code: r
                .parent_code
                .as_deref()
                .map(RegionCode::parse)
                .transpose()
                .map_err(|e| corrupt(&e.to_string()))?,
            area_type: r
                .area_type
                .as_deref()
                .map(str::parse::<AreaType>)
                .transpose()
                .map_err(|e| corrupt(&e))?,
            area_type_manual: r.area_type_manual,
            source: r.source,
        })
    }
}

const COLUMNS: &str = "code, name, level, parent_code, area_type, area_type_manual, source";

fn to_regions(rows: Vec<RegionRow>) -> Result<Vec<Region>, DbError> {
    rows.into_iter().map(Region::try_from).collect()
}

/// One region, if it exists and `scope` may see it.
pub async fn get(
    conn: &mut Conn<'_>,
    scope: &Scope,
    code: &RegionCode,
) -> Result<Option<Region>, DbError> {
    if !scope.sees_region(code) {
        return Ok(None);
    }
    let sql = format!("SELECT {COLUMNS} FROM regions WHERE code = $1");
    let row: Option<RegionRow> = on_conn!(conn, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(code.as_str())
            .fetch_optional(&mut *c)
            .await
    })?;
    row.map(Region::try_from).transpose()
}

/// The whole subtree of `code` (itself included), in code order: one range scan.
/// Returns `None` when `scope` does not cover `code`.
pub async fn subtree(
    conn: &mut Conn<'_>,
    scope: &Scope,
    code: &RegionCode,
) -> Result<Option<Vec<Region>>, DbError> {
    if !covers_region(scope, code) {
        return Ok(None);
    }
    let (lo, hi) = code.subtree_range();
    let sql = format!("SELECT {COLUMNS} FROM regions WHERE code BETWEEN $1 AND $2 ORDER BY code");
    let rows: Vec<RegionRow> = on_conn!(conn, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(lo)
            .bind(hi)
            .fetch_all(&mut *c)
            .await
    })?;
    to_regions(rows).map(Some)
}

/// Whether `scope` covers the region as data (its subtree, not the ancestors above it).
fn covers_region(scope: &Scope, code: &RegionCode) -> bool {
    match scope.region_root() {
        None => true,
        Some(root) => root.contains(code),
    }
}

/// Every code in the table (for checking an import's parents).
pub async fn all_codes(conn: &mut Conn<'_>) -> Result<HashSet<RegionCode>, DbError> {
    let codes: Vec<String> = on_conn!(conn, |c| {
        sqlx::query_scalar("SELECT code FROM regions")
            .fetch_all(&mut *c)
            .await
    })?;
    Ok(codes
        .iter()
        .filter_map(|c| RegionCode::parse(c).ok())
        .collect())
}

/// Every region, for the in-memory tree.
pub async fn load_all(conn: &mut Conn<'_>) -> Result<Vec<Region>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM regions ORDER BY code");
    let rows: Vec<RegionRow> = on_conn!(conn, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut *c)
            .await
    })?;
    to_regions(rows)
}

/// The version of the region data (see migration 0008): changes with every write.
pub async fn version(conn: &mut Conn<'_>) -> Result<i64, DbError> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_scalar("SELECT version FROM data_versions WHERE name = 'regions'")
            .fetch_one(&mut *c)
            .await
    })?)
}

async fn bump_version(conn: &mut Conn<'_>) -> Result<(), DbError> {
    on_conn!(conn, |c| {
        sqlx::query("UPDATE data_versions SET version = version + 1 WHERE name = 'regions'")
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Number of regions stored.
pub async fn count(conn: &mut Conn<'_>) -> Result<i64, DbError> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_scalar("SELECT COUNT(*) FROM regions")
            .fetch_one(&mut *c)
            .await
    })?)
}

/// What an import changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// New regions.
    pub inserted: usize,
    /// Regions whose name, level or parent changed (or derived urban/rural type).
    pub updated: usize,
    /// Rows identical to what was stored.
    pub unchanged: usize,
}

/// `(code, name, level, parent_code, area_type, area_type_manual)` as stored.
type ExistingRow = (String, String, String, Option<String>, Option<String>, bool);

struct Existing {
    name: String,
    level: String,
    parent_code: Option<String>,
    area_type: Option<String>,
    area_type_manual: bool,
}

/// Imports checked records in one transaction: new codes are inserted, changed ones updated,
/// identical ones left alone, so importing the same file twice changes nothing. A type set by
/// hand is kept. One audit entry records the import with its counts and source.
pub async fn import(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    records: &[RegionRecord],
    source: &str,
    now: DateTime<Utc>,
) -> Result<ImportSummary, DbError> {
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let existing_rows: Vec<ExistingRow> = on_conn!(&mut conn, |c| {
        sqlx::query_as(
            "SELECT code, name, level, parent_code, area_type, area_type_manual FROM regions",
        )
        .fetch_all(&mut *c)
        .await
    })?;
    let existing: HashMap<String, Existing> = existing_rows
        .into_iter()
        .map(
            |(code, name, level, parent_code, area_type, area_type_manual)| {
                (
                    code,
                    Existing {
                        name,
                        level,
                        parent_code,
                        area_type,
                        area_type_manual,
                    },
                )
            },
        )
        .collect();

    let mut summary = ImportSummary::default();
    let mut new_rows = Vec::new();
    let mut changed = Vec::new();
    for r in records {
        let area = r.area_type.map(|a| a.as_str().to_string());
        let parent = r.parent_code.map(|p| p.as_str().to_string());
        match existing.get(r.code.as_str()) {
            None => new_rows.push((r, area, parent)),
            Some(e) => {
                let area_differs = !e.area_type_manual && e.area_type != area;
                if e.name != r.name
                    || e.level != r.level.as_str()
                    || e.parent_code != parent
                    || area_differs
                {
                    changed.push((r, area, parent, e.area_type_manual));
                } else {
                    summary.unchanged += 1;
                }
            }
        }
    }

    // Records arrive parents-first, so chunked multi-row inserts never break the foreign key.
    for chunk in new_rows.chunks(400) {
        on_conn!(&mut conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO regions (code, name, level, parent_code, area_type, \
                 area_type_manual, source, created_at, updated_at) ",
            );
            q.push_values(chunk, |mut b, (r, area, parent)| {
                b.push_bind(r.code.as_str().to_string())
                    .push_bind(r.name.clone())
                    .push_bind(r.level.as_str())
                    .push_bind(parent.clone())
                    .push_bind(area.clone())
                    .push_bind(false)
                    .push_bind(source.to_string())
                    .push_bind(now)
                    .push_bind(now);
            });
            q.build().execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
        summary.inserted += chunk.len();
    }
    for (r, area, parent, manual) in &changed {
        on_conn!(&mut conn, |c| {
            sqlx::query(
                "UPDATE regions SET name = $2, level = $3, parent_code = $4, \
                 area_type = CASE WHEN $5 THEN area_type ELSE $6 END, source = $7, updated_at = $8 \
                 WHERE code = $1",
            )
            .bind(r.code.as_str())
            .bind(&r.name)
            .bind(r.level.as_str())
            .bind(parent)
            .bind(*manual)
            .bind(area)
            .bind(source)
            .bind(now)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
        })?;
        summary.updated += 1;
    }

    if summary.inserted + summary.updated > 0 {
        let changed_codes: Vec<&str> = changed.iter().map(|(r, ..)| r.code.as_str()).collect();
        let event = Event {
            action: "region.import",
            entity: "region",
            record_id: None,
            region_code: None,
            detail: json!({
                "source": source,
                "inserted": summary.inserted,
                "updated": summary.updated,
                "unchanged": summary.unchanged,
                "updated_codes": changed_codes.iter().take(200).collect::<Vec<_>>(),
            }),
        };
        audit::append(&mut conn, key, actor, event, now).await?;
        bump_version(&mut conn).await?;
    }
    tx.commit().await?;
    Ok(summary)
}

/// Sets (or clears, with `None`) a township's or village's urban/rural type by hand. The
/// region must be covered by the actor's scope; the change is audited with old and new values.
pub async fn set_area_type(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    code: &RegionCode,
    area_type: Option<AreaType>,
    now: DateTime<Utc>,
) -> Result<Region, DbError> {
    // The region itself must be the actor's (a provider's account reaches no region's data).
    if !actor.scope.covers_record_in(code) {
        return Err(DbError::NotFound);
    }
    if !actor.may(jinglao_domain::Permission::EditRegions) {
        return Err(DbError::Forbidden("您的角色不能修改区划的城乡类型".into()));
    }
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let before = get(&mut conn, &actor.scope, code)
        .await?
        .ok_or(DbError::NotFound)?;
    if !matches!(before.level, RegionLevel::Township | RegionLevel::Village) {
        return Err(
            Invalid::one("area_type", "只有乡镇（街道）和村（社区）可以设置城乡类型").into(),
        );
    }
    let new = area_type.map(|a| a.as_str());
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "UPDATE regions SET area_type = $2, area_type_manual = $3, updated_at = $4 WHERE code = $1",
        )
        .bind(code.as_str())
        .bind(new)
        .bind(true)
        .bind(now)
        .execute(&mut *c)
        .await
            .map(|r| r.rows_affected())
    })?;
    let event = Event::new("region.update", "region", code)
        .region(Some(*code))
        .detail(json!({
            "area_type": {
                "from": before.area_type.map(|a| a.as_str()),
                "to": new,
            }
        }));
    audit::append(&mut conn, key, actor, event, now).await?;
    bump_version(&mut conn).await?;
    let after = get(&mut conn, &actor.scope, code)
        .await?
        .ok_or(DbError::NotFound)?;
    tx.commit().await?;
    Ok(after)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDb;
    use jinglao_domain::Role;
    use jinglao_domain::region_import::parse_region_csv;

    const KEY: ChainKey = ChainKey([1; 32]);
    const SEED: &str = include_str!("../../../data/regions/seed-regions.csv");

    fn code(s: &str) -> RegionCode {
        RegionCode::parse(s).unwrap()
    }

    async fn load_seed(db: &Db) -> ImportSummary {
        let records = parse_region_csv(SEED, &HashSet::new()).unwrap();
        import(db, &KEY, &Actor::system(), &records, "test", Utc::now())
            .await
            .unwrap()
    }

    crate::test_on_both! {
        async fn importing_the_seed_twice_changes_nothing_the_second_time(t: TestDb) {
            let first = load_seed(&t.db).await;
            assert_eq!(first.inserted, 2797);
            let second = load_seed(&t.db).await;
            assert_eq!(second, ImportSummary { inserted: 0, updated: 0, unchanged: 2797 });
            let mut c = t.db.acquire().await.unwrap();
            assert_eq!(count(&mut c.conn()).await.unwrap(), 2797);
        }
    }

    crate::test_on_both! {
        async fn a_county_subtree_is_one_range_query_and_xiangtan_has_the_official_counts(t: TestDb) {
            load_seed(&t.db).await;
            let mut c = t.db.acquire().await.unwrap();
            let xiangtan = subtree(&mut c.conn(), &Scope::All, &code("4303")).await.unwrap().unwrap();
            let count = |l: RegionLevel| xiangtan.iter().filter(|r| r.level == l).count();
            assert_eq!(
                (count(RegionLevel::County), count(RegionLevel::Township), count(RegionLevel::Village)),
                (8, 70, 957)
            );
            let yuhu = subtree(&mut c.conn(), &Scope::All, &code("430302")).await.unwrap().unwrap();
            assert!(yuhu.iter().all(|r| r.code.as_str().starts_with("430302")));
            assert_eq!(yuhu[0].code, code("430302"));
            // The in-memory tree built from the table agrees with the range query.
            let tree = jinglao_domain::RegionTree::new(load_all(&mut c.conn()).await.unwrap());
            assert_eq!(tree.subtree(&code("430302")), yuhu.as_slice());
        }
    }

    crate::test_on_both! {
        async fn a_community_worker_cannot_read_a_neighbouring_county_from_the_table(t: TestDb) {
            load_seed(&t.db).await;
            let scope = Scope::for_account(Role::VillageStaff, code("430302001001"), None).unwrap();
            let mut c = t.db.acquire().await.unwrap();
            let mut conn = c.conn();
            assert!(get(&mut conn, &scope, &code("430304001001")).await.unwrap().is_none());
            assert!(get(&mut conn, &scope, &code("430302")).await.unwrap().is_some(), "an ancestor, as context");
            assert!(subtree(&mut conn, &scope, &code("430302")).await.unwrap().is_none());
            assert_eq!(subtree(&mut conn, &scope, &code("430302001001")).await.unwrap().unwrap().len(), 1);
        }
    }

    crate::test_on_both! {
        async fn every_change_to_regions_moves_the_version(t: TestDb) {
            let mut c = t.db.acquire().await.unwrap();
            let v0 = version(&mut c.conn()).await.unwrap();
            drop(c);
            load_seed(&t.db).await;
            let mut c = t.db.acquire().await.unwrap();
            let v1 = version(&mut c.conn()).await.unwrap();
            assert!(v1 > v0);
            drop(c);
            load_seed(&t.db).await;
            let mut c = t.db.acquire().await.unwrap();
            assert_eq!(version(&mut c.conn()).await.unwrap(), v1, "an import that changes nothing keeps it");
            drop(c);
            set_area_type(&t.db, &KEY, &Actor::cli(), &code("430302001001"), None, Utc::now()).await.unwrap();
            let mut c = t.db.acquire().await.unwrap();
            assert!(version(&mut c.conn()).await.unwrap() > v1);
        }
    }

    crate::test_on_both! {
        async fn a_hand_set_area_type_survives_a_reimport_and_is_audited(t: TestDb) {
            load_seed(&t.db).await;
            let county = Actor::user(uuid::Uuid::now_v7(), "c", Role::CountyStaff,
                Scope::Region(code("430302")), code("430302"));
            let r = set_area_type(&t.db, &KEY, &county, &code("430302001001"),
                Some(AreaType::Rural), Utc::now()).await.unwrap();
            assert_eq!(r.area_type, Some(AreaType::Rural));
            assert!(r.area_type_manual);
            load_seed(&t.db).await;
            let mut c = t.db.acquire().await.unwrap();
            let again = get(&mut c.conn(), &Scope::All, &code("430302001001")).await.unwrap().unwrap();
            assert_eq!(again.area_type, Some(AreaType::Rural));
            let outside = set_area_type(&t.db, &KEY, &county, &code("430304001001"),
                Some(AreaType::Rural), Utc::now()).await;
            assert!(matches!(outside, Err(DbError::NotFound)));
            let entries = audit::list(&t.db, &Scope::All, &audit::AuditFilter {
                action: Some("region.update".into()), ..Default::default() }, 10).await.unwrap();
            assert_eq!(entries.len(), 1);
            assert_eq!(entries[0].record_id.as_deref(), Some("430302001001"));
        }
    }
}
