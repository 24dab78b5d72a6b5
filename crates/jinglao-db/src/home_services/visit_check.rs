//! Verifying stored visits: gathers the facts the rules of `jinglao_domain::visit` look at —
//! the contract's minimum minutes, the person's home and status, the caregiver's contract, the
//! quota, the caregiver's neighbouring visits — runs the check and stores status and findings.
//!
//! Many visits are checked together (a group commit of check-outs, a month-end re-check): the
//! facts shared by rows of the same table are read with one query per table for the whole set;
//! only the neighbouring visits, which depend on each visit's own times, are read one visit at a
//! time. One visit is the same code with a set of one.

use std::collections::HashMap;

use sqlx::FromRow;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use jinglao_domain::RegionCode;
use jinglao_domain::clock::china_date;
use jinglao_domain::order::Funding;
use jinglao_domain::policy::PolicyBook;
use jinglao_domain::visit::{Confirmation, GeoPoint, OtherVisit, Stamp, VisitFacts, verify};
use uuid::Uuid;

use crate::scope_sql::push_id_list;
use crate::visits::Outcome;
use crate::{Conn, DbError, on_conn, orders};

/// Everything the check reads of one visit.
#[derive(sqlx::FromRow)]
struct VisitRow {
    id: Uuid,
    provider_id: Uuid,
    caregiver_id: Uuid,
    elder_id: Uuid,
    order_id: Uuid,
    region_code: String,
    item_code: String,
    funding: String,
    in_at: DateTime<Utc>,
    in_device_at: DateTime<Utc>,
    in_received_at: DateTime<Utc>,
    in_lat: Option<f64>,
    in_lon: Option<f64>,
    in_offline: bool,
    out_at: Option<DateTime<Utc>>,
    out_device_at: Option<DateTime<Utc>>,
    out_received_at: Option<DateTime<Utc>>,
    out_lat: Option<f64>,
    out_lon: Option<f64>,
    out_offline: bool,
    confirmation: String,
    code_matched: Option<bool>,
    status: String,
}

/// Another finished visit of the same caregiver.
#[derive(sqlx::FromRow)]
struct OtherRow {
    in_at: DateTime<Utc>,
    out_at: DateTime<Utc>,
    in_lat: Option<f64>,
    in_lon: Option<f64>,
    out_lat: Option<f64>,
    out_lon: Option<f64>,
}

/// A contract price's validity and minimum minutes.
#[derive(sqlx::FromRow)]
struct PriceRow {
    provider_id: Uuid,
    item_code: String,
    valid_from: NaiveDate,
    valid_to: Option<NaiveDate>,
    min_minutes: i32,
}

/// The person's registered home and status.
#[derive(sqlx::FromRow)]
struct ElderRow {
    id: Uuid,
    latitude: Option<f64>,
    longitude: Option<f64>,
    status: String,
    status_date: Option<NaiveDate>,
}

/// One contract of a caregiver.
#[derive(sqlx::FromRow)]
struct EmploymentRow {
    staff_id: Uuid,
    provider_id: Uuid,
    start_on: NaiveDate,
    end_on: Option<NaiveDate>,
}

/// A point from stored coordinates.
fn point(lat: Option<f64>, lon: Option<f64>) -> Option<GeoPoint> {
    GeoPoint::new(lat?, lon?).ok()
}

/// One visit to check: its id, the policy it is checked under, and the time of the check.
pub(crate) type ToCheck<'b> = (Uuid, &'b PolicyBook, DateTime<Utc>);

/// A check-out not yet written: the check sees the visit as it will be stored with it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Closed {
    pub(crate) at: DateTime<Utc>,
    pub(crate) device_at: DateTime<Utc>,
    pub(crate) received_at: DateTime<Utc>,
    pub(crate) lat: Option<f64>,
    pub(crate) lon: Option<f64>,
    pub(crate) offline: bool,
    pub(crate) confirmation: &'static str,
    pub(crate) code_matched: Option<bool>,
}

impl VisitRow {
    fn close(&mut self, c: &Closed) {
        self.out_at = Some(c.at);
        self.out_device_at = Some(c.device_at);
        self.out_received_at = Some(c.received_at);
        self.out_lat = c.lat;
        self.out_lon = c.lon;
        self.out_offline = c.offline;
        self.confirmation = c.confirmation.to_string();
        self.code_matched = c.code_matched;
    }
}

