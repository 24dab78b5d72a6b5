//! Recurring service plans in storage. Creating a plan generates its orders for the days
//! ahead ([`HORIZON_DAYS`]) in the same transaction; the server tops every active plan up each
//! night. A day whose order is refused (quota used up, the person died, no price that day) is
//! skipped and reported with the reason — never booked at zero or silently dropped — and one
//! order per plan and day is a unique index, so generating twice adds nothing.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Timelike, Utc};
use jinglao_domain::clock::{china_date, china_time};
use jinglao_domain::order::Funding;
use jinglao_domain::service_plan::{HORIZON_DAYS, Weekdays, days};
use jinglao_domain::{Invalid, RegionCode, Scope};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, ChainKey, Event};
use crate::orders::{self, Channel, NewOrder};
use crate::{Actor, Conn, Db, DbError, on_conn};

/// A plan as entered.
#[derive(Debug, Clone)]
pub struct NewPlan<'a> {
    /// The person.
    pub elder_id: Uuid,
    /// Provider.
    pub provider_id: Uuid,
    /// Item code.
    pub item_code: &'a str,
    /// Who pays.
    pub funding: Option<Funding>,
    /// Which weekdays.
    pub weekdays: Option<Weekdays>,
    /// Start time, China time.
    pub start_time: Option<NaiveTime>,
    /// Minutes per visit.
    pub minutes: Option<i64>,
    /// First day.
    pub start_on: Option<NaiveDate>,
    /// Last day, if any.
    pub end_on: Option<NaiveDate>,
    /// How it arrived.
    pub channel: Channel,
}

/// What one generation did for one plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Generated {
    /// Orders booked.
    pub booked: Vec<(NaiveDate, Uuid)>,
    /// Days skipped, with the reason.
    pub skipped: Vec<(NaiveDate, String)>,
}

/// A stored plan.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Plan {
    /// Id.
    pub id: Uuid,
    /// The person.
    pub elder_id: Uuid,
    /// Their residence when planned.
    pub region_code: String,
    /// Provider.
    pub provider_id: Uuid,
    /// Item code.
    pub item_code: String,
    /// Funding (stored name).
    pub funding: String,
    /// Weekday bits.
    pub weekdays: i32,
    /// Start, minutes after midnight China time.
    pub start_minute: i32,
    /// Minutes per visit.
    pub minutes: i32,
    /// First day.
    pub start_on: NaiveDate,
    /// Last day.
    pub end_on: Option<NaiveDate>,
    /// active | ended.
    pub status: String,
    /// Why it ended.
    pub end_reason: Option<String>,
    /// Orders exist through this day.
    pub generated_to: Option<NaiveDate>,
    /// How the plan was made (its orders carry it).
    pub channel: String,
}

impl Plan {
    /// "周二 09:00，60 分钟".
    pub fn schedule_label(&self) -> String {
        let days = Weekdays::from_bits(i64::from(self.weekdays))
            .map(|w| w.label())
            .unwrap_or_default();
        format!(
            "{days} {:02}:{:02}，{} 分钟",
            self.start_minute / 60,
            self.start_minute % 60,
            self.minutes
        )
    }
}

const COLUMNS: &str = "SELECT id, elder_id, region_code, provider_id, item_code, funding, weekdays, \
    start_minute, minutes, start_on, end_on, status, end_reason, generated_to, channel FROM service_plans";

fn validate(
    p: &NewPlan<'_>,
    today: NaiveDate,
) -> Result<(Weekdays, NaiveTime, i64, NaiveDate), Invalid> {
    let mut inv = Invalid::new();
    if p.weekdays.is_none() {
        inv.add("weekdays", "请至少选择一天");
    }
    if p.start_time.is_none() {
        inv.add("start_time", "请填写开始时间（如 09:00）");
    }
    match p.start_on {
        None => inv.add("start_on", "请填写开始日期"),
        Some(d) if d < today => inv.add("start_on", "开始日期不能早于今天"),
        Some(_) => {}
    }
    if let (Some(a), Some(z)) = (p.start_on, p.end_on)
        && z < a
    {
        inv.add("end_on", "结束日期不能早于开始日期");
    }
    match p.minutes {
        Some(m) if (1..=480).contains(&m) => {}
        _ => inv.add("minutes", "服务时长应为 1 到 480 之间的整数（分钟）"),
    }
    if p.item_code.trim().is_empty() {
        inv.add("item_code", "请选择服务项目");
    }
    if p.funding.is_none() {
        inv.add("funding", "请选择支付方式");
    }
    inv.into_result((
        p.weekdays
            .unwrap_or(Weekdays::from_days(&[1]).expect("Monday")),
        p.start_time.unwrap_or_default(),
        p.minutes.unwrap_or(0),
        p.start_on.unwrap_or(today),
    ))
}

