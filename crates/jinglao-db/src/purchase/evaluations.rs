//! Year-end multi-party evaluation of contracts (绩效评价): opened by the purchasing body with
//! the region's scheme copied in and a telephone-survey sample drawn from the people the
//! contract served that year; scored by the purchasing body, finance and the named third-party
//! evaluator; the recipients' score computed from their own ratings and the survey; published
//! with its grade, which then stands beside the provider's bids.

use chrono::{DateTime, NaiveDate, Utc};
use jinglao_domain::policy::PolicyKey;
use jinglao_domain::purchase::evaluation::{Grade, Party, Satisfaction, Scheme, draw_sample};
use jinglao_domain::purchase::project::ProjectStatus;
use jinglao_domain::{Invalid, Permission, Role, Scope};
use serde_json::json;
use uuid::Uuid;

use super::{contracts, projects};
use crate::audit::{self, Event};
use crate::{Actor, Conn, DbError, WriteCtx, on_conn};

/// An evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// Id.
    pub id: Uuid,
    /// Contract.
    pub contract_id: Uuid,
    /// Year evaluated.
    pub year: i32,
    /// open | published.
    pub status: String,
    /// The scheme as copied when opened.
    pub scheme: Scheme,
    /// Its text.
    pub scheme_text: String,
    /// Its document.
    pub basis: String,
    /// Total, tenths of a point (published).
    pub total_tenths: Option<i32>,
    /// Grade (published).
    pub grade: Option<Grade>,
    /// The recipients' answers (published).
    pub satisfaction: Option<Satisfaction>,
    /// Opened at.
    pub opened_at: DateTime<Utc>,
    /// Published at.
    pub published_at: Option<DateTime<Utc>>,
}

impl Evaluation {
    /// Whether it is published.
    pub fn is_published(&self) -> bool {
        self.status == "published"
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    contract_id: Uuid,
    year: i32,
    status: String,
    scheme: String,
    basis: String,
    total_tenths: Option<i32>,
    grade: Option<String>,
    satisfaction: Option<String>,
    opened_at: DateTime<Utc>,
    published_at: Option<DateTime<Utc>>,
}

impl TryFrom<Row> for Evaluation {
    type Error = DbError;
    fn try_from(r: Row) -> Result<Self, DbError> {
        Ok(Evaluation {
            scheme: Scheme::parse(&r.scheme).map_err(DbError::Corrupt)?,
            satisfaction: r
                .satisfaction
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| DbError::Corrupt(format!("satisfaction: {e}")))?,
            grade: r.grade.as_deref().and_then(Grade::parse),
            id: r.id,
            contract_id: r.contract_id,
            year: r.year,
            status: r.status,
            scheme_text: r.scheme,
            basis: r.basis,
            total_tenths: r.total_tenths,
            opened_at: r.opened_at,
            published_at: r.published_at,
        })
    }
}

const COLUMNS: &str = "SELECT id, contract_id, year, status, scheme, basis, total_tenths, grade, \
    satisfaction, opened_at, published_at FROM purchase_evaluations";

/// A contract's evaluations, newest year first.
pub async fn of_contract(
    conn: &mut Conn<'_>,
    contract_id: Uuid,
) -> Result<Vec<Evaluation>, DbError> {
    let rows: Vec<Row> = on_conn!(conn, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{COLUMNS} WHERE contract_id = $1 ORDER BY year DESC"
        )))
        .bind(contract_id)
        .fetch_all(&mut *c)
        .await
    })?;
    rows.into_iter().map(Evaluation::try_from).collect()
}

/// One evaluation (unscoped: callers reach it through its contract or a grant).
pub async fn get(conn: &mut Conn<'_>, id: Uuid) -> Result<Option<Evaluation>, DbError> {
    let row: Option<Row> = on_conn!(conn, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{COLUMNS} WHERE id = $1")))
            .bind(id)
            .fetch_optional(&mut *c)
            .await
    })?;
    row.map(Evaluation::try_from).transpose()
}

