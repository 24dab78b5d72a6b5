//! Loading generated facilities and their beds in bulk (demo data and the finder benchmark):
//! one transaction, multi-row inserts, counters recomputed at the end, one audit entry.

use chrono::{DateTime, Utc};
use jinglao_domain::bulk::FacilitySpec;
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, ChainKey, Event};
use crate::{Actor, Db, DbError, on_conn};

/// Inserts `specs`, operated round-robin by `providers`, with their beds; returns the ids.
pub async fn insert(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    providers: &[Uuid],
    specs: &[FacilitySpec],
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, DbError> {
    if providers.is_empty() {
        return Err(DbError::Config(
            "no provider to operate the generated facilities".into(),
        ));
    }
    let ids: Vec<Uuid> = specs.iter().map(|_| Uuid::now_v7()).collect();
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    for (chunk_no, chunk) in specs.chunks(500).enumerate() {
        on_conn!(&mut conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO facilities (id, provider_id, name, kind, ownership, region_code, address, latitude, \
                 longitude, floor_area_m2, functions, opened_on, filing_no, filed_on, fire_status, price_min_fen, \
                 price_max_fen, phone, created_at, updated_at) ",
            );
            q.push_values(chunk.iter().enumerate(), |mut b, (i, s)| {
                let n = chunk_no * 500 + i;
                b.push_bind(ids[n])
                    .push_bind(providers[n % providers.len()])
                    .push_bind(&s.name)
                    .push_bind(s.kind.as_str())
                    .push_bind(s.ownership.as_str())
                    .push_bind(&s.region_code)
                    .push_bind(&s.address)
                    .push_bind(s.location.map(|l| l.1))
                    .push_bind(s.location.map(|l| l.0))
                    .push_bind(s.floor_area_m2)
                    .push_bind(s.functions.0 as i32)
                    .push_bind(s.opened_on)
                    .push_bind(&s.filing_no)
                    .push_bind((!s.filing_no.is_empty()).then_some(s.opened_on))
                    .push_bind(s.fire_status.as_str())
                    .push_bind(s.price_fen.0)
                    .push_bind(s.price_fen.1)
                    .push_bind(format!("0731-5{:07}", n))
                    .push_bind(now)
                    .push_bind(now);
            });
            q.build().execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    // Beds: (facility, building, floor, room, label, nursing).
    let mut beds = Vec::new();
    for (n, s) in specs.iter().enumerate() {
        for (r, (size, nursing)) in s.rooms.iter().enumerate() {
            let floor = r / 10 + 1;
            let room = format!("{floor}{:02}", r % 10 + 1);
            for b in 1..=*size {
                beds.push((
                    ids[n],
                    floor.to_string(),
                    room.clone(),
                    b.to_string(),
                    *nursing,
                ));
            }
        }
    }
    for chunk in beds.chunks(1000) {
        on_conn!(&mut conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO beds (id, facility_id, building, floor, room, label, nursing, status, created_at, updated_at) ",
            );
            q.push_values(chunk, |mut b, (f, floor, room, label, nursing)| {
                b.push_bind(Uuid::now_v7())
                    .push_bind(*f)
                    .push_bind("1号楼")
                    .push_bind(floor)
                    .push_bind(room)
                    .push_bind(label)
                    .push_bind(*nursing)
                    .push_bind("free")
                    .push_bind(now)
                    .push_bind(now);
            });
            q.build().execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    crate::facilities::recount(&mut conn, None, now).await?;
    let event = Event::new(
        "facility.generate",
        "facility",
        ids.first().copied().unwrap_or_default(),
    )
    .detail(json!({ "facilities": specs.len(), "beds": beds.len() }));
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(ids)
}

/// Demo data only: admits assessed, active older people who live in the same county to free
/// beds, the most dependent first, until each facility is `share_percent` full (or nobody is
/// left), with admission dates spread over the two years before `on`. One transaction, one
/// audit entry; returns how many were admitted. The pages' admission path checks each person
/// one at a time instead.
pub async fn admit_residents_for_demo(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    share_percent: i64,
    on: chrono::NaiveDate,
    now: DateTime<Utc>,
) -> Result<usize, DbError> {
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let people: Vec<(Uuid, String, i32)> = on_conn!(&mut conn, |c| {
        sqlx::query_as(
            "SELECT id, residence_region_code, ability_level FROM elders WHERE status = 'active' \
             AND ability_level >= 1 AND id NOT IN (SELECT elder_id FROM stays WHERE discharged_on IS NULL) \
             ORDER BY ability_level DESC, id",
        )
        .fetch_all(&mut *c).await
    })?;
    let beds: Vec<(Uuid, Uuid, String, i64)> = on_conn!(&mut conn, |c| {
        sqlx::query_as(
            "SELECT b.id, b.facility_id, f.region_code, CAST(f.beds_total AS BIGINT) FROM beds b \
             JOIN facilities f ON f.id = b.facility_id WHERE b.status = 'free' \
             ORDER BY f.id, b.floor, b.room, b.label",
        )
        .fetch_all(&mut *c)
        .await
    })?;
    // Free beds per county, each facility taking no more than its share, interleaved across
    // facilities (the n-th bed of every facility before the n+1-th of any) so that a county
    // with fewer people than beds fills its facilities evenly.
    let mut pools: std::collections::HashMap<String, Vec<(i64, Uuid, Uuid)>> = Default::default();
    let mut taken: std::collections::HashMap<Uuid, i64> = Default::default();
    for (bed, facility, region, total) in beds {
        let n = taken.entry(facility).or_default();
        if *n < total * share_percent / 100 {
            *n += 1;
            pools
                .entry(region.chars().take(6).collect())
                .or_default()
                .push((*n, bed, facility));
        }
    }
    // Taken from the end: the lowest ranks last in the vector.
    for pool in pools.values_mut() {
        pool.sort_by_key(|(rank, _, _)| std::cmp::Reverse(*rank));
    }
    let mut stays = Vec::new();
    for (k, (elder, region, level)) in people.into_iter().enumerate() {
        let county: String = region.chars().take(6).collect();
        if let Some((_, bed, facility)) = pools.get_mut(&county).and_then(|p| p.pop()) {
            let admitted = on - chrono::Duration::days((k as i64 * 37) % 700);
            stays.push((Uuid::now_v7(), facility, bed, elder, admitted, level));
        }
    }
    for chunk in stays.chunks(1000) {
        on_conn!(&mut conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO stays (id, facility_id, bed_id, elder_id, admitted_on, ability_level, created_at) ",
            );
            q.push_values(chunk, |mut b, (id, f, bed, elder, admitted, level)| {
                b.push_bind(*id)
                    .push_bind(*f)
                    .push_bind(*bed)
                    .push_bind(*elder)
                    .push_bind(*admitted)
                    .push_bind(*level)
                    .push_bind(now);
            });
            q.build().execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "UPDATE beds SET status = 'occupied', updated_at = $1 WHERE status = 'free' \
                     AND id IN (SELECT bed_id FROM stays WHERE discharged_on IS NULL)",
        )
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    crate::facilities::recount(&mut conn, None, now).await?;
    let event = Event::new("stay.generate", "facility", Uuid::nil())
        .detail(json!({ "admitted": stays.len(), "share_percent": share_percent }));
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(stays.len())
}

/// Benchmark data only: gives about a third of the generated facilities a star level valid
/// until `until` and fills three quarters of their beds' counters, so that the finder's level
/// and vacancy filters have something to select.
pub async fn rate_and_fill_for_benchmark(
    db: &Db,
    until: chrono::NaiveDate,
) -> Result<u64, DbError> {
    let mut c = db.acquire().await?;
    Ok(on_conn!(&mut c.conn(), |cx| {
        sqlx::query(
            "UPDATE facilities SET star_level = 1 + (functions % 5), star_valid_until = $1, \
                     occupied_beds = beds_total * 3 / 4 WHERE functions % 3 = 0",
        )
        .bind(until)
        .execute(&mut *cx)
        .await
        .map(|r| r.rows_affected())
    })?)
}
