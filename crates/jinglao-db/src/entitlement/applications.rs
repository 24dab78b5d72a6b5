//! Applications for an item of the basic elderly-service list and their review chain, stored:
//! submission with the rule's pre-check, decisions at each step (each recording the list version
//! and the rule's answer with its explanation), send-back and resubmission, appeal, the end of
//! the public notice (which enrols the person), and the queues with their overdue marks.
//! The state machine itself is jinglao_domain::application.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use jinglao_domain::application::{ApplicationStatus, Decision, DecisionContext, Step, decide};
use jinglao_domain::elder::{ElderRecord, ElderStatus};
use jinglao_domain::policy::{PolicyBook, PolicyKey};
use jinglao_domain::rules::{Facts, Person};
use jinglao_domain::service_list::ServiceItem;
use jinglao_domain::{Invalid, RegionCode, Role, Scope};
use serde_json::json;
use uuid::Uuid;

use crate::WriteCtx;
use crate::audit::{self, ChainKey, Event};
use crate::entitlements::{self, NewEntitlement};
use crate::service_lists::{self, ServiceList};
use crate::{Actor, Conn, Db, DbError, elders, on_conn};

/// A new application.
#[derive(Debug, Clone)]
pub struct NewApplication<'a> {
    /// The person.
    pub elder_id: Uuid,
    /// The item.
    pub item_code: &'a str,
    /// Who applies (the person, a child, staff on their behalf…).
    pub applicant_name: &'a str,
    /// Their relation to the person (本人, 子女, 村（居）工作人员代办…).
    pub applicant_relation: &'a str,
    /// Why, when the rule finds the person not eligible (required then).
    pub reason: &'a str,
    /// Free text.
    pub note: &'a str,
    /// `staff` or `public`.
    pub channel: &'a str,
}

/// The rule's answer for a person and an item of a list version.
struct RuleAnswer {
    list: ServiceList,
    eligible: bool,
    explanation: String,
}

/// Asks the rule of `item_code` in the list that applies to the person on `on`.
async fn ask(
    conn: &mut Conn<'_>,
    e: &ElderRecord,
    item_code: &str,
    on: NaiveDate,
    book: &PolicyBook,
) -> Result<RuleAnswer, DbError> {
    let list = service_lists::applicable(conn, &e.residence_region)
        .await?
        .ok_or_else(|| Invalid::one("item_code", "老人居住地没有发布基本养老服务清单"))?;
    let item: Option<&ServiceItem> = list
        .items
        .iter()
        .find(|i| i.code == item_code && i.is_in_force_on(on));
    let (eligible, explanation) = match item {
        None => (
            false,
            format!(
                "现行清单（第 {} 版）没有有效的项目 {item_code}",
                list.version
            ),
        ),
        Some(_) if e.status != ElderStatus::Active => (false, format!("老人{}", e.status.label())),
        Some(it) => {
            let advanced = book.int(PolicyKey::AdvancedAge, &list.region) as i32;
            let facts = Facts::of_person(&Person::of_record(e), &list.region, on, advanced);
            let out = it.target.deciding(&facts);
            (out.eligible, out.explanation())
        }
    };
    Ok(RuleAnswer {
        list,
        eligible,
        explanation,
    })
}

fn china_today(now: DateTime<Utc>) -> NaiveDate {
    jinglao_domain::clock::china_date(now)
}

/// The deadline of a step entered on `today`: the region's working days for it, counted on the
/// holiday calendar.
async fn step_deadline(
    conn: &mut Conn<'_>,
    book: &PolicyBook,
    region: &RegionCode,
    today: NaiveDate,
    step: Step,
) -> Result<NaiveDate, DbError> {
    let key = match step {
        Step::VillageReview => PolicyKey::ApplicationVillageDays,
        Step::TownshipDecision => PolicyKey::ApplicationTownshipDays,
    };
    let days = book.int(key, region).max(1) as u32;
    let calendar = crate::calendar::load(conn).await?;
    Ok(calendar.add_working_days(today, days))
}

/// One decision on an application, as its history records it.
#[derive(Clone, Copy)]
struct DecisionRow<'a> {
    /// The application.
    application_id: Uuid,
    /// The step (submit, village_review, …).
    step: &'a str,
    /// What was decided.
    decision: &'a str,
    /// The status before.
    from: Option<ApplicationStatus>,
    /// The status after.
    to: ApplicationStatus,
    /// The reason given.
    reason: &'a str,
    /// The rule's answer at the time.
    answer: &'a RuleAnswer,
    /// Whether the decision went against the rule's answer.
    against_rule: bool,
}

