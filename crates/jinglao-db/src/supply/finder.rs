//! The public institution finder: search facilities by region, type, star level, price,
//! nursing beds, vacancies, services and distance. It reads only public facility fields and
//! the live counters; nothing about residents or staff.
//!
//! Filters run in SQL on the facility row (counters and the star level are kept on it);
//! distance is computed on the filtered rows after a bounding box in SQL.

use chrono::NaiveDate;
use jinglao_domain::RegionCode;
use jinglao_domain::facility::{FacilityKind, Functions, distance_m};

use crate::facilities::{self, Facility, FacilityRow};
use crate::{Conn, DbError, on_conn};

/// What a member of the public searches by.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    /// Region (any level).
    pub region: Option<RegionCode>,
    /// Type.
    pub kind: Option<FacilityKind>,
    /// Minimum star level in force.
    pub min_stars: Option<i64>,
    /// Highest acceptable monthly price from, fen.
    pub max_price_fen: Option<i64>,
    /// Only with nursing beds.
    pub nursing: bool,
    /// Only with free beds.
    pub vacancies: bool,
    /// Services that must all be offered.
    pub functions: Functions,
    /// Origin for distances.
    pub near: Option<(f64, f64)>,
    /// Radius, metres (with `near`).
    pub within_m: Option<f64>,
    /// Page size.
    pub limit: usize,
    /// Page offset.
    pub offset: usize,
}

/// A search hit.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The facility.
    pub facility: Facility,
    /// Metres from the origin, if one was given.
    pub distance_m: Option<f64>,
}

/// Results: the total matching and one page, nearest first when an origin is given, else by
/// star level then name.
#[derive(Debug, Clone, PartialEq)]
pub struct Results {
    /// How many match.
    pub total: usize,
    /// The page.
    pub hits: Vec<Hit>,
}

/// Runs a search as of `today` (star levels past their validity do not count).
pub async fn search(conn: &mut Conn<'_>, q: &Query, today: NaiveDate) -> Result<Results, DbError> {
    let rows: Vec<FacilityRow> = on_conn!(conn, |c| {
        let mut b = sqlx::QueryBuilder::new(facilities::SELECT);
        b.push(" WHERE f.closed_on IS NULL AND f.kind <> 'home_service_agency'");
        if let Some(r) = &q.region {
            let (lo, hi) = r.subtree_range();
            b.push(" AND f.region_code BETWEEN ")
                .push_bind(lo)
                .push(" AND ")
                .push_bind(hi);
        }
        if let Some(k) = q.kind {
            b.push(" AND f.kind = ").push_bind(k.as_str());
        }
        if let Some(s) = q.min_stars {
            b.push(" AND f.star_level >= ")
                .push_bind(s as i32)
                .push(" AND f.star_valid_until >= ")
                .push_bind(today);
        }
        if let Some(p) = q.max_price_fen {
            b.push(" AND f.price_min_fen <= ").push_bind(p);
        }
        if q.nursing {
            b.push(" AND f.nursing_beds > 0");
        }
        if q.vacancies {
            b.push(" AND f.beds_total > f.occupied_beds");
        }
        if q.functions.0 != 0 {
            b.push(" AND (f.functions & ")
                .push_bind(q.functions.0 as i32)
                .push(") = ")
                .push_bind(q.functions.0 as i32);
        }
        if let (Some((lat, lon)), Some(r)) = (q.near, q.within_m) {
            let dlat = r / 111_000.0;
            let dlon = r / (111_000.0 * lat.to_radians().cos().max(0.01));
            b.push(" AND f.latitude BETWEEN ")
                .push_bind(lat - dlat)
                .push(" AND ")
                .push_bind(lat + dlat);
            b.push(" AND f.longitude BETWEEN ")
                .push_bind(lon - dlon)
                .push(" AND ")
                .push_bind(lon + dlon);
        }
        b.build_query_as::<FacilityRow>().fetch_all(&mut *c).await
    })?;
    let mut hits = Vec::with_capacity(rows.len());
    for r in rows {
        let facility = Facility::try_from(r)?;
        let d = match (q.near, facility.latitude, facility.longitude) {
            (Some((lat, lon)), Some(flat), Some(flon)) => Some(distance_m(lat, lon, flat, flon)),
            _ => None,
        };
        if let (Some(limit), Some(d)) = (q.within_m, d)
            && d > limit
        {
            continue;
        }
        if q.near.is_some() && q.within_m.is_some() && d.is_none() {
            continue;
        }
        hits.push(Hit {
            facility,
            distance_m: d,
        });
    }
    if q.near.is_some() {
        hits.sort_by(|a, b| {
            a.distance_m
                .unwrap_or(f64::MAX)
                .total_cmp(&b.distance_m.unwrap_or(f64::MAX))
        });
    } else {
        hits.sort_by(|a, b| {
            b.facility
                .level_on(today)
                .cmp(&a.facility.level_on(today))
                .then_with(|| a.facility.name.cmp(&b.facility.name))
        });
    }
    let total = hits.len();
    let limit = if q.limit == 0 { 20 } else { q.limit.min(100) };
    let hits = hits.into_iter().skip(q.offset).take(limit).collect();
    Ok(Results { total, hits })
}

/// One facility for its public page (any open facility; public fields only are shown).
pub async fn public_facility(
    conn: &mut Conn<'_>,
    id: uuid::Uuid,
) -> Result<Option<Facility>, DbError> {
    facilities::get(conn, &jinglao_domain::Scope::All, id).await
}
