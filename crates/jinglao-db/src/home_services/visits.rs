//! Visits (上门服务记录): a caregiver's check-in and check-out for one order, verified against
//! the rules of `jinglao_domain::visit` when it is checked out. A verified visit can be settled;
//! one with findings waits in the exception queue for a reviewer, who accepts it (with a
//! reason) or rejects it. Manual corrections are kept in `visit_corrections` apart from the
//! visit, with their reason, and re-run the check.
//!
//! The phone chooses the visit id (a UUID v7) at check-in, so a retried request, or the same
//! record synced again after a spell offline, is the same visit; a second check-in to an order
//! that already has one answers with the existing visit.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use jinglao_domain::clock::china_date;
use jinglao_domain::policy::PolicyBook;
use jinglao_domain::visit::{Finding, GeoPoint};
use jinglao_domain::{Invalid, Permission, RegionCode, Scope};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, ChainKey, Event};
use crate::orders::month_of;
use crate::visit_batch::{self, Job, Who};
use crate::visit_check::reverify_many;
use crate::{Actor, Conn, Db, DbError, on_conn};

/// One end of a visit as the phone sends it.
#[derive(Debug, Clone, Copy, Default)]
pub struct StampInput {
    /// The phone's clock.
    pub device_at: Option<DateTime<Utc>>,
    /// Latitude, if the phone had a fix.
    pub lat: Option<f64>,
    /// Longitude.
    pub lon: Option<f64>,
    /// Recorded without a connection, sent now.
    pub offline: bool,
}

/// A checked stamp: the time that counts, the phone's time and the point.
pub(crate) struct CheckedStamp {
    pub(crate) at: DateTime<Utc>,
    pub(crate) device_at: DateTime<Utc>,
    pub(crate) point: Option<GeoPoint>,
    pub(crate) offline: bool,
}

/// Checks a stamp's fields: the phone's time is required; a position, if sent, must be in
/// range (a missing one is accepted here and flagged by the check). An offline record takes
/// the phone's time, an online one the server's.
pub(crate) fn check_stamp(s: &StampInput, now: DateTime<Utc>) -> Result<CheckedStamp, Invalid> {
    let mut inv = Invalid::new();
    let device_at = s.device_at;
    match device_at {
        None => inv.add("device_at", "缺少手机时间"),
        Some(t) if s.offline && t > now + Duration::minutes(5) => {
            inv.add("device_at", "离线记录的时间晚于服务器当前时间")
        }
        Some(_) => {}
    }
    let point = match (s.lat, s.lon) {
        (None, None) => None,
        (Some(lat), Some(lon)) => match GeoPoint::new(lat, lon) {
            Ok(p) => Some(p),
            Err(e) => {
                inv.add("lat", e);
                None
            }
        },
        _ => {
            inv.add("lat", "经度和纬度应同时提供");
            None
        }
    };
    let device_at = device_at.unwrap_or(now);
    inv.into_result(CheckedStamp {
        at: if s.offline { device_at } else { now },
        device_at,
        point,
        offline: s.offline,
    })
}

/// The caregiver behind an account: their staff record and provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caregiver {
    /// Staff record.
    pub staff_id: Uuid,
    /// Provider.
    pub provider_id: Uuid,
}

/// The caregiver an account works as (`users.staff_id`), if it is a caregiver account linked
/// to a staff record.
pub async fn caregiver_of(
    conn: &mut Conn<'_>,
    user_id: Uuid,
) -> Result<Option<Caregiver>, DbError> {
    Ok(caregivers_of(conn, &[user_id]).await?.remove(&user_id))
}

/// [`caregiver_of`] for many accounts in one query: those that are linked caregivers.
pub(crate) async fn caregivers_of(
    conn: &mut Conn<'_>,
    user_ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, Caregiver>, DbError> {
    if user_ids.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<(Uuid, Option<Uuid>, Option<Uuid>)> = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(
            "SELECT id, staff_id, provider_id FROM users WHERE role = 'caregiver' AND id IN ",
        );
        crate::scope_sql::push_id_list(&mut q, user_ids);
        q.build_query_as().fetch_all(&mut *c).await
    })?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, staff, provider)| {
            let c = Caregiver {
                staff_id: staff?,
                provider_id: provider?,
            };
            Some((id, c))
        })
        .collect())
}

