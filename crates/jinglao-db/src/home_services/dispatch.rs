//! Dispatch (派单) in storage: what each caregiver may deliver (skills), their working days
//! (shifts and leave), barring (blacklist), and auto-dispatch of one provider's day.
//!
//! Auto-dispatch re-plans the day's booked orders that have no visit yet and were not assigned
//! by hand; hand assignments and started visits are kept, and their time is cut out of the
//! caregiver's shift. A caregiver put on leave loses the day's orders not yet started, and the
//! day is dispatched again at once, so a sick call never leaves orders with nobody.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use jinglao_domain::dispatch::{self, Assignment, Caregiver, Options, free_periods};
use jinglao_domain::visit::GeoPoint;
use jinglao_domain::{Invalid, Permission, Scope};
use serde_json::json;
use uuid::Uuid;

use crate::WriteCtx;
use crate::audit::{self, ChainKey, Event};
use crate::{Actor, Conn, Db, DbError, on_conn, providers};

/// A stretch of time.
type Period = (DateTime<Utc>, DateTime<Utc>);

/// What one auto-dispatch run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Orders placed with a caregiver, with the planned start.
    pub assigned: Vec<Assignment<Uuid>>,
    /// Orders nobody could take, with why.
    pub left: Vec<(Uuid, String)>,
}

/// Whether `actor` manages this provider's work: its own administrator, or region staff with
/// facility rights over the region the provider is registered in (the CLI and the system
/// always).
async fn may_manage(
    conn: &mut Conn<'_>,
    actor: &Actor,
    provider_id: Uuid,
) -> Result<bool, DbError> {
    if !actor.may(Permission::ManageFacilities) {
        return Ok(false);
    }
    Ok(match &actor.scope {
        Scope::Provider { provider_id: p, .. } => *p == provider_id,
        Scope::All => true,
        Scope::Region(root) => {
            let region: Option<String> = on_conn!(conn, |c| {
                sqlx::query_scalar("SELECT region_code FROM providers WHERE id = $1")
                    .bind(provider_id)
                    .fetch_optional(&mut *c)
                    .await
            })?;
            region
                .and_then(|r| jinglao_domain::RegionCode::parse(&r).ok())
                .is_some_and(|r| root.contains(&r))
        }
    })
}

/// Whether `staff_id` works for `provider_id` on `day`.
async fn employed(
    conn: &mut Conn<'_>,
    staff_id: Uuid,
    provider_id: Uuid,
    day: NaiveDate,
) -> Result<bool, DbError> {
    let n: i64 = on_conn!(conn, |c| {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM employments WHERE staff_id = $1 AND provider_id = $2 \
             AND start_on <= $3 AND (end_on IS NULL OR end_on >= $3)",
        )
        .bind(staff_id)
        .bind(provider_id)
        .bind(day)
        .fetch_one(&mut *c)
        .await
    })?;
    Ok(n > 0)
}

/// The skills of everyone who has worked for `provider_id`, by staff id (one query).
pub async fn skills_at(
    conn: &mut Conn<'_>,
    provider_id: Uuid,
) -> Result<HashMap<Uuid, Vec<String>>, DbError> {
    let rows: Vec<(Uuid, String)> = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT k.staff_id, k.item_code FROM staff_skills k WHERE k.staff_id IN \
             (SELECT e.staff_id FROM employments e WHERE e.provider_id = $1) \
             ORDER BY k.staff_id, k.item_code",
        )
        .bind(provider_id)
        .fetch_all(&mut *c)
        .await
    })?;
    let mut by: HashMap<Uuid, Vec<String>> = HashMap::new();
    for (staff, item) in rows {
        by.entry(staff).or_default().push(item);
    }
    Ok(by)
}

/// Replaces a caregiver's skills; audited. Item codes are trimmed, blanks dropped.
pub async fn set_skills(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    provider_id: Uuid,
    staff_id: Uuid,
    items: &[String],
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let ctx = crate::WriteCtx::new(db, key, actor, now);
    set_skills_many(&ctx, provider_id, &[(staff_id, items.to_vec())])
        .await
        .map(|_| ())
}