/// Creates a plan and books its first [`HORIZON_DAYS`] days; audited, one transaction.
pub async fn create(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    p: &NewPlan<'_>,
    now: DateTime<Utc>,
) -> Result<(Uuid, Generated), DbError> {
    let today = china_date(now);
    let (weekdays, start_time, minutes, start_on) = validate(p, today)?;
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let residence: Option<String> = on_conn!(&mut conn, |c| {
        sqlx::query_scalar("SELECT residence_region_code FROM elders WHERE id = $1")
            .bind(p.elder_id)
            .fetch_optional(&mut *c)
            .await
    })?;
    let residence = RegionCode::parse(&residence.ok_or(DbError::NotFound)?)
        .map_err(|e| DbError::Corrupt(e.to_string()))?;
    if !orders::may_book(actor, &residence, p.provider_id) {
        return Err(DbError::NotFound);
    }
    let id = Uuid::now_v7();
    let funding = p.funding.unwrap_or(Funding::SelfPay);
    let start_minute = i64::from(start_time.hour() * 60 + start_time.minute());
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "INSERT INTO service_plans (id, elder_id, region_code, provider_id, item_code, funding, \
             weekdays, start_minute, minutes, start_on, end_on, status, created_by, created_at, \
             updated_at, channel) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'active', $12, \
             $13, $13, $14)",
        )
        .bind(id).bind(p.elder_id).bind(residence.as_str()).bind(p.provider_id)
        .bind(p.item_code.trim()).bind(funding.as_str()).bind(weekdays.bits() as i32)
        .bind(start_minute as i32).bind(minutes as i32).bind(start_on).bind(p.end_on)
        .bind(actor.user_id).bind(now).bind(p.channel.as_str())
        .execute(&mut *c).await.map(|_| ())
    })?;
    let event = Event::new("plan.create", "elder", p.elder_id)
        .region(Some(residence))
        .detail(json!({
            "plan": id, "provider": p.provider_id, "item": p.item_code.trim(),
            "funding": funding.as_str(), "weekdays": weekdays.bits(), "start_minute": start_minute,
            "minutes": minutes, "start_on": start_on, "end_on": p.end_on,
        }));
    audit::append(&mut conn, key, actor, event, now).await?;
    let plan = get(&mut conn, &Scope::All, id)
        .await?
        .ok_or(DbError::NotFound)?;
    let generated = generate_in(&mut conn, key, actor, &plan, now).await?;
    tx.commit().await?;
    Ok((id, generated))
}