/// Links a caregiver account to its staff record (the staff member must work for the
/// account's provider). Audited.
pub async fn link_account(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    user_id: Uuid,
    staff_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let changed = on_conn!(&mut conn, |c| {
        sqlx::query(
            "UPDATE users SET staff_id = $1 WHERE id = $2 AND role = 'caregiver' AND EXISTS \
             (SELECT 1 FROM employments e WHERE e.staff_id = $1 AND e.provider_id = users.provider_id)",
        )
        .bind(staff_id).bind(user_id).execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    if changed == 0 {
        return Err(Invalid::one("staff_id", "只能关联本机构在职护理员的人员档案").into());
    }
    let event = Event::new("user.link_staff", "user", user_id).detail(json!({ "staff": staff_id }));
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// A check-in as sent by the phone.
#[derive(Debug, Clone, Copy)]
pub struct CheckIn {
    /// Chosen by the phone.
    pub visit_id: Uuid,
    /// The order.
    pub order_id: Uuid,
    /// Time and place.
    pub stamp: StampInput,
}

/// Checks in to an order assigned to `me`. Idempotent: the same visit id, or a second check-in
/// to an order already started by `me`, answers with the visit that exists. Someone else's
/// order is refused as forbidden.
pub async fn check_in(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    me: Caregiver,
    ci: &CheckIn,
    now: DateTime<Utc>,
) -> Result<Uuid, DbError> {
    let job = Job::check_in(actor, Who::Caregiver(me), ci, now);
    visit_batch::run_one(db, key, job).await?.visit()
}

/// A check-out as sent by the phone.
#[derive(Debug, Clone, Default)]
pub struct CheckOut {
    /// The visit.
    pub visit_id: Uuid,
    /// Time and place.
    pub stamp: StampInput,
    /// The code the elder read out, if any.
    pub code: Option<String>,
    /// The person signed on the phone instead: the PNG checked by
    /// [`jinglao_domain::visit::check_signature_png`] and sealed with `Field::Signature`.
    pub signature: Option<Vec<u8>>,
    /// Checklist items done, comma-separated codes.
    pub tasks: String,
    /// Free notes.
    pub notes: String,
    /// Refuse, with a warning, a check-out shorter than the item's minimum minutes (the phone
    /// page asks first; a confirmed early end is sent without it).
    pub warn_short: bool,
}

/// The result of a check: verified, or the findings that sent it to the exception queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Visit id.
    pub visit_id: Uuid,
    /// in_progress | verified | exception | accepted | rejected.
    pub status: String,
    /// Broken rules.
    pub findings: Vec<Finding>,
}

/// Checks out of `me`'s visit, records the confirmation and verifies the visit under `book`.
/// Idempotent: a visit already checked out answers with its outcome. Check-out without a
/// check-in, or of someone else's visit, is refused.
pub async fn check_out(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    me: Caregiver,
    co: &CheckOut,
    book: &PolicyBook,
    now: DateTime<Utc>,
) -> Result<Outcome, DbError> {
    crate::visit_gate::gate(db, key, actor, Who::Caregiver(me), co, Some(book), now).await?;
    let job = Job::check_out(actor, Who::Caregiver(me), co, Some(book.clone()), now);
    visit_batch::run_one(db, key, job).await?.outcome()
}

/// A visit's stored status and findings.
pub async fn outcome(conn: &mut Conn<'_>, visit_id: Uuid) -> Result<Outcome, DbError> {
    let (status, findings): (String, String) = on_conn!(conn, |c| {
        sqlx::query_as("SELECT status, findings FROM visits WHERE id = $1")
            .bind(visit_id)
            .fetch_one(&mut *c)
            .await
    })?;
    let findings: Vec<StoredFinding> = serde_json::from_str(&findings)
        .map_err(|e| DbError::Corrupt(format!("visit {visit_id} findings: {e}")))?;
    Ok(Outcome {
        visit_id,
        status,
        findings: findings
            .into_iter()
            .filter_map(StoredFinding::into_finding)
            .collect(),
    })
}

#[derive(serde::Deserialize)]
struct StoredFinding {
    code: String,
    detail: String,
}

impl StoredFinding {
    fn into_finding(self) -> Option<Finding> {
        Some(Finding {
            code: jinglao_domain::visit::ExceptionCode::parse(&self.code)?,
            detail: self.detail,
        })
    }
}

/// A reviewer's decision on a visit in the exception queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Pay it despite the findings.
    Accept,
    /// Do not pay it.
    Reject,
}

/// Decides a visit in the exception queue of the reviewer's region, with a reason; audited.
pub async fn review(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    visit_id: Uuid,
    decision: Decision,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    if !actor.may(Permission::ReviewVisits) {
        return Err(DbError::Forbidden("您的角色不能审核服务异常".into()));
    }
    if reason.trim().is_empty() {
        return Err(Invalid::one("reason", "请填写审核理由").into());
    }
    let mut tx = db.begin().await?;
    review_in(&mut tx.conn(), key, actor, visit_id, decision, reason, now).await?;
    tx.commit().await?;
    Ok(())
}

/// The most visits one batch review may decide.
pub const MAX_BATCH_REVIEW: usize = 200;

/// Decides several visits of the exception queue with one decision and one reason (a
/// reviewer's batch after calling the families back), in one transaction: each is checked as
/// if alone, and if any cannot take the decision nothing is decided, the error naming the
/// visit's person and day. Returns how many were decided.
pub async fn review_many(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    visit_ids: &[Uuid],
    decision: Decision,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<usize, DbError> {
    if !actor.may(Permission::ReviewVisits) {
        return Err(DbError::Forbidden("您的角色不能审核服务异常".into()));
    }
    let mut inv = Invalid::new();
    if reason.trim().is_empty() {
        inv.add("reason", "请填写审核理由");
    }
    if visit_ids.is_empty() {
        inv.add("visit", "请勾选要核查的服务");
    } else if visit_ids.len() > MAX_BATCH_REVIEW {
        inv.add("visit", format!("一次最多核查 {MAX_BATCH_REVIEW} 次服务"));
    }
    inv.into_result(())?;
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let mut seen = std::collections::HashSet::new();
    let mut done = 0;
    for &id in visit_ids.iter().filter(|id| seen.insert(**id)) {
        match review_in(&mut conn, key, actor, id, decision, reason, now).await {
            Ok(()) => done += 1,
            Err(DbError::Invalid(inv)) => {
                let who: Option<(String, DateTime<Utc>)> = on_conn!(&mut conn, |c| {
                    sqlx::query_as(
                        "SELECT e.name, v.in_at FROM visits v JOIN elders e ON e.id = v.elder_id \
                         WHERE v.id = $1",
                    )
                    .bind(id)
                    .fetch_optional(&mut *c)
                    .await
                })?;
                let who = who
                    .map(|(name, at)| {
                        format!(
                            "{name} {} 的服务：",
                            jinglao_domain::clock::format_local(at)
                        )
                    })
                    .unwrap_or_default();
                return Err(inv.prefixed(&who).into());
            }
            Err(e) => return Err(e),
        }
    }
    tx.commit().await?;
    Ok(done)
}

/// One review inside the caller's transaction (see [`review`]).
async fn review_in(
    conn: &mut Conn<'_>,
    key: &ChainKey,
    actor: &Actor,
    visit_id: Uuid,
    decision: Decision,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let mut conn = conn.reborrow();
    let region = region_in_scope(&mut conn, &actor.scope, visit_id).await?;
    let status = match decision {
        Decision::Accept => "accepted",
        Decision::Reject => "rejected",
    };
    if decision == Decision::Accept {
        let codes: Option<String> = on_conn!(&mut conn, |c| {
            sqlx::query_scalar("SELECT exception_codes FROM visits WHERE id = $1")
                .bind(visit_id)
                .fetch_optional(&mut *c)
                .await
        })?;
        let refused = codes
            .unwrap_or_default()
            .split(',')
            .filter_map(jinglao_domain::visit::ExceptionCode::parse)
            .find(|c| !c.acceptable_on_review());
        if let Some(code) = refused {
            let why = format!("{}，不能核查通过；可驳回", code.label());
            return Err(Invalid::one("decision", why).into());
        }
    }
    let changed = on_conn!(&mut conn, |c| {
        sqlx::query(
            "UPDATE visits SET status = $1, reviewed_by = $2, review_reason = $3, reviewed_at = $4, \
             updated_at = $4 WHERE id = $5 AND status = 'exception'",
        )
        .bind(status).bind(actor.user_id).bind(reason.trim()).bind(now).bind(visit_id)
        .execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    if changed == 0 {
        return Err(Invalid::one("visit", "只有待审核的异常服务记录可以审核").into());
    }
    let event = Event::new("visit.review", "visit", visit_id)
        .region(Some(region))
        .detail(json!({ "decision": status, "reason": reason.trim() }));
    audit::append(&mut conn, key, actor, event, now).await?;
    Ok(())
}

/// Revokes a visit that passed (verified, or accepted by a reviewer) once it is found not to
/// have happened as recorded — an inspection, a complaint, a fraud signal confirmed. The visit
/// becomes rejected with the reason; if it was already charged, the provider's next statement
/// run takes it back with a negative line (the charging statement is never edited). Township
/// staff and above; audited.
pub async fn revoke(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    visit_id: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    if !actor.may(Permission::ReviewVisits) {
        return Err(DbError::Forbidden("您的角色不能撤销服务记录".into()));
    }
    if reason.trim().is_empty() {
        return Err(Invalid::one("reason", "请填写撤销理由（检查记录、投诉编号等）").into());
    }
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let region = region_in_scope(&mut conn, &actor.scope, visit_id).await?;
    let changed = on_conn!(&mut conn, |c| {
        sqlx::query(
            "UPDATE visits SET status = 'rejected', reviewed_by = $1, review_reason = $2, \
             reviewed_at = $3, updated_at = $3 WHERE id = $4 AND status IN ('verified', 'accepted')",
        )
        .bind(actor.user_id).bind(reason.trim()).bind(now).bind(visit_id)
        .execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    if changed == 0 {
        return Err(Invalid::one("visit", "只有核验通过或审核通过的服务记录可以撤销").into());
    }
    let charged: i64 = on_conn!(&mut conn, |c| {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM statement_lines WHERE visit_id = $1 AND kind = 'charge'",
        )
        .bind(visit_id)
        .fetch_one(&mut *c)
        .await
    })?;
    let event = Event::new("visit.revoke", "visit", visit_id)
        .region(Some(region))
        .detail(json!({ "reason": reason.trim(), "charged": charged > 0 }));
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// The visit's region if `scope` covers it (its provider or the person's region).
async fn region_in_scope(
    conn: &mut Conn<'_>,
    scope: &Scope,
    visit_id: Uuid,
) -> Result<RegionCode, DbError> {
    let rows: Vec<String> = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new("SELECT region_code FROM visits WHERE id = ");
        q.push_bind(visit_id);
        crate::scope_sql::push_scope(&mut q, scope, "region_code", "provider_id");
        q.build_query_scalar::<String>().fetch_all(&mut *c).await
    })?;
    let code = rows.into_iter().next().ok_or(DbError::NotFound)?;
    RegionCode::parse(&code).map_err(|e| DbError::Corrupt(e.to_string()))
}

/// Which time of a visit a correction changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corrected {
    /// Check-in time.
    CheckIn,
    /// Check-out time.
    CheckOut,
}

impl Corrected {
    /// From its stable name, `check_in` or `check_out`.
    pub fn parse(text: &str) -> Option<Corrected> {
        match text.trim() {
            "check_in" => Some(Corrected::CheckIn),
            "check_out" => Some(Corrected::CheckOut),
            _ => None,
        }
    }
}

/// A manual correction: which time, to what, and why.
#[derive(Debug, Clone)]
pub struct Correction<'a> {
    /// Which time.
    pub which: Corrected,
    /// The corrected time.
    pub at: DateTime<Utc>,
    /// Why, from the list.
    pub code: Option<jinglao_domain::visit::CorrectionReason>,
    /// Why, in words beside the code (required for "other").
    pub reason: &'a str,
}

/// Corrects a check-in or check-out time by hand (a phone that recorded the wrong time, a
/// forgotten check-out confirmed by the family), with a reason. The correction is stored apart
/// from the visit, audited, and the visit is checked again. A visit already on a statement is
/// not corrected (its month is settled; an adjustment follows from a rejection instead).
pub async fn correct(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    visit_id: Uuid,
    fix: &Correction<'_>,
    book: &PolicyBook,
    now: DateTime<Utc>,
) -> Result<Outcome, DbError> {
    let (which, at, reason) = (fix.which, fix.at, fix.reason);
    if !actor.may(Permission::ReviewVisits) {
        return Err(DbError::Forbidden("您的角色不能更正服务记录".into()));
    }
    let mut inv = Invalid::new();
    match fix.code {
        None => inv.add(
            "reason_code",
            format!(
                "请选择更正原因：{}",
                jinglao_domain::visit::CorrectionReason::labels_list()
            ),
        ),
        Some(code) => {
            if let Err(why) = code.check_note(reason) {
                inv.add("reason", why);
            }
        }
    }
    if at > now {
        inv.add("at", "更正后的时间不能晚于现在");
    }
    inv.into_result(())?;
    let code = fix.code.expect("checked");
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let region = region_in_scope(&mut conn, &actor.scope, visit_id).await?;
    let settled: i64 = on_conn!(&mut conn, |c| {
        sqlx::query_scalar("SELECT COUNT(*) FROM statement_lines WHERE visit_id = $1")
            .bind(visit_id)
            .fetch_one(&mut *c)
            .await
    })?;
    if settled > 0 {
        return Err(Invalid::one("visit", "这次服务已进入结算单，不能再更正").into());
    }
    let (column, field) = match which {
        Corrected::CheckIn => ("in_at", "check_in"),
        Corrected::CheckOut => ("out_at", "check_out"),
    };
    let old: Option<DateTime<Utc>> = on_conn!(&mut conn, |c| {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT {column} FROM visits WHERE id = $1"
        )))
        .bind(visit_id)
        .fetch_one(&mut *c)
        .await
    })?;
    let (in_at, out_at): (DateTime<Utc>, Option<DateTime<Utc>>) = on_conn!(&mut conn, |c| {
        sqlx::query_as("SELECT in_at, out_at FROM visits WHERE id = $1")
            .bind(visit_id)
            .fetch_one(&mut *c)
            .await
    })?;
    let (new_in, new_out) = match which {
        Corrected::CheckIn => (at, out_at),
        Corrected::CheckOut => (in_at, Some(at)),
    };
    if new_out.is_some_and(|o| o < new_in) {
        return Err(Invalid::one("at", "签退时间不能早于签到时间").into());
    }
    // A corrected check-out of a visit never checked out takes the correction as its whole
    // stamp (no position: the check will say so).
    on_conn!(&mut conn, |c| {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE visits SET {column} = $1, {column_dev} = COALESCE({column_dev}, $1), \
             {column_rcv} = COALESCE({column_rcv}, $2), updated_at = $2 WHERE id = $3",
            column_dev = format!("{}_device_at", &column[..column.len() - 3]),
            column_rcv = format!("{}_received_at", &column[..column.len() - 3]),
        )))
        .bind(at)
        .bind(now)
        .bind(visit_id)
        .execute(&mut *c)
        .await
        .map(|_| ())
    })?;
    if which == Corrected::CheckIn {
        // The visit's day (and so its price and month) follows its check-in.
        on_conn!(&mut conn, |c| {
            sqlx::query("UPDATE visits SET service_on = $1, service_month = $2 WHERE id = $3")
                .bind(china_date(at))
                .bind(month_of(china_date(at)))
                .bind(visit_id)
                .execute(&mut *c)
                .await
                .map(|_| ())
        })?;
    }
    let old_text = old.map(|t| t.to_rfc3339()).unwrap_or_default();
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "INSERT INTO visit_corrections (id, visit_id, field, old_value, new_value, reason, \
             corrected_by, corrected_at, reason_code) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(Uuid::now_v7())
        .bind(visit_id)
        .bind(field)
        .bind(&old_text)
        .bind(at.to_rfc3339())
        .bind(reason.trim())
        .bind(actor.user_id)
        .bind(now)
        .bind(code.as_str())
        .execute(&mut *c)
        .await
        .map(|_| ())
    })?;
    let outcome = reverify_many(&mut conn, &[(visit_id, book, now)])
        .await?
        .remove(0);
    let event = Event::new("visit.correct", "visit", visit_id)
        .region(Some(region))
        .detail(json!({
            "field": field, "from": old_text, "to": at, "reason_code": code.as_str(),
            "reason": reason.trim(), "status": outcome.status,
        }));
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// What a month-end re-check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Recheck {
    /// Verified visits whose facts changed after check-out.
    pub candidates: usize,
    /// Of those, now in the exception queue.
    pub flagged: usize,
}

