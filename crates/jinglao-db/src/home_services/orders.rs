//! Service orders (服务工单): one booked visit of a home service for one older person, with the
//! provider, item, time window and who pays. An order paid from the person's entitlement is
//! checked against the month's quota of that item under a lock on the person's row, so two
//! clerks booking the last visit of the month at once cannot both succeed.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use jinglao_domain::clock::{china_date, china_time};
use jinglao_domain::order::{Funding, Size, Usage, fits};
use jinglao_domain::{Invalid, Permission, RegionCode, Role, Scope};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, ChainKey, Event};
use crate::{Actor, Conn, Db, DbError, on_conn, service_lists};

/// How an order reached the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Community or township staff.
    Staff,
    /// The provider's own staff.
    Provider,
    /// The elder or family on the public pages.
    Public,
    /// Staff taking a phone call on the person's behalf.
    Phone,
}

impl Channel {
    /// From the stored name.
    pub fn parse(s: &str) -> Option<Channel> {
        [
            Channel::Staff,
            Channel::Provider,
            Channel::Public,
            Channel::Phone,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }

    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Staff => "staff",
            Channel::Provider => "provider",
            Channel::Public => "public",
            Channel::Phone => "phone",
        }
    }
}

/// The month a China date falls in, as stored (`2026-11`).
pub fn month_of(day: NaiveDate) -> String {
    format!("{:04}-{:02}", day.year(), day.month())
}

/// An order as entered.
#[derive(Debug, Clone)]
pub struct NewOrder<'a> {
    /// The older person.
    pub elder_id: Uuid,
    /// The provider delivering it.
    pub provider_id: Uuid,
    /// Service-list item code.
    pub item_code: &'a str,
    /// Who pays.
    pub funding: Option<Funding>,
    /// Start of the time window.
    pub window_start: Option<DateTime<Utc>>,
    /// The latest the visit may start (the window's end less the visit); `None`: at
    /// `window_start` exactly. Dispatch plans the start within it.
    pub latest_start: Option<DateTime<Utc>>,
    /// Minutes booked.
    pub minutes: Option<i64>,
    /// How it arrived.
    pub channel: Channel,
}

/// A placed order: its id and the confirmation code to give the person (by card, SMS or the
/// public page; caregivers never see it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// Order id.
    pub id: Uuid,
    /// Six digits.
    pub confirm_code: String,
}

/// What the order check needs to know of the person.
#[derive(sqlx::FromRow)]
struct ElderFacts {
    residence_region_code: String,
    status: String,
    status_date: Option<NaiveDate>,
}

fn confirm_code() -> String {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).expect("the operating system provides randomness");
    format!("{:06}", u32::from_le_bytes(b) % 1_000_000)
}

fn validate(
    o: &NewOrder<'_>,
    now: DateTime<Utc>,
) -> Result<(Funding, DateTime<Utc>, DateTime<Utc>, i64), Invalid> {
    let mut inv = Invalid::new();
    if o.item_code.trim().is_empty() {
        inv.add("item_code", "请选择服务项目");
    }
    let funding = o.funding;
    match funding {
        None => inv.add("funding", "请选择支付方式"),
        Some(Funding::Voucher) => inv.add("funding", "本地尚未开通消费券支付"),
        Some(Funding::CareInsurance) => inv.add("funding", "本地尚未开通长期护理保险结算"),
        Some(_) => {}
    }
    match o.window_start {
        None => inv.add("window_start", "请填写服务开始时间"),
        Some(t) if china_date(t) < china_date(now) => {
            inv.add("window_start", "服务时间不能早于今天")
        }
        Some(t) if t > now + Duration::days(92) => {
            inv.add("window_start", "只能预约三个月以内的服务")
        }
        Some(_) => {}
    }
    match o.minutes {
        Some(m) if (1..=480).contains(&m) => {}
        _ => inv.add("minutes", "服务时长应为 1 到 480 之间的整数（分钟）"),
    }
    let start = o.window_start.unwrap_or(now);
    let latest = o.latest_start.unwrap_or(start);
    if latest < start {
        inv.add("latest_start", "最晚开始时间不能早于最早开始时间");
    } else if china_date(latest) != china_date(start) {
        inv.add("latest_start", "服务时段不能跨天");
    }
    inv.into_result((
        funding.unwrap_or(Funding::SelfPay),
        start,
        latest,
        o.minutes.unwrap_or(0),
    ))
}

