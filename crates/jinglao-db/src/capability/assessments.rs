//! Capability assessments: the workflow draft → submitted → reviewed → effective, corrections as
//! new versions that supersede (never overwrite) an effective one, and the person's ability
//! level kept in step with the latest effective assessment.

use chrono::{DateTime, NaiveDate, Utc};
use jinglao_domain::assessment::{
    AbilityLevel, Adjustment, AdjustmentStacking, ITEMS, IndicatorScores, ScoreResult, score,
};
use jinglao_domain::assessment_form::{
    AssessmentForm, AssessmentReason, AssessmentStatus, reassessment_due,
};
use jinglao_domain::policy::{PolicyBook, PolicyKey};
use jinglao_domain::{Invalid, Permission, RegionCode, Role, Scope};
use serde_json::json;
use uuid::Uuid;

use crate::agencies;
use crate::audit::{self, ChainKey, Event};
use crate::{Actor, Conn, Db, DbError, on_conn};

/// An assessment as shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// Id.
    pub id: Uuid,
    /// The person.
    pub elder_id: Uuid,
    /// The person's name.
    pub elder_name: String,
    /// The effective assessment this one corrects.
    pub supersedes_id: Option<Uuid>,
    /// 1, then +1 per correction.
    pub version: i32,
    /// Where it stands.
    pub status: AssessmentStatus,
    /// The person's residence when the assessment was opened (scope of the reviewers).
    pub region_code: RegionCode,
    /// Agency.
    pub agency_id: Option<Uuid>,
    /// Agency name.
    pub agency_name: Option<String>,
    /// First assessor.
    pub assessor1: Option<(Uuid, String)>,
    /// Second assessor.
    pub assessor2: Option<(Uuid, String)>,
    /// The form.
    pub form: AssessmentForm,
    /// The C report, once submitted.
    pub result: Option<ScoreResult>,
    /// Which stacking rule was applied.
    pub stacking: Option<AdjustmentStacking>,
    /// Submitted at.
    pub submitted_at: Option<DateTime<Utc>>,
    /// Reviewed at and by whom.
    pub reviewed: Option<(DateTime<Utc>, String)>,
    /// Reviewer's note (also the reason when sent back).
    pub review_note: Option<String>,
    /// Made effective at and by whom.
    pub effective: Option<(DateTime<Utc>, String)>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    elder_id: Uuid,
    elder_name: String,
    supersedes_id: Option<Uuid>,
    version: i32,
    status: String,
    region_code: String,
    agency_id: Option<Uuid>,
    agency_name: Option<String>,
    assessor1_id: Option<Uuid>,
    assessor1_name: Option<String>,
    assessor2_id: Option<Uuid>,
    assessor2_name: Option<String>,
    form: String,
    total: Option<i32>,
    self_care: Option<i32>,
    basic_mobility: Option<i32>,
    mental: Option<i32>,
    perception_social: Option<i32>,
    preliminary_level: Option<i32>,
    final_level: Option<i32>,
    adjustments: Option<String>,
    stacking: Option<String>,
    submitted_at: Option<DateTime<Utc>>,
    reviewed_at: Option<DateTime<Utc>>,
    reviewer_name: Option<String>,
    review_note: Option<String>,
    effective_at: Option<DateTime<Utc>>,
    approver_name: Option<String>,
    created_at: DateTime<Utc>,
}

const SELECT: &str = "SELECT a.id, a.elder_id, e.name AS elder_name, a.supersedes_id, a.version, \
    a.status, a.region_code, a.agency_id, g.name AS agency_name, a.assessor1_id, \
    u1.display_name AS assessor1_name, a.assessor2_id, u2.display_name AS assessor2_name, a.form, \
    a.total, a.self_care, a.basic_mobility, a.mental, a.perception_social, a.preliminary_level, \
    a.final_level, a.adjustments, a.stacking, a.submitted_at, a.reviewed_at, \
    ur.display_name AS reviewer_name, a.review_note, a.effective_at, ua.display_name AS approver_name, \
    a.created_at \
    FROM assessments a JOIN elders e ON e.id = a.elder_id \
    LEFT JOIN assessment_agencies g ON g.id = a.agency_id \
    LEFT JOIN users u1 ON u1.id = a.assessor1_id LEFT JOIN users u2 ON u2.id = a.assessor2_id \
    LEFT JOIN users ur ON ur.id = a.reviewed_by LEFT JOIN users ua ON ua.id = a.effective_by \
    WHERE 1 = 1";