/// Month-end re-check before settlement: facts registered after a visit was checked out can
/// undo its verification (a death or move registered late, a contract ended retroactively).
/// One query finds the verified, uncharged visits of `month` whose person was no longer active
/// on the visit's day or whose caregiver had no contract with the provider on it; each is
/// checked again by the same rules as at check-out, and each one sent to the exception queue
/// is audited.
pub async fn recheck_month(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    month: &str,
    book: &PolicyBook,
    now: DateTime<Utc>,
) -> Result<Recheck, DbError> {
    if !actor.may(Permission::ReviewVisits) && !actor.may(Permission::SettleServices) {
        return Err(DbError::Forbidden("您的角色不能复核服务记录".into()));
    }
    let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
        .map_err(|_| Invalid::one("month", "月份格式应为 年-月，例如 2026-10"))?;
    let last = first
        .checked_add_months(chrono::Months::new(1))
        .and_then(|d| d.pred_opt())
        .unwrap_or(first);
    let mut c = db.acquire().await?;
    // People registered dead or gone (few, by a partial index), then their visits.
    let mut candidates: Vec<Uuid> = on_conn!(&mut c.conn(), |c| {
        sqlx::query_scalar(
            "SELECT v.id FROM elders e JOIN visits v ON v.elder_id = e.id \
             WHERE e.status <> 'active' AND v.service_month = $1 AND v.status = 'verified' \
             AND (e.status_date IS NULL OR e.status_date <= v.service_on) \
             AND NOT EXISTS (SELECT 1 FROM statement_lines l WHERE l.visit_id = v.id)",
        )
        .bind(month)
        .fetch_all(&mut *c)
        .await
    })?;
    // Caregiver–provider pairs of the month (read from an index) without one contract covering
    // the whole month; only their visits are checked day by day.
    let pairs: Vec<(Uuid, Uuid)> = on_conn!(&mut c.conn(), |c| {
        sqlx::query_as(
            "SELECT p.caregiver_id, p.provider_id FROM (SELECT DISTINCT v.caregiver_id, \
             v.provider_id FROM visits v WHERE v.service_month = $1 AND v.status = 'verified') p \
             WHERE NOT EXISTS (SELECT 1 FROM employments m WHERE m.staff_id = p.caregiver_id \
              AND m.provider_id = p.provider_id AND m.start_on <= $2 \
              AND (m.end_on IS NULL OR m.end_on >= $3))",
        )
        .bind(month)
        .bind(first)
        .bind(last)
        .fetch_all(&mut *c)
        .await
    })?;
    for (caregiver, provider) in pairs {
        let more: Vec<Uuid> = on_conn!(&mut c.conn(), |c| {
            sqlx::query_scalar(
                "SELECT v.id FROM visits v WHERE v.caregiver_id = $1 AND v.provider_id = $2 \
                 AND v.service_month = $3 AND v.status = 'verified' AND NOT EXISTS \
                 (SELECT 1 FROM employments m WHERE m.staff_id = v.caregiver_id \
                  AND m.provider_id = v.provider_id AND m.start_on <= v.service_on \
                  AND (m.end_on IS NULL OR m.end_on >= v.service_on)) \
                 AND NOT EXISTS (SELECT 1 FROM statement_lines l WHERE l.visit_id = v.id)",
            )
            .bind(caregiver)
            .bind(provider)
            .bind(month)
            .fetch_all(&mut *c)
            .await
        })?;
        candidates.extend(more);
    }
    drop(c);
    candidates.sort();
    candidates.dedup();
    let mut flagged = 0;
    for chunk in candidates.chunks(500) {
        let mut tx = db.begin().await?;
        let mut conn = tx.conn();
        let checks: Vec<_> = chunk.iter().map(|id| (*id, book, now)).collect();
        for out in reverify_many(&mut conn, &checks).await? {
            if out.status == "exception" {
                flagged += 1;
                let event = Event::new("visit.recheck", "visit", out.visit_id).detail(json!({
                    "month": month,
                    "codes": out.findings.iter().map(|f| f.code.as_str()).collect::<Vec<_>>(),
                }));
                audit::append(&mut conn, key, actor, event, now).await?;
            }
        }
        tx.commit().await?;
    }
    Ok(Recheck {
        candidates: candidates.len(),
        flagged,
    })
}