/// Whether `actor` may book for this person with this provider: region staff for people
/// living in their subtree, a provider's administrator for its own provider.
pub(crate) fn may_book(actor: &Actor, residence: &RegionCode, provider_id: Uuid) -> bool {
    if !(actor.may(Permission::EditElders) || actor.role == Role::ProviderAdmin.as_str()) {
        return actor.user_id.is_none();
    }
    match &actor.scope {
        Scope::All => true,
        Scope::Region(root) => root.contains(residence),
        Scope::Provider { provider_id: p, .. } => *p == provider_id,
    }
}

/// The contract price of `item` for `provider` on `day`, fen.
pub async fn price_on(
    conn: &mut Conn<'_>,
    provider_id: Uuid,
    item: &str,
    day: NaiveDate,
) -> Result<Option<(i64, i32, bool)>, DbError> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT unit_fen, min_minutes, needs_certificate FROM service_prices \
             WHERE provider_id = $1 AND item_code = $2 AND valid_from <= $3 \
             AND (valid_to IS NULL OR valid_to >= $3) ORDER BY valid_from DESC LIMIT 1",
        )
        .bind(provider_id)
        .bind(item)
        .bind(day)
        .fetch_optional(&mut *c)
        .await
    })?)
}

/// What the person has booked of `item` in `month` from their entitlement (orders neither
/// cancelled nor missed), leaving out the order `except`.
pub async fn usage(
    conn: &mut Conn<'_>,
    elder_id: Uuid,
    item: &str,
    month: &str,
    except: Option<Uuid>,
) -> Result<Usage, DbError> {
    let (times, minutes, fen): (i64, Option<i64>, Option<i64>) = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT COUNT(*), CAST(SUM(minutes) AS BIGINT), CAST(SUM(price_fen) AS BIGINT) \
             FROM service_orders WHERE elder_id = $1 AND item_code = $2 AND service_month = $3 \
             AND funding = 'entitlement' AND status IN ('booked', 'done') AND id <> $4",
        )
        .bind(elder_id)
        .bind(item)
        .bind(month)
        .bind(except.unwrap_or(Uuid::nil()))
        .fetch_one(&mut *c)
        .await
    })?;
    Ok(Usage {
        times: u32::try_from(times).unwrap_or(u32::MAX),
        minutes: u32::try_from(minutes.unwrap_or(0)).unwrap_or(u32::MAX),
        fen: fen.unwrap_or(0),
    })
}

/// Checks the entitlement and its quota for a booking; returns the entitlement.
async fn check_quota(
    conn: &mut Conn<'_>,
    elder_id: Uuid,
    item: &str,
    day: NaiveDate,
    size: Size,
    except: Option<Uuid>,
) -> Result<Uuid, DbError> {
    let ent: Option<(Uuid, Uuid)> = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT id, list_id FROM entitlements WHERE elder_id = $1 AND item_code = $2 \
             AND start_date <= $3 AND (end_date IS NULL OR end_date >= $3) LIMIT 1",
        )
        .bind(elder_id)
        .bind(item)
        .bind(day)
        .fetch_optional(&mut *c)
        .await
    })?;
    let Some((ent_id, list_id)) = ent else {
        let label = service_lists::item_label(conn, item).await?;
        return Err(Invalid::one(
            "funding",
            format!("老人在 {day} 没有纳入项目{label}，不能使用服务额度；可改为自费"),
        )
        .into());
    };
    let list = service_lists::get(conn, list_id)
        .await?
        .ok_or_else(|| DbError::Corrupt(format!("entitlement {ent_id} names a missing list")))?;
    let quota = list
        .items
        .iter()
        .find(|i| i.code == item)
        .map(|i| i.quota)
        .ok_or_else(|| DbError::Corrupt(format!("list {list_id} has no item {item}")))?;
    let used = usage(conn, elder_id, item, &month_of(day), except).await?;
    fits(quota, used, size).map_err(|e| Invalid::one("funding", e))?;
    Ok(ent_id)
}