/// Replaces the skills of several caregivers of one provider in one transaction (the staff
/// page's one form for everyone); a person whose skills are unchanged is left alone and not
/// audited. Returns how many people's skills changed. Someone not employed by the provider
/// today refuses the whole change.
pub async fn set_skills_many(
    ctx: &crate::WriteCtx<'_>,
    provider_id: Uuid,
    changes: &[(Uuid, Vec<String>)],
) -> Result<usize, DbError> {
    if !may_manage(&mut ctx.db.acquire().await?.conn(), ctx.actor, provider_id).await? {
        return Err(DbError::NotFound);
    }
    let mut wanted: Vec<(Uuid, Vec<&str>)> = Vec::with_capacity(changes.len());
    for (staff_id, items) in changes {
        let mut items: Vec<&str> = items
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect();
        items.sort_unstable();
        items.dedup();
        if let Some(bad) = items.iter().find(|s| s.chars().count() > 32) {
            return Err(Invalid::one("skills", format!("项目代码过长：{bad}")).into());
        }
        wanted.push((*staff_id, items));
    }
    let mut tx = ctx.db.begin().await?;
    let mut conn = tx.conn();
    let today = jinglao_domain::clock::china_date(ctx.now);
    let held = skills_at(&mut conn, provider_id).await?;
    let mut changed = 0;
    for (staff_id, items) in &wanted {
        if !employed(&mut conn, *staff_id, provider_id, today).await? {
            return Err(DbError::NotFound);
        }
        let before: Vec<&str> = held
            .get(staff_id)
            .map(|v| v.iter().map(String::as_str).collect())
            .unwrap_or_default();
        if before == *items {
            continue;
        }
        on_conn!(&mut conn, |c| {
            sqlx::query("DELETE FROM staff_skills WHERE staff_id = $1")
                .bind(*staff_id)
                .execute(&mut *c)
                .await
                .map(|_| ())
        })?;
        for item in items {
            on_conn!(&mut conn, |c| {
                sqlx::query("INSERT INTO staff_skills (staff_id, item_code) VALUES ($1, $2)")
                    .bind(*staff_id)
                    .bind(*item)
                    .execute(&mut *c)
                    .await
                    .map(|_| ())
            })?;
        }
        let event = Event::new("staff.skills", "staff", staff_id)
            .detail(json!({ "provider": provider_id, "from": before, "skills": items }));
        audit::append(&mut conn, ctx.chain, ctx.actor, event, ctx.now).await?;
        changed += 1;
    }
    tx.commit().await?;
    Ok(changed)
}

