//! Fraud signals across a month's visits (for inspectors). The rules are the domain's
//! (`visit_fraud`); this module finds the few candidate visits with indexed SQL first — points
//! shared by several homes, people served by more than one caregiver, people no longer on the
//! register, codes one caregiver entered at several homes — and runs the rules on those alone,
//! so a city's month of two million visits is never loaded whole.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use jinglao_domain::visit::GeoPoint;
use jinglao_domain::visit_fraud::{
    CheckOutCounts, Party, SIGNATURE_SHARE_MIN_VISITS, SIGNATURE_SHARE_PERCENT, Signal,
    VisitRecord, after_death, reused_codes, shared_coordinates, signature_only_share,
    simultaneous_caregivers,
};
use jinglao_domain::{Invalid, Permission, Scope};
use uuid::Uuid;

use crate::{Actor, Conn, DbError, on_conn};

/// A position reported at this many different homes or more is listed.
pub const SHARED_POINT_MIN_ELDERS: usize = 3;

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    elder_id: Uuid,
    caregiver_id: Uuid,
    in_at: DateTime<Utc>,
    out_at: Option<DateTime<Utc>>,
    in_lat: Option<f64>,
    in_lon: Option<f64>,
    code_entered: Option<String>,
}

impl Row {
    fn record(&self) -> VisitRecord<Uuid> {
        VisitRecord {
            id: self.id,
            elder: self.elder_id,
            caregiver: self.caregiver_id,
            start: self.in_at,
            end: self.out_at.unwrap_or(self.in_at),
            point: self
                .in_lat
                .zip(self.in_lon)
                .and_then(|(a, o)| GeoPoint::new(a, o).ok()),
            code: self.code_entered.clone(),
        }
    }
}

const ROW: &str = "SELECT v.id, v.elder_id, v.caregiver_id, v.in_at, v.out_at, v.in_lat, v.in_lon, \
    v.code_entered FROM visits v WHERE v.service_month = ";

/// Loads visits of `month` within `scope` matching `cond` (SQL over `v`, no user input).
async fn load(
    conn: &mut Conn<'_>,
    scope: &Scope,
    month: &str,
    cond: &str,
) -> Result<Vec<Row>, DbError> {
    Ok(on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(ROW);
        q.push_bind(month.to_string());
        crate::scope_sql::push_scope(&mut q, scope, "v.region_code", "v.provider_id");
        q.push(" AND ").push(cond);
        q.build_query_as::<Row>().fetch_all(&mut *c).await
    })?)
}

/// The month's signals within `scope`: inspectors, reviewers and bureau staff.
pub async fn month(
    conn: &mut Conn<'_>,
    actor: &Actor,
    month: &str,
) -> Result<Vec<Signal<Uuid>>, DbError> {
    if !(actor.may(Permission::ReviewVisits)
        || actor.role == "inspector"
        || actor.role == "auditor")
    {
        return Err(DbError::Forbidden("您的角色不能查看服务疑点".into()));
    }
    if NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").is_err() {
        return Err(Invalid::one("month", "月份格式应为 年-月，例如 2026-10").into());
    }
    let scope = &actor.scope;
    let mut out = Vec::new();
    // The same point (to about a metre) at several homes.
    let shared = load(
        conn,
        scope,
        month,
        &format!("v.in_lat IS NOT NULL AND EXISTS (SELECT 1 FROM (SELECT CAST(ROUND(w.in_lat * 100000) AS BIGINT) AS a, \
         CAST(ROUND(w.in_lon * 100000) AS BIGINT) AS o FROM visits w WHERE w.service_month = v.service_month \
         AND w.in_lat IS NOT NULL GROUP BY 1, 2 HAVING COUNT(DISTINCT w.elder_id) >= {SHARED_POINT_MIN_ELDERS}) s \
         WHERE s.a = CAST(ROUND(v.in_lat * 100000) AS BIGINT) AND s.o = CAST(ROUND(v.in_lon * 100000) AS BIGINT))"),
    )
    .await?;
    let recs: Vec<_> = shared.iter().map(Row::record).collect();
    out.extend(shared_coordinates(&recs, SHARED_POINT_MIN_ELDERS));
    // People with visits by more than one caregiver in the month.
    let several = load(
        conn,
        scope,
        month,
        "v.elder_id IN (SELECT w.elder_id FROM visits w WHERE w.service_month = v.service_month \
         GROUP BY w.elder_id HAVING COUNT(DISTINCT w.caregiver_id) > 1)",
    )
    .await?;
    let recs: Vec<_> = several.iter().map(Row::record).collect();
    out.extend(simultaneous_caregivers(&recs));
    // People no longer on the register (a partial index finds them).
    let gone = load(
        conn,
        scope,
        month,
        "v.elder_id IN (SELECT e.id FROM elders e WHERE e.status <> 'active' AND e.status = 'deceased')",
    )
    .await?;
    let deaths: HashMap<Uuid, NaiveDate> = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT e.id, e.status_date FROM elders e WHERE e.status <> 'active' \
             AND e.status = 'deceased' AND e.status_date IS NOT NULL \
             AND EXISTS (SELECT 1 FROM visits v WHERE v.elder_id = e.id AND v.service_month = $1)",
        )
        .bind(month)
        .fetch_all(&mut *c)
        .await
    })?
    .into_iter()
    .collect();
    let recs: Vec<_> = gone.iter().map(Row::record).collect();
    out.extend(after_death(&recs, &deaths));
    // One caregiver entering the same code at several homes.
    let codes = load(
        conn,
        scope,
        month,
        "v.code_entered IS NOT NULL AND EXISTS (SELECT 1 FROM visits w \
         WHERE w.service_month = v.service_month AND w.caregiver_id = v.caregiver_id \
         AND w.code_entered = v.code_entered AND w.elder_id <> v.elder_id)",
    )
    .await?;
    let mut by_carer: HashMap<Uuid, Vec<VisitRecord<Uuid>>> = HashMap::new();
    for r in &codes {
        by_carer.entry(r.caregiver_id).or_default().push(r.record());
    }
    let mut carers: Vec<_> = by_carer.into_iter().collect();
    carers.sort_by_key(|(k, _)| *k);
    for (_, recs) in carers {
        out.extend(reused_codes(&recs));
    }
    out.extend(signature_only_share(
        &signature_counts(conn, scope, month).await?,
    ));
    Ok(out)
}