/// Whether an entitlement order is still covered on its day: the person is enrolled in the
/// item and the month's quota holds with this order counted (the visit check's quota rule).
pub async fn entitlement_holds(conn: &mut Conn<'_>, order_id: Uuid) -> Result<bool, DbError> {
    let order = get(conn, &Scope::All, order_id)
        .await?
        .ok_or(DbError::NotFound)?;
    let size = Size {
        minutes: u32::try_from(order.minutes).unwrap_or(0),
        fen: order.price_fen,
    };
    let day = order.service_on;
    match check_quota(
        conn,
        order.elder_id,
        &order.item_code,
        day,
        size,
        Some(order_id),
    )
    .await
    {
        Ok(_) => Ok(true),
        Err(DbError::Invalid(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Places an order, audited. Refused, naming the field, when the person is not active, the
/// provider has no contract price for the item on the day, or the month's quota is used up.
pub async fn place(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    o: &NewOrder<'_>,
    now: DateTime<Utc>,
) -> Result<Placed, DbError> {
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let credit = crate::credit::credit_of(&mut conn, o.provider_id).await?;
    let placed = place_in(&mut conn, key, actor, o, None, &credit, now).await?;
    tx.commit().await?;
    Ok(placed)
}

/// [`place`] inside the caller's transaction, for a recurring plan's orders. `credit` is the
/// provider's (`credit::credit_of`), loaded once by the caller however many days it books.
pub(crate) async fn place_in(
    conn: &mut Conn<'_>,
    key: &ChainKey,
    actor: &Actor,
    o: &NewOrder<'_>,
    plan_id: Option<Uuid>,
    credit: &crate::credit::ProviderCredit,
    now: DateTime<Utc>,
) -> Result<Placed, DbError> {
    let (funding, start, latest, minutes) = validate(o, now)?;
    let item = o.item_code.trim();
    let day = china_date(start);
    // Lock the person's row (a no-op write): bookings for one person queue here, so the quota
    // is read and used by one booking at a time.
    let facts: Option<ElderFacts> = on_conn!(conn, |c| {
        sqlx::query_as(
            "UPDATE elders SET updated_at = updated_at WHERE id = $1 \
             RETURNING residence_region_code, status, status_date",
        )
        .bind(o.elder_id)
        .fetch_optional(&mut *c)
        .await
    })?;
    let facts = facts.ok_or(DbError::NotFound)?;
    let residence = RegionCode::parse(&facts.residence_region_code)
        .map_err(|e| DbError::Corrupt(e.to_string()))?;
    if !may_book(actor, &residence, o.provider_id) {
        return Err(DbError::NotFound);
    }
    if facts.status != "active" {
        let when = facts
            .status_date
            .map(|d| format!("（{d}）"))
            .unwrap_or_default();
        return Err(Invalid::one("elder_id", format!("老人已故或已迁出{when}，不能下单")).into());
    }
    let Some((price_fen, _, _)) = price_on(conn, o.provider_id, item, day).await? else {
        let label = service_lists::item_label(conn, item).await?;
        return Err(Invalid::one(
            "item_code",
            format!("该服务机构在 {day} 没有项目{label}的合同单价"),
        )
        .into());
    };
    if funding.is_government_purchase()
        && let Some(why) = credit.purchase_bar(day)
    {
        return Err(Invalid::one(
            "provider_id",
            format!("不能下政府出资的服务单：该服务机构{why}"),
        )
        .into());
    }
    let size = Size {
        minutes: u32::try_from(minutes).unwrap_or(0),
        fen: price_fen,
    };
    let entitlement = match funding {
        Funding::Entitlement => Some(check_quota(conn, o.elder_id, item, day, size, None).await?),
        _ => None,
    };
    let id = Uuid::now_v7();
    let code = confirm_code();
    on_conn!(conn, |c| {
        sqlx::query(
            "INSERT INTO service_orders (id, elder_id, region_code, provider_id, item_code, funding, \
             entitlement_id, service_on, service_month, window_start, window_end, minutes, price_fen, \
             confirm_code, status, channel, created_by, created_at, updated_at, plan_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'booked', $15, $16, $17, $17, $18)",
        )
        .bind(id).bind(o.elder_id).bind(residence.as_str()).bind(o.provider_id).bind(item)
        .bind(funding.as_str()).bind(entitlement).bind(day).bind(month_of(day)).bind(start)
        .bind(latest + Duration::minutes(minutes)).bind(minutes as i32).bind(price_fen)
        .bind(&code).bind(o.channel.as_str()).bind(actor.user_id).bind(now).bind(plan_id)
        .execute(&mut *c).await.map(|_| ())
    })?;
    let event = Event::new("order.place", "elder", o.elder_id)
        .region(Some(residence))
        .detail(json!({
            "order": id, "provider": o.provider_id, "item": item, "funding": funding.as_str(),
            "on": day, "minutes": minutes, "price_fen": price_fen, "channel": o.channel.as_str(),
        }));
    audit::append(conn, key, actor, event, now).await?;
    let local = start.with_timezone(&jinglao_domain::clock::china_offset());
    let text = format!(
        "【敬老】已预约上门服务：{}，确认码 {code}。服务结束时请把确认码告诉护理员，不要告诉其他人。",
        local.format("%m月%d日 %H:%M")
    );
    crate::sms::queue(conn, o.elder_id, "visit_code", &text, now).await?;
    Ok(Placed {
        id,
        confirm_code: code,
    })
}

/// Booked orders to cancel because what they depended on ended: never one a caregiver has
/// checked in to (it has a visit), whatever else.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Unstarted {
    /// A plan's orders whose window starts after the instant (the plan was ended).
    OfPlan(Uuid, DateTime<Utc>),
    /// A person's orders from the day (they died or moved away).
    OfElder(Uuid, NaiveDate),
    /// A provider's government-paid orders from the day (a credit record bars it).
    GovernmentPaidOf(Uuid, NaiveDate),
}

/// Cancels the booked orders `which` names, not yet started, with `reason`; returns their ids.
pub(crate) async fn cancel_unstarted(
    conn: &mut Conn<'_>,
    which: Unstarted,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, DbError> {
    Ok(on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(
            "UPDATE service_orders SET status = 'cancelled', end_reason = ",
        );
        q.push_bind(reason).push(", updated_at = ").push_bind(now);
        q.push(
            " WHERE status = 'booked' \
                 AND NOT EXISTS (SELECT 1 FROM visits v WHERE v.order_id = service_orders.id)",
        );
        match which {
            Unstarted::OfPlan(plan, after) => {
                q.push(" AND plan_id = ").push_bind(plan);
                q.push(" AND window_start > ").push_bind(after);
            }
            Unstarted::OfElder(elder, from) => {
                q.push(" AND elder_id = ").push_bind(elder);
                q.push(" AND service_on >= ").push_bind(from);
            }
            Unstarted::GovernmentPaidOf(provider, from) => {
                q.push(" AND provider_id = ").push_bind(provider);
                q.push(" AND service_on >= ").push_bind(from);
                q.push(" AND funding IN (");
                let mut sep = q.separated(", ");
                for f in Funding::ALL.iter().filter(|f| f.is_government_purchase()) {
                    sep.push_bind(f.as_str());
                }
                q.push(")");
            }
        }
        q.push(" RETURNING id");
        q.build_query_scalar::<Uuid>().fetch_all(&mut *c).await
    })?)
}

/// One order as its pages and the visit check see it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Order {
    /// Id.
    pub id: Uuid,
    /// The person.
    pub elder_id: Uuid,
    /// Where they lived when it was booked.
    pub region_code: String,
    /// Provider.
    pub provider_id: Uuid,
    /// Item code.
    pub item_code: String,
    /// Stored funding name.
    pub funding: String,
    /// Day (China date).
    pub service_on: NaiveDate,
    /// Month.
    pub service_month: String,
    /// Window start.
    pub window_start: DateTime<Utc>,
    /// Window end.
    pub window_end: DateTime<Utc>,
    /// Minutes.
    pub minutes: i32,
    /// Price, fen.
    pub price_fen: i64,
    /// booked | done | cancelled | no_show.
    pub status: String,
    /// Assigned caregiver.
    pub caregiver_id: Option<Uuid>,
    /// Why it was cancelled or missed.
    pub end_reason: Option<String>,
}

const ORDER_COLUMNS: &str = "SELECT id, elder_id, region_code, provider_id, item_code, funding, \
    service_on, service_month, window_start, window_end, minutes, price_fen, status, caregiver_id, \
    end_reason FROM service_orders";

/// One order, if `scope` covers it (its provider, or the person's region).
pub async fn get(conn: &mut Conn<'_>, scope: &Scope, id: Uuid) -> Result<Option<Order>, DbError> {
    let rows: Vec<Order> = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(ORDER_COLUMNS);
        q.push(" WHERE id = ").push_bind(id);
        crate::scope_sql::push_scope(&mut q, scope, "region_code", "provider_id");
        q.build_query_as::<Order>().fetch_all(&mut *c).await
    })?;
    Ok(rows.into_iter().next())
}