async fn record_decision(
    conn: &mut Conn<'_>,
    d: &DecisionRow<'_>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let DecisionRow {
        application_id,
        step,
        decision,
        from,
        to,
        reason,
        answer,
        against_rule,
    } = *d;
    on_conn!(conn, |c| {
        sqlx::query(
            "INSERT INTO application_decisions (id, application_id, step, decision, from_status, to_status, \
             reason, list_id, eligible, explanation, against_rule, decided_by, decided_by_name, decided_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(Uuid::now_v7())
        .bind(application_id)
        .bind(step)
        .bind(decision)
        .bind(from.map(|s| s.as_str()))
        .bind(to.as_str())
        .bind(reason.trim())
        .bind(answer.list.id)
        .bind(answer.eligible)
        .bind(&answer.explanation)
        .bind(against_rule)
        .bind(actor.user_id)
        .bind(&actor.name)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|_| ())
    })?;
    Ok(())
}

/// Submits an application on the person's behalf (or from the public pages). The rule is
/// asked at once; applying for someone it finds not eligible needs a written reason. A second
/// open application, or one for an item the person already has, is refused.
pub async fn submit(
    db: &Db,
    chain: &ChainKey,
    actor: &Actor,
    new: &NewApplication<'_>,
    book: &PolicyBook,
    now: DateTime<Utc>,
) -> Result<Uuid, DbError> {
    let mut inv = Invalid::new();
    if new.applicant_name.trim().is_empty() {
        inv.add("applicant_name", "请填写申请人姓名");
    }
    if new.applicant_relation.trim().is_empty() {
        inv.add("applicant_relation", "请填写申请人与老人的关系");
    }
    if !matches!(new.channel, "staff" | "public") {
        inv.add("channel", "申请渠道应为 staff 或 public");
    }
    inv.into_result(())?;
    let today = china_today(now);
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let e = elders::get(&mut conn, &actor.scope, new.elder_id)
        .await?
        .ok_or(DbError::NotFound)?;
    let answer = ask(&mut conn, &e, new.item_code, today, book).await?;
    if !answer.list.items.iter().any(|i| i.code == new.item_code) {
        return Err(Invalid::one("item_code", format!("清单中没有项目 {}", new.item_code)).into());
    }
    // Staff are told at once that the person must be assessed first; a family's application
    // from the public page is taken (the village arranges the assessment) and waits for it at
    // the township's decision.
    if new.channel != "public" && lacks_assessment(&answer, &e, new.item_code, book) {
        return Err(Invalid::one(
            "item_code",
            "这一项目由政府出资，申请前老人须有生效的能力评估（潭政办发〔2023〕20号）；请先安排评估",
        )
        .into());
    }
    // Staff must say why they apply against the rule. A family on the public page cannot be
    // told what the registry says (it would answer "is this person registered, and how?"), so
    // its application is taken and the village sees the rule's answer at 初审.
    if !answer.eligible && new.channel != "public" && new.reason.trim().chars().count() < 4 {
        return Err(Invalid::one(
            "reason",
            format!(
                "按规则该老人暂不符合条件（{}）；如仍要申请，请写明理由（至少 4 个字）",
                answer.explanation
            ),
        )
        .into());
    }
    let open: i64 = on_conn!(&mut conn, |c| {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM applications WHERE elder_id = $1 AND item_code = $2 \
             AND status NOT IN ('rejected', 'withdrawn', 'effective')",
        )
        .bind(new.elder_id)
        .bind(new.item_code)
        .fetch_one(&mut *c)
        .await
    })?;
    if open > 0 {
        return Err(Invalid::one("item_code", "该老人已有这一项目的申请在办理中").into());
    }
    if entitlements::active_codes(&mut conn, new.elder_id, today)
        .await?
        .iter()
        .any(|c| c == new.item_code)
    {
        return Err(Invalid::one("item_code", "该老人已纳入这一项目").into());
    }
    let id = Uuid::now_v7();
    let deadline = step_deadline(
        &mut conn,
        book,
        &e.residence_region,
        today,
        Step::VillageReview,
    )
    .await?;
    let note = if new.reason.trim().is_empty() {
        new.note.trim().to_string()
    } else {
        format!("{}（申请理由：{}）", new.note.trim(), new.reason.trim())
    };
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "INSERT INTO applications (id, elder_id, item_code, list_id, residence_region_code, status, channel, \
             applicant_name, applicant_relation, note, precheck_eligible, precheck_explanation, submitted_at, \
             step_deadline, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $13)",
        )
        .bind(id)
        .bind(new.elder_id)
        .bind(new.item_code)
        .bind(answer.list.id)
        .bind(e.residence_region.as_str().to_string())
        .bind(ApplicationStatus::Submitted.as_str())
        .bind(new.channel)
        .bind(new.applicant_name.trim())
        .bind(new.applicant_relation.trim())
        .bind(note.trim())
        .bind(answer.eligible)
        .bind(&answer.explanation)
        .bind(now)
        .bind(deadline)
        .execute(&mut *c)
        .await
        .map(|_| ())
    })?;
    record_decision(
        &mut conn,
        &DecisionRow {
            application_id: id,
            step: "submit",
            decision: "submit",
            from: None,
            to: ApplicationStatus::Submitted,
            reason: new.reason,
            answer: &answer,
            against_rule: !answer.eligible,
        },
        actor,
        now,
    )
    .await?;
    let event = Event::new("application.submit", "elder", new.elder_id)
        .region(Some(e.residence_region))
        .detail(json!({
            "application": id, "item": new.item_code, "list": answer.list.id, "list_version": answer.list.version,
            "eligible": answer.eligible, "explanation": answer.explanation, "reason": new.reason.trim(),
            "deadline": deadline,
        }));
    audit::append(&mut conn, chain, actor, event, now).await?;
    tx.commit().await?;
    Ok(id)
}

