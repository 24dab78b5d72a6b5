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
use crate::visit_check::{self, Closed, ToCheck, stored_findings};
use crate::visits::{
    CheckIn, CheckOut, CheckedStamp, Outcome, caregivers_of, check_stamp, outcome,
};
use crate::{Actor, Conn, DbError, on_conn, policy, visits::Caregiver};

/// Who sends a request: a caregiver already looked up, or a signed-in account whose caregiver
/// record the batch looks up (one query for all of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// The caregiver.
    Caregiver(Caregiver),
    /// The account (`users.id`); refused when it is not linked to a caregiver.
    Account(Uuid),
}

impl Who {
    fn key(self) -> Uuid {
        match self {
            Who::Caregiver(c) => c.staff_id,
            Who::Account(id) => id,
        }
    }
}

/// One request of a caregiver.
#[derive(Debug, Clone)]
pub(crate) enum Job {
    /// A check-in.
    In {
        actor: Actor,
        who: Who,
        ci: CheckIn,
        now: DateTime<Utc>,
    },
    /// A check-out, checked under `book` (the stored policy when `None`).
    Out {
        actor: Actor,
        who: Who,
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
    /// A check-in by `who`.
    pub(crate) fn check_in(actor: &Actor, who: Who, ci: &CheckIn, now: DateTime<Utc>) -> Job {
        Job::In {
            actor: actor.clone(),
            who,
            ci: *ci,
            now,
        }
    }

    /// A check-out by `who`, checked under `book` (the stored policy when `None`).
    pub(crate) fn check_out(
        actor: &Actor,
        who: Who,
        co: &CheckOut,
        book: Option<PolicyBook>,
        now: DateTime<Utc>,
    ) -> Job {
        Job::Out {
            actor: actor.clone(),
            who,
            co: co.clone(),
            book,
            now,
        }
    }

    /// What the job touches: two jobs sharing a key never go in the same batch.
    pub(crate) fn keys(&self) -> [Option<Uuid>; 3] {
        match self {
            Job::In { who, ci, .. } => [Some(who.key()), Some(ci.visit_id), Some(ci.order_id)],
            Job::Out { who, co, .. } => [Some(who.key()), Some(co.visit_id), None],
        }
    }

    fn actor(&self) -> &Actor {
        match self {
            Job::In { actor, .. } | Job::Out { actor, .. } => actor,
        }
    }

    fn who(&self) -> Who {
        match self {
            Job::In { who, .. } | Job::Out { who, .. } => *who,
        }
    }

    fn now(&self) -> DateTime<Utc> {
        match self {
            Job::In { now, .. } | Job::Out { now, .. } => *now,
        }
    }
}

impl Done {
    /// The visit a check-in answered with.
    pub(crate) fn visit(self) -> Result<Uuid, DbError> {
        match self {
            Done::In(id) => Ok(id),
            Done::Out(_) => Err(DbError::Corrupt(
                "a check-in answered as a check-out".into(),
            )),
        }
    }