/// The orders of `ids` that exist, unscoped (the caller has checked who may see them).
pub(crate) async fn get_many(conn: &mut Conn<'_>, ids: &[Uuid]) -> Result<Vec<Order>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(ORDER_COLUMNS);
        q.push(" WHERE id IN ");
        crate::scope_sql::push_id_list(&mut q, ids);
        q.build_query_as::<Order>().fetch_all(&mut *c).await
    })?)
}

/// Assigns (or re-assigns) a booked order to a caregiver of its provider: one employed by the
/// provider on the day, and certified when the item's contract requires it. Audited.
pub async fn assign(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    order_id: Uuid,
    staff_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    if !(actor.may(Permission::ManageFacilities) || actor.user_id.is_none()) {
        return Err(DbError::NotFound);
    }
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let order = get(&mut conn, &actor.scope, order_id)
        .await?
        .ok_or(DbError::NotFound)?;
    if order.status != "booked" {
        return Err(Invalid::one("order", "只能派发尚未完成的工单").into());
    }
    let staff: Option<(String, Option<NaiveDate>, Option<String>, i64)> =
        on_conn!(&mut conn, |c| {
            sqlx::query_as(
                "SELECT s.certificate_no, s.barred_on, s.barred_reason, COUNT(e.id) FROM staff s \
             LEFT JOIN employments e ON e.staff_id = s.id AND e.provider_id = $2 \
             AND e.start_on <= $3 AND (e.end_on IS NULL OR e.end_on >= $3) WHERE s.id = $1 \
             GROUP BY s.certificate_no, s.barred_on, s.barred_reason",
            )
            .bind(staff_id)
            .bind(order.provider_id)
            .bind(order.service_on)
            .fetch_optional(&mut *c)
            .await
        })?;
    let Some((certificate, barred_on, barred_reason, employed)) = staff else {
        return Err(Invalid::one("caregiver_id", "没有这名护理员").into());
    };
    // Employment first: a blacklist entry is told only about the provider's own staff.
    if employed == 0 {
        return Err(Invalid::one(
            "caregiver_id",
            format!("这名护理员在 {} 不在该机构任职", order.service_on),
        )
        .into());
    }
    if let Some(on) = barred_on.filter(|d| *d <= order.service_on) {
        return Err(Invalid::one(
            "caregiver_id",
            format!(
                "这名护理员自 {on} 起列入黑名单（{}），不能派单",
                barred_reason.unwrap_or_default()
            ),
        )
        .into());
    }
    let needs_cert = price_on(
        &mut conn,
        order.provider_id,
        &order.item_code,
        order.service_on,
    )
    .await?
    .is_some_and(|(_, _, c)| c);
    if needs_cert && certificate.trim().is_empty() {
        return Err(Invalid::one(
            "caregiver_id",
            format!(
                "项目 {} 要求持证护理员，这名护理员没有登记证书",
                order.item_code
            ),
        )
        .into());
    }
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "UPDATE service_orders SET caregiver_id = $1, assigned_how = 'hand', \
             planned_at = window_start, updated_at = $2 WHERE id = $3",
        )
        .bind(staff_id)
        .bind(now)
        .bind(order_id)
        .execute(&mut *c)
        .await
        .map(|_| ())
    })?;
    let event = Event::new("order.assign", "elder", order.elder_id)
        .region(RegionCode::parse(&order.region_code).ok())
        .detail(
            json!({ "order": order_id, "caregiver": staff_id, "previous": order.caregiver_id }),
        );
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// How a booked order ended without a visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Cancelled beforehand (frees the quota).
    Cancelled,
    /// Nobody home, or the caregiver did not come (frees the quota).
    NoShow,
}