/// One visit in the exception queue, as reviewers see it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct QueueRow {
    /// Visit.
    pub id: Uuid,
    /// The person's name.
    pub elder_name: String,
    /// The caregiver's name.
    pub caregiver_name: String,
    /// The provider's name.
    pub provider_name: String,
    /// Item code.
    pub item_code: String,
    /// Check-in.
    pub in_at: DateTime<Utc>,
    /// Check-out.
    pub out_at: Option<DateTime<Utc>>,
    /// Stored findings (JSON).
    pub findings: String,
    /// exception | accepted | rejected.
    pub status: String,
    /// The reviewer's reason.
    pub review_reason: Option<String>,
    /// missing | code | signature (a signature image can be opened).
    pub confirmation: String,
}

/// `WHERE` of the queue: status, reason code and scope.
fn queue_filter<DB: sqlx::Database>(
    q: &mut sqlx::QueryBuilder<DB>,
    scope: &Scope,
    code: Option<jinglao_domain::visit::ExceptionCode>,
    decided: bool,
) where
    String: for<'a> sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    Uuid: for<'a> sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    q.push(if decided {
        " WHERE v.status IN ('accepted', 'rejected')"
    } else {
        " WHERE v.status = 'exception'"
    });
    if let Some(c) = code {
        q.push(" AND (',' || v.exception_codes || ',') LIKE ")
            .push_bind(format!("%,{},%", c.as_str()));
    }
    crate::scope_sql::push_scope(q, scope, "v.region_code", "v.provider_id");
}