fn level(n: Option<i32>) -> Option<AbilityLevel> {
    n.and_then(|n| AbilityLevel::from_number(n as u8))
}

impl TryFrom<Row> for Assessment {
    type Error = DbError;
    fn try_from(r: Row) -> Result<Self, DbError> {
        let bad = |w: &str| DbError::Corrupt(format!("评估 {}：{w}", r.id));
        let form: AssessmentForm =
            serde_json::from_str(&r.form).map_err(|e| bad(&e.to_string()))?;
        let result = match (r.total, level(r.preliminary_level), level(r.final_level)) {
            (Some(total), Some(preliminary_level), Some(final_level)) => Some(ScoreResult {
                total: total as u32,
                indicators: IndicatorScores {
                    self_care: r.self_care.unwrap_or(0) as u32,
                    basic_mobility: r.basic_mobility.unwrap_or(0) as u32,
                    mental: r.mental.unwrap_or(0) as u32,
                    perception_social: r.perception_social.unwrap_or(0) as u32,
                },
                preliminary_level,
                adjustments: r
                    .adjustments
                    .as_deref()
                    .map(serde_json::from_str::<Vec<Adjustment>>)
                    .transpose()
                    .map_err(|e| bad(&e.to_string()))?
                    .unwrap_or_default(),
                final_level,
            }),
            _ => None,
        };
        Ok(Assessment {
            id: r.id,
            elder_id: r.elder_id,
            elder_name: r.elder_name,
            supersedes_id: r.supersedes_id,
            version: r.version,
            status: AssessmentStatus::parse(&r.status).ok_or_else(|| bad(&r.status))?,
            region_code: RegionCode::parse(&r.region_code).map_err(|_| bad(&r.region_code))?,
            agency_id: r.agency_id,
            agency_name: r.agency_name,
            assessor1: r.assessor1_id.zip(r.assessor1_name),
            assessor2: r.assessor2_id.zip(r.assessor2_name),
            form,
            result,
            stacking: r.stacking.as_deref().map(|s| {
                if s == "stack" {
                    AdjustmentStacking::Stack
                } else {
                    AdjustmentStacking::ApplyOnce
                }
            }),
            submitted_at: r.submitted_at,
            reviewed: r.reviewed_at.zip(r.reviewer_name),
            review_note: r.review_note,
            effective: r.effective_at.zip(r.approver_name),
            created_at: r.created_at,
        })
    }
}

fn push_scope<DB: sqlx::Database>(q: &mut sqlx::QueryBuilder<DB>, scope: &Scope)
where
    String: for<'a> sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    match scope {
        Scope::All => {}
        Scope::Region(root) => {
            // Mutual recognition: an assessment is visible wherever its person now lives, as
            // well as where it was made.
            let (lo, hi) = root.subtree_range();
            q.push(" AND (a.region_code BETWEEN ")
                .push_bind(lo.clone())
                .push(" AND ")
                .push_bind(hi.clone())
                .push(" OR e.residence_region_code BETWEEN ")
                .push_bind(lo)
                .push(" AND ")
                .push_bind(hi)
                .push(")");
        }
        Scope::Provider { .. } => {
            q.push(" AND 1 = 0");
        }
    }
}

/// One assessment within `scope`.
pub async fn get(
    conn: &mut Conn<'_>,
    scope: &Scope,
    id: Uuid,
) -> Result<Option<Assessment>, DbError> {
    let rows: Vec<Row> = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(format!("{SELECT} AND a.id = "));
        q.push_bind(id);
        push_scope(&mut q, scope);
        q.build_query_as::<Row>().fetch_all(&mut *c).await
    })?;
    rows.into_iter()
        .next()
        .map(Assessment::try_from)
        .transpose()
}