/// Ends a booked order without a visit, with a reason; audited. An order with a visit started
/// cannot be cancelled.
pub async fn end(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    order_id: Uuid,
    how: Ending,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    if reason.trim().is_empty() {
        return Err(Invalid::one("reason", "请填写取消或未服务的原因").into());
    }
    if !(actor.may(Permission::EditElders)
        || actor.may(Permission::ManageFacilities)
        || actor.user_id.is_none())
    {
        return Err(DbError::Forbidden(
            "只有社区工作人员或服务机构可以取消工单".into(),
        ));
    }
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let order = get(&mut conn, &actor.scope, order_id)
        .await?
        .ok_or(DbError::NotFound)?;
    let status = match how {
        Ending::Cancelled => "cancelled",
        Ending::NoShow => "no_show",
    };
    let changed = on_conn!(&mut conn, |c| {
        sqlx::query(
            "UPDATE service_orders SET status = $1, end_reason = $2, updated_at = $3 \
             WHERE id = $4 AND status = 'booked' \
             AND NOT EXISTS (SELECT 1 FROM visits v WHERE v.order_id = service_orders.id)",
        )
        .bind(status)
        .bind(reason.trim())
        .bind(now)
        .bind(order_id)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    if changed == 0 {
        return Err(Invalid::one("order", "工单已开始服务或已结束，不能再取消").into());
    }
    let event = Event::new("order.end", "elder", order.elder_id)
        .region(RegionCode::parse(&order.region_code).ok())
        .detail(json!({ "order": order_id, "status": status, "reason": reason.trim() }));
    audit::append(&mut conn, key, actor, event, now).await?;
    if how == Ending::Cancelled {
        let local = order
            .window_start
            .with_timezone(&jinglao_domain::clock::china_offset());
        let text = format!(
            "【敬老】{}的上门服务已取消（{}）。如有疑问请联系所在村（社区）。",
            local.format("%m月%d日 %H:%M"),
            reason.trim()
        );
        crate::sms::queue(&mut conn, order.elder_id, "booking_change", &text, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// One of a caregiver's orders for a day, with what the visit needs: the person's name,
/// address and position (no ID or phone number), and the visit if it has started.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Assigned {
    /// Order.
    pub id: Uuid,
    /// Item code.
    pub item_code: String,
    /// Window start.
    pub window_start: DateTime<Utc>,
    /// Window end.
    pub window_end: DateTime<Utc>,
    /// booked | done | cancelled | no_show.
    pub status: String,
    /// The person's name.
    pub elder_name: String,
    /// Address.
    pub address: String,
    /// Registered position.
    pub latitude: Option<f64>,
    /// Registered position.
    pub longitude: Option<f64>,
    /// The visit, once checked in.
    pub visit_id: Option<Uuid>,
    /// Its status.
    pub visit_status: Option<String>,
    /// Its findings (JSON).
    pub findings: Option<String>,
    /// The person's satisfaction score, once rated.
    pub score: Option<i32>,
    /// The latitude of the check-in, if it had a position (none before check-in, or when the
    /// phone gave no position).
    pub in_lat: Option<f64>,
}

/// A caregiver's orders on `day` (China date), in time order, cancelled ones left out.
pub async fn assigned_on(
    conn: &mut Conn<'_>,
    staff_id: Uuid,
    day: NaiveDate,
) -> Result<Vec<Assigned>, DbError> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT o.id, o.item_code, o.window_start, o.window_end, o.status, e.name AS elder_name, \
             e.address, e.latitude, e.longitude, v.id AS visit_id, v.status AS visit_status, v.findings, \
             r.score, v.in_lat FROM service_orders o JOIN elders e ON e.id = o.elder_id \
             LEFT JOIN visits v ON v.order_id = o.id \
             LEFT JOIN visit_ratings r ON r.visit_id = v.id AND r.source = 'caregiver_phone' \
             WHERE o.caregiver_id = $1 AND o.service_on = $2 AND o.status <> 'cancelled' \
             ORDER BY o.window_start, o.id",
        )
        .bind(staff_id).bind(day).fetch_all(&mut *c).await
    })?)
}