#[derive(sqlx::FromRow)]
struct AppRow {
    id: Uuid,
    elder_id: Uuid,
    item_code: String,
    list_id: Uuid,
    residence_region_code: String,
    status: String,
    channel: String,
    applicant_name: String,
    applicant_relation: String,
    note: String,
    precheck_eligible: bool,
    precheck_explanation: String,
    submitted_at: DateTime<Utc>,
    step_deadline: Option<NaiveDate>,
    notice_from: Option<NaiveDate>,
    notice_until: Option<NaiveDate>,
    decision_reason: Option<String>,
    appeal_until: Option<NaiveDate>,
    entitlement_id: Option<Uuid>,
    elder_name: String,
    item_name: Option<String>,
}

/// An application as staff see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    /// Id.
    pub id: Uuid,
    /// Person.
    pub elder_id: Uuid,
    /// Their name.
    pub elder_name: String,
    /// Item.
    pub item_code: String,
    /// Item name (from the list version of the submission).
    pub item_name: String,
    /// List version at submission.
    pub list_id: Uuid,
    /// Residence.
    pub region: RegionCode,
    /// Status.
    pub status: ApplicationStatus,
    /// staff / public.
    pub channel: String,
    /// Applicant.
    pub applicant_name: String,
    /// Relation.
    pub applicant_relation: String,
    /// Note.
    pub note: String,
    /// The rule's answer at submission.
    pub precheck_eligible: bool,
    /// Its explanation.
    pub precheck_explanation: String,
    /// When.
    pub submitted_at: DateTime<Utc>,
    /// Deadline of the step it waits for.
    pub step_deadline: Option<NaiveDate>,
    /// Public notice from.
    pub notice_from: Option<NaiveDate>,
    /// Public notice until (inclusive).
    pub notice_until: Option<NaiveDate>,
    /// Reason shown to the applicant.
    pub decision_reason: Option<String>,
    /// Appeal possible until.
    pub appeal_until: Option<NaiveDate>,
    /// The enrolment once effective.
    pub entitlement_id: Option<Uuid>,
}

impl Application {
    /// Whether the step it waits for is past its deadline on `today`.
    pub fn overdue_on(&self, today: NaiveDate) -> bool {
        self.status.step().is_some() && self.step_deadline.is_some_and(|d| d < today)
    }
}

impl AppRow {
    fn into_application(self) -> Result<Application, DbError> {
        let corrupt = |w: &str| DbError::Corrupt(format!("申请 {}：{w}", self.id));
        Ok(Application {
            region: RegionCode::parse(&self.residence_region_code)
                .map_err(|_| corrupt(&self.residence_region_code))?,
            status: ApplicationStatus::parse(&self.status).ok_or_else(|| corrupt(&self.status))?,
            id: self.id,
            elder_id: self.elder_id,
            elder_name: self.elder_name,
            item_name: self.item_name.unwrap_or_else(|| self.item_code.clone()),
            item_code: self.item_code,
            list_id: self.list_id,
            channel: self.channel,
            applicant_name: self.applicant_name,
            applicant_relation: self.applicant_relation,
            note: self.note,
            precheck_eligible: self.precheck_eligible,
            precheck_explanation: self.precheck_explanation,
            submitted_at: self.submitted_at,
            step_deadline: self.step_deadline,
            notice_from: self.notice_from,
            notice_until: self.notice_until,
            decision_reason: self.decision_reason,
            appeal_until: self.appeal_until,
            entitlement_id: self.entitlement_id,
        })
    }
}

const SELECT: &str = "SELECT a.id, a.elder_id, a.item_code, a.list_id, a.residence_region_code, a.status, \
     a.channel, a.applicant_name, a.applicant_relation, a.note, a.precheck_eligible, a.precheck_explanation, \
     a.submitted_at, a.step_deadline, a.notice_from, a.notice_until, a.decision_reason, a.appeal_until, \
     a.entitlement_id, e.name AS elder_name, si.name AS item_name \
     FROM applications a JOIN elders e ON e.id = a.elder_id \
     LEFT JOIN service_items si ON si.list_id = a.list_id AND si.code = a.item_code WHERE 1 = 1";