/// Books the plan's days from tomorrow-or-its-start through the horizon that have no order
/// yet. Refused days are skipped with their reasons (each refused booking leaves nothing).
async fn generate_in(
    conn: &mut Conn<'_>,
    key: &ChainKey,
    actor: &Actor,
    plan: &Plan,
    now: DateTime<Utc>,
) -> Result<Generated, DbError> {
    let channel = Channel::parse(&plan.channel).unwrap_or(Channel::Staff);
    let today = china_date(now);
    let through = today + Duration::days(HORIZON_DAYS - 1);
    let from = plan
        .generated_to
        .map_or(today, |g| (g + Duration::days(1)).max(today));
    let weekdays = Weekdays::from_bits(i64::from(plan.weekdays))
        .ok_or_else(|| DbError::Corrupt(format!("plan {} has no weekdays", plan.id)))?;
    let funding = Funding::parse(&plan.funding)
        .ok_or_else(|| DbError::Corrupt(format!("plan {} funding {}", plan.id, plan.funding)))?;
    let mut out = Generated::default();
    // The provider's credit, read once for every day booked.
    let credit = crate::credit::credit_of(conn, plan.provider_id).await?;
    for day in days(weekdays, plan.start_on, plan.end_on, from, through) {
        let start = china_time(
            day,
            NaiveTime::from_num_seconds_from_midnight_opt(plan.start_minute as u32 * 60, 0)
                .ok_or_else(|| DbError::Corrupt(format!("plan {} start", plan.id)))?,
        );
        if start < now {
            out.skipped.push((day, "开始时间已过".into()));
            continue;
        }
        let order = NewOrder {
            elder_id: plan.elder_id,
            provider_id: plan.provider_id,
            item_code: &plan.item_code,
            funding: Some(funding),
            window_start: Some(start),
            latest_start: None,
            minutes: Some(i64::from(plan.minutes)),
            channel,
        };
        // Each day in a savepoint: a refused day rolls back alone.
        savepoint(conn, "SAVEPOINT plan_day").await?;
        match orders::place_in(conn, key, actor, &order, Some(plan.id), &credit, now).await {
            Ok(placed) => {
                savepoint(conn, "RELEASE SAVEPOINT plan_day").await?;
                out.booked.push((day, placed.id));
            }
            Err(DbError::Invalid(inv)) => {
                savepoint(conn, "ROLLBACK TO SAVEPOINT plan_day").await?;
                let why = inv
                    .errors
                    .iter()
                    .map(|e| e.message.clone())
                    .collect::<Vec<_>>()
                    .join("；");
                out.skipped.push((day, why));
            }
            Err(e) => return Err(e),
        }
    }
    if through >= from {
        on_conn!(conn, |c| {
            sqlx::query("UPDATE service_plans SET generated_to = $1, updated_at = $2 WHERE id = $3")
                .bind(through)
                .bind(now)
                .bind(plan.id)
                .execute(&mut *c)
                .await
                .map(|_| ())
        })?;
    }
    if !out.skipped.is_empty() {
        let event = Event::new("plan.skip", "elder", plan.elder_id)
            .region(RegionCode::parse(&plan.region_code).ok())
            .detail(json!({
                "plan": plan.id,
                "skipped": out.skipped.iter().map(|(d, w)| json!([d, w])).collect::<Vec<_>>(),
            }));
        audit::append(conn, key, actor, event, now).await?;
    }
    Ok(out)
}

/// Runs one savepoint statement (`SAVEPOINT`, `RELEASE`, `ROLLBACK TO`; both databases).
async fn savepoint(conn: &mut Conn<'_>, sql: &'static str) -> Result<(), DbError> {
    on_conn!(conn, |c| sqlx::query(sql)
        .execute(&mut *c)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// Tops up every active plan to the horizon (the nightly job); one transaction per plan.
/// Returns (plans touched, orders booked, days skipped).
pub async fn generate_all(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(usize, usize, usize), DbError> {
    let through = china_date(now) + Duration::days(HORIZON_DAYS - 1);
    let due: Vec<Plan> = {
        let mut c = db.acquire().await?;
        on_conn!(&mut c.conn(), |c| {
            let mut q = sqlx::QueryBuilder::new(COLUMNS);
            q.push(" WHERE status = 'active' AND (generated_to IS NULL OR generated_to < ")
                .push_bind(through)
                .push(") AND (end_on IS NULL OR generated_to IS NULL OR end_on > generated_to) ORDER BY id");
            q.build_query_as::<Plan>().fetch_all(&mut *c).await
        })?
    };
    let (mut booked, mut skipped) = (0, 0);
    for plan in &due {
        let mut tx = db.begin().await?;
        let mut conn = tx.conn();
        // Re-read under the transaction: a plan ended or topped up meanwhile is left alone.
        let Some(fresh) = get(&mut conn, &Scope::All, plan.id).await? else {
            continue;
        };
        if fresh.status != "active" || fresh.generated_to >= Some(through) {
            continue;
        }
        let g = generate_in(&mut conn, key, actor, &fresh, now).await?;
        tx.commit().await?;
        booked += g.booked.len();
        skipped += g.skipped.len();
    }
    Ok((due.len(), booked, skipped))
}

/// One plan, if `scope` covers it.
pub async fn get(conn: &mut Conn<'_>, scope: &Scope, id: Uuid) -> Result<Option<Plan>, DbError> {
    let rows: Vec<Plan> = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(COLUMNS);
        q.push(" WHERE id = ").push_bind(id);
        crate::scope_sql::push_scope(&mut q, scope, "region_code", "provider_id");
        q.build_query_as::<Plan>().fetch_all(&mut *c).await
    })?;
    Ok(rows.into_iter().next())
}

/// A person's plans within `scope`, newest first.
pub async fn of_elder(
    conn: &mut Conn<'_>,
    scope: &Scope,
    elder_id: Uuid,
) -> Result<Vec<Plan>, DbError> {
    Ok(on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(COLUMNS);
        q.push(" WHERE elder_id = ").push_bind(elder_id);
        crate::scope_sql::push_scope(&mut q, scope, "region_code", "provider_id");
        q.push(" ORDER BY created_at DESC");
        q.build_query_as::<Plan>().fetch_all(&mut *c).await
    })?)
}