/// Gathers the facts of each visit, runs the check, and stores each status and findings (a
/// visit already accepted or rejected by a reviewer keeps its decision). Outcomes come back in
/// the order of `items`.
pub(crate) async fn reverify_many(
    conn: &mut Conn<'_>,
    items: &[ToCheck<'_>],
) -> Result<Vec<Outcome>, DbError> {
    let outcomes = assess_many(conn, items, &HashMap::new()).await?;
    store(conn, items, &outcomes).await?;
    Ok(outcomes)
}

/// [`reverify_many`] without storing, each visit of `closing` seen with its check-out. The
/// visits must belong to different caregivers: each is checked against the caregiver's other
/// visits as stored.
pub(crate) async fn assess_many(
    conn: &mut Conn<'_>,
    items: &[ToCheck<'_>],
    closing: &HashMap<Uuid, Closed>,
) -> Result<Vec<Outcome>, DbError> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = items.iter().map(|(id, _, _)| *id).collect();
    let rows: Vec<VisitRow> = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(
            "SELECT id, provider_id, caregiver_id, elder_id, order_id, region_code, item_code, \
             funding, in_at, in_device_at, in_received_at, in_lat, in_lon, in_offline, out_at, \
             out_device_at, out_received_at, out_lat, out_lon, out_offline, confirmation, \
             code_matched, status FROM visits WHERE id IN ",
        );
        push_id_list(&mut q, &ids);
        q.build_query_as().fetch_all(&mut *c).await
    })?;
    let mut rows: HashMap<Uuid, VisitRow> = rows.into_iter().map(|r| (r.id, r)).collect();
    let distinct = |f: fn(&VisitRow) -> Uuid| {
        let mut v: Vec<Uuid> = rows.values().map(f).collect();
        v.sort();
        v.dedup();
        v
    };
    let (providers, elders, caregivers) = (
        distinct(|r| r.provider_id),
        distinct(|r| r.elder_id),
        distinct(|r| r.caregiver_id),
    );
    let prices = read_prices(conn, &providers).await?;
    let elders = read_elders(conn, &elders).await?;
    let employments = read_employments(conn, &caregivers).await?;

    let ordered: Vec<VisitRow> = ids
        .iter()
        .map(|id| {
            let mut row = rows
                .remove(id)
                .ok_or_else(|| DbError::Corrupt(format!("visit {id} to check is missing")))?;
            if let Some(c) = closing.get(id) {
                row.close(c);
            }
            Ok(row)
        })
        .collect::<Result<_, DbError>>()?;
    let mut neighbours = read_neighbours(conn, &ordered).await?;

    let mut outcomes = Vec::with_capacity(items.len());
    for (n, (v, (id, book, _))) in ordered.into_iter().zip(items).enumerate() {
        let day = china_date(v.in_at);
        let region =
            RegionCode::parse(&v.region_code).map_err(|e| DbError::Corrupt(e.to_string()))?;
        let rules = book.visit_rules(&region);
        // The price in force on the day: the latest start on or before it (as `orders::price_on`).
        let min_minutes = prices
            .iter()
            .filter(|p| p.provider_id == v.provider_id && p.item_code == v.item_code)
            .filter(|p| p.valid_from <= day && p.valid_to.is_none_or(|t| t >= day))
            .max_by_key(|p| p.valid_from)
            .map_or(0, |p| i64::from(p.min_minutes));
        let elder = elders
            .get(&v.elder_id)
            .ok_or_else(|| DbError::Corrupt(format!("visit {id} names a missing person")))?;
        let elder_active = elder.status == "active" || elder.status_date.is_some_and(|d| d > day);
        let caregiver_active = employments.iter().any(|m| {
            m.staff_id == v.caregiver_id
                && m.provider_id == v.provider_id
                && m.start_on <= day
                && m.end_on.is_none_or(|e| e >= day)
        });
        let within_quota = v.funding != Funding::Entitlement.as_str()
            || orders::entitlement_holds(conn, v.order_id).await?;
        let others = std::mem::take(&mut neighbours[n]);
        let stamp = |at, device_at, received_at, lat, lon, offline| Stamp {
            at,
            device_at,
            received_at,
            point: point(lat, lon),
            offline,
        };
        let facts = VisitFacts {
            min_minutes,
            home: point(elder.latitude, elder.longitude),
            check_in: Some(stamp(
                v.in_at,
                v.in_device_at,
                v.in_received_at,
                v.in_lat,
                v.in_lon,
                v.in_offline,
            )),
            check_out: match (v.out_at, v.out_device_at, v.out_received_at) {
                (Some(a), Some(d), Some(r)) => {
                    Some(stamp(a, d, r, v.out_lat, v.out_lon, v.out_offline))
                }
                _ => None,
            },
            confirmation: match (v.confirmation.as_str(), v.code_matched) {
                ("code", m) => Confirmation::Code {
                    matched: m == Some(true),
                },
                ("signature", _) => Confirmation::Signature,
                _ => Confirmation::Missing,
            },
            caregiver_active,
            elder_active,
            within_quota,
        };
        let findings = verify(&facts, &others, &rules);
        let status = if matches!(v.status.as_str(), "accepted" | "rejected") {
            v.status
        } else if findings.is_empty() {
            "verified".to_string()
        } else {
            "exception".to_string()
        };
        outcomes.push(Outcome {
            visit_id: *id,
            status,
            findings,
        });
    }
    Ok(outcomes)
}

