//! What is waiting for someone, counted within their scope, for the work pages (`/home`): the
//! applications at each step and those near or past their deadline, visits to review, regular
//! visits due, statements at each step, beds free, re-assessments overdue, and what changed
//! since yesterday. Every count is one `COUNT(*)` on an indexed column, scoped as the list it
//! links to.

use chrono::{DateTime, NaiveDate, Utc};
use jinglao_domain::Scope;

use crate::{Conn, DbError, on_conn};

/// The counts of one person's work.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkCounts {
    /// Applications waiting for the village/community's first review (待初审).
    pub to_review: i64,
    /// Applications sent back to the applicant (退回补正).
    pub returned: i64,
    /// Applications waiting for the township/street's decision (待审定).
    pub to_decide: i64,
    /// Appeals waiting for the township/street (复核中).
    pub appealed: i64,
    /// Applications on public notice (公示中).
    pub in_notice: i64,
    /// Applications whose step falls due between today and the horizon (即将超期).
    pub due_soon: i64,
    /// Applications past the deadline of their step (已超期).
    pub overdue: i64,
    /// Visits waiting for review (待核查).
    pub visit_exceptions: i64,
    /// People on the regular-visit list due a visit by today (今日应访).
    pub patrols_due: i64,
    /// Of them, those whose visit was due before today.
    pub patrols_late: i64,
    /// People whose routine re-assessment is past due, or asked for (逾期复评).
    pub reassessments_due: i64,
    /// Statements the provider has to confirm (draft).
    pub statements_draft: i64,
    /// Statements the provider disputed.
    pub statements_disputed: i64,
    /// Statements confirmed, to approve.
    pub statements_confirmed: i64,
    /// Statements approved, to pay.
    pub statements_approved: i64,
    /// Purchase projects submitted to finance, to review.
    pub projects_submitted: i64,
    /// Payment batches waiting for the treasury's confirmation.
    pub batches_open: i64,
    /// Open evaluations a third-party evaluator is named on (set for that role only).
    pub evaluations_to_score: i64,
    /// Beds free.
    pub beds_free: i64,
    /// Beds in all.
    pub beds_total: i64,
}