/// Each caregiver's and provider's check-outs of the month, with the visits confirmed by a
/// signature alone — only for those with enough such visits to reach the signal's share (the
/// signature visits come from a partial index; the totals are counted for those few).
async fn signature_counts(
    conn: &mut Conn<'_>,
    scope: &Scope,
    month: &str,
) -> Result<Vec<CheckOutCounts<Uuid>>, DbError> {
    let mut counts = Vec::new();
    for (party, col) in [
        (Party::Caregiver, "v.caregiver_id"),
        (Party::Provider, "v.provider_id"),
    ] {
        let signed: Vec<(Uuid, Uuid)> = on_conn!(conn, |c| {
            let mut q = sqlx::QueryBuilder::new(format!(
                "SELECT {col}, v.id FROM visits v WHERE v.confirmation = 'signature' \
                 AND v.service_month = "
            ));
            q.push_bind(month.to_string());
            crate::scope_sql::push_scope(&mut q, scope, "v.region_code", "v.provider_id");
            q.push(format!(" ORDER BY {col}, v.in_at, v.id"));
            q.build_query_as::<(Uuid, Uuid)>().fetch_all(&mut *c).await
        })?;
        let mut by_party: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for (who, visit) in signed {
            by_party.entry(who).or_default().push(visit);
        }
        // Fewer signature visits than the share of the smallest month that counts: never listed.
        by_party
            .retain(|_, v| v.len() * 100 >= SIGNATURE_SHARE_PERCENT * SIGNATURE_SHARE_MIN_VISITS);
        if by_party.is_empty() {
            continue;
        }
        let ids: Vec<Uuid> = by_party.keys().copied().collect();
        let totals: Vec<(Uuid, i64)> = on_conn!(conn, |c| {
            let mut q = sqlx::QueryBuilder::new(format!(
                "SELECT {col}, COUNT(*) FROM visits v WHERE v.out_at IS NOT NULL AND v.service_month = "
            ));
            q.push_bind(month.to_string());
            crate::scope_sql::push_scope(&mut q, scope, "v.region_code", "v.provider_id");
            q.push(format!(" AND {col} IN "));
            crate::scope_sql::push_id_list(&mut q, &ids);
            q.push(format!(" GROUP BY {col} ORDER BY {col}"));
            q.build_query_as::<(Uuid, i64)>().fetch_all(&mut *c).await
        })?;
        for (who, total) in totals {
            counts.push(CheckOutCounts {
                party,
                who,
                checked_out: usize::try_from(total).unwrap_or(0),
                signature_only: by_party.remove(&who).unwrap_or_default(),
            });
        }
    }
    Ok(counts)
}

/// One visit behind a signal, with names.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct VisitLine {
    /// Visit.
    pub id: Uuid,
    /// The person.
    pub elder_name: String,
    /// The caregiver.
    pub caregiver_name: String,
    /// The provider.
    pub provider_name: String,
    /// Check-in.
    pub in_at: DateTime<Utc>,
    /// Visit status.
    pub status: String,
}

impl VisitLine {
    /// Check-in time, Beijing time.
    pub fn when(&self) -> String {
        jinglao_domain::clock::format_local(self.in_at)
    }

    /// The visit's status in words.
    pub fn status_label(&self) -> &'static str {
        match self.status.as_str() {
            "in_progress" => "服务中",
            "verified" => "核验通过",
            "exception" => "待核查",
            "accepted" => "核查通过",
            "rejected" => "核查不通过",
            _ => "未知",
        }
    }
}

/// The visits behind a signal (at most 50), with names, by check-in time.
pub async fn lines(conn: &mut Conn<'_>, ids: &[Uuid]) -> Result<Vec<VisitLine>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(
            "SELECT v.id, e.name AS elder_name, s.name AS caregiver_name, \
             p.name AS provider_name, v.in_at, v.status FROM visits v \
             JOIN elders e ON e.id = v.elder_id JOIN staff s ON s.id = v.caregiver_id \
             JOIN providers p ON p.id = v.provider_id WHERE v.id IN (",
        );
        let mut sep = q.separated(", ");
        for id in ids.iter().take(50) {
            sep.push_bind(*id);
        }
        q.push(") ORDER BY v.in_at, v.id");
        q.build_query_as::<VisitLine>().fetch_all(&mut *c).await
    })?)
}

/// The name of the caregiver or provider a signal is about.
pub async fn party_name(conn: &mut Conn<'_>, party: Party, id: Uuid) -> Result<String, DbError> {
    let sql = match party {
        Party::Caregiver => "SELECT name FROM staff WHERE id = $1",
        Party::Provider => "SELECT name FROM providers WHERE id = $1",
    };
    let name: Option<String> = on_conn!(conn, |c| {
        sqlx::query_scalar(sql)
            .bind(id)
            .fetch_optional(&mut *c)
            .await
    })?;
    Ok(name.unwrap_or_default())
}