/// Reads one whole assessment for display — health problems, medication, religion and risks
/// are in it — when the actor's role may ([`Permission::ReadAssessments`]) and the record is in
/// scope, and records the read in the audit trail.
pub async fn read(
    db: &Db,
    chain: &ChainKey,
    actor: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<Assessment>, DbError> {
    if !actor.may(Permission::ReadAssessments) {
        return Err(DbError::Forbidden(
            "您的角色不能查看能力评估的详细内容（可在老人档案中看到能力等级）".into(),
        ));
    }
    let found = {
        let mut c = db.acquire().await?;
        get(&mut c.conn(), &actor.scope, id).await?
    };
    if let Some(a) = &found {
        let event = Event::new("assessment.read", "elder", a.elder_id)
            .region(Some(a.region_code))
            .detail(json!({ "assessment": a.id }));
        audit::record(db, chain, actor, event, now).await?;
    }
    Ok(found)
}

/// A person's assessments, newest first.
pub async fn for_elder(
    conn: &mut Conn<'_>,
    scope: &Scope,
    elder_id: Uuid,
) -> Result<Vec<Assessment>, DbError> {
    let rows: Vec<Row> = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(format!("{SELECT} AND a.elder_id = "));
        q.push_bind(elder_id);
        push_scope(&mut q, scope);
        q.push(" ORDER BY a.created_at DESC");
        q.build_query_as::<Row>().fetch_all(&mut *c).await
    })?;
    rows.into_iter().map(Assessment::try_from).collect()
}

/// Assessments in one status within `scope` (the review and approval queues, an assessor's
/// drafts), oldest first.
pub async fn queue(
    conn: &mut Conn<'_>,
    scope: &Scope,
    status: AssessmentStatus,
    assessor: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Assessment>, DbError> {
    let rows: Vec<Row> = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(format!("{SELECT} AND a.status = "));
        q.push_bind(status.as_str().to_string());
        push_scope(&mut q, scope);
        if let Some(u) = assessor {
            q.push(" AND (a.assessor1_id = ")
                .push_bind(u)
                .push(" OR a.assessor2_id = ")
                .push_bind(u)
                .push(")");
        }
        q.push(" ORDER BY a.created_at LIMIT ").push_bind(limit);
        q.build_query_as::<Row>().fetch_all(&mut *c).await
    })?;
    rows.into_iter().map(Assessment::try_from).collect()
}

/// Opens a draft for a person in scope. The actor must be an assessor with a certificate
/// registered to an agency; they become the first assessor.
pub async fn open(
    db: &Db,
    chain: &ChainKey,
    actor: &Actor,
    elder_id: Uuid,
    reason: AssessmentReason,
    now: DateTime<Utc>,
) -> Result<Uuid, DbError> {
    let user = actor.user_id.ok_or(DbError::NotFound)?;
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let elder = crate::elders::get(&mut conn, &actor.scope, elder_id)
        .await?
        .ok_or(DbError::NotFound)?;
    if elder.status != jinglao_domain::elder::ElderStatus::Active {
        return Err(Invalid::one("elder", "这位老人已不在册，不能再评估").into());
    }
    let profile = agencies::profile(&mut conn, user).await?.ok_or_else(|| {
        DbError::Invalid(Invalid::one(
            "assessor1",
            "您还没有登记评估师证书和所属评估机构，请联系民政部门登记",
        ))
    })?;
    let form = AssessmentForm {
        reason: Some(reason),
        reference_date: Some(jinglao_domain::clock::china_date(now)),
        ..AssessmentForm::default()
    };
    let id = Uuid::now_v7();
    insert(
        &mut conn,
        &AssessmentRow {
            id,
            elder_id,
            supersedes: None,
            version: 1,
            region: elder.residence_region,
            agency_id: profile.agency_id,
            assessor1: user,
            form: &form,
        },
        actor,
        now,
    )
    .await?;
    let event = Event::new("assessment.open", "assessment", id)
        .region(Some(elder.residence_region))
        .detail(json!({ "elder_id": elder_id, "reason": reason.label() }));
    audit::append(&mut conn, chain, actor, event, now).await?;
    tx.commit().await?;
    Ok(id)
}

