//! What is asked again before a check-out is recorded (issue 17): a caregiver who types a
//! wrong or short confirmation code is told so and may try again, up to the region's
//! `visit.code_tries`, before the visit is recorded with 确认码不符 and goes to review; and a
//! caller that asks to be warned (the phone page) hears about a visit shorter than the item's
//! contract minimum before it is recorded.
//!
//! Only online check-outs are gated: a record made offline is sent when the person is long
//! gone, so it is recorded as it is and the check decides. Each distinct wrong code counts
//! once (a retried request with the same code is not a second try), and every counted miss is
//! audited. Anything the gate cannot judge (an unknown visit, someone else's, one already
//! checked out) passes on to the check-out itself, which answers it.

use chrono::{DateTime, Utc};
use jinglao_domain::clock::china_date;
use jinglao_domain::policy::{PolicyBook, PolicyKey};
use jinglao_domain::{Invalid, RegionCode};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, ChainKey, Event};
use crate::visit_batch::Who;
use crate::visits::CheckOut;
use crate::{Actor, Db, DbError, on_conn};

#[derive(sqlx::FromRow)]
struct Open {
    caregiver_id: Uuid,
    out_at: Option<DateTime<Utc>>,
    in_at: DateTime<Utc>,
    region_code: String,
    code_misses: i32,
    code_last_miss: String,
    confirm_code: String,
    provider_id: Uuid,
    item_code: String,
}

/// Asks again when it should (see the module documentation); `Ok` lets the check-out go on.
/// `book` is the policy to judge by, or `None` to read the stored one only if it is needed.
pub async fn gate(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    who: Who,
    co: &CheckOut,
    book: Option<&PolicyBook>,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    // Nothing to ask about: no code typed and no warning asked for (the common check-out
    // with the right code still reaches the comparison below).
    if co.stamp.offline
        || (co.code.as_deref().is_none_or(|c| c.trim().is_empty()) && !co.warn_short)
    {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let open: Option<Open> = on_conn!(&mut conn, |c| {
        sqlx::query_as(
            "SELECT v.caregiver_id, v.out_at, v.in_at, v.region_code, v.code_misses, \
             v.code_last_miss, o.confirm_code, o.provider_id, o.item_code \
             FROM visits v JOIN service_orders o ON o.id = v.order_id WHERE v.id = $1",
        )
        .bind(co.visit_id)
        .fetch_optional(&mut *c)
        .await
    })?;
    let Some(v) = open.filter(|v| v.out_at.is_none()) else {
        return Ok(());
    };
    let mine = match who {
        Who::Caregiver(me) => me.staff_id == v.caregiver_id,
        Who::Account(account) => crate::visits::caregiver_of(&mut conn, account)
            .await?
            .is_some_and(|me| me.staff_id == v.caregiver_id),
    };
    if !mine {
        return Ok(());
    }
    let region = RegionCode::parse(&v.region_code).map_err(|e| DbError::Corrupt(e.to_string()))?;
    if let Some(code) = co.code.as_deref().map(str::trim).filter(|c| !c.is_empty())
        && code != v.confirm_code
    {
        // The region's policy is read only now, for the rare wrong code: a caller without a
        // book (the group-commit queue) does not read it on every check-out.
        let tries = match book {
            Some(b) => b.int(PolicyKey::VisitCodeTries, &region),
            None => crate::policy::load(&mut conn)
                .await?
                .int(PolicyKey::VisitCodeTries, &region),
        }
        .max(1);
        let new_miss = code != v.code_last_miss;
        let misses = i64::from(v.code_misses) + i64::from(new_miss);
        if misses < tries {
            if new_miss {
                on_conn!(&mut conn, |c| {
                    sqlx::query(
                        "UPDATE visits SET code_misses = code_misses + 1, code_last_miss = $2 \
                         WHERE id = $1",
                    )
                    .bind(co.visit_id)
                    .bind(code)
                    .execute(&mut *c)
                    .await
                    .map(|_| ())
                })?;
                let event = Event::new("visit.code_miss", "visit", co.visit_id)
                    .region(Some(region))
                    .detail(json!({ "try": misses, "of": tries }));
                audit::append(&mut conn, key, actor, event, now).await?;
                tx.commit().await?;
            }
            let left = tries - misses;
            let short = if code.chars().count() != v.confirm_code.chars().count() {
                format!("确认码是 {} 位数字，", v.confirm_code.chars().count())
            } else {
                String::new()
            };
            return Err(Invalid::one(
                "code",
                format!(
                    "确认码不对。{short}请老人再念一遍后重新输入（还可以再试 {left} 次；再错将按“确认码不符”记录，转人工核查）"
                ),
            )
            .into());
        }
    }
    if co.warn_short {
        let day = china_date(v.in_at);
        let min = crate::orders::price_on(&mut conn, v.provider_id, &v.item_code, day)
            .await?
            .map_or(0, |(_, min, _)| i64::from(min));
        // An online check-out takes the server's time.
        let minutes = (now - v.in_at).num_minutes();
        if min > 0 && minutes < min {
            return Err(Invalid::one(
                "confirm_short",
                format!(
                    "这次服务才 {minutes} 分钟，本项目至少 {min} 分钟。提前结束会转人工核查；确实要签退，请勾选“确认提前结束”后再签退"
                ),
            )
            .into());
        }
    }
    Ok(())
}