/// Counts the work within `scope` on `today`; `horizon` is the last day counted as "soon".
pub async fn counts(
    conn: &mut Conn<'_>,
    scope: &Scope,
    today: NaiveDate,
    horizon: NaiveDate,
) -> Result<WorkCounts, DbError> {
    let mut w = WorkCounts::default();
    let by_status: Vec<(String, i64)> = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(
            "SELECT a.status, COUNT(*) FROM applications a WHERE a.status IN \
             ('submitted', 'returned', 'village_approved', 'in_notice', 'appealed')",
        );
        crate::elders::push_scope_on(&mut q, scope, "a.residence_region_code");
        q.push(" GROUP BY a.status");
        q.build_query_as().fetch_all(&mut *c).await
    })?;
    for (status, n) in by_status {
        match status.as_str() {
            "submitted" => w.to_review = n,
            "returned" => w.returned = n,
            "village_approved" => w.to_decide = n,
            "in_notice" => w.in_notice = n,
            _ => w.appealed = n,
        }
    }
    let (due_soon, overdue): (Option<i64>, Option<i64>) = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new("SELECT SUM(CASE WHEN a.step_deadline >= ");
        q.push_bind(today)
            .push(" THEN 1 ELSE 0 END), SUM(CASE WHEN a.step_deadline < ")
            .push_bind(today)
            .push(
                " THEN 1 ELSE 0 END) FROM applications a \
                 WHERE a.status IN ('submitted', 'village_approved', 'appealed') \
                 AND a.step_deadline <= ",
            )
            .push_bind(horizon);
        crate::elders::push_scope_on(&mut q, scope, "a.residence_region_code");
        q.build_query_as().fetch_one(&mut *c).await
    })?;
    w.due_soon = due_soon.unwrap_or(0);
    w.overdue = overdue.unwrap_or(0);

    w.visit_exceptions = on_conn!(conn, |c| {
        let mut q =
            sqlx::QueryBuilder::new("SELECT COUNT(*) FROM visits v WHERE v.status = 'exception'");
        crate::scope_sql::push_scope(&mut q, scope, "v.region_code", "v.provider_id");
        q.build_query_scalar::<i64>().fetch_one(&mut *c).await
    })?;

    let (due, late): (Option<i64>, Option<i64>) = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new("SELECT COUNT(*), SUM(CASE WHEN p.due_on < ");
        q.push_bind(today).push(
            " THEN 1 ELSE 0 END) FROM patrol_plans p WHERE p.status = 'active' AND p.due_on <= ",
        );
        q.push_bind(today);
        crate::elders::push_scope_on(&mut q, scope, "p.region_code");
        q.build_query_as().fetch_one(&mut *c).await
    })?;
    w.patrols_due = due.unwrap_or(0);
    w.patrols_late = late.unwrap_or(0);

    w.reassessments_due = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(
            "SELECT COUNT(*) FROM elders e WHERE e.status = 'active' AND (e.reassessment_due < ",
        );
        q.push_bind(today)
            .push(" OR e.reassessment_requested IS NOT NULL)");
        crate::elders::push_scope(&mut q, scope);
        q.build_query_scalar::<i64>().fetch_one(&mut *c).await
    })?;

    let statements: Vec<(String, i64)> = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(
            "SELECT s.status, COUNT(*) FROM statements s JOIN providers p ON p.id = s.provider_id \
             WHERE s.status IN ('draft', 'disputed', 'confirmed', 'approved')",
        );
        crate::scope_sql::push_scope(&mut q, scope, "p.region_code", "p.id");
        q.push(" GROUP BY s.status");
        q.build_query_as().fetch_all(&mut *c).await
    })?;
    for (status, n) in statements {
        match status.as_str() {
            "draft" => w.statements_draft = n,
            "disputed" => w.statements_disputed = n,
            "confirmed" => w.statements_confirmed = n,
            _ => w.statements_approved = n,
        }
    }

    if scope.provider_id().is_none() {
        w.projects_submitted = on_conn!(conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "SELECT COUNT(*) FROM purchase_projects WHERE status = 'submitted'",
            );
            crate::scope_sql::push_scope(&mut q, scope, "region_code", "id");
            q.build_query_scalar::<i64>().fetch_one(&mut *c).await
        })?;
        w.batches_open = on_conn!(conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "SELECT COUNT(*) FROM payment_batches WHERE status = 'open'",
            );
            crate::scope_sql::push_scope(&mut q, scope, "region_code", "id");
            q.build_query_scalar::<i64>().fetch_one(&mut *c).await
        })?;
    }

    let (free, total): (Option<i64>, i64) = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(
            "SELECT SUM(CASE WHEN b.status = 'free' THEN 1 ELSE 0 END), COUNT(*) \
             FROM beds b JOIN facilities f ON f.id = b.facility_id WHERE 1 = 1",
        );
        crate::scope_sql::push_scope(&mut q, scope, "f.region_code", "f.provider_id");
        q.build_query_as().fetch_one(&mut *c).await
    })?;
    w.beds_free = free.unwrap_or(0);
    w.beds_total = total;
    Ok(w)
}

/// What was done within `scope` since `since`: the number of audited changes by action, most
/// frequent first (reads and sign-ins left out: they change nothing). A provider's scope counts
/// the changes its own accounts made.
pub async fn changes_since(
    conn: &mut Conn<'_>,
    scope: &Scope,
    since: DateTime<Utc>,
) -> Result<Vec<(String, i64)>, DbError> {
    Ok(on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(
            "SELECT l.action, COUNT(*) AS n FROM audit_log l WHERE l.occurred_at >= ",
        );
        q.push_bind(since).push(
            " AND l.action NOT LIKE '%.read' AND l.action NOT LIKE '%.reveal' \
             AND l.action NOT LIKE 'auth.%' AND l.action NOT LIKE '%.export'",
        );
        match scope {
            Scope::All => {}
            Scope::Region(root) => {
                let (lo, hi) = root.subtree_range();
                q.push(" AND l.region_code BETWEEN ")
                    .push_bind(lo)
                    .push(" AND ")
                    .push_bind(hi);
            }
            Scope::Provider { provider_id, .. } => {
                q.push(" AND l.actor_id IN (SELECT u.id FROM users u WHERE u.provider_id = ")
                    .push_bind(*provider_id)
                    .push(")");
            }
        }
        q.push(" GROUP BY l.action ORDER BY n DESC, l.action LIMIT 12");
        q.build_query_as().fetch_all(&mut *c).await
    })?)
}
