//! Satisfaction (满意度): after a visit the person or their family rates it 1–5 with a comment —
//! on the caregiver's phone right after check-out (the confirmation page, handed to the
//! person), by a phone call that community staff log, or on the public page. A visit keeps
//! two ratings apart: the person's own (call or public page) and the one given on the
//! caregiver's phone, which the caregiver could have typed; roll-ups per provider, caregiver
//! and item weight the latter by the region's `satisfaction.caregiver_phone_weight_percent`.

use chrono::{DateTime, Utc};
use jinglao_domain::{Invalid, Permission, RegionCode, Scope};
use serde_json::json;
use uuid::Uuid;

use crate::WriteCtx;
use crate::audit::{self, Event};
use crate::{Conn, DbError, on_conn, visits};

/// How a rating arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// On the confirmation page after check-out (the caregiver's phone, in the person's hands).
    Confirmation,
    /// A phone call logged by staff.
    Phone,
    /// The person or their family on the public pages, having named the person by ID number
    /// and a phone number on record ([`crate::elders::identify`]): only that person's visits.
    Public {
        /// The person identified.
        elder_id: Uuid,
    },
}

impl Channel {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Confirmation => "confirmation",
            Channel::Phone => "phone",
            Channel::Public { .. } => "public",
        }
    }

    /// Whose rating it is: `person` (a call, the public page) or `caregiver_phone`. A visit
    /// holds one of each.
    pub fn source(self) -> &'static str {
        match self {
            Channel::Confirmation => "caregiver_phone",
            Channel::Phone | Channel::Public { .. } => "person",
        }
    }
}

#[derive(sqlx::FromRow)]
struct VisitFacts {
    provider_id: Uuid,
    caregiver_id: Uuid,
    elder_id: Uuid,
    item_code: String,
    region_code: String,
    service_month: String,
    out_at: Option<DateTime<Utc>>,
}