/// One party's marks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyScore {
    /// Who.
    pub party: Party,
    /// Criterion → points, in the scheme's order.
    pub marks: Vec<(String, u32)>,
    /// Their sum (0–100).
    pub sum: u32,
    /// Comment.
    pub comment: String,
    /// When.
    pub scored_at: DateTime<Utc>,
}

/// The parties' marks so far.
pub async fn scores(conn: &mut Conn<'_>, evaluation_id: Uuid) -> Result<Vec<PartyScore>, DbError> {
    let rows: Vec<(String, String, String, DateTime<Utc>)> = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT party, scores, comment, scored_at FROM purchase_evaluation_scores \
             WHERE evaluation_id = $1",
        )
        .bind(evaluation_id)
        .fetch_all(&mut *c)
        .await
    })?;
    let mut out = Vec::new();
    for (party, marks, comment, scored_at) in rows {
        let party =
            Party::parse(&party).ok_or_else(|| DbError::Corrupt(format!("party {party}")))?;
        let marks: Vec<(String, u32)> =
            serde_json::from_str(&marks).map_err(|e| DbError::Corrupt(format!("marks: {e}")))?;
        out.push(PartyScore {
            party,
            sum: marks.iter().map(|(_, v)| v).sum(),
            marks,
            comment,
            scored_at,
        });
    }
    out.sort_by_key(|s| s.party);
    Ok(out)
}

/// A person drawn for the telephone survey.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SurveyCall {
    /// The person.
    pub elder_id: Uuid,
    /// Their name (staff only).
    pub name: String,
    /// Order drawn.
    pub position: i32,
    /// Reached (none: not called yet).
    pub reached: Option<bool>,
    /// Stars given.
    pub score: Option<i32>,
    /// Note.
    pub note: String,
    /// Called on.
    pub called_on: Option<NaiveDate>,
}

/// The survey sample and its answers.
pub async fn survey(conn: &mut Conn<'_>, evaluation_id: Uuid) -> Result<Vec<SurveyCall>, DbError> {
    on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT s.elder_id, e.name, s.position, s.reached, s.score, s.note, s.called_on \
             FROM purchase_survey_calls s JOIN elders e ON e.id = s.elder_id \
             WHERE s.evaluation_id = $1 ORDER BY s.position",
        )
        .bind(evaluation_id)
        .fetch_all(&mut *c)
        .await
    })
    .map_err(DbError::from)
}

/// The satisfaction answers for the contract's visits in the evaluation's year: the people's
/// own ratings (never the ones entered on the caregiver's phone) and the survey.
pub async fn satisfaction(conn: &mut Conn<'_>, e: &Evaluation) -> Result<Satisfaction, DbError> {
    let month_like = format!("{}-%", e.year);
    let (rn, rs): (i64, i64) = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT COUNT(*), CAST(COALESCE(SUM(r.score), 0) AS BIGINT) FROM visit_ratings r \
             WHERE r.source = 'person' AND r.visit_id IN (SELECT l.visit_id FROM statement_lines l \
             WHERE l.contract_id = $1 AND l.kind = 'charge' AND l.service_month LIKE $2)",
        )
        .bind(e.contract_id)
        .bind(&month_like)
        .fetch_one(&mut *c)
        .await
    })?;
    let (sn, ss, un): (i64, i64, i64) = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT COUNT(score), CAST(COALESCE(SUM(score), 0) AS BIGINT), \
             COUNT(CASE WHEN reached = FALSE THEN 1 END) \
             FROM purchase_survey_calls WHERE evaluation_id = $1",
        )
        .bind(e.id)
        .fetch_one(&mut *c)
        .await
    })?;
    Ok(Satisfaction {
        ratings: (rn as u32, rs as u32),
        survey: (sn as u32, ss as u32),
        unreached: un as u32,
    })
}

/// The fewest people a survey draws (all of them when fewer were served).
pub const MIN_SURVEY: usize = 5;

/// The most people a survey draws.
pub const MAX_SURVEY: usize = 100;