/// One application within `scope`.
pub async fn get(
    conn: &mut Conn<'_>,
    scope: &Scope,
    id: Uuid,
) -> Result<Option<Application>, DbError> {
    let row: Option<AppRow> = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(format!("{SELECT} AND a.id = "));
        q.push_bind(id);
        crate::elders::push_scope_on(&mut q, scope, "a.residence_region_code");
        q.build_query_as().fetch_optional(&mut *c).await
    })?;
    row.map(AppRow::into_application).transpose()
}

/// Filters of the queue.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    /// Region (within scope).
    pub region: Option<RegionCode>,
    /// Statuses (empty: all open ones).
    pub statuses: Vec<ApplicationStatus>,
    /// Only those past the deadline of their step on this date.
    pub overdue_on: Option<NaiveDate>,
    /// Only those whose step falls due by this date (overdue ones included).
    pub due_by: Option<NaiveDate>,
    /// One person.
    pub elder_id: Option<Uuid>,
}

/// Applications within `scope`, oldest deadline first.
pub async fn queue(
    conn: &mut Conn<'_>,
    scope: &Scope,
    f: &QueueFilter,
    limit: i64,
) -> Result<Vec<Application>, DbError> {
    Ok(queue_page(conn, scope, f, (limit, 0)).await?.0)
}

/// One page of [`queue`]: at most `limit` after skipping `offset`, with how many match in all.
pub async fn queue_page(
    conn: &mut Conn<'_>,
    scope: &Scope,
    f: &QueueFilter,
    (limit, offset): (i64, i64),
) -> Result<(Vec<Application>, i64), DbError> {
    let statuses: Vec<&str> = if f.statuses.is_empty() {
        vec![
            "submitted",
            "returned",
            "village_approved",
            "in_notice",
            "appealed",
        ]
    } else {
        f.statuses.iter().map(|s| s.as_str()).collect()
    };
    macro_rules! filter {
        ($q:expr) => {{
            let mut sep = $q.separated(", ");
            for s in &statuses {
                sep.push_bind(s.to_string());
            }
            $q.push(")");
            crate::elders::push_scope_on(&mut $q, scope, "a.residence_region_code");
            if let Some(r) = &f.region {
                crate::elders::push_subtree(&mut $q, "a.residence_region_code", r);
            }
            if let Some(d) = f.overdue_on {
                $q.push(" AND a.status IN ('submitted', 'village_approved', 'appealed') AND a.step_deadline < ")
                    .push_bind(d);
            }
            if let Some(d) = f.due_by {
                $q.push(" AND a.status IN ('submitted', 'village_approved', 'appealed') AND a.step_deadline <= ")
                    .push_bind(d);
            }
            if let Some(id) = f.elder_id {
                $q.push(" AND a.elder_id = ").push_bind(id);
            }
        }};
    }
    let (rows, total): (Vec<AppRow>, i64) = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(format!("{SELECT} AND a.status IN ("));
        filter!(q);
        q.push(" ORDER BY a.step_deadline, a.submitted_at, a.id LIMIT ")
            .push_bind(limit)
            .push(" OFFSET ")
            .push_bind(offset.max(0));
        let rows = q.build_query_as().fetch_all(&mut *c).await?;
        let mut q = sqlx::QueryBuilder::new(
            "SELECT COUNT(*) FROM applications a WHERE 1 = 1 AND a.status IN (",
        );
        filter!(q);
        let total: i64 = q.build_query_scalar().fetch_one(&mut *c).await?;
        Ok::<_, sqlx::Error>((rows, total))
    })?;
    Ok((
        rows.into_iter()
            .map(AppRow::into_application)
            .collect::<Result<_, _>>()?,
        total,
    ))
}

/// One decision in an application's history.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DecisionRecord {
    /// Step.
    pub step: String,
    /// What was decided.
    pub decision: String,
    /// New status.
    pub to_status: String,
    /// Reason.
    pub reason: String,
    /// List version used.
    pub list_id: Uuid,
    /// The rule's answer then.
    pub eligible: bool,
    /// Its explanation.
    pub explanation: String,
    /// Against the rule.
    pub against_rule: bool,
    /// Who.
    pub decided_by_name: String,
    /// When.
    pub decided_at: DateTime<Utc>,
}

/// An application's decisions, oldest first.
pub async fn history(conn: &mut Conn<'_>, id: Uuid) -> Result<Vec<DecisionRecord>, DbError> {
    on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT step, decision, to_status, reason, list_id, eligible, explanation, against_rule, \
             decided_by_name, decided_at FROM application_decisions WHERE application_id = $1 \
             ORDER BY decided_at, id",
        )
        .bind(id)
        .fetch_all(&mut *c)
        .await
    })
    .map_err(Into::into)
}