/// Records a rating; audited. Refused, naming the field, for a score outside 1–5, a visit not
/// yet checked out, or one already rated. The confirmation channel is the visit's own
/// caregiver's account; the phone channel is region staff who may edit the person's record.
pub async fn rate(
    w: &WriteCtx<'_>,
    visit_id: Uuid,
    score: Option<i64>,
    comment: &str,
    channel: Channel,
) -> Result<(), DbError> {
    let (db, key, actor, now) = (w.db, w.chain, w.actor, w.now);
    let score = match score {
        Some(s) if (1..=5).contains(&s) => s,
        _ => return Err(Invalid::one("score", "请选择 1 到 5 星").into()),
    };
    if comment.chars().count() > 500 {
        return Err(Invalid::one("comment", "评价内容不超过 500 字").into());
    }
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let v: VisitFacts =
        on_conn!(&mut conn, |c| {
            sqlx::query_as(
            "SELECT provider_id, caregiver_id, elder_id, item_code, region_code, service_month, \
             out_at FROM visits WHERE id = $1",
        )
        .bind(visit_id).fetch_optional(&mut *c).await
        })?
        .ok_or(DbError::NotFound)?;
    let region = RegionCode::parse(&v.region_code).map_err(|e| DbError::Corrupt(e.to_string()))?;
    let allowed = match channel {
        Channel::Confirmation => match actor.user_id {
            None => true,
            Some(u) => visits::caregiver_of(&mut conn, u)
                .await?
                .is_some_and(|c| c.staff_id == v.caregiver_id),
        },
        Channel::Phone => {
            actor.may(Permission::EditElders) && actor.scope.covers_record_in(&region)
        }
        Channel::Public { elder_id } => elder_id == v.elder_id,
    };
    if !allowed {
        return Err(DbError::NotFound);
    }
    if v.out_at.is_none() {
        return Err(Invalid::one("visit", "服务尚未结束，结束后才能评价").into());
    }
    let inserted =
        on_conn!(&mut conn, |c| {
            sqlx::query(
            "INSERT INTO visit_ratings (visit_id, source, provider_id, caregiver_id, item_code, \
             region_code, service_month, score, comment, channel, rated_by, created_at) \
             VALUES ($1, $12, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (visit_id, source) DO NOTHING",
        )
        .bind(visit_id).bind(v.provider_id).bind(v.caregiver_id).bind(&v.item_code)
        .bind(&v.region_code).bind(&v.service_month).bind(score as i32).bind(comment.trim())
        .bind(channel.as_str()).bind(actor.user_id).bind(now).bind(channel.source())
        .execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    if inserted == 0 {
        return Err(Invalid::one("visit", "这次服务已经评价过了").into());
    }
    let event = Event::new("visit.rate", "elder", v.elder_id)
        .region(Some(region))
        .detail(json!({
            "visit": visit_id, "score": score, "channel": channel.as_str(),
            "comment": comment.trim(),
        }));
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// What a roll-up groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    /// Provider.
    Provider,
    /// Caregiver.
    Caregiver,
    /// Service-list item.
    Item,
}

/// One group of a roll-up.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RollUp {
    /// Provider name, caregiver name or item code.
    pub label: String,
    /// Ratings by the person (a call, the public page).
    pub count: i64,
    /// Ratings given on the caregiver's phone.
    pub phone_count: i64,
    /// Sum of score × weight in percent (the person's weigh 100).
    pub weighted_sum: i64,
    /// Sum of the weights in percent.
    pub weight_total: i64,
    /// Ratings of 1 or 2 (either source).
    pub low: i64,
}

impl RollUp {
    /// The weighted average to one decimal, as text ("4.3").
    pub fn average(&self) -> String {
        if self.weight_total == 0 {
            return "—".into();
        }
        let tenths = (self.weighted_sum * 10 + self.weight_total / 2) / self.weight_total;
        format!("{}.{}", tenths / 10, tenths % 10)
    }
}

/// Ratings within `scope` in `month` (all months when `None`), grouped, most ratings first.
/// A rating on the caregiver's phone counts `phone_weight_percent` of the person's own.
pub async fn roll_up(
    conn: &mut Conn<'_>,
    scope: &Scope,
    by: By,
    month: Option<&str>,
    phone_weight_percent: i64,
) -> Result<Vec<RollUp>, DbError> {
    let (label, join, group) = match by {
        By::Provider => (
            "p.name",
            " JOIN providers p ON p.id = r.provider_id",
            "r.provider_id, p.name",
        ),
        By::Caregiver => (
            "s.name",
            " JOIN staff s ON s.id = r.caregiver_id",
            "r.caregiver_id, s.name",
        ),
        By::Item => ("r.item_code", "", "r.item_code"),
    };
    let w = phone_weight_percent.clamp(0, 100);
    Ok(on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new("SELECT ");
        q.push(label)
            .push(format!(" AS label, \
                   CAST(SUM(CASE WHEN r.source = 'person' THEN 1 ELSE 0 END) AS BIGINT) AS count, \
                   CAST(SUM(CASE WHEN r.source = 'person' THEN 0 ELSE 1 END) AS BIGINT) AS phone_count, \
                   CAST(SUM(r.score * CASE WHEN r.source = 'person' THEN 100 ELSE {w} END) AS BIGINT) AS weighted_sum, \
                   CAST(SUM(CASE WHEN r.source = 'person' THEN 100 ELSE {w} END) AS BIGINT) AS weight_total, \
                   CAST(SUM(CASE WHEN r.score <= 2 THEN 1 ELSE 0 END) AS BIGINT) AS low \
                   FROM visit_ratings r"))
            .push(join)
            .push(" WHERE 1 = 1");
        crate::scope_sql::push_scope(&mut q, scope, "r.region_code", "r.provider_id");
        if let Some(m) = month {
            q.push(" AND r.service_month = ").push_bind(m.to_string());
        }
        q.push(" GROUP BY ")
            .push(group)
            .push(" ORDER BY COUNT(*) DESC, label LIMIT 200");
        q.build_query_as::<RollUp>().fetch_all(&mut *c).await
    })?)
}