/// Up to `limit` active people living under `region` with a registered position, aged 60 or
/// more on `today` (the demo's round of home visits; not scoped, for seeding only).
pub async fn people_with_position(
    conn: &mut Conn<'_>,
    region: &RegionCode,
    today: NaiveDate,
    limit: i64,
) -> Result<Vec<Uuid>, DbError> {
    let (lo, hi) = region.subtree_range();
    let born_by = today.with_year(today.year() - 60).unwrap_or(today);
    Ok(on_conn!(conn, |c| {
        sqlx::query_scalar(
            "SELECT id FROM elders WHERE residence_region_code BETWEEN $1 AND $2 \
             AND status = 'active' AND latitude IS NOT NULL AND longitude IS NOT NULL \
             AND birth_date <= $3 ORDER BY id LIMIT $4",
        )
        .bind(lo)
        .bind(hi)
        .bind(born_by)
        .bind(limit)
        .fetch_all(&mut *c)
        .await
    })?)
}

/// One order on a day's list, with names.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Listed {
    /// Order.
    pub id: Uuid,
    /// The person.
    pub elder_id: Uuid,
    /// Their name.
    pub elder_name: String,
    /// Their address.
    pub address: String,
    /// Provider.
    pub provider_id: Uuid,
    /// Provider's name.
    pub provider_name: String,
    /// Item.
    pub item_code: String,
    /// Funding (stored name).
    pub funding: String,
    /// Window start.
    pub window_start: DateTime<Utc>,
    /// Window end.
    pub window_end: DateTime<Utc>,
    /// Minutes.
    pub minutes: i32,
    /// booked | done | cancelled | no_show.
    pub status: String,
    /// Caregiver.
    pub caregiver_id: Option<Uuid>,
    /// Their name.
    pub caregiver_name: Option<String>,
    /// auto | hand.
    pub assigned_how: Option<String>,
    /// Planned start.
    pub planned_at: Option<DateTime<Utc>>,
    /// How it arrived.
    pub channel: String,
    /// Why it ended without a visit.
    pub end_reason: Option<String>,
    /// Recurring plan it came from.
    pub plan_id: Option<Uuid>,
    /// Its visit, once started.
    pub visit_id: Option<Uuid>,
    /// Its visit's status, once started.
    pub visit_status: Option<String>,
    /// The visit's satisfaction score, once rated.
    pub score: Option<i32>,
}