/// Loads an application inside a transaction, within the actor's scope.
async fn load(
    conn: &mut Conn<'_>,
    actor: &Actor,
    id: Uuid,
) -> Result<(Application, ElderRecord), DbError> {
    let app = get(conn, &actor.scope, id)
        .await?
        .ok_or(DbError::NotFound)?;
    if !actor.scope.covers_record_in(&app.region) {
        return Err(DbError::NotFound);
    }
    let e = elders::get(conn, &Scope::All, app.elder_id)
        .await?
        .ok_or(DbError::NotFound)?;
    Ok((app, e))
}

/// An application's new status and the dates that come with it.
#[derive(Debug, Clone, Copy)]
struct StatusChange<'a> {
    /// The new status.
    to: ApplicationStatus,
    /// The next step's deadline.
    deadline: Option<NaiveDate>,
    /// The public notice period.
    notice: Option<(NaiveDate, NaiveDate)>,
    /// The reason shown to the applicant.
    reason: Option<&'a str>,
    /// The last day to appeal.
    appeal_until: Option<NaiveDate>,
}

async fn set_status(
    conn: &mut Conn<'_>,
    id: Uuid,
    s: &StatusChange<'_>,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let StatusChange {
        to,
        deadline,
        notice,
        reason,
        appeal_until,
    } = *s;
    on_conn!(conn, |c| {
        sqlx::query(
            "UPDATE applications SET status = $2, step_deadline = $3, notice_from = COALESCE($4, notice_from), \
             notice_until = COALESCE($5, notice_until), decision_reason = COALESCE($6, decision_reason), \
             appeal_until = COALESCE($7, appeal_until), updated_at = $8 WHERE id = $1",
        )
        .bind(id)
        .bind(to.as_str())
        .bind(deadline)
        .bind(notice.map(|n| n.0))
        .bind(notice.map(|n| n.1))
        .bind(reason)
        .bind(appeal_until)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|_| ())
    })?;
    Ok(())
}

/// A reviewer's decision at the step the application waits for. The rule is asked again under
/// the list version in force (recorded with the decision); a decision outside the reviewer's
/// scope or role is refused.
pub async fn decide_on(
    w: &WriteCtx<'_>,
    id: Uuid,
    decision: Decision,
    reason: &str,
    book: &PolicyBook,
) -> Result<ApplicationStatus, DbError> {
    let mut tx = w.db.begin().await?;
    let to = decide_in(&mut tx.conn(), w, id, decision, reason, book).await?;
    tx.commit().await?;
    Ok(to)
}

/// The most applications one batch decision may take.
pub const MAX_BATCH_DECISIONS: usize = 200;

/// Takes one decision with one reason on several applications (a clerk's batch of first
/// reviews or decisions), in one transaction: each is checked exactly as alone, and if any of
/// them cannot take it nothing is decided, the error naming whose application and why.
pub async fn decide_many(
    w: &WriteCtx<'_>,
    ids: &[Uuid],
    decision: Decision,
    reason: &str,
    book: &PolicyBook,
) -> Result<usize, DbError> {
    if ids.is_empty() {
        return Err(Invalid::one("id", "请勾选要办理的申请").into());
    }
    if ids.len() > MAX_BATCH_DECISIONS {
        return Err(
            Invalid::one("id", format!("一次最多办理 {MAX_BATCH_DECISIONS} 份申请")).into(),
        );
    }
    let mut tx = w.db.begin().await?;
    let mut conn = tx.conn();
    let mut seen = std::collections::HashSet::new();
    let mut done = 0;
    for &id in ids.iter().filter(|id| seen.insert(**id)) {
        match decide_in(&mut conn, w, id, decision, reason, book).await {
            Ok(_) => done += 1,
            Err(DbError::Invalid(inv)) => {
                let (who, _) = load(&mut conn, w.actor, id).await?;
                let whose = format!("{}的{}申请：", who.elder_name, who.item_name);
                return Err(inv.prefixed(&whose).into());
            }
            Err(e) => return Err(e),
        }
    }
    tx.commit().await?;
    Ok(done)
}