/// The exception queue within `scope`: visits waiting for review (or, with `decided`, those
/// already decided), optionally only those with reason `code`, oldest first, at most `limit`;
/// with the number matching in all.
pub async fn queue(
    conn: &mut Conn<'_>,
    scope: &Scope,
    code: Option<jinglao_domain::visit::ExceptionCode>,
    decided: bool,
    limit: i64,
) -> Result<(Vec<QueueRow>, i64), DbError> {
    let rows: Vec<QueueRow> = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(
            "SELECT v.id, e.name AS elder_name, s.name AS caregiver_name, p.name AS provider_name, \
             v.item_code, v.in_at, v.out_at, v.findings, v.status, v.review_reason, v.confirmation \
             FROM visits v JOIN elders e ON e.id = v.elder_id JOIN staff s ON s.id = v.caregiver_id \
             JOIN providers p ON p.id = v.provider_id",
        );
        queue_filter(&mut q, scope, code, decided);
        q.push(" ORDER BY v.in_at, v.id LIMIT ").push_bind(limit);
        q.build_query_as::<QueueRow>().fetch_all(&mut *c).await
    })?;
    let total: i64 = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new("SELECT COUNT(*) FROM visits v");
        queue_filter(&mut q, scope, code, decided);
        q.build_query_scalar::<i64>().fetch_one(&mut *c).await
    })?;
    Ok((rows, total))
}