/// Opens the evaluation of a contract for `year`: copies the region's scheme and draws
/// `survey_size` of the people the contract served that year for the telephone survey (the
/// same people for the same evaluation, so the draw can be checked). The purchasing body
/// only. One transaction, audited.
pub async fn open(
    w: &WriteCtx<'_>,
    contract_id: Uuid,
    year: i32,
    survey_size: usize,
) -> Result<Uuid, DbError> {
    if !w.actor.may(Permission::PlanPurchases) || w.actor.scope.provider_id().is_some() {
        return Err(DbError::Forbidden("组织绩效评价".into()));
    }
    if survey_size > MAX_SURVEY {
        return Err(
            Invalid::one("survey_size", format!("电话回访抽样不超过 {MAX_SURVEY} 人")).into(),
        );
    }
    let mut tx = w.db.begin().await?;
    let mut conn = tx.conn();
    let (contract, project) = contracts::get(&mut conn, &w.actor.scope, contract_id)
        .await?
        .ok_or(DbError::NotFound)?;
    let (first, last) = (
        chrono::Datelike::year(&contract.input.start),
        chrono::Datelike::year(&contract.input.end),
    );
    if year < first || year > last {
        return Err(Invalid::one("year", format!("合同服务期在 {first}–{last} 年")).into());
    }
    let book = crate::policy::load(&mut conn).await?;
    let resolved = book.resolve(PolicyKey::PurchaseEvaluationScheme, &project.region);
    Scheme::parse(&resolved.value).map_err(|m| {
        Invalid::one(
            "scheme",
            format!("本地区的绩效评价方案（purchase.evaluation_scheme）有误：{m}"),
        )
    })?;
    let id = Uuid::now_v7();
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "INSERT INTO purchase_evaluations (id, contract_id, year, status, scheme, basis, \
             opened_by, opened_at) VALUES ($1, $2, $3, 'open', $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(contract_id)
        .bind(year)
        .bind(resolved.value.trim())
        .bind(&resolved.basis)
        .bind(w.actor.user_id)
        .bind(w.now)
        .execute(&mut *c)
        .await
        .map(|_| ())
    })
    .map_err(DbError::from)
    .map_err(|e| {
        if e.is_conflict_on("purchase_evaluations.contract_id") {
            DbError::from(Invalid::one(
                "year",
                format!("该合同 {year} 年的绩效评价已经开始"),
            ))
        } else {
            e
        }
    })?;
    let served: Vec<Uuid> = on_conn!(&mut conn, |c| {
        sqlx::query_scalar(
            "SELECT DISTINCT v.elder_id FROM statement_lines l JOIN visits v ON v.id = l.visit_id \
             WHERE l.contract_id = $1 AND l.kind = 'charge' AND l.service_month LIKE $2",
        )
        .bind(contract_id)
        .bind(format!("{year}-%"))
        .fetch_all(&mut *c)
        .await
    })?;
    let keys: Vec<[u8; 16]> = served.iter().map(|u| *u.as_bytes()).collect();
    let drawn = draw_sample(&keys, survey_size, id.as_bytes());
    for (i, k) in drawn.iter().enumerate() {
        on_conn!(&mut conn, |c| {
            sqlx::query(
                "INSERT INTO purchase_survey_calls (evaluation_id, elder_id, position) \
                 VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(Uuid::from_bytes(*k))
            .bind(i as i32 + 1)
            .execute(&mut *c)
            .await
            .map(|_| ())
        })?;
    }
    let event = Event::new("purchase_evaluation.open", "purchase_project", project.id)
        .region(Some(project.region))
        .detail(json!({
            "evaluation": id, "contract_no": contract.input.contract_no, "year": year,
            "scheme": resolved.value.trim(), "served": served.len(), "drawn": drawn.len(),
        }));
    audit::append(&mut conn, w.chain, w.actor, event, w.now).await?;
    tx.commit().await?;
    Ok(id)
}

