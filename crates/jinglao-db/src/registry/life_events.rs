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

    /// The sentence, or that nothing depended on the person.
    pub fn describe(&self) -> String {
        self.sentence()
            .unwrap_or_else(|| "没有需要终止的服务".into())
    }
}

/// The rows a life event ended, for the audit trail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Ended {
    /// Entitlements.
    pub entitlements: Vec<Uuid>,
    /// Cancelled orders.
    pub orders: Vec<Uuid>,
    /// Plans.
    pub plans: Vec<Uuid>,
    /// Family beds.
    pub family_beds: Vec<Uuid>,
    /// Stays: (stay, bed, facility, the facility's region, the discharge date).
    pub stays: Vec<(Uuid, Uuid, Uuid, String, NaiveDate)>,
    /// Waiting-list places.
    pub waiting: Vec<Uuid>,
    /// Whether the regular-visit plan was ended.
    pub patrol: bool,
}

impl Ended {
    /// The counts.
    pub fn effects(&self) -> Effects {
        Effects {
            entitlements: self.entitlements.len() as u64,
            orders: self.orders.len() as u64,
            plans: self.plans.len() as u64,
            family_beds: self.family_beds.len() as u64,
            stays: self.stays.len() as u64,
            waiting: self.waiting.len() as u64,
            patrols: u64::from(self.patrol),
        }
    }
}

/// Ends everything that depended on the person from `date` and returns the rows it ended. An
/// end date never falls before the thing's own start (a plan or bed starting after a
/// backdated death ends on its first day) nor moves an earlier end later.
pub async fn apply(
    conn: &mut Conn<'_>,
    elder_id: Uuid,
    kind: LifeEventKind,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Ended, DbError> {
    let why = match kind {
        LifeEventKind::Died => format!("老人已故（{date}）"),
        LifeEventKind::MovedOut => format!("老人已迁出（{date}）"),
    };
    let mut out = Ended::default();
    let stays: Vec<(Uuid, Uuid, Uuid, NaiveDate, String)> = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT s.id, s.bed_id, s.facility_id, s.admitted_on, f.region_code FROM stays s \
             JOIN facilities f ON f.id = s.facility_id \
             WHERE s.elder_id = $1 AND s.discharged_on IS NULL",
        )
        .bind(elder_id)
        .fetch_all(&mut *c)
        .await
    })?;
    on_conn!(conn, |c| {
        out.entitlements = sqlx::query_scalar(
            "UPDATE entitlements SET end_reason = $3, \
             end_date = CASE WHEN start_date > $2 THEN start_date ELSE $2 END \
             WHERE elder_id = $1 AND (end_date IS NULL OR end_date > $2) RETURNING id",
        )
        .bind(elder_id)
        .bind(date)
        .bind(&why)
        .fetch_all(&mut *c)
        .await?;
        out.plans = sqlx::query_scalar(
            "UPDATE service_plans SET status = 'ended', end_reason = $3, updated_at = $4, \
             end_on = CASE WHEN end_on IS NOT NULL AND end_on <= $2 THEN end_on \
                           WHEN start_on > $2 THEN start_on ELSE $2 END \
             WHERE elder_id = $1 AND status = 'active' RETURNING id",
        )
        .bind(elder_id)
        .bind(date)
        .bind(&why)
        .bind(now)
        .fetch_all(&mut *c)
        .await?;
        out.family_beds = sqlx::query_scalar(
            "UPDATE family_beds SET status = 'ended', end_reason = $3, updated_at = $4, \
             end_on = CASE WHEN end_on IS NOT NULL AND end_on <= $2 THEN end_on \
                           WHEN start_on > $2 THEN start_on ELSE $2 END \
             WHERE elder_id = $1 AND status = 'active' RETURNING id",
        )
        .bind(elder_id)
        .bind(date)
        .bind(&why)
        .bind(now)
        .fetch_all(&mut *c)
        .await?;
        out.waiting = sqlx::query_scalar(
            "UPDATE waiting_list SET status = 'withdrawn', \
             note = CASE WHEN note = '' THEN $2 ELSE note || '；' || $2 END \
             WHERE elder_id = $1 AND status = 'waiting' RETURNING id",
        )
        .bind(elder_id)
        .bind(&why)
        .fetch_all(&mut *c)
        .await?;
        out.patrol = sqlx::query(
            "UPDATE patrol_plans SET status = 'ended', updated_at = $2 \
             WHERE elder_id = $1 AND status = 'active'",
        )
        .bind(elder_id)
        .bind(now)
        .execute(&mut *c)
        .await?
        .rows_affected()
            > 0;
        Ok::<_, sqlx::Error>(())
    })?;
    out.orders = crate::orders::cancel_unstarted(
        conn,
        crate::orders::Unstarted::OfElder(elder_id, date),
        &why,
        now,
    )
    .await?;
    for (stay, bed, facility, admitted, region) in stays {
        let on = date.max(admitted);
        crate::beds::close_stay_in(conn, stay, bed, facility, on, &why, now).await?;
        out.stays.push((stay, bed, facility, region, on));
    }
    Ok(out)
}