/// The contract prices of `providers` (every item and period: a few rows each).
async fn read_prices(conn: &mut Conn<'_>, providers: &[Uuid]) -> Result<Vec<PriceRow>, DbError> {
    Ok(on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(
            "SELECT provider_id, item_code, valid_from, valid_to, min_minutes FROM service_prices \
             WHERE provider_id IN ",
        );
        push_id_list(&mut q, providers);
        q.build_query_as().fetch_all(&mut *c).await
    })?)
}

/// The homes and statuses of `elders`.
async fn read_elders(
    conn: &mut Conn<'_>,
    elders: &[Uuid],
) -> Result<HashMap<Uuid, ElderRow>, DbError> {
    let rows: Vec<ElderRow> = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(
            "SELECT id, latitude, longitude, status, status_date FROM elders WHERE id IN ",
        );
        push_id_list(&mut q, elders);
        q.build_query_as().fetch_all(&mut *c).await
    })?;
    Ok(rows.into_iter().map(|r| (r.id, r)).collect())
}

/// Every contract of `caregivers`.
async fn read_employments(
    conn: &mut Conn<'_>,
    caregivers: &[Uuid],
) -> Result<Vec<EmploymentRow>, DbError> {
    Ok(on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(
            "SELECT staff_id, provider_id, start_on, end_on FROM employments WHERE staff_id IN ",
        );
        push_id_list(&mut q, caregivers);
        q.build_query_as().fetch_all(&mut *c).await
    })?)
}

/// Visits per neighbour query: three `SELECT`s each, under SQLite's limit of 500 in one
/// compound statement.
const NEIGHBOUR_CHUNK: usize = 100;