/// An evaluation the actor may work on, with its contract and project: the purchasing body
/// and finance reach it through the project's region; a third-party evaluator only where it is
/// named.
pub async fn reach(
    conn: &mut Conn<'_>,
    actor: &Actor,
    id: Uuid,
) -> Result<(Evaluation, contracts::Contract, projects::Project), DbError> {
    let e = get(conn, id).await?.ok_or(DbError::NotFound)?;
    let scope = if actor.role == Role::Evaluator.as_str() {
        if !is_named(conn, id, actor.user_id).await? {
            return Err(DbError::NotFound);
        }
        Scope::All
    } else if actor.may(Permission::EvaluateContracts) && actor.scope.provider_id().is_none() {
        actor.scope.clone()
    } else {
        return Err(DbError::NotFound);
    };
    let (c, p) = contracts::get(conn, &scope, e.contract_id)
        .await?
        .ok_or(DbError::NotFound)?;
    Ok((e, c, p))
}

/// Locks an evaluation's row until the transaction ends (PostgreSQL): marks, calls and the
/// publication go one after another, so nothing lands after the result is fixed.
async fn lock(conn: &mut Conn<'_>, id: Uuid) -> Result<(), DbError> {
    on_conn!(conn, |c| {
        sqlx::query("UPDATE purchase_evaluations SET status = status WHERE id = $1")
            .bind(id)
            .execute(&mut *c)
            .await
            .map(|_| ())
    })?;
    Ok(())
}

async fn is_named(conn: &mut Conn<'_>, id: Uuid, user: Option<Uuid>) -> Result<bool, DbError> {
    let Some(user) = user else { return Ok(false) };
    let n: i64 = on_conn!(conn, |c| {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM purchase_evaluators WHERE evaluation_id = $1 AND user_id = $2",
        )
        .bind(id)
        .bind(user)
        .fetch_one(&mut *c)
        .await
    })?;
    Ok(n > 0)
}

/// An evaluation listed with its contract number, project title and provider name.
pub type Listed = (Evaluation, String, String, String);

#[derive(sqlx::FromRow)]
struct ListedRow {
    #[sqlx(flatten)]
    row: Row,
    contract_no: String,
    title: String,
    provider_name: String,
}

/// The evaluation columns with the names a list shows, in one query.
const LISTED: &str = "SELECT e.id, e.contract_id, e.year, e.status, e.scheme, e.basis, \
    e.total_tenths, e.grade, e.satisfaction, e.opened_at, e.published_at, k.contract_no, \
    p.title, v.name AS provider_name FROM purchase_evaluations e \
    JOIN purchase_contracts k ON k.id = e.contract_id \
    JOIN purchase_projects p ON p.id = k.project_id JOIN providers v ON v.id = k.provider_id";

fn listed(rows: Vec<ListedRow>) -> Result<Vec<Listed>, DbError> {
    rows.into_iter()
        .map(|r| {
            Ok((
                Evaluation::try_from(r.row)?,
                r.contract_no,
                r.title,
                r.provider_name,
            ))
        })
        .collect()
}

/// The evaluations a third-party evaluator is named on, newest first, with contract number,
/// project title and provider name.
pub async fn named_on(conn: &mut Conn<'_>, user: Uuid) -> Result<Vec<Listed>, DbError> {
    let rows: Vec<ListedRow> = on_conn!(conn, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{LISTED} JOIN purchase_evaluators g ON g.evaluation_id = e.id \
             WHERE g.user_id = $1 ORDER BY e.opened_at DESC LIMIT 200"
        )))
        .bind(user)
        .fetch_all(&mut *c)
        .await
    })?;
    listed(rows)
}

/// The evaluations of projects in `scope` (staff), open ones first, with contract number,
/// project title and provider name.
pub async fn in_scope(conn: &mut Conn<'_>, scope: &Scope) -> Result<Vec<Listed>, DbError> {
    if scope.provider_id().is_some() {
        return Ok(Vec::new());
    }
    let rows: Vec<ListedRow> = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(LISTED);
        q.push(" WHERE 1 = 1");
        crate::scope_sql::push_scope(&mut q, scope, "p.region_code", "k.provider_id");
        q.push(" ORDER BY e.status, e.opened_at DESC LIMIT 200");
        q.build_query_as::<ListedRow>().fetch_all(&mut *c).await
    })?;
    listed(rows)
}

