//! Enrolments (纳入): a person receiving an item of the basic elderly-service list, recorded
//! under the list version the decision was made with. An effective application creates one;
//! staff may also record enrolments decided on paper before the platform existed.

use chrono::{DateTime, NaiveDate, Utc};
use jinglao_domain::validation::Invalid;
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, ChainKey, Event};
use crate::{Actor, Conn, DbError, on_conn};

/// A new enrolment.
#[derive(Debug, Clone)]
pub struct NewEntitlement<'a> {
    /// The person.
    pub elder_id: Uuid,
    /// Item code.
    pub item_code: &'a str,
    /// List version of the decision.
    pub list_id: Uuid,
    /// The application, if any.
    pub application_id: Option<Uuid>,
    /// From.
    pub start: NaiveDate,
}

/// Records an enrolment inside the caller's transaction. A person already enrolled in the item
/// on `start` is refused.
pub async fn enrol(
    conn: &mut Conn<'_>,
    chain: &ChainKey,
    actor: &Actor,
    e: &NewEntitlement<'_>,
    now: DateTime<Utc>,
) -> Result<Uuid, DbError> {
    let active: i64 = on_conn!(conn, |c| {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM entitlements WHERE elder_id = $1 AND item_code = $2 \
             AND (end_date IS NULL OR end_date >= $3)",
        )
        .bind(e.elder_id)
        .bind(e.item_code)
        .bind(e.start)
        .fetch_one(&mut *c)
        .await
    })?;
    if active > 0 {
        return Err(Invalid::one(
            "item_code",
            format!("已纳入项目 {}，不能重复纳入", e.item_code),
        )
        .into());
    }
    let id = Uuid::now_v7();
    on_conn!(conn, |c| {
        sqlx::query(
            "INSERT INTO entitlements (id, elder_id, item_code, list_id, application_id, start_date, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(e.elder_id)
        .bind(e.item_code)
        .bind(e.list_id)
        .bind(e.application_id)
        .bind(e.start)
        .bind(now)
        .bind(actor.user_id)
        .execute(&mut *c)
        .await
        .map(|_| ())
    })?;
    let event = Event::new("entitlement.enrol", "elder", e.elder_id).detail(json!({
        "entitlement": id, "item": e.item_code, "list": e.list_id, "application": e.application_id,
        "start": e.start,
    }));
    audit::append(conn, chain, actor, event, now).await?;
    Ok(id)
}

/// The item codes a person is enrolled in on `on`.
pub async fn active_codes(
    conn: &mut Conn<'_>,
    elder_id: Uuid,
    on: NaiveDate,
) -> Result<Vec<String>, DbError> {
    on_conn!(conn, |c| {
        sqlx::query_scalar(
            "SELECT item_code FROM entitlements WHERE elder_id = $1 AND start_date <= $2 \
             AND (end_date IS NULL OR end_date >= $2) ORDER BY item_code",
        )
        .bind(elder_id)
        .bind(on)
        .fetch_all(&mut *c)
        .await
    })
    .map_err(Into::into)
}