/// The signature a person drew at the end of a visit, decrypted (a PNG), for someone whose
/// scope covers the visit (its region, or its provider for the provider's own staff); `None`
/// when there is none or the visit is outside the scope. The read is audited: it is personal
/// data.
pub async fn signature(
    db: &Db,
    key: &ChainKey,
    cipher: &crate::crypto::FieldCipher,
    actor: &Actor,
    visit_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<Vec<u8>>, DbError> {
    let mut c = db.acquire().await?;
    let region = match region_in_scope(&mut c.conn(), &actor.scope, visit_id).await {
        Ok(r) => r,
        Err(DbError::NotFound) => return Ok(None),
        Err(e) => return Err(e),
    };
    let blob: Option<Vec<u8>> = on_conn!(&mut c.conn(), |c| {
        sqlx::query_scalar("SELECT image_cipher FROM visit_signatures WHERE visit_id = $1")
            .bind(visit_id)
            .fetch_optional(&mut *c)
            .await
    })?;
    drop(c);
    let Some(blob) = blob else {
        return Ok(None);
    };
    let image = cipher.decrypt_bytes(crate::crypto::Field::Signature, visit_id, &blob)?;
    let event = Event::new("visit.signature.read", "visit", visit_id).region(Some(region));
    audit::record(db, key, actor, event, now).await?;
    Ok(Some(image))
}