/// Bars a member of staff from assignments from `on` (a blacklist entry), with the reason;
/// bureau staff only (providers cannot lift or set it). Audited.
pub async fn bar(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    staff_id: Uuid,
    on: NaiveDate,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    if !actor.may(Permission::ManageProviders) {
        return Err(DbError::Forbidden(
            "只有民政部门可以将人员列入黑名单".into(),
        ));
    }
    if reason.trim().is_empty() {
        return Err(Invalid::one("reason", "请填写列入黑名单的原因和依据").into());
    }
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    // Only someone employed by a provider registered in the actor's region.
    if let Some((lo, hi)) = actor.scope.subtree_range() {
        let ours: bool = on_conn!(&mut conn, |c| {
            sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM employments e JOIN providers p ON p.id = e.provider_id \
                 WHERE e.staff_id = $1 AND p.region_code BETWEEN $2 AND $3)",
            )
            .bind(staff_id).bind(lo).bind(hi).fetch_one(&mut *c).await
        })?;
        if !ours {
            return Err(DbError::NotFound);
        }
    }
    let n = on_conn!(&mut conn, |c| {
        sqlx::query(
            "UPDATE staff SET barred_on = $1, barred_reason = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(on)
        .bind(reason.trim())
        .bind(now)
        .bind(staff_id)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    if n == 0 {
        return Err(DbError::NotFound);
    }
    let event = Event::new("staff.bar", "staff", staff_id)
        .detail(json!({ "from": on, "reason": reason.trim() }));
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// A caregiver's working day as entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DayEntry {
    /// Works these hours (replaces the default).
    Shift(DateTime<Utc>, DateTime<Utc>),
    /// Off (sick leave, holiday), with the reason.
    Leave(String),
    /// Back to the default hours.
    Default,
}

/// Records a caregiver's day. Leave takes away the day's orders not yet started (hand
/// assignments too) and dispatches the day again; the report says where they went. Audited.
pub async fn set_day(
    w: &WriteCtx<'_>,
    provider_id: Uuid,
    staff_id: Uuid,
    day: NaiveDate,
    entry: &DayEntry,
) -> Result<Option<Report>, DbError> {
    let (db, key, actor, now) = (w.db, w.chain, w.actor, w.now);
    if !may_manage(&mut db.acquire().await?.conn(), actor, provider_id).await? {
        return Err(DbError::NotFound);
    }
    match entry {
        DayEntry::Shift(a, z) if a >= z => {
            return Err(Invalid::one("ends_at", "下班时间应晚于上班时间").into());
        }
        DayEntry::Shift(a, z)
            if jinglao_domain::clock::china_date(*a) != day || *z - *a > Duration::hours(16) =>
        {
            return Err(Invalid::one("starts_at", "班次应在当天之内，且不超过 16 小时").into());
        }
        DayEntry::Leave(r) if r.trim().is_empty() => {
            return Err(Invalid::one("reason", "请填写请假原因").into());
        }
        _ => {}
    }
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    providers::lock(&mut conn, provider_id).await?;
    if !employed(&mut conn, staff_id, provider_id, day).await? {
        return Err(Invalid::one("staff_id", format!("这名护理员在 {day} 不在该机构任职")).into());
    }
    on_conn!(&mut conn, |c| {
        sqlx::query("DELETE FROM caregiver_days WHERE staff_id = $1 AND day = $2")
            .bind(staff_id)
            .bind(day)
            .execute(&mut *c)
            .await
            .map(|_| ())
    })?;
    let (kind, a, z, reason) = match entry {
        DayEntry::Shift(a, z) => (Some("shift"), Some(*a), Some(*z), String::new()),
        DayEntry::Leave(r) => (Some("leave"), None, None, r.trim().to_string()),
        DayEntry::Default => (None, None, None, String::new()),
    };
    if let Some(kind) = kind {
        on_conn!(&mut conn, |c| {
            sqlx::query(
                "INSERT INTO caregiver_days (staff_id, day, kind, starts_at, ends_at, reason, \
                 created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(staff_id)
            .bind(day)
            .bind(kind)
            .bind(a)
            .bind(z)
            .bind(&reason)
            .bind(actor.user_id)
            .bind(now)
            .execute(&mut *c)
            .await
            .map(|_| ())
        })?;
    }
    let event = Event::new("staff.day", "staff", staff_id).detail(json!({
        "provider": provider_id, "day": day, "kind": kind.unwrap_or("default"),
        "starts_at": a, "ends_at": z, "reason": reason,
    }));
    audit::append(&mut conn, key, actor, event, now).await?;
    let report = if matches!(entry, DayEntry::Leave(_)) {
        on_conn!(&mut conn, |c| {
            sqlx::query(
                "UPDATE service_orders SET caregiver_id = NULL, assigned_how = NULL, \
                 planned_at = NULL, updated_at = $1 WHERE caregiver_id = $2 AND provider_id = $3 \
                 AND service_on = $4 AND status = 'booked' \
                 AND NOT EXISTS (SELECT 1 FROM visits v WHERE v.order_id = service_orders.id)",
            )
            .bind(now)
            .bind(staff_id)
            .bind(provider_id)
            .bind(day)
            .execute(&mut *c)
            .await
            .map(|_| ())
        })?;
        Some(auto_in(&mut conn, key, actor, provider_id, day, now).await?)
    } else {
        None
    };
    tx.commit().await?;
    Ok(report)
}

/// Auto-dispatches a provider's day; one transaction, audited.
pub async fn auto(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    provider_id: Uuid,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Report, DbError> {
    if !may_manage(&mut db.acquire().await?.conn(), actor, provider_id).await? {
        return Err(DbError::NotFound);
    }
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    providers::lock(&mut conn, provider_id).await?;
    let report = auto_in(&mut conn, key, actor, provider_id, day, now).await?;
    tx.commit().await?;
    Ok(report)
}

/// An order dispatch may (re)plan.
#[derive(sqlx::FromRow)]
struct OpenOrder {
    id: Uuid,
    item_code: String,
    window_start: DateTime<Utc>,
    window_end: DateTime<Utc>,
    minutes: i32,
    latitude: Option<f64>,
    longitude: Option<f64>,
    needs_certificate: Option<bool>,
}

/// A caregiver of the provider on the day.
#[derive(sqlx::FromRow)]
struct Staffer {
    id: Uuid,
    certificate_no: String,
    barred_on: Option<NaiveDate>,
    kind: Option<String>,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
}

fn point(lat: Option<f64>, lon: Option<f64>) -> Option<GeoPoint> {
    GeoPoint::new(lat?, lon?).ok()
}

async fn auto_in(
    conn: &mut Conn<'_>,
    key: &ChainKey,
    actor: &Actor,
    provider_id: Uuid,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Report, DbError> {
    let open: Vec<OpenOrder> = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT o.id, o.item_code, o.window_start, o.window_end, o.minutes, e.latitude, \
             e.longitude, (SELECT p.needs_certificate FROM service_prices p \
               WHERE p.provider_id = o.provider_id AND p.item_code = o.item_code \
               AND p.valid_from <= o.service_on AND (p.valid_to IS NULL OR p.valid_to >= o.service_on) \
               ORDER BY p.valid_from DESC LIMIT 1) AS needs_certificate \
             FROM service_orders o JOIN elders e ON e.id = o.elder_id \
             WHERE o.provider_id = $1 AND o.service_on = $2 AND o.status = 'booked' \
             AND (o.caregiver_id IS NULL OR o.assigned_how = 'auto') \
             AND NOT EXISTS (SELECT 1 FROM visits v WHERE v.order_id = o.id) \
             ORDER BY o.window_start, o.id",
        )
        .bind(provider_id).bind(day).fetch_all(&mut *c).await
    })?;
    let staff: Vec<Staffer> =
        on_conn!(conn, |c| {
            sqlx::query_as(
            "SELECT DISTINCT s.id, s.certificate_no, s.barred_on, d.kind, d.starts_at, d.ends_at \
             FROM staff s JOIN employments e ON e.staff_id = s.id AND e.provider_id = $1 \
             AND e.start_on <= $2 AND (e.end_on IS NULL OR e.end_on >= $2) \
             LEFT JOIN caregiver_days d ON d.staff_id = s.id AND d.day = $2 \
             WHERE EXISTS (SELECT 1 FROM staff_skills k WHERE k.staff_id = s.id) ORDER BY s.id",
        )
        .bind(provider_id).bind(day).fetch_all(&mut *c).await
        })?;
    // Kept: hand assignments and started visits, as busy time.
    let kept: Vec<(Uuid, DateTime<Utc>, DateTime<Utc>)> = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT o.caregiver_id, COALESCE(o.planned_at, o.window_start), o.minutes \
             FROM service_orders o WHERE o.provider_id = $1 AND o.service_on = $2 \
             AND o.caregiver_id IS NOT NULL AND o.status IN ('booked', 'done') \
             AND (o.assigned_how IS NULL OR o.assigned_how <> 'auto' \
                  OR EXISTS (SELECT 1 FROM visits v WHERE v.order_id = o.id))",
        )
        .bind(provider_id)
        .bind(day)
        .fetch_all(&mut *c)
        .await
        .map(|rows: Vec<(Uuid, DateTime<Utc>, i32)>| {
            rows.into_iter()
                .map(|(s, a, m)| (s, a, a + Duration::minutes(i64::from(m))))
                .collect()
        })
    })?;
    let mut busy: HashMap<Uuid, Vec<Period>> = HashMap::new();
    for (s, a, z) in kept {
        busy.entry(s).or_default().push((a, z));
    }
    let mut skills_of = skills_at(conn, provider_id).await?;
    let gap = Duration::minutes(Options::CITY.min_gap_minutes);
    let caregivers: Vec<Caregiver<Uuid>> = staff
        .iter()
        .map(|s| {
            let shifts = match (s.kind.as_deref(), s.starts_at, s.ends_at) {
                (Some("leave"), _, _) => Vec::new(),
                (Some("shift"), Some(a), Some(z)) => vec![(a, z)],
                _ => vec![dispatch::default_shift(day)],
            };
            Caregiver {
                id: s.id,
                skills: skills_of.remove(&s.id).unwrap_or_default(),
                certified: !s.certificate_no.trim().is_empty(),
                blacklisted: s.barred_on.is_some_and(|b| b <= day),
                shifts: free_periods(&shifts, busy.get(&s.id).map_or(&[], |v| v), gap),
                start_at: None,
            }
        })
        .collect();
    let orders: Vec<dispatch::Order<Uuid>> = open
        .iter()
        .map(|o| {
            let minutes = i64::from(o.minutes);
            dispatch::Order {
                id: o.id,
                item: o.item_code.clone(),
                needs_certificate: o.needs_certificate.unwrap_or(false),
                earliest: o.window_start,
                latest: (o.window_end - Duration::minutes(minutes)).max(o.window_start),
                minutes,
                home: point(o.latitude, o.longitude),
            }
        })
        .collect();
    let (assigned, left) = dispatch::plan(&orders, &caregivers, &Options::CITY);
    for a in &assigned {
        on_conn!(conn, |c| {
            sqlx::query(
                "UPDATE service_orders SET caregiver_id = $1, assigned_how = 'auto', \
                 planned_at = $2, updated_at = $3 WHERE id = $4",
            )
            .bind(a.caregiver)
            .bind(a.start)
            .bind(now)
            .bind(a.order)
            .execute(&mut *c)
            .await
            .map(|_| ())
        })?;
    }
    for (id, _) in &left {
        on_conn!(conn, |c| {
            sqlx::query(
                "UPDATE service_orders SET caregiver_id = NULL, assigned_how = NULL, \
                 planned_at = NULL, updated_at = $1 WHERE id = $2",
            )
            .bind(now)
            .bind(*id)
            .execute(&mut *c)
            .await
            .map(|_| ())
        })?;
    }
    let event = Event::new("order.dispatch", "provider", provider_id).detail(json!({
        "day": day, "assigned": assigned.len(), "left": left.len(),
        "orders": assigned.iter().map(|a| json!([a.order, a.caregiver, a.start])).collect::<Vec<_>>(),
    }));
    audit::append(conn, key, actor, event, now).await?;
    Ok(Report { assigned, left })
}