/// Only what the rules look at (`visit::check_neighbours`), for each visit: the caregiver's
/// visits that overlap it, the last one that ended before it began and the first one that
/// began after it ended — begun within a day either side (an overlapping visit also ended
/// within a day of this one's end). Each part is a seek on an index of the caregiver's visits
/// by check-out or check-in time, not a read of the caregiver's whole day: a busy caregiver
/// would otherwise make every check-out slower than the last. One statement per
/// [`NEIGHBOUR_CHUNK`] visits, each part tagged with the visit's place in `visits`.
async fn read_neighbours(
    conn: &mut Conn<'_>,
    visits: &[VisitRow],
) -> Result<Vec<Vec<OtherVisit>>, DbError> {
    let mut found: Vec<Vec<OtherVisit>> = visits.iter().map(|_| Vec::new()).collect();
    for (c, chunk) in visits.chunks(NEIGHBOUR_CHUNK).enumerate() {
        let rows: Vec<(i32, OtherRow)> = on_conn!(conn, |c2| {
            let mut q = sqlx::QueryBuilder::new("");
            for (k, v) in chunk.iter().enumerate() {
                let tag = (c * NEIGHBOUR_CHUNK + k) as i32;
                let end = v.out_at.unwrap_or(v.in_at);
                let (before, after) =
                    (v.in_at - Duration::hours(24), v.in_at + Duration::hours(24));
                if k > 0 {
                    q.push(" UNION ALL ");
                }
                let columns = format!(
                    "SELECT * FROM (SELECT {tag} AS k, in_at, out_at, in_lat, in_lon, out_lat, out_lon FROM visits WHERE caregiver_id = "
                );
                // Still running when this one began (ended after it began, by the check-out
                // index) and begun before it ended.
                q.push(&columns)
                    .push_bind(v.caregiver_id)
                    .push(" AND id <> ")
                    .push_bind(v.id)
                    .push(" AND out_at > ")
                    .push_bind(v.in_at)
                    .push(" AND out_at <= ")
                    .push_bind(end + Duration::hours(24))
                    .push(" AND status <> 'rejected' AND in_at >= ")
                    .push_bind(before)
                    .push(" AND in_at < ")
                    .push_bind(end)
                    .push(format!(") o{tag} UNION ALL "));
                // The last one ended before this one began (a seek on the same index).
                q.push(&columns)
                    .push_bind(v.caregiver_id)
                    .push(" AND id <> ")
                    .push_bind(v.id)
                    .push(" AND out_at <= ")
                    .push_bind(v.in_at)
                    .push(" AND out_at >= ")
                    .push_bind(before)
                    .push(" AND status <> 'rejected' AND in_at >= ")
                    .push_bind(before)
                    .push(format!(" ORDER BY out_at DESC LIMIT 1) p{tag} UNION ALL "));
                // The first one begun after this one ended (by the check-in index).
                q.push(&columns)
                    .push_bind(v.caregiver_id)
                    .push(" AND id <> ")
                    .push_bind(v.id)
                    .push(" AND out_at IS NOT NULL AND status <> 'rejected' AND in_at >= ")
                    .push_bind(end)
                    .push(" AND in_at <= ")
                    .push_bind(after)
                    .push(format!(" ORDER BY in_at LIMIT 1) n{tag}"));
            }
            q.build().fetch_all(&mut *c2).await.and_then(|rows| {
                use sqlx::Row;
                rows.iter()
                    .map(|r| Ok((r.try_get::<i32, _>("k")?, OtherRow::from_row(r)?)))
                    .collect::<Result<Vec<_>, sqlx::Error>>()
            })
        })?;
        for (tag, o) in rows {
            let slot = found
                .get_mut(tag as usize)
                .ok_or_else(|| DbError::Corrupt(format!("neighbour row for visit {tag}")))?;
            slot.push(OtherVisit {
                start: o.in_at,
                end: o.out_at,
                start_point: point(o.in_lat, o.in_lon),
                end_point: point(o.out_lat, o.out_lon),
            });
        }
    }
    Ok(found)
}

/// A visit's findings as stored: the JSON list and the comma-separated codes.
pub(crate) fn stored_findings(o: &Outcome) -> (String, String) {
    let codes: Vec<&str> = o.findings.iter().map(|f| f.code.as_str()).collect();
    let json = serde_json::to_string(&o.findings).expect("findings serialise");
    (json, codes.join(","))
}

/// Stores each visit's status and findings: one `UPDATE … FROM (VALUES …)` per chunk.
async fn store(
    conn: &mut Conn<'_>,
    items: &[ToCheck<'_>],
    outcomes: &[Outcome],
) -> Result<(), DbError> {
    let rows: Vec<(Uuid, &str, String, String, DateTime<Utc>)> = items
        .iter()
        .zip(outcomes)
        .map(|((_, _, now), o)| {
            let (json, codes) = stored_findings(o);
            (o.visit_id, o.status.as_str(), json, codes, *now)
        })
        .collect();
    for chunk in rows.chunks(NEIGHBOUR_CHUNK) {
        on_conn!(conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "UPDATE visits SET status = v.column2, findings = v.column3, \
                 exception_codes = v.column4, updated_at = v.column5 FROM (",
            );
            q.push_values(chunk, |mut b, (id, status, findings, codes, now)| {
                b.push_bind(*id)
                    .push_bind(*status)
                    .push_bind(findings)
                    .push_bind(codes)
                    .push_bind(*now);
            });
            q.push(") AS v WHERE visits.id = v.column1");
            q.build().execute(&mut *c).await.map(|_| ())
        })?;
    }
    Ok(())
}