/// One version of an assessment as stored.
#[derive(Debug, Clone, Copy)]
struct AssessmentRow<'a> {
    /// Its id.
    id: Uuid,
    /// The person.
    elder_id: Uuid,
    /// The version it corrects.
    supersedes: Option<Uuid>,
    /// Version number (1 for a new one).
    version: i32,
    /// The person's residence.
    region: RegionCode,
    /// The assessing agency.
    agency_id: Uuid,
    /// The first assessor.
    assessor1: Uuid,
    /// The answers.
    form: &'a AssessmentForm,
}

async fn insert(
    conn: &mut Conn<'_>,
    a: &AssessmentRow<'_>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let AssessmentRow {
        id,
        elder_id,
        supersedes,
        version,
        region,
        agency_id,
        assessor1,
        form,
    } = *a;
    on_conn!(conn, |c| {
        sqlx::query(
            "INSERT INTO assessments (id, elder_id, supersedes_id, version, status, reason, reference_date, \
             region_code, agency_id, assessor1_id, form, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'draft', $5, $6, $7, $8, $9, $10, $11, $12, $12)",
        )
        .bind(id)
        .bind(elder_id)
        .bind(supersedes)
        .bind(version)
        .bind(form.reason.map(|r| r.as_str()))
        .bind(form.reference_date)
        .bind(region.as_str())
        .bind(agency_id)
        .bind(assessor1)
        .bind(serde_json::to_string(form).unwrap_or_default())
        .bind(actor.user_id)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(())
}

fn require_status(a: &Assessment, status: AssessmentStatus, what: &str) -> Result<(), DbError> {
    if a.status == status {
        Ok(())
    } else {
        Err(Invalid::one(
            "status",
            format!("这份评估当前是“{}”状态，不能{what}", a.status.label()),
        )
        .into())
    }
}

fn require_assessor(a: &Assessment, actor: &Actor) -> Result<(), DbError> {
    let me = actor.user_id;
    if me.is_some()
        && (a.assessor1.as_ref().map(|x| x.0) == me || a.assessor2.as_ref().map(|x| x.0) == me)
    {
        Ok(())
    } else {
        Err(DbError::Invalid(Invalid::one(
            "assessor1",
            "只有这份评估的两位评估师可以修改或提交",
        )))
    }
}

/// Saves a draft's form and second assessor (partial forms are fine).
pub async fn save_draft(
    db: &Db,
    chain: &ChainKey,
    actor: &Actor,
    id: Uuid,
    form: &AssessmentForm,
    assessor2: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let a = get(&mut conn, &actor.scope, id)
        .await?
        .ok_or(DbError::NotFound)?;
    require_status(&a, AssessmentStatus::Draft, "修改")?;
    require_assessor(&a, actor)?;
    let inv = form.check(jinglao_domain::clock::china_date(now), false);
    if !inv.is_empty() {
        return Err(inv.into());
    }
    let n = on_conn!(&mut conn, |c| {
        sqlx::query(
            "UPDATE assessments SET form = $2, reason = $3, reference_date = $4, assessor2_id = $5, \
             updated_at = $6 WHERE id = $1 AND status = 'draft'",
        )
        .bind(id)
        .bind(serde_json::to_string(form).unwrap_or_default())
        .bind(form.reason.map(|r| r.as_str()))
        .bind(form.reference_date)
        .bind(assessor2)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    if n == 0 {
        return Err(DbError::NotFound);
    }
    let event = Event::new("assessment.save", "assessment", id)
        .region(Some(a.region_code))
        .detail(json!({ "assessor2": assessor2 }));
    audit::append(&mut conn, chain, actor, event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Submits a complete draft: every A section and all 26 items filled, two different assessors
/// of the same active agency each certified on the reference date. Scores are computed and
/// stored with the stacking rule in force for the person's region.
pub async fn submit(
    db: &Db,
    chain: &ChainKey,
    actor: &Actor,
    id: Uuid,
    policy: &PolicyBook,
    now: DateTime<Utc>,
) -> Result<ScoreResult, DbError> {
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let a = get(&mut conn, &actor.scope, id)
        .await?
        .ok_or(DbError::NotFound)?;
    require_status(&a, AssessmentStatus::Draft, "提交")?;
    require_assessor(&a, actor)?;
    let today = jinglao_domain::clock::china_date(now);
    let mut inv = a.form.check(today, true);
    let stacking = policy.stacking(&a.region_code);
    let scored = score(&a.form.score_input(), stacking);
    if let Err(e) = &scored {
        for f in &e.errors {
            if inv.get(&f.field).is_none() {
                inv.add(&f.field, f.message.clone());
            }
        }
    }
    let reference = a.form.reference_date.unwrap_or(today);
    check_assessors(&mut conn, &a, reference, policy, &mut inv).await?;
    if !inv.is_empty() {
        return Err(inv.into());
    }
    let result = scored.map_err(DbError::Invalid)?;
    let digits: String = ITEMS
        .iter()
        .map(|it| {
            char::from_digit(*a.form.items.get(it.code).unwrap_or(&0) as u32, 10).unwrap_or('0')
        })
        .collect();
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "UPDATE assessments SET status = 'submitted', scores = $2, total = $3, self_care = $4, \
             basic_mobility = $5, mental = $6, perception_social = $7, preliminary_level = $8, \
             final_level = $9, adjustments = $10, stacking = $11, submitted_at = $12, updated_at = $12 \
             WHERE id = $1 AND status = 'draft'",
        )
        .bind(id)
        .bind(&digits)
        .bind(result.total as i32)
        .bind(result.indicators.self_care as i32)
        .bind(result.indicators.basic_mobility as i32)
        .bind(result.indicators.mental as i32)
        .bind(result.indicators.perception_social as i32)
        .bind(result.preliminary_level.number() as i32)
        .bind(result.final_level.number() as i32)
        .bind(serde_json::to_string(&result.adjustments).unwrap_or_default())
        .bind(match stacking { AdjustmentStacking::Stack => "stack", AdjustmentStacking::ApplyOnce => "apply_once" })
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    let event = Event::new("assessment.submit", "assessment", id)
        .region(Some(a.region_code))
        .detail(json!({
            "total": result.total, "final_level": result.final_level.label(),
            "adjustments": result.adjustments.iter().map(|x| &x.rule).collect::<Vec<_>>(),
        }));
    audit::append(&mut conn, chain, actor, event, now).await?;
    tx.commit().await?;
    Ok(result)
}

async fn check_assessors(
    conn: &mut Conn<'_>,
    a: &Assessment,
    reference: NaiveDate,
    policy: &PolicyBook,
    inv: &mut Invalid,
) -> Result<(), DbError> {
    let (Some(first), Some(second)) = (&a.assessor1, &a.assessor2) else {
        inv.add(
            "assessor2",
            "每份评估须由两名评估师共同完成，请选择第二名评估师",
        );
        return Ok(());
    };
    if first.0 == second.0 {
        inv.add("assessor2", "两名评估师不能是同一人");
        return Ok(());
    }
    let mut agency = None;
    for (field, (uid, name)) in [("assessor1", first), ("assessor2", second)] {
        match agencies::profile(conn, *uid).await? {
            None => inv.add(field, format!("{name} 没有登记评估师证书")),
            Some(p) if !p.certified_on(reference) => inv.add(
                field,
                format!("{name} 的评估师证书已于 {} 过期", p.certificate_expiry),
            ),
            Some(p) => match agency {
                None => agency = Some(p.agency_id),
                Some(g) if g != p.agency_id => inv.add(field, "两名评估师须属于同一家评估机构"),
                _ => {}
            },
        }
        let role: Option<String> = on_conn!(conn, |c| {
            sqlx::query_scalar("SELECT role FROM users WHERE id = $1 AND active = TRUE")
                .bind(*uid)
                .fetch_optional(&mut *c)
                .await
        })?;
        if role.as_deref() != Some(Role::Assessor.as_str()) {
            inv.add(field, format!("{name} 的账号不是在用的评估师账号"));
        }
    }
    if let Some(g) = agency {
        let min = policy.int(PolicyKey::AgencyMinAssessors, &a.region_code);
        match agencies::get(conn, &Scope::All, g, reference).await? {
            Some(ag) if !ag.is_active(min) => inv.add(
                "agency",
                format!(
                    "评估机构“{}”目前只有 {} 名专职持证评估师，不足 {min} 名，暂不能开展评估",
                    ag.name, ag.certified_full_time
                ),
            ),
            None => inv.add("agency", "评估机构不存在"),
            _ => {}
        }
    }
    Ok(())
}

/// Review by township or county staff: approve (→ reviewed) or send back (→ draft, with the
/// reason, which the assessors see).
pub async fn review(
    db: &Db,
    chain: &ChainKey,
    actor: &Actor,
    id: Uuid,
    approve: bool,
    note: &str,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    if !actor.may(Permission::ReviewAssessments) {
        return Err(DbError::Forbidden("您的角色不能审核能力评估".into()));
    }
    let note = note.trim();
    if !approve && note.is_empty() {
        return Err(Invalid::one("note", "退回时请写明原因").into());
    }
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let a = get(&mut conn, &actor.scope, id)
        .await?
        .ok_or(DbError::NotFound)?;
    require_status(&a, AssessmentStatus::Submitted, "审核")?;
    let new_status = if approve { "reviewed" } else { "draft" };
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "UPDATE assessments SET status = $2, reviewed_at = $3, reviewed_by = $4, review_note = $5, \
             updated_at = $3 WHERE id = $1 AND status = 'submitted'",
        )
        .bind(id)
        .bind(new_status)
        .bind(now)
        .bind(actor.user_id)
        .bind(Some(note).filter(|n| !n.is_empty()))
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    let action = if approve {
        "assessment.review"
    } else {
        "assessment.return"
    };
    let event = Event::new(action, "assessment", id)
        .region(Some(a.region_code))
        .detail(json!({ "note": note }));
    audit::append(&mut conn, chain, actor, event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Makes a reviewed assessment effective. A correction supersedes the version it corrects. The
/// person's ability level, assessment date and next due date follow the latest effective
/// assessment; a pending request for an immediate re-assessment is cleared.
pub async fn make_effective(
    db: &Db,
    chain: &ChainKey,
    actor: &Actor,
    id: Uuid,
    policy: &PolicyBook,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    if !actor.may(Permission::ApproveAssessments) {
        return Err(DbError::Forbidden("您的角色不能使能力评估生效".into()));
    }
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let a = get(&mut conn, &actor.scope, id)
        .await?
        .ok_or(DbError::NotFound)?;
    require_status(&a, AssessmentStatus::Reviewed, "生效")?;
    // The reviewer and the one who makes it effective are two people (per-region parameter).
    if policy.flag(PolicyKey::AssessmentSeparateDuties, &a.region_code) && actor.user_id.is_some() {
        let reviewer: Option<Uuid> = on_conn!(&mut conn, |c| {
            sqlx::query_scalar("SELECT reviewed_by FROM assessments WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *c)
                .await
        })?;
        if reviewer == actor.user_id {
            return Err(Invalid::one(
                "decision",
                "这份评估是您审核的；审核和生效须由不同的人办理，请另一位同事办理生效",
            )
            .into());
        }
    }
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "UPDATE assessments SET status = 'effective', effective_at = $2, effective_by = $3, updated_at = $2 \
             WHERE id = $1 AND status = 'reviewed'",
        )
        .bind(id)
        .bind(now)
        .bind(actor.user_id)
        .execute(&mut *c)
        .await?;
        if let Some(old) = a.supersedes_id {
            sqlx::query("UPDATE assessments SET status = 'superseded', updated_at = $2 WHERE id = $1 AND status = 'effective'")
                .bind(old)
                .bind(now)
                .execute(&mut *c)
                .await?;
        }
    });
    refresh_elder_level(&mut conn, a.elder_id, policy).await?;
    crate::eligibility::refresh_after_change(&mut conn, a.elder_id, now).await?;
    let event = Event::new("assessment.effective", "assessment", id)
        .region(Some(a.region_code))
        .detail(json!({
            "elder_id": a.elder_id,
            "final_level": a.result.as_ref().map(|r| r.final_level.label()),
            "supersedes": a.supersedes_id,
        }));
    audit::append(&mut conn, chain, actor, event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Sets the person's ability fields from the latest effective assessment.
pub(crate) async fn refresh_elder_level(
    conn: &mut Conn<'_>,
    elder_id: Uuid,
    policy: &PolicyBook,
) -> Result<(), DbError> {
    let latest: Option<(i32, NaiveDate, String)> = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT final_level, reference_date, form FROM assessments WHERE elder_id = $1 \
             AND status = 'effective' ORDER BY reference_date DESC, effective_at DESC LIMIT 1",
        )
        .bind(elder_id)
        .fetch_optional(&mut *c)
        .await
    })?;
    let residence: String = on_conn!(conn, |c| {
        sqlx::query_scalar("SELECT residence_region_code FROM elders WHERE id = $1")
            .bind(elder_id)
            .fetch_one(&mut *c)
            .await
    })?;
    let region = RegionCode::parse(&residence)
        .map_err(|_| DbError::Corrupt(format!("老年人记录 {elder_id} 的居住地代码无效")))?;
    let interval = policy.int(PolicyKey::ReassessmentIntervalMonths, &region) as u32;
    // 失智 comes from the same assessment's diagnoses.
    let dementia = match &latest {
        Some((_, _, form)) => serde_json::from_str::<AssessmentForm>(form)
            .map_err(|e| DbError::Corrupt(format!("老年人 {elder_id} 的评估表：{e}")))?
            .has_dementia(),
        None => false,
    };
    let (lvl, on, due) = match latest {
        Some((l, d, _)) => (Some(l), Some(d), Some(reassessment_due(d, interval))),
        None => (None, None, None),
    };
    on_conn!(conn, |c| {
        sqlx::query(
            "UPDATE elders SET ability_level = $2, ability_assessed_on = $3, reassessment_due = $4, \
             reassessment_requested = NULL, dementia = $5 WHERE id = $1",
        )
        .bind(elder_id)
        .bind(lvl)
        .bind(on)
        .bind(due)
        .bind(dementia)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Opens a correction of an effective assessment: a new draft (version + 1) with the same
/// form, which supersedes the original only when it becomes effective.
pub async fn correct(
    db: &Db,
    chain: &ChainKey,
    actor: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Uuid, DbError> {
    let user = actor.user_id.ok_or(DbError::NotFound)?;
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let a = get(&mut conn, &actor.scope, id)
        .await?
        .ok_or(DbError::NotFound)?;
    require_status(&a, AssessmentStatus::Effective, "更正")?;
    let profile = agencies::profile(&mut conn, user).await?.ok_or_else(|| {
        DbError::Invalid(Invalid::one(
            "assessor1",
            "您还没有登记评估师证书和所属评估机构",
        ))
    })?;
    let open: i64 = on_conn!(&mut conn, |c| {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM assessments WHERE supersedes_id = $1 AND status IN ('draft', 'submitted', 'reviewed')",
        )
        .bind(id)
        .fetch_one(&mut *c)
        .await
    })?;
    if open > 0 {
        return Err(Invalid::one("status", "这份评估已有一份正在办理的更正").into());
    }
    let new_id = Uuid::now_v7();
    insert(
        &mut conn,
        &AssessmentRow {
            id: new_id,
            elder_id: a.elder_id,
            supersedes: Some(id),
            version: a.version + 1,
            region: a.region_code,
            agency_id: profile.agency_id,
            assessor1: user,
            form: &a.form,
        },
        actor,
        now,
    )
    .await?;
    let event = Event::new("assessment.correct", "assessment", new_id)
        .region(Some(a.region_code))
        .detail(json!({ "corrects": id, "version": a.version + 1 }));
    audit::append(&mut conn, chain, actor, event, now).await?;
    tx.commit().await?;
    Ok(new_id)
}

/// Abandons a draft.
pub async fn cancel(
    db: &Db,
    chain: &ChainKey,
    actor: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let a = get(&mut conn, &actor.scope, id)
        .await?
        .ok_or(DbError::NotFound)?;
    require_status(&a, AssessmentStatus::Draft, "作废")?;
    require_assessor(&a, actor)?;
    on_conn!(&mut conn, |c| {
        sqlx::query("UPDATE assessments SET status = 'cancelled', updated_at = $2 WHERE id = $1 AND status = 'draft'")
            .bind(id)
            .bind(now)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    let event = Event::new("assessment.cancel", "assessment", id).region(Some(a.region_code));
    audit::append(&mut conn, chain, actor, event, now).await?;
    tx.commit().await?;
    Ok(())
}