/// One caregiver on a provider's day board.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct BoardCaregiver {
    /// Staff id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Certificate number ('' when none).
    pub certificate_no: String,
    /// Barred from this day.
    pub barred_on: Option<NaiveDate>,
    /// shift | leave | none (default hours).
    pub kind: Option<String>,
    /// Shift start.
    pub starts_at: Option<DateTime<Utc>>,
    /// Shift end.
    pub ends_at: Option<DateTime<Utc>>,
    /// Leave reason.
    pub reason: Option<String>,
    /// Orders assigned that day (not cancelled).
    pub load: i64,
}

/// The provider's caregivers employed on `day` — those with a skill set or an order that day —
/// with their day and load, by name. Only for those who dispatch for the provider (its own
/// administrator, or bureau staff over the region where it is registered): the board shows
/// leave reasons and certificates, so anyone else gets `NotFound`.
pub async fn board(
    conn: &mut Conn<'_>,
    actor: &Actor,
    provider_id: Uuid,
    day: NaiveDate,
) -> Result<Vec<BoardCaregiver>, DbError> {
    if !may_manage(conn, actor, provider_id).await? {
        return Err(DbError::NotFound);
    }
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT s.id, s.name, s.certificate_no, s.barred_on, d.kind, d.starts_at, d.ends_at, \
             d.reason, (SELECT COUNT(*) FROM service_orders o WHERE o.caregiver_id = s.id \
               AND o.provider_id = $1 AND o.service_on = $2 AND o.status <> 'cancelled') AS load \
             FROM staff s LEFT JOIN caregiver_days d ON d.staff_id = s.id AND d.day = $2 \
             WHERE s.id IN (SELECT e.staff_id FROM employments e WHERE e.provider_id = $1 \
               AND e.start_on <= $2 AND (e.end_on IS NULL OR e.end_on >= $2)) \
             AND (EXISTS (SELECT 1 FROM staff_skills k WHERE k.staff_id = s.id) \
               OR EXISTS (SELECT 1 FROM service_orders o WHERE o.caregiver_id = s.id \
                 AND o.service_on = $2)) \
             ORDER BY s.name, s.id",
        )
        .bind(provider_id)
        .bind(day)
        .fetch_all(&mut *c)
        .await
    })?)
}
