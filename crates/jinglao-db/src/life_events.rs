//! What a death or a move out of the area ends, from its date, in the same transaction that
//! records it (`elders::record_life_event`): the person's entitlements, the visits booked for
//! them that have not started, their recurring plans, their family care bed, their stay in an
//! institution (the bed is freed), their places on waiting lists and their regular visits. The
//! effects are kept with the life event and shown on the person's record, so that nobody has
//! to find and end each of them by hand — and nothing is paid for someone no longer there.

use chrono::{DateTime, NaiveDate, Utc};
use jinglao_domain::elder::LifeEventKind;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Conn, DbError, on_conn};

/// What a life event ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Effects {
    /// Entitlements ended on the date.
    pub entitlements: u64,
    /// Booked visits on or after the date, not started, cancelled.
    pub orders: u64,
    /// Recurring plans ended.
    pub plans: u64,
    /// Family care beds ended.
    pub family_beds: u64,
    /// Stays in an institution ended (their beds freed).
    pub stays: u64,
    /// Places on waiting lists withdrawn.
    pub waiting: u64,
    /// Regular-visit (巡访) plans ended.
    pub patrols: u64,
}

impl Effects {
    /// In a sentence for the record page, or `None` when nothing depended on the person.
    pub fn sentence(&self) -> Option<String> {
        let parts: Vec<String> = [
            (self.entitlements, "项服务资格终止"),
            (self.orders, "个未开始的上门服务预约取消"),
            (self.plans, "个服务计划结束"),
            (self.family_beds, "张家庭养老床位撤销"),
            (self.stays, "次机构入住办理退住"),
            (self.waiting, "个轮候登记撤回"),
            (self.patrols, "项巡访停止"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        (!parts.is_empty()).then(|| parts.join("，"))
    }
}

/// Ends everything that depended on the person from `date`; returns what it ended.
pub async fn apply(
    conn: &mut Conn<'_>,
    elder_id: Uuid,
    kind: LifeEventKind,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Effects, DbError> {
    let why = match kind {
        LifeEventKind::Died => format!("老人已故（{date}）"),
        LifeEventKind::MovedOut => format!("老人已迁出（{date}）"),
    };
    let mut out = Effects::default();
    let stays: Vec<(Uuid, Uuid, Uuid, NaiveDate)> = on_conn!(conn, c => {
        sqlx::query_as(
            "SELECT id, bed_id, facility_id, admitted_on FROM stays \
             WHERE elder_id = $1 AND discharged_on IS NULL",
        )
        .bind(elder_id).fetch_all(&mut *c).await
    })?;
    on_conn!(conn, c => {
        out.entitlements = sqlx::query(
            "UPDATE entitlements SET end_date = $2, end_reason = $3 \
             WHERE elder_id = $1 AND (end_date IS NULL OR end_date > $2)",
        )
        .bind(elder_id).bind(date).bind(&why).execute(&mut *c).await?.rows_affected();
        out.orders = sqlx::query(
            "UPDATE service_orders SET status = 'cancelled', end_reason = $3, updated_at = $4 \
             WHERE elder_id = $1 AND status = 'booked' AND service_on >= $2 \
             AND NOT EXISTS (SELECT 1 FROM visits v WHERE v.order_id = service_orders.id)",
        )
        .bind(elder_id).bind(date).bind(&why).bind(now).execute(&mut *c).await?.rows_affected();
        out.plans = sqlx::query(
            "UPDATE service_plans SET status = 'ended', end_on = $2, end_reason = $3, updated_at = $4 \
             WHERE elder_id = $1 AND status = 'active'",
        )
        .bind(elder_id).bind(date).bind(&why).bind(now).execute(&mut *c).await?.rows_affected();
        out.family_beds = sqlx::query(
            "UPDATE family_beds SET status = 'ended', end_on = $2, end_reason = $3, updated_at = $4 \
             WHERE elder_id = $1 AND status = 'active'",
        )
        .bind(elder_id).bind(date).bind(&why).bind(now).execute(&mut *c).await?.rows_affected();
        out.waiting = sqlx::query(
            "UPDATE waiting_list SET status = 'withdrawn' WHERE elder_id = $1 AND status = 'waiting'",
        )
        .bind(elder_id).execute(&mut *c).await?.rows_affected();
        out.patrols = sqlx::query(
            "UPDATE patrol_plans SET status = 'ended', updated_at = $2 \
             WHERE elder_id = $1 AND status = 'active'",
        )
        .bind(elder_id).bind(now).execute(&mut *c).await?.rows_affected();
        Ok::<_, sqlx::Error>(())
    })?;
    for (stay, bed, facility, admitted) in stays {
        on_conn!(conn, c => {
            sqlx::query("UPDATE stays SET discharged_on = $2, discharge_reason = $3 WHERE id = $1")
                .bind(stay).bind(date.max(admitted)).bind(&why).execute(&mut *c).await?;
            sqlx::query("UPDATE beds SET status = 'free', updated_at = $2 WHERE id = $1")
                .bind(bed).bind(now).execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
        crate::facilities::recount(conn, Some(facility), now).await?;
        out.stays += 1;
    }
    Ok(out)
}