/// The confirmation codes of a person's orders still to be served from `from` on, for the
/// person or family to read on the public page (the caregiver asks for the code at the end of
/// the visit; caregivers never see it).
pub async fn codes_to_give(
    conn: &mut Conn<'_>,
    elder_id: Uuid,
    from: NaiveDate,
) -> Result<Vec<(Uuid, String)>, DbError> {
    let since = china_time(from, chrono::NaiveTime::MIN);
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT id, confirm_code FROM service_orders WHERE elder_id = $1 \
             AND status = 'booked' AND window_start >= $2 ORDER BY window_start",
        )
        .bind(elder_id)
        .bind(since)
        .fetch_all(&mut *c)
        .await
    })?)
}

/// Filters for [`list`].
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Day (China date).
    pub day: Option<NaiveDate>,
    /// One provider.
    pub provider_id: Option<Uuid>,
    /// One person.
    pub elder_id: Option<Uuid>,
    /// Only orders with nobody assigned.
    pub unassigned: bool,
    /// Only service days from the first to the second (inclusive).
    pub days: Option<(NaiveDate, NaiveDate)>,
    /// Only this status (booked | done | cancelled | no_show).
    pub status: Option<String>,
    /// Only people served within this region (narrows the caller's scope, never widens it).
    pub region: Option<RegionCode>,
    /// Only orders after this one in list order (window start, id): the next page.
    pub after: Option<(DateTime<Utc>, Uuid)>,
}