/// One decision inside the caller's transaction (see [`decide_on`]).
async fn decide_in(
    conn: &mut Conn<'_>,
    w: &WriteCtx<'_>,
    id: Uuid,
    decision: Decision,
    reason: &str,
    book: &PolicyBook,
) -> Result<ApplicationStatus, DbError> {
    let (chain, actor, now) = (w.chain, w.actor, w.now);
    let role: Role = actor
        .role
        .parse()
        .map_err(|_| DbError::Forbidden("只有工作人员可以审核申请".into()))?;
    let today = china_today(now);
    let mut conn = conn.reborrow();
    let (app, e) = load(&mut conn, actor, id).await?;
    let step = app.status.step();
    // The roles the region lets take the step (an objection during the notice is the
    // township's decision).
    let acting = step.unwrap_or(Step::TownshipDecision);
    let allowed_roles = book.roles(acting.roles_key(), &app.region);
    let answer = ask(&mut conn, &e, &app.item_code, today, book).await?;
    let t = decide(
        decision,
        DecisionContext {
            status: app.status,
            role,
            allowed_roles: &allowed_roles,
            eligible: answer.eligible,
            reason,
        },
    )?;
    // One account never takes both steps of one application (初审 and 审定 are two people).
    if actor.user_id.is_some() {
        let other: i64 = on_conn!(&mut conn, |c| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM application_decisions WHERE application_id = $1 \
                 AND decided_by = $2 AND step = $3",
            )
            .bind(id)
            .bind(actor.user_id)
            .bind(acting.other().as_str())
            .fetch_one(&mut *c)
            .await
        })?;
        if other > 0 {
            return Err(Invalid::one(
                "decision",
                format!(
                    "您办理过这份申请的另一步审核；{}须由另一位工作人员办理",
                    acting.label()
                ),
            )
            .into());
        }
    }
    // The township grants nothing that carries money without an effective assessment.
    if decision == Decision::Approve
        && acting == Step::TownshipDecision
        && lacks_assessment(&answer, &e, &app.item_code, book)
    {
        return Err(Invalid::one(
            "decision",
            "这一项目由政府出资，老人须有生效的能力评估才能审定通过（潭政办发〔2023〕20号）；可先退回补充评估",
        )
        .into());
    }
    let deadline = match t.to.step() {
        Some(step) => Some(step_deadline(&mut conn, book, &app.region, today, step).await?),
        None => None,
    };
    let notice = t.starts_notice.then(|| {
        let days = book
            .int(PolicyKey::ApplicationNoticeDays, &app.region)
            .max(0);
        (today, today + Duration::days(days))
    });
    let shown = matches!(decision, Decision::Return | Decision::Reject).then_some(reason.trim());
    let appeal_until = (t.to == ApplicationStatus::Rejected
        && app.status != ApplicationStatus::Appealed)
        .then(|| today + Duration::days(book.int(PolicyKey::ApplicationAppealDays, &app.region)));
    set_status(
        &mut conn,
        id,
        &StatusChange {
            to: t.to,
            deadline,
            notice,
            reason: shown,
            appeal_until,
        },
        now,
    )
    .await?;
    let step_name = match step {
        Some(Step::VillageReview) => Step::VillageReview.as_str(),
        _ if app.status == ApplicationStatus::Appealed => "appeal_decision",
        _ if app.status == ApplicationStatus::InNotice => "notice_objection",
        _ => Step::TownshipDecision.as_str(),
    };
    let against = match decision {
        Decision::Approve => !answer.eligible,
        Decision::Reject => answer.eligible,
        Decision::Return => false,
    };
    record_decision(
        &mut conn,
        &DecisionRow {
            application_id: id,
            step: step_name,
            decision: decision.as_str(),
            from: Some(app.status),
            to: t.to,
            reason,
            answer: &answer,
            against_rule: against,
        },
        actor,
        now,
    )
    .await?;
    let event = Event::new("application.decide", "elder", app.elder_id)
        .region(Some(app.region))
        .detail(json!({
            "application": id, "item": app.item_code, "step": step_name, "decision": decision.as_str(),
            "from": app.status.as_str(), "to": t.to.as_str(), "reason": reason.trim(),
            "list": answer.list.id, "list_version": answer.list.version,
            "eligible": answer.eligible, "explanation": answer.explanation, "against_rule": against,
        }));
    audit::append(&mut conn, chain, actor, event, now).await?;
    let told = Told {
        to: t.to,
        reason,
        notice,
        appeal_until,
        by: actor.user_id,
    };
    tell(&mut conn, &app, id, &told, now).await?;
    Ok(t.to)
}

/// What a decision did, for [`tell`].
struct Told<'a> {
    to: ApplicationStatus,
    reason: &'a str,
    notice: Option<(NaiveDate, NaiveDate)>,
    appeal_until: Option<NaiveDate>,
    /// Who decided (not told of their own decision).
    by: Option<Uuid>,
}