/// Names a third-party evaluator account (role `evaluator`, by user name) on an open
/// evaluation. The purchasing body only; audited.
pub async fn name_evaluator(w: &WriteCtx<'_>, id: Uuid, username: &str) -> Result<(), DbError> {
    if !w.actor.may(Permission::PlanPurchases) {
        return Err(DbError::Forbidden("指定第三方评估机构".into()));
    }
    let mut tx = w.db.begin().await?;
    let mut conn = tx.conn();
    lock(&mut conn, id).await?;
    let (e, contract, project) = reach(&mut conn, w.actor, id).await?;
    if e.is_published() {
        return Err(Invalid::one("status", "评价结果已经公布").into());
    }
    let found: Option<(Uuid, String, bool)> = on_conn!(&mut conn, |c| {
        sqlx::query_as("SELECT id, role, active FROM users WHERE username = $1")
            .bind(username.trim())
            .fetch_optional(&mut *c)
            .await
    })?;
    let user = match found {
        Some((uid, role, true)) if role == Role::Evaluator.as_str() => uid,
        _ => {
            return Err(Invalid::one(
                "username",
                format!("没有名为“{}”的在用第三方评估机构账号", username.trim()),
            )
            .into());
        }
    };
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "INSERT INTO purchase_evaluators (evaluation_id, user_id, granted_by, granted_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (evaluation_id, user_id) DO NOTHING",
        )
        .bind(id)
        .bind(user)
        .bind(w.actor.user_id)
        .bind(w.now)
        .execute(&mut *c)
        .await
        .map(|_| ())
    })?;
    let event = Event::new(
        "purchase_evaluation.name_evaluator",
        "purchase_project",
        project.id,
    )
    .region(Some(project.region))
    .detail(json!({
        "evaluation": id, "contract_no": contract.input.contract_no,
        "username": username.trim(),
    }));
    audit::append(&mut conn, w.chain, w.actor, event, w.now).await?;
    tx.commit().await?;
    Ok(())
}

/// The party the actor scores as: the third party (named evaluator accounts), finance, or
/// the purchasing body.
pub fn party_of(actor: &Actor) -> Option<Party> {
    if actor.may(Permission::ScoreAsThirdParty) {
        Some(Party::ThirdParty)
    } else if actor.may(Permission::ApprovePurchases) {
        Some(Party::Finance)
    } else if actor.may(Permission::PlanPurchases) {
        Some(Party::Purchaser)
    } else {
        None
    }
}

/// Records (or replaces, until publication) the actor's party's marks: each criterion of the
/// scheme within its points, the error naming the criterion (`marks.<name>`). Audited.
pub async fn score(
    w: &WriteCtx<'_>,
    id: Uuid,
    marks: &[(String, u32)],
    comment: &str,
) -> Result<(), DbError> {
    let party = party_of(w.actor).ok_or_else(|| DbError::Forbidden("参与绩效评价打分".into()))?;
    let comment = comment.trim();
    if comment.chars().count() > 1000 {
        return Err(Invalid::one("comment", "评价意见不超过 1000 字").into());
    }
    let mut tx = w.db.begin().await?;
    let mut conn = tx.conn();
    lock(&mut conn, id).await?;
    let (e, contract, project) = reach(&mut conn, w.actor, id).await?;
    if e.is_published() {
        return Err(Invalid::one("status", "评价结果已经公布，不能再改分").into());
    }
    if e.scheme.weight(party) == 0 {
        return Err(Invalid::one("party", format!("本方案中{}不打分", party.label())).into());
    }
    let (checked, sum) = e
        .scheme
        .check_marks(marks)
        .map_err(|(name, m)| Invalid::one(&format!("marks.{name}"), m))?;
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "DELETE FROM purchase_evaluation_scores WHERE evaluation_id = $1 AND party = $2",
        )
        .bind(id)
        .bind(party.as_str())
        .execute(&mut *c)
        .await
        .map(|_| ())
    })?;
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "INSERT INTO purchase_evaluation_scores (evaluation_id, party, scores, comment, \
             scored_by, scored_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(party.as_str())
        .bind(serde_json::to_string(&checked).unwrap_or_default())
        .bind(comment)
        .bind(w.actor.user_id)
        .bind(w.now)
        .execute(&mut *c)
        .await
        .map(|_| ())
    })?;
    let event = Event::new("purchase_evaluation.score", "purchase_project", project.id)
        .region(Some(project.region))
        .detail(json!({
            "evaluation": id, "contract_no": contract.input.contract_no,
            "party": party.as_str(), "marks": checked, "sum": sum,
        }));
    audit::append(&mut conn, w.chain, w.actor, event, w.now).await?;
    tx.commit().await?;
    Ok(())
}