    /// The outcome a check-out answered with.
    pub(crate) fn outcome(self) -> Result<Outcome, DbError> {
        match self {
            Done::Out(o) => Ok(o),
            Done::In(_) => Err(DbError::Corrupt(
                "a check-out answered as a check-in".into(),
            )),
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
    let caregivers = resolve(conn, jobs).await?;
    let mut ready: Vec<Option<Ready>> = Vec::with_capacity(jobs.len());
    for (i, job) in jobs.iter().enumerate() {
        let input = match job {
            Job::In { ci, .. } => &ci.stamp,
            Job::Out { co, .. } => &co.stamp,
        };
        let me = match job.who() {
            Who::Caregiver(c) => Some(c),
            Who::Account(id) => caregivers.get(&id).copied(),
        };
        match (me, check_stamp(input, job.now())) {
            (None, _) => {
                let e = DbError::Forbidden("这个账号不是护理员，或尚未关联护理员档案".into());
                answers[i] = Some(Err(e));
                ready.push(None);
            }
            (Some(_), Err(e)) => {
                answers[i] = Some(Err(e.into()));
                ready.push(None);
            }
            (Some(me), Ok(stamp)) => ready.push(Some(Ready { me, stamp })),
        }
    }
    let mut events: Vec<(usize, Event<'static>)> = Vec::new();
    check_ins(conn, jobs, &ready, &mut answers, &mut events).await?;
    check_outs(conn, jobs, &ready, &mut answers, &mut events).await?;
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

/// A job that passed the first checks: its caregiver and checked stamp.
struct Ready {
    me: Caregiver,
    stamp: CheckedStamp,
}

/// The caregivers of the accounts among the jobs, in one query.
async fn resolve(conn: &mut Conn<'_>, jobs: &[Job]) -> Result<HashMap<Uuid, Caregiver>, DbError> {
    let accounts: Vec<Uuid> = jobs
        .iter()
        .filter_map(|j| match j.who() {
            Who::Account(id) => Some(id),
            Who::Caregiver(_) => None,
        })
        .collect();
    caregivers_of(conn, &accounts).await
}

/// The check-ins of the batch: idempotent on the visit id and on the order.
async fn check_ins(
    conn: &mut Conn<'_>,
    jobs: &[Job],
    ready: &[Option<Ready>],
    answers: &mut [Option<Result<Done, DbError>>],
    events: &mut Vec<(usize, Event<'static>)>,
) -> Result<(), DbError> {
    let todo: Vec<(usize, &Caregiver, &CheckIn, &CheckedStamp, DateTime<Utc>)> = jobs
        .iter()
        .enumerate()
        .filter_map(|(i, j)| match (j, &ready[i]) {
            (Job::In { ci, now, .. }, Some(r)) => Some((i, &r.me, ci, &r.stamp, *now)),
            _ => None,
        })
        .collect();
    if todo.is_empty() {
        return Ok(());
    }
    let visit_ids: Vec<Uuid> = todo.iter().map(|t| t.2.visit_id).collect();
    let order_ids: Vec<Uuid> = todo.iter().map(|t| t.2.order_id).collect();
    let existing: Vec<(Uuid, Uuid, Uuid)> = on_conn!(conn, |c| {
        let mut q =
            sqlx::QueryBuilder::new("SELECT id, order_id, caregiver_id FROM visits WHERE id IN ");
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
        on_conn!(conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO visits (id, order_id, provider_id, caregiver_id, elder_id, region_code, \
                 item_code, funding, service_on, service_month, in_at, in_device_at, in_received_at, \
                 in_lat, in_lon, in_offline, status, created_at, updated_at) ",
            );
            q.push_values(chunk, |mut b, (id, o, staff, s, now)| {
                let day = china_date(s.at);
                b.push_bind(*id)
                    .push_bind(o.id)
                    .push_bind(o.provider_id)
                    .push_bind(*staff)
                    .push_bind(o.elder_id)
                    .push_bind(&o.region_code)
                    .push_bind(&o.item_code)
                    .push_bind(&o.funding)
                    .push_bind(day)
                    .push_bind(month_of(day))
                    .push_bind(s.at)
                    .push_bind(s.device_at)
                    .push_bind(*now)
                    .push_bind(s.point.map(|p| p.lat))
                    .push_bind(s.point.map(|p| p.lon))
                    .push_bind(s.offline)
                    .push_bind("in_progress")
                    .push_bind(*now)
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
    ready: &[Option<Ready>],
    answers: &mut [Option<Result<Done, DbError>>],
    events: &mut Vec<(usize, Event<'static>)>,
) -> Result<(), DbError> {
    let todo: Vec<(usize, &Caregiver, &CheckOut, &CheckedStamp)> = jobs
        .iter()
        .enumerate()
        .filter_map(|(i, j)| match (j, &ready[i]) {
            (Job::Out { co, .. }, Some(r)) => Some((i, &r.me, co, &r.stamp)),
            _ => None,
        })
        .collect();
    if todo.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = todo.iter().map(|t| t.2.visit_id).collect();
    let started: HashMap<Uuid, StartedRow> = on_conn!(conn, |c| {
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
    let mut closing: Vec<(usize, Closing)> = Vec::new();
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
            closing.push((i, Closing::new(co, row, stamp, jobs[i].now())));
        }
    }
    if closing.is_empty() {
        return Ok(());
    }
    let stored_book = if closing
        .iter()
        .any(|(i, _)| matches!(&jobs[*i], Job::Out { book: None, .. }))
    {
        Some(policy::load(conn).await?)
    } else {
        None
    };
    let checks: Vec<ToCheck<'_>> = closing
        .iter()
        .filter_map(|(i, c)| match &jobs[*i] {
            Job::Out { book, .. } => Some((
                c.visit_id,
                book.as_ref().or(stored_book.as_ref())?,
                c.facts.received_at,
            )),
            Job::In { .. } => None,
        })
        .collect();
    let closed: HashMap<Uuid, Closed> =
        closing.iter().map(|(_, c)| (c.visit_id, c.facts)).collect();
    let outcomes = visit_check::assess_many(conn, &checks, &closed).await?;
    close(conn, &closing, &outcomes).await?;
    for ((i, _), out) in closing.into_iter().zip(outcomes) {
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

/// One check-out to record: what the check sees of it (time, place, confirmation) and the
/// rest that is stored with it.
struct Closing<'j> {
    visit_id: Uuid,
    order_id: Uuid,
    facts: Closed,
    code: Option<&'j str>,
    tasks: &'j str,
    notes: &'j str,
    signature: Option<&'j [u8]>,
}

impl<'j> Closing<'j> {
    fn new(co: &'j CheckOut, row: &StartedRow, stamp: &CheckedStamp, now: DateTime<Utc>) -> Self {
        let code = co.code.as_deref().map(str::trim).filter(|c| !c.is_empty());
        let (confirmation, matched) = match code {
            Some(c) => ("code", Some(c == row.confirm_code)),
            None if co.signature.is_some() => ("signature", None),
            None => ("missing", None),
        };
        Closing {
            visit_id: co.visit_id,
            order_id: row.order_id,
            facts: Closed {
                at: stamp.at,
                device_at: stamp.device_at,
                received_at: now,
                lat: stamp.point.map(|p| p.lat),
                lon: stamp.point.map(|p| p.lon),
                offline: stamp.offline,
                confirmation,
                code_matched: matched,
            },
            code,
            tasks: co.tasks.trim(),
            notes: co.notes.trim(),
            signature: co
                .signature
                .as_deref()
                .filter(|_| confirmation == "signature"),
        }
    }
}

/// Rows per multi-row statement (well under SQLite's limit of bound values).
const CHUNK: usize = 100;

/// Records the check-outs with their verification — one `UPDATE … FROM (VALUES …)` for the
/// visits and one for their orders per chunk — and the drawn signatures.
async fn close(
    conn: &mut Conn<'_>,
    closing: &[(usize, Closing<'_>)],
    outcomes: &[Outcome],
) -> Result<(), DbError> {
    let stored: Vec<(String, String)> = outcomes.iter().map(stored_findings).collect();
    for (chunk, verdicts) in closing
        .chunks(CHUNK)
        .zip(outcomes.chunks(CHUNK).zip(stored.chunks(CHUNK)))
    {
        on_conn!(conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "UPDATE visits SET out_at = v.column2, out_device_at = v.column3, \
                 out_received_at = v.column4, out_lat = v.column5, out_lon = v.column6, \
                 out_offline = v.column7, confirmation = v.column8, code_entered = v.column9, \
                 code_matched = v.column10, tasks = v.column11, notes = v.column12, \
                 status = v.column13, findings = v.column14, exception_codes = v.column15, \
                 updated_at = v.column4 FROM (",
            );
            let rows = chunk.iter().zip(verdicts.0.iter().zip(verdicts.1));
            q.push_values(rows, |mut b, ((_, x), (out, (json, codes)))| {
                let f = &x.facts;
                b.push_bind(x.visit_id)
                    .push_bind(f.at)
                    .push_bind(f.device_at)
                    .push_bind(f.received_at)
                    .push_bind(f.lat)
                    .push_bind(f.lon)
                    .push_bind(f.offline)
                    .push_bind(f.confirmation)
                    .push_bind(x.code)
                    .push_bind(f.code_matched)
                    .push_bind(x.tasks)
                    .push_bind(x.notes)
                    .push_bind(&out.status)
                    .push_bind(json)
                    .push_bind(codes);
            });
            q.push(") AS v WHERE visits.id = v.column1");
            q.build().execute(&mut *c).await.map(|_| ())
        })?;
        on_conn!(conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "UPDATE service_orders SET status = 'done', updated_at = v.column2 FROM (",
            );
            q.push_values(chunk, |mut b, (_, x)| {
                b.push_bind(x.order_id).push_bind(x.facts.received_at);
            });
            q.push(") AS v WHERE service_orders.id = v.column1");
            q.build().execute(&mut *c).await.map(|_| ())
        })?;
    }
    let signed: Vec<&Closing<'_>> = closing
        .iter()
        .map(|(_, x)| x)
        .filter(|x| x.signature.is_some())
        .collect();
    for chunk in signed.chunks(CHUNK) {
        on_conn!(conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO visit_signatures (visit_id, image_cipher, size_bytes, created_at) ",
            );
            q.push_values(chunk, |mut b, x| {
                let image = x.signature.unwrap_or_default();
                b.push_bind(x.visit_id)
                    .push_bind(image)
                    .push_bind(image.len() as i64)
                    .push_bind(x.facts.received_at);
            });
            q.build().execute(&mut *c).await.map(|_| ())
        })?;
    }
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