/// Tells the family by text (when they chose it) what was decided and, when an application is
/// sent back, the other village and township staff of the person's area in their
/// notification centre.
async fn tell(
    conn: &mut Conn<'_>,
    app: &Application,
    id: Uuid,
    t: &Told<'_>,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let Told {
        to,
        reason,
        notice,
        appeal_until,
        by,
    } = *t;
    let receipt =
        jinglao_domain::application::receipt_number(app.id, china_today(app.submitted_at));
    let what = match to {
        ApplicationStatus::Returned => format!("已退回补正，原因：{}", reason.trim()),
        ApplicationStatus::Rejected => match appeal_until {
            Some(d) => format!("不予批准（{}），如有异议可在 {d} 前申请复核", reason.trim()),
            None => format!("复核后不予批准（{}）", reason.trim()),
        },
        ApplicationStatus::InNotice => match notice {
            Some((_, until)) => format!("已审定同意，公示至 {until}，期满无异议后生效"),
            None => "已审定同意，正在公示".to_string(),
        },
        ApplicationStatus::Effective => "已生效".to_string(),
        _ => return Ok(()),
    };
    let text = format!(
        "【敬老】{}的“{}”申请{what}。受理编号 {receipt}。",
        app.elder_name, app.item_name
    );
    crate::sms::queue(conn, app.elder_id, "application_result", &text, now).await?;
    if to == ApplicationStatus::Returned {
        let mut staff = crate::notify::staff_covering(
            conn,
            &app.region,
            &[Role::VillageStaff, Role::TownshipStaff],
        )
        .await?;
        staff.retain(|s| Some(*s) != by);
        let title = format!("{}的{}申请被退回补正", app.elder_name, app.item_name);
        let body = format!("原因：{}。请联系申请人补充材料后重新提交。", reason.trim());
        let link = format!("/applications/{id}");
        crate::notify::add(
            conn,
            &staff,
            crate::notify::New {
                kind: "application_returned",
                title: &title,
                body: &body,
                link: &link,
            },
            now,
        )
        .await?;
    }
    Ok(())
}

/// Whether the item asked for needs an effective assessment in the person's region
/// (`application.assessment_required`) and the person has none.
fn lacks_assessment(answer: &RuleAnswer, e: &ElderRecord, item: &str, book: &PolicyBook) -> bool {
    let setting = book
        .resolve(
            PolicyKey::ApplicationAssessmentRequired,
            &e.residence_region,
        )
        .value;
    e.ability.is_none()
        && answer
            .list
            .items
            .iter()
            .find(|i| i.code == item)
            .is_some_and(|i| jinglao_domain::application::needs_assessment(&setting, i))
}

/// What an applicant (through staff or the public pages) may do to their application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplicantAction {
    /// Send a returned application back to the village/community after correcting it.
    Resubmit,
    /// Ask the township/street to review a refusal, within the appeal period, once.
    Appeal,
    /// Withdraw an application not yet decided.
    Withdraw,
}

impl ApplicantAction {
    /// Stable name (decision history, audit).
    pub fn as_str(self) -> &'static str {
        match self {
            ApplicantAction::Resubmit => "resubmit",
            ApplicantAction::Appeal => "appeal",
            ApplicantAction::Withdraw => "withdraw",
        }
    }

    fn verb(self) -> &'static str {
        match self {
            ApplicantAction::Resubmit => "重新提交",
            ApplicantAction::Appeal => "申请复核",
            ApplicantAction::Withdraw => "撤回",
        }
    }
}

/// Carries out an applicant's action: checks that the application's status allows it, moves it
/// on (with the next step's deadline), and records the text with the rule's current answer.
pub async fn act_for_applicant(
    w: &WriteCtx<'_>,
    id: Uuid,
    action: ApplicantAction,
    text: &str,
    book: &PolicyBook,
) -> Result<ApplicationStatus, DbError> {
    let (db, chain, actor, now) = (w.db, w.chain, w.actor, w.now);
    if action == ApplicantAction::Appeal && text.trim().chars().count() < 4 {
        return Err(Invalid::one("reason", "请写明申请复核的理由（至少 4 个字）").into());
    }
    let today = china_today(now);
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let (app, e) = load(&mut conn, actor, id).await?;
    let allowed = match action {
        ApplicantAction::Resubmit => app.status == ApplicationStatus::Returned,
        ApplicantAction::Appeal => app.status == ApplicationStatus::Rejected,
        ApplicantAction::Withdraw => app.status.can_withdraw(),
    };
    if !allowed {
        return Err(Invalid::one(
            "status",
            format!(
                "申请当前状态为“{}”，不能{}",
                app.status.label(),
                action.verb()
            ),
        )
        .into());
    }
    if action == ApplicantAction::Appeal {
        if app.appeal_until.is_some_and(|d| today > d) {
            return Err(Invalid::one("status", "已超过申请复核的期限").into());
        }
        if history(&mut conn, id)
            .await?
            .iter()
            .any(|h| h.step == "appeal")
        {
            return Err(Invalid::one("status", "复核决定为最终决定，不能再次申请复核").into());
        }
    }
    let (to, step) = match action {
        ApplicantAction::Resubmit => (ApplicationStatus::Submitted, Some(Step::VillageReview)),
        ApplicantAction::Appeal => (ApplicationStatus::Appealed, Some(Step::TownshipDecision)),
        ApplicantAction::Withdraw => (ApplicationStatus::Withdrawn, None),
    };
    let answer = ask(&mut conn, &e, &app.item_code, today, book).await?;
    let deadline = match step {
        Some(step) => Some(step_deadline(&mut conn, book, &app.region, today, step).await?),
        None => None,
    };
    set_status(
        &mut conn,
        id,
        &StatusChange {
            to,
            deadline,
            notice: None,
            reason: None,
            appeal_until: None,
        },
        now,
    )
    .await?;
    let name = action.as_str();
    record_decision(
        &mut conn,
        &DecisionRow {
            application_id: id,
            step: name,
            decision: name,
            from: Some(app.status),
            to,
            reason: text,
            answer: &answer,
            against_rule: false,
        },
        actor,
        now,
    )
    .await?;
    let action_name = match action {
        ApplicantAction::Resubmit => "application.resubmit",
        ApplicantAction::Appeal => "application.appeal",
        ApplicantAction::Withdraw => "application.withdraw",
    };
    let event = Event::new(action_name, "elder", app.elder_id)
        .region(Some(app.region))
        .detail(json!({ "application": id, "text": text.trim(), "deadline": deadline }));
    audit::append(&mut conn, chain, actor, event, now).await?;
    tx.commit().await?;
    Ok(to)
}