/// Records a survey call to a person in the sample: reached with 1–5 stars, or not reached.
/// The purchasing body only; audited.
pub async fn record_call(
    w: &WriteCtx<'_>,
    id: Uuid,
    elder_id: Uuid,
    score: Option<u8>,
    note: &str,
) -> Result<(), DbError> {
    if !w.actor.may(Permission::PlanPurchases) {
        return Err(DbError::Forbidden("登记电话回访".into()));
    }
    if score.is_some_and(|s| !(1..=5).contains(&s)) {
        return Err(Invalid::one("score", "满意度应为 1–5 星").into());
    }
    let note = note.trim();
    if note.chars().count() > 500 {
        return Err(Invalid::one("note", "回访记录不超过 500 字").into());
    }
    let mut tx = w.db.begin().await?;
    let mut conn = tx.conn();
    lock(&mut conn, id).await?;
    let (e, contract, project) = reach(&mut conn, w.actor, id).await?;
    if e.is_published() {
        return Err(Invalid::one("status", "评价结果已经公布").into());
    }
    let today = jinglao_domain::clock::china_date(w.now);
    let changed = on_conn!(&mut conn, |c| {
        sqlx::query(
            "UPDATE purchase_survey_calls SET reached = $3, score = $4, note = $5, called_on = $6, \
             recorded_by = $7, recorded_at = $8 WHERE evaluation_id = $1 AND elder_id = $2",
        )
        .bind(id)
        .bind(elder_id)
        .bind(score.is_some())
        .bind(score.map(i32::from))
        .bind(note)
        .bind(today)
        .bind(w.actor.user_id)
        .bind(w.now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    if changed == 0 {
        return Err(Invalid::one("elder_id", "此人不在本次电话回访的抽样名单中").into());
    }
    let event = Event::new("purchase_evaluation.survey_call", "elder", elder_id)
        .region(Some(project.region))
        .detail(json!({
            "evaluation": id, "contract_no": contract.input.contract_no,
            "reached": score.is_some(), "score": score,
        }));
    audit::append(&mut conn, w.chain, w.actor, event, w.now).await?;
    tx.commit().await?;
    Ok(())
}

/// Publishes an evaluation: every weighted party has scored, the recipients have answered;
/// the total and grade are fixed and public; the project is marked evaluated once accepted.
/// The purchasing body only; audited.
pub async fn publish(w: &WriteCtx<'_>, id: Uuid) -> Result<(u32, Grade), DbError> {
    if !w.actor.may(Permission::PlanPurchases) {
        return Err(DbError::Forbidden("公布绩效评价结果".into()));
    }
    let mut tx = w.db.begin().await?;
    let mut conn = tx.conn();
    lock(&mut conn, id).await?;
    let (e, contract, project) = reach(&mut conn, w.actor, id).await?;
    if e.is_published() {
        return Err(Invalid::one("status", "评价结果已经公布").into());
    }
    let sat = satisfaction(&mut conn, &e).await?;
    let mut parts: Vec<(Party, u32)> = scores(&mut conn, id)
        .await?
        .into_iter()
        .map(|s| (s.party, s.sum * 10))
        .collect();
    if let Some(r) = sat.score_tenths() {
        parts.push((Party::Recipients, r));
    }
    let total = e.scheme.total(&parts).map_err(|missing| {
        let names: Vec<&str> = missing
            .iter()
            .map(|p| match p {
                Party::Recipients => "服务对象（还没有评价或电话回访结果）",
                other => other.label(),
            })
            .collect();
        Invalid::one("status", format!("还缺：{}", names.join("、")))
    })?;
    let grade = e.scheme.grade(total);
    let changed = on_conn!(&mut conn, |c| {
        sqlx::query(
            "UPDATE purchase_evaluations SET status = 'published', total_tenths = $2, grade = $3, \
             satisfaction = $4, published_by = $5, published_at = $6 \
             WHERE id = $1 AND status = 'open'",
        )
        .bind(id)
        .bind(total as i32)
        .bind(grade.as_str())
        .bind(serde_json::to_string(&sat).unwrap_or_default())
        .bind(w.actor.user_id)
        .bind(w.now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    if changed == 0 {
        return Err(Invalid::one("status", "评价结果已经公布").into());
    }
    if project.status == ProjectStatus::Accepted {
        projects::set_status(
            &mut conn,
            project.id,
            ProjectStatus::Accepted,
            ProjectStatus::Evaluated,
            w.now,
        )
        .await?;
    }
    let event = Event::new(
        "purchase_evaluation.publish",
        "purchase_project",
        project.id,
    )
    .region(Some(project.region))
    .detail(json!({
        "evaluation": id, "contract_no": contract.input.contract_no, "year": e.year,
        "parts": parts.iter().map(|(p, s)| (p.as_str(), s)).collect::<Vec<_>>(),
        "total_tenths": total, "grade": grade.as_str(),
    }));
    audit::append(&mut conn, w.chain, w.actor, event, w.now).await?;
    tx.commit().await?;
    Ok((total, grade))
}

/// A published result, as the public and the next year's bids see it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Published {
    /// Evaluation.
    pub id: Uuid,
    /// Project.
    pub project_id: Uuid,
    /// Its title.
    pub title: String,
    /// Purchasing body.
    pub purchaser_name: String,
    /// Provider.
    pub provider_id: Uuid,
    /// Its name.
    pub provider_name: String,
    /// Contract number.
    pub contract_no: String,
    /// Year.
    pub year: i32,
    /// Total, tenths.
    pub total_tenths: i32,
    /// Grade (stable name).
    pub grade: String,
    /// Published at.
    pub published_at: DateTime<Utc>,
}

impl Published {
    /// The grade's label.
    pub fn grade_label(&self) -> &'static str {
        Grade::parse(&self.grade).map_or("未知", |g| g.label())
    }
    /// The total as text, e.g. "86.6".
    pub fn total_text(&self) -> String {
        format!("{}.{}", self.total_tenths / 10, self.total_tenths % 10)
    }
}

const PUBLISHED: &str = "SELECT e.id, p.id AS project_id, p.title, p.purchaser_name, \
    k.provider_id, v.name AS provider_name, k.contract_no, e.year, e.total_tenths, e.grade, \
    e.published_at FROM purchase_evaluations e JOIN purchase_contracts k ON k.id = e.contract_id \
    JOIN purchase_projects p ON p.id = k.project_id JOIN providers v ON v.id = k.provider_id \
    WHERE e.status = 'published'";

/// Published results, newest first (public).
pub async fn published(conn: &mut Conn<'_>, limit: i64) -> Result<Vec<Published>, DbError> {
    on_conn!(conn, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{PUBLISHED} ORDER BY e.published_at DESC LIMIT $1"
        )))
        .bind(limit)
        .fetch_all(&mut *c)
        .await
    })
    .map_err(DbError::from)
}

/// The published results of these providers, newest first (shown beside their bids).
pub async fn published_for(
    conn: &mut Conn<'_>,
    providers: &[Uuid],
) -> Result<Vec<Published>, DbError> {
    if providers.is_empty() {
        return Ok(Vec::new());
    }
    on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(PUBLISHED);
        q.push(" AND k.provider_id IN ");
        crate::scope_sql::push_id_list(&mut q, providers);
        q.push(" ORDER BY e.year DESC, e.published_at DESC");
        q.build_query_as::<Published>().fetch_all(&mut *c).await
    })
    .map_err(DbError::from)
}