/// Orders within `scope`, by time, at most `limit`.
pub async fn list(
    conn: &mut Conn<'_>,
    scope: &Scope,
    f: &ListFilter,
    limit: i64,
) -> Result<Vec<Listed>, DbError> {
    Ok(on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(
            "SELECT o.id, o.elder_id, e.name AS elder_name, e.address, o.provider_id, \
             p.name AS provider_name, o.item_code, o.funding, o.window_start, o.window_end, \
             o.minutes, o.status, o.caregiver_id, s.name AS caregiver_name, o.assigned_how, \
             o.planned_at, o.channel, o.end_reason, o.plan_id, v.id AS visit_id, \
             v.status AS visit_status, r.score \
             FROM service_orders o JOIN elders e ON e.id = o.elder_id \
             JOIN providers p ON p.id = o.provider_id \
             LEFT JOIN staff s ON s.id = o.caregiver_id \
             LEFT JOIN visits v ON v.order_id = o.id \
             LEFT JOIN visit_ratings r ON r.visit_id = v.id AND r.source = 'person' WHERE 1 = 1",
        );
        crate::scope_sql::push_scope(&mut q, scope, "o.region_code", "o.provider_id");
        if let Some(d) = f.day {
            q.push(" AND o.service_on = ").push_bind(d);
        }
        if let Some(p) = f.provider_id {
            q.push(" AND o.provider_id = ").push_bind(p);
        }
        if let Some(e) = f.elder_id {
            q.push(" AND o.elder_id = ").push_bind(e);
        }
        if f.unassigned {
            q.push(" AND o.caregiver_id IS NULL AND o.status = 'booked'");
        }
        if let Some((from, to)) = f.days {
            q.push(" AND o.service_on BETWEEN ")
                .push_bind(from)
                .push(" AND ")
                .push_bind(to);
        }
        if let Some(status) = &f.status {
            q.push(" AND o.status = ").push_bind(status.clone());
        }
        if let Some(region) = &f.region {
            let (lo, hi) = region.subtree_range();
            q.push(" AND o.region_code BETWEEN ")
                .push_bind(lo)
                .push(" AND ")
                .push_bind(hi);
        }
        if let Some((start, id)) = f.after {
            q.push(" AND (o.window_start > ").push_bind(start);
            q.push(" OR (o.window_start = ")
                .push_bind(start)
                .push(" AND o.id > ")
                .push_bind(id);
            q.push("))");
        }
        q.push(" ORDER BY o.window_start, o.id LIMIT ")
            .push_bind(limit);
        q.build_query_as::<Listed>().fetch_all(&mut *c).await
    })?)
}

/// What can be booked on `day`: each provider's contract prices in force, by provider and item
/// (provider id, provider name, item code, unit price in fen). A provider's own account sees
/// its own; staff see every provider's (people may choose any).
pub async fn offers(
    conn: &mut Conn<'_>,
    scope: &Scope,
    day: NaiveDate,
) -> Result<Vec<(Uuid, String, String, i64)>, DbError> {
    let rows: Vec<(Uuid, String, String, i64)> = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT p.id, p.name, sp.item_code, sp.unit_fen FROM service_prices sp \
             JOIN providers p ON p.id = sp.provider_id WHERE sp.valid_from <= $1 \
             AND (sp.valid_to IS NULL OR sp.valid_to >= $1) ORDER BY p.name, sp.item_code",
        )
        .bind(day)
        .fetch_all(&mut *c)
        .await
    })?;
    Ok(match scope {
        Scope::Provider { provider_id, .. } => rows
            .into_iter()
            .filter(|(p, ..)| p == provider_id)
            .collect(),
        _ => rows,
    })
}