/// Ends every public notice whose period is over by `today`: the application takes effect and
/// the person is enrolled under the list version of the approving decision. Returns how many.
pub async fn end_notices(
    db: &Db,
    chain: &ChainKey,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<usize, DbError> {
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let due = queue(
        &mut conn,
        &Scope::All,
        &QueueFilter {
            statuses: vec![ApplicationStatus::InNotice],
            ..QueueFilter::default()
        },
        100_000,
    )
    .await?;
    let actor = Actor::system();
    let mut n = 0;
    for app in due
        .iter()
        .filter(|a| a.notice_until.is_some_and(|u| u < today))
    {
        let approved: Option<(Uuid, bool, String)> = on_conn!(&mut conn, |c| {
            sqlx::query_as(
                "SELECT list_id, eligible, explanation FROM application_decisions WHERE application_id = $1 \
                 AND decision = 'approve' ORDER BY decided_at DESC, id DESC LIMIT 1",
            )
            .bind(app.id)
            .fetch_optional(&mut *c)
            .await
        })?;
        let (list_id, eligible, explanation) = approved
            .ok_or_else(|| DbError::Corrupt(format!("申请 {} 公示中但没有批准记录", app.id)))?;
        let ent = entitlements::enrol(
            &mut conn,
            chain,
            &actor,
            &NewEntitlement {
                elder_id: app.elder_id,
                item_code: &app.item_code,
                list_id,
                application_id: Some(app.id),
                start: today,
            },
            now,
        )
        .await?;
        on_conn!(&mut conn, |c| {
            sqlx::query("UPDATE applications SET status = 'effective', step_deadline = NULL, entitlement_id = $2, updated_at = $3 WHERE id = $1")
                .bind(app.id)
                .bind(ent)
                .bind(now)
                .execute(&mut *c)
                .await
                .map(|_| ())
        })?;
        let list = service_lists::get(&mut conn, list_id)
            .await?
            .ok_or(DbError::NotFound)?;
        let answer = RuleAnswer {
            list,
            eligible,
            explanation,
        };
        record_decision(
            &mut conn,
            &DecisionRow {
                application_id: app.id,
                step: "notice_end",
                decision: "effective",
                from: Some(ApplicationStatus::InNotice),
                to: ApplicationStatus::Effective,
                reason: "公示期满无异议",
                answer: &answer,
                against_rule: false,
            },
            &actor,
            now,
        )
        .await?;
        n += 1;
    }
    if n > 0 {
        let event = Event::new("application.notice_end", "application", "batch")
            .detail(json!({ "effective": n, "on": today }));
        audit::append(&mut conn, chain, &actor, event, now).await?;
    }
    tx.commit().await?;
    Ok(n)
}

/// A line of the public notice (公示): masked name, community, item, period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeLine {
    /// 王** (surname only).
    pub name: String,
    /// Residence code.
    pub region: RegionCode,
    /// Item name.
    pub item_name: String,
    /// From.
    pub from: NaiveDate,
    /// Until (inclusive).
    pub until: NaiveDate,
}

/// The applications on public notice in `region`.
pub async fn notices(conn: &mut Conn<'_>, region: &RegionCode) -> Result<Vec<NoticeLine>, DbError> {
    let apps = queue(
        conn,
        &Scope::All,
        &QueueFilter {
            region: Some(*region),
            statuses: vec![ApplicationStatus::InNotice],
            ..QueueFilter::default()
        },
        1000,
    )
    .await?;
    Ok(apps
        .into_iter()
        .filter_map(|a| {
            Some(NoticeLine {
                name: jinglao_domain::application::notice_name(&a.elder_name),
                region: a.region,
                item_name: a.item_name,
                from: a.notice_from?,
                until: a.notice_until?,
            })
        })
        .collect())
}
