//! Check-ins and check-outs of many caregivers in one transaction (the group commit behind
//! [`crate::visit_queue`]; a single request is a batch of one, so there is one code path).
//!
//! Each table is read once for the whole batch (`… WHERE id IN (…)`), the decisions are made
//! in memory exactly as for one request, new visits go in with one multi-row insert, the audit
//! entries are chained in one append, and the batch commits once. A request refused for its
//! own reason (not the caregiver's order, no check-in yet, a bad field) is answered with that
//! reason and changes nothing; it does not disturb the others. Jobs in one batch never share a
//! caregiver, a visit or an order ([`Job::keys`]): each is decided against the stored state as
//! if it ran alone.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use jinglao_domain::clock::china_date;
use jinglao_domain::policy::PolicyBook;
use jinglao_domain::{Invalid, RegionCode};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, ChainKey, Event};
use crate::orders::{self, Order, month_of};
use crate::scope_sql::push_id_list;
use crate::visit_check::{self, ToCheck};
use crate::visits::{CheckIn, CheckOut, CheckedStamp, Outcome, check_stamp, outcome};
use crate::{Actor, Conn, DbError, on_conn, policy, visits::Caregiver};

/// One request of a caregiver.
#[derive(Debug, Clone)]
pub(crate) enum Job {
    /// A check-in.
    In {
        actor: Actor,
        me: Caregiver,
        ci: CheckIn,
        now: DateTime<Utc>,
    },
    /// A check-out, checked under `book` (the stored policy when `None`).
    Out {
        actor: Actor,
        me: Caregiver,
        co: CheckOut,
        book: Option<PolicyBook>,
        now: DateTime<Utc>,
    },
}

/// What a job answers when it succeeds.
#[derive(Debug)]
pub(crate) enum Done {
    /// The visit checked in to (new or existing).
    In(Uuid),
    /// The checked-out visit's outcome.
    Out(Outcome),
}

impl Job {
    /// What the job touches: two jobs sharing a key never go in the same batch.
    pub(crate) fn keys(&self) -> [Option<Uuid>; 3] {
        match self {
            Job::In { me, ci, .. } => [Some(me.staff_id), Some(ci.visit_id), Some(ci.order_id)],
            Job::Out { me, co, .. } => [Some(me.staff_id), Some(co.visit_id), None],
        }
    }

    fn actor(&self) -> &Actor {
        match self {
            Job::In { actor, .. } | Job::Out { actor, .. } => actor,
        }
    }

    fn now(&self) -> DateTime<Utc> {
        match self {
            Job::In { now, .. } | Job::Out { now, .. } => *now,
        }
    }
}

/// Each job's answer, in the order of the jobs.
pub(crate) type Answers = Vec<Result<Done, DbError>>;