/// Ends a plan with a reason: its future orders not yet started are cancelled with it (the
/// quota they held is freed). Audited, one transaction. Returns the orders cancelled.
pub async fn end(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    plan_id: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<u64, DbError> {
    if reason.trim().is_empty() || reason.trim().chars().count() > 500 {
        return Err(Invalid::one("reason", "请填写终止计划的原因（不超过 500 字）").into());
    }
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let plan = get(&mut conn, &actor.scope, plan_id)
        .await?
        .ok_or(DbError::NotFound)?;
    let residence =
        RegionCode::parse(&plan.region_code).map_err(|e| DbError::Corrupt(e.to_string()))?;
    if !orders::may_book(actor, &residence, plan.provider_id) {
        return Err(DbError::NotFound);
    }
    if plan.status != "active" {
        return Err(Invalid::one("plan", "计划已终止").into());
    }
    let why = format!("服务计划终止：{}", reason.trim());
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "UPDATE service_plans SET status = 'ended', end_reason = $1, updated_at = $2 WHERE id = $3",
        )
        .bind(reason.trim()).bind(now).bind(plan_id).execute(&mut *c).await.map(|_| ())
    })?;
    let cancelled = orders::cancel_unstarted(
        &mut conn,
        orders::Unstarted::OfPlan(plan_id, now),
        &why,
        now,
    )
    .await?
    .len() as u64;
    let event = Event::new("plan.end", "elder", plan.elder_id)
        .region(Some(residence))
        .detail(json!({ "plan": plan_id, "reason": reason.trim(), "orders_cancelled": cancelled }));
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(cancelled)
}

/// Filters of [`list`].
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// One person.
    pub elder_id: Option<Uuid>,
    /// One provider.
    pub provider_id: Option<Uuid>,
    /// active | ended.
    pub status: Option<String>,
    /// People living within this region.
    pub region: Option<RegionCode>,
    /// Plans after this one in list order (ids are time-ordered: oldest first).
    pub after: Option<Uuid>,
}

/// A plan in a list, with the person's and provider's names.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Listed {
    /// The plan.
    #[sqlx(flatten)]
    pub plan: Plan,
    /// The person's name.
    pub elder_name: String,
    /// The provider's name.
    pub provider_name: String,
}

/// Plans within `scope`, filtered, oldest first, at most `limit`.
pub async fn list(
    conn: &mut Conn<'_>,
    scope: &Scope,
    f: &ListFilter,
    limit: i64,
) -> Result<Vec<Listed>, DbError> {
    Ok(on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(
            "SELECT s.id, s.elder_id, s.region_code, s.provider_id, s.item_code, s.funding, \
             s.weekdays, s.start_minute, s.minutes, s.start_on, s.end_on, s.status, s.end_reason, \
             s.generated_to, s.channel, e.name AS elder_name, p.name AS provider_name \
             FROM service_plans s JOIN elders e ON e.id = s.elder_id \
             JOIN providers p ON p.id = s.provider_id WHERE 1 = 1",
        );
        crate::scope_sql::push_scope(&mut q, scope, "s.region_code", "s.provider_id");
        if let Some(e) = f.elder_id {
            q.push(" AND s.elder_id = ").push_bind(e);
        }
        if let Some(p) = f.provider_id {
            q.push(" AND s.provider_id = ").push_bind(p);
        }
        if let Some(status) = &f.status {
            q.push(" AND s.status = ").push_bind(status.clone());
        }
        if let Some(region) = &f.region {
            let (lo, hi) = region.subtree_range();
            q.push(" AND s.region_code BETWEEN ")
                .push_bind(lo)
                .push(" AND ")
                .push_bind(hi);
        }
        if let Some(after) = f.after {
            q.push(" AND s.id > ").push_bind(after);
        }
        q.push(" ORDER BY s.id LIMIT ").push_bind(limit);
        q.build_query_as::<Listed>().fetch_all(&mut *c).await
    })?)
}