/// Runs `jobs` in the caller's transaction. `Err` only for a failure of the database itself,
/// which leaves the whole transaction to be rolled back.
pub(crate) async fn execute(
    conn: &mut Conn<'_>,
    key: &ChainKey,
    jobs: &[Job],
) -> Result<Answers, DbError> {
    let mut answers: Vec<Option<Result<Done, DbError>>> = jobs.iter().map(|_| None).collect();
    let mut stamps: Vec<Option<CheckedStamp>> = Vec::with_capacity(jobs.len());
    for (i, job) in jobs.iter().enumerate() {
        let input = match job {
            Job::In { ci, .. } => &ci.stamp,
            Job::Out { co, .. } => &co.stamp,
        };
        match check_stamp(input, job.now()) {
            Ok(s) => stamps.push(Some(s)),
            Err(e) => {
                answers[i] = Some(Err(e.into()));
                stamps.push(None);
            }
        }
    }
    let mut events: Vec<(usize, Event<'static>)> = Vec::new();
    check_ins(conn, jobs, &stamps, &mut answers, &mut events).await?;
    check_outs(conn, jobs, &stamps, &mut answers, &mut events).await?;
    let entries = events
        .into_iter()
        .map(|(i, e)| (jobs[i].actor(), e, jobs[i].now()))
        .collect();
    audit::append_each(conn, key, entries).await?;
    Ok(answers
        .into_iter()
        .map(|a| a.unwrap_or_else(|| Err(DbError::Corrupt("a job was left unanswered".into()))))
        .collect())
}

/// The check-ins of the batch: idempotent on the visit id and on the order.
async fn check_ins(
    conn: &mut Conn<'_>,
    jobs: &[Job],
    stamps: &[Option<CheckedStamp>],
    answers: &mut [Option<Result<Done, DbError>>],
    events: &mut Vec<(usize, Event<'static>)>,
) -> Result<(), DbError> {
    let todo: Vec<(usize, &Caregiver, &CheckIn, &CheckedStamp, DateTime<Utc>)> = jobs
        .iter()
        .enumerate()
        .filter_map(|(i, j)| match (j, &stamps[i]) {
            (Job::In { me, ci, now, .. }, Some(s)) => Some((i, me, ci, s, *now)),
            _ => None,
        })
        .collect();
    if todo.is_empty() {
        return Ok(());
    }
    let visit_ids: Vec<Uuid> = todo.iter().map(|t| t.2.visit_id).collect();
    let order_ids: Vec<Uuid> = todo.iter().map(|t| t.2.order_id).collect();
    let existing: Vec<(Uuid, Uuid, Uuid)> = on_conn!(conn, c => {
        let mut q = sqlx::QueryBuilder::new(
            "SELECT id, order_id, caregiver_id FROM visits WHERE id IN ",
        );
        push_id_list(&mut q, &visit_ids);
        q.push(" OR order_id IN ");
        push_id_list(&mut q, &order_ids);
        q.build_query_as().fetch_all(&mut *c).await
    })?;
    let orders: HashMap<Uuid, Order> = orders::get_many(conn, &order_ids)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    let mut new = Vec::new();
    for (i, me, ci, stamp, now) in todo {
        let found = existing
            .iter()
            .find(|e| e.0 == ci.visit_id)
            .or_else(|| existing.iter().find(|e| e.1 == ci.order_id));
        let answer = if let Some(&(id, order_id, caregiver)) = found {
            if caregiver != me.staff_id {
                Err(DbError::Forbidden("这项服务已由其他护理员签到".into()))
            } else if order_id != ci.order_id {
                Err(Invalid::one("visit_id", "这个服务记录编号属于另一张工单").into())
            } else {
                Ok(id)
            }
        } else {
            match orders.get(&ci.order_id) {
                None => Err(DbError::NotFound),
                Some(o)
                    if o.caregiver_id != Some(me.staff_id) || o.provider_id != me.provider_id =>
                {
                    Err(DbError::Forbidden("这张工单没有派给您".into()))
                }
                Some(o) if o.status != "booked" => {
                    Err(Invalid::one("order_id", "工单已取消或已结束，不能签到").into())
                }
                Some(o) => {
                    events.push((
                        i,
                        Event::new("visit.check_in", "elder", o.elder_id)
                            .region(RegionCode::parse(&o.region_code).ok())
                            .detail(json!({
                                "visit": ci.visit_id, "order": o.id, "offline": stamp.offline,
                            })),
                    ));
                    new.push((ci.visit_id, o, me.staff_id, stamp, now));
                    Ok(ci.visit_id)
                }
            }
        };
        answers[i] = Some(answer.map(Done::In));
    }
    for chunk in new.chunks(200) {
        on_conn!(conn, c => {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO visits (id, order_id, provider_id, caregiver_id, elder_id, region_code, \
                 item_code, funding, service_on, service_month, in_at, in_device_at, in_received_at, \
                 in_lat, in_lon, in_offline, status, created_at, updated_at) ",
            );
            q.push_values(chunk, |mut b, (id, o, staff, s, now)| {
                let day = china_date(s.at);
                b.push_bind(*id).push_bind(o.id).push_bind(o.provider_id).push_bind(*staff)
                    .push_bind(o.elder_id).push_bind(&o.region_code).push_bind(&o.item_code)
                    .push_bind(&o.funding).push_bind(day).push_bind(month_of(day))
                    .push_bind(s.at).push_bind(s.device_at).push_bind(*now)
                    .push_bind(s.point.map(|p| p.lat)).push_bind(s.point.map(|p| p.lon))
                    .push_bind(s.offline).push_bind("in_progress").push_bind(*now)
                    .push_bind(*now);
            });
            q.build().execute(&mut *c).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// A started visit as the check-out finds it, with its order's code.
#[derive(sqlx::FromRow)]
struct StartedRow {
    id: Uuid,
    caregiver_id: Uuid,
    order_id: Uuid,
    out_at: Option<DateTime<Utc>>,
    in_at: DateTime<Utc>,
    confirm_code: String,
}

/// The check-outs of the batch: idempotent (a visit already checked out answers with its
/// stored outcome); each closed visit is verified.
async fn check_outs(
    conn: &mut Conn<'_>,
    jobs: &[Job],
    stamps: &[Option<CheckedStamp>],
    answers: &mut [Option<Result<Done, DbError>>],
    events: &mut Vec<(usize, Event<'static>)>,
) -> Result<(), DbError> {
    let todo: Vec<(usize, &Caregiver, &CheckOut, &CheckedStamp)> = jobs
        .iter()
        .enumerate()
        .filter_map(|(i, j)| match (j, &stamps[i]) {
            (Job::Out { me, co, .. }, Some(s)) => Some((i, me, co, s)),
            _ => None,
        })
        .collect();
    if todo.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = todo.iter().map(|t| t.2.visit_id).collect();
    let started: HashMap<Uuid, StartedRow> = on_conn!(conn, c => {
        let mut q = sqlx::QueryBuilder::new(
            "SELECT v.id, v.caregiver_id, v.order_id, v.out_at, v.in_at, o.confirm_code \
             FROM visits v JOIN service_orders o ON o.id = v.order_id WHERE v.id IN ",
        );
        push_id_list(&mut q, &ids);
        q.build_query_as::<StartedRow>().fetch_all(&mut *c).await
    })?
    .into_iter()
    .map(|r| (r.id, r))
    .collect();
    let mut closed = Vec::new();
    for (i, me, co, stamp) in todo {
        let Some(row) = started.get(&co.visit_id) else {
            let e = Invalid::one("visit_id", "没有这次服务的签到记录，请先签到");
            answers[i] = Some(Err(e.into()));
            continue;
        };
        if row.caregiver_id != me.staff_id {
            answers[i] = Some(Err(DbError::Forbidden("这不是您的服务记录".into())));
        } else if row.out_at.is_some() {
            answers[i] = Some(outcome(conn, co.visit_id).await.map(Done::Out));
        } else if stamp.at < row.in_at {
            answers[i] = Some(Err(Invalid::one("device_at", "签退时间早于签到时间").into()));
        } else {
            close(conn, co, row, stamp, jobs[i].now()).await?;
            closed.push(i);
        }
    }
    if closed.is_empty() {
        return Ok(());
    }
    let stored_book = if closed
        .iter()
        .any(|&i| matches!(&jobs[i], Job::Out { book: None, .. }))
    {
        Some(policy::load(conn).await?)
    } else {
        None
    };
    let checks: Vec<ToCheck<'_>> = closed
        .iter()
        .filter_map(|&i| match &jobs[i] {
            Job::Out { co, book, now, .. } => {
                let book = book.as_ref().or(stored_book.as_ref())?;
                Some((co.visit_id, book, *now))
            }
            Job::In { .. } => None,
        })
        .collect();
    let outcomes = visit_check::reverify_many(conn, &checks).await?;
    for (i, out) in closed.into_iter().zip(outcomes) {
        events.push((
            i,
            Event::new("visit.check_out", "visit", out.visit_id).detail(json!({
                "status": out.status,
                "codes": out.findings.iter().map(|f| f.code.as_str()).collect::<Vec<_>>(),
            })),
        ));
        answers[i] = Some(Ok(Done::Out(out)));
    }
    Ok(())
}

/// Records one check-out: time, place, confirmation, tasks and notes; the signature if drawn;
/// the order done.
async fn close(
    conn: &mut Conn<'_>,
    co: &CheckOut,
    row: &StartedRow,
    stamp: &CheckedStamp,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let code = co.code.as_deref().map(str::trim).filter(|c| !c.is_empty());
    let (confirmation, matched) = match code {
        Some(c) => ("code", Some(c == row.confirm_code)),
        None if co.signature.is_some() => ("signature", None),
        None => ("missing", None),
    };
    on_conn!(conn, c => {
        sqlx::query(
            "UPDATE visits SET out_at = $1, out_device_at = $2, out_received_at = $3, out_lat = $4, \
             out_lon = $5, out_offline = $6, confirmation = $7, code_entered = $8, code_matched = $9, \
             tasks = $10, notes = $11, updated_at = $3 WHERE id = $12",
        )
        .bind(stamp.at).bind(stamp.device_at).bind(now).bind(stamp.point.map(|p| p.lat))
        .bind(stamp.point.map(|p| p.lon)).bind(stamp.offline).bind(confirmation).bind(code)
        .bind(matched).bind(co.tasks.trim()).bind(co.notes.trim()).bind(co.visit_id)
        .execute(&mut *c).await.map(|_| ())
    })?;
    if let (Some(image), "signature") = (&co.signature, confirmation) {
        on_conn!(conn, c => {
            sqlx::query(
                "INSERT INTO visit_signatures (visit_id, image_cipher, size_bytes, created_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(co.visit_id).bind(image).bind(image.len() as i64).bind(now)
            .execute(&mut *c).await.map(|_| ())
        })?;
    }
    on_conn!(conn, c => {
        sqlx::query("UPDATE service_orders SET status = 'done', updated_at = $1 WHERE id = $2")
            .bind(now).bind(row.order_id).execute(&mut *c).await.map(|_| ())
    })?;
    Ok(())
}

/// Runs one job in a transaction of its own (a direct call, or a batch that failed and is run
/// again one job at a time).
pub(crate) async fn run_one(db: &crate::Db, key: &ChainKey, job: Job) -> Result<Done, DbError> {
    let mut tx = db.begin().await?;
    let answer = execute(&mut tx.conn(), key, std::slice::from_ref(&job))
        .await?
        .pop()
        .unwrap_or_else(|| Err(DbError::Corrupt("a job was left unanswered".into())));
    if answer.is_ok() {
        tx.commit().await?;
    }
    answer
}
