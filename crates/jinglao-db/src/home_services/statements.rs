//! Monthly settlement (月度结算): per provider, month and funding source, the verified and
//! accepted visits priced at the contract price in force on their day make a statement
//! (对账单) with every visit listed. The provider confirms or disputes it, the bureau approves
//! it, and finance pays it through a treasury batch (`purchase::payments`): it is paid when the
//! treasury's confirmation comes back, never by a hand-typed reference.
//!
//! A visit is charged on at most one statement line, ever (a partial unique index). Running a
//! month again adds only visits not yet charged, so a re-run is idempotent; two runs at once
//! queue on a lock of the provider's row. Once a statement has left the draft state it never
//! changes: visits of that month verified or accepted later are charged on the next statement
//! run as adjustment lines, which keep their own month.

use chrono::{DateTime, NaiveDate, Utc};
use jinglao_domain::clock::china_date;
use jinglao_domain::order::Funding;
use jinglao_domain::{Invalid, Permission, Scope};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, ChainKey, Event};
use crate::orders::month_of;
use crate::{Actor, Conn, Db, DbError, on_conn, providers};

/// One statement's head.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Statement {
    /// Id.
    pub id: Uuid,
    /// Provider.
    pub provider_id: Uuid,
    /// `2026-11`.
    pub service_month: String,
    /// Stored funding name.
    pub funding: String,
    /// draft | confirmed | disputed | approved | paying | paid.
    pub status: String,
    /// Sum of the lines, fen.
    pub total_fen: i64,
    /// Number of lines.
    pub line_count: i32,
    /// The provider's reason for a dispute.
    pub dispute_reason: Option<String>,
    /// Treasury payment reference, once paid.
    pub payment_ref: Option<String>,
}

const COLUMNS: &str = "SELECT id, provider_id, service_month, funding, status, total_fen, \
    line_count, dispute_reason, payment_ref FROM statements";

/// One line: a visit and its amount.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Line {
    /// The visit.
    pub visit_id: Uuid,
    /// charge | reversal.
    pub kind: String,
    /// Item code.
    pub item_code: String,
    /// Day of the visit.
    pub service_on: NaiveDate,
    /// The visit's own month (an adjustment when it differs from the statement's).
    pub service_month: String,
    /// Amount, fen.
    pub amount_fen: i64,
}

/// What one run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunReport {
    /// The month's statement.
    pub statement: Statement,
    /// Lines added by this run.
    pub added: usize,
    /// Of those, visits from earlier months (adjustments).
    pub adjustments: usize,
    /// Payable visits with no contract price on their day (not charged; listed for staff).
    /// Visits paid from public funds (entitlement, voucher) are charged only at a price from a
    /// purchase contract; a price typed in without one prices only self-paid and insured
    /// visits.
    pub unpriced: Vec<Uuid>,
    /// Payable visits not charged because the statement is no longer a draft (they go on the
    /// next month's statement).
    pub waiting: usize,
    /// Visits charged earlier and since revoked, taken back by a negative line on this
    /// statement.
    pub reversed: usize,
}

/// The visits a run charges for provider `$1`, funding `$2`, up to month `$3`: verified or
/// accepted, and not charged on any statement yet (`FROM`, room for a join, then `WHERE`).
const PAYABLE_FROM: &str = "FROM visits v";
const PAYABLE_WHERE: &str = "WHERE v.provider_id = $1 AND v.funding = $2 \
    AND v.status IN ('verified', 'accepted') AND v.service_month <= $3 \
    AND NOT EXISTS (SELECT 1 FROM statement_lines l WHERE l.visit_id = v.id AND l.kind = 'charge')";

/// Lines of a statement for visits of other months (adjustments).
async fn adjustments_on(
    conn: &mut Conn<'_>,
    statement_id: Uuid,
    month: &str,
) -> Result<i64, DbError> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM statement_lines WHERE statement_id = $1 AND service_month <> $2",
        )
        .bind(statement_id)
        .bind(month)
        .fetch_one(&mut *c)
        .await
    })?)
}

fn parse_month(month: &str) -> Result<NaiveDate, Invalid> {
    NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
        .ok()
        .filter(|d| month_of(*d) == month)
        .ok_or_else(|| Invalid::one("month", "月份格式应为 年-月，例如 2026-10"))
}

/// A statement within `scope` (its provider, or the provider's region).
pub async fn get(
    conn: &mut Conn<'_>,
    scope: &Scope,
    id: Uuid,
) -> Result<Option<Statement>, DbError> {
    let rows: Vec<Statement> = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(COLUMNS);
        q.push(" WHERE id = ").push_bind(id);
        q.push(" AND provider_id IN (SELECT id FROM providers WHERE 1 = 1");
        crate::scope_sql::push_scope(&mut q, scope, "region_code", "id");
        q.push(")");
        q.build_query_as::<Statement>().fetch_all(&mut *c).await
    })?;
    Ok(rows.into_iter().next())
}

/// A statement's lines, by day.
pub async fn lines(conn: &mut Conn<'_>, statement_id: Uuid) -> Result<Vec<Line>, DbError> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT visit_id, kind, item_code, service_on, service_month, amount_fen \
             FROM statement_lines WHERE statement_id = $1 ORDER BY service_on, visit_id",
        )
        .bind(statement_id)
        .fetch_all(&mut *c)
        .await
    })?)
}

async fn find(
    conn: &mut Conn<'_>,
    provider_id: Uuid,
    month: &str,
    funding: &str,
) -> Result<Option<Statement>, DbError> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{COLUMNS} WHERE provider_id = $1 AND service_month = $2 AND funding = $3"
        )))
        .bind(provider_id)
        .bind(month)
        .bind(funding)
        .fetch_optional(&mut *c)
        .await
    })?)
}

/// Settles `month` for one provider and funding source: creates the month's statement if there
/// is none and, while it is a draft, charges every verified or accepted visit of that month or
/// earlier not yet charged anywhere. Idempotent; audited.
pub async fn run(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    provider_id: Uuid,
    month: &str,
    funding: Funding,
    now: DateTime<Utc>,
) -> Result<RunReport, DbError> {
    if !actor.may(Permission::SettleServices) {
        return Err(DbError::Forbidden("您的角色不能生成结算单".into()));
    }
    let first = parse_month(month)?;
    if month_of(china_date(now)).as_str() <= month {
        return Err(Invalid::one("month", "只能结算已经结束的月份").into());
    }
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let provider = providers::get(&mut conn, &actor.scope, provider_id)
        .await?
        .ok_or(DbError::NotFound)?;
    // Runs for one provider queue here.
    providers::lock(&mut conn, provider_id).await?;
    let funding = funding.as_str();
    let head = match find(&mut conn, provider_id, month, funding).await? {
        Some(s) => s,
        None => {
            on_conn!(&mut conn, |c| {
                sqlx::query(
                    "INSERT INTO statements (id, provider_id, service_month, funding, status, \
                     created_at, updated_at) VALUES ($1, $2, $3, $4, 'draft', $5, $5)",
                )
                .bind(Uuid::now_v7())
                .bind(provider_id)
                .bind(month)
                .bind(funding)
                .bind(now)
                .execute(&mut *c)
                .await
                .map(|_| ())
            })?;
            find(&mut conn, provider_id, month, funding)
                .await?
                .ok_or(DbError::NotFound)?
        }
    };
    if head.status != "draft" {
        let waiting: i64 = on_conn!(&mut conn, |c| {
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) {PAYABLE_FROM} {PAYABLE_WHERE}"
            )))
            .bind(provider_id)
            .bind(funding)
            .bind(month)
            .fetch_one(&mut *c)
            .await
        })?;
        tx.commit().await?;
        return Ok(RunReport {
            statement: head,
            added: 0,
            adjustments: 0,
            unpriced: Vec::new(),
            waiting: usize::try_from(waiting).unwrap_or(0),
            reversed: 0,
        });
    }
    let adjustments_before = adjustments_on(&mut conn, head.id, month).await?;
    // One statement prices and inserts every line, on either database: each payable visit
    // joined to the price in force on its day (prices never overlap, so at most one), which
    // for public funds must come from a purchase contract.
    let added = on_conn!(&mut conn, |c| {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO statement_lines (visit_id, kind, statement_id, item_code, service_on, \
             service_month, amount_fen, contract_id) \
             SELECT v.id, 'charge', $4, v.item_code, v.service_on, v.service_month, p.unit_fen, \
             p.contract_id \
             {PAYABLE_FROM} JOIN service_prices p ON p.provider_id = v.provider_id \
             AND p.item_code = v.item_code AND p.valid_from <= v.service_on \
             AND (p.valid_to IS NULL OR p.valid_to >= v.service_on) \
             AND (p.contract_id IS NOT NULL OR $2 NOT IN ('entitlement', 'voucher')) \
             {PAYABLE_WHERE}"
        )))
        .bind(provider_id)
        .bind(funding)
        .bind(month)
        .bind(head.id)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    // What is still payable now has no price in force: listed, never charged at zero.
    let unpriced: Vec<Uuid> = on_conn!(&mut conn, |c| {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT v.id {PAYABLE_FROM} {PAYABLE_WHERE} ORDER BY v.service_on, v.id"
        )))
        .bind(provider_id)
        .bind(funding)
        .bind(month)
        .fetch_all(&mut *c)
        .await
    })?;
    let added = usize::try_from(added).unwrap_or(0);
    // Visits charged before (on this or an earlier statement) and revoked since: one negative
    // line each, here; the statement that charged them is never edited.
    let reversed = on_conn!(&mut conn, |c| {
        sqlx::query(
            "INSERT INTO statement_lines (visit_id, kind, statement_id, item_code, service_on, \
             service_month, amount_fen, contract_id) \
             SELECT l.visit_id, 'reversal', $4, l.item_code, l.service_on, l.service_month, \
             -l.amount_fen, l.contract_id FROM statement_lines l JOIN visits v ON v.id = l.visit_id \
             WHERE l.kind = 'charge' AND v.provider_id = $1 AND v.funding = $2 \
             AND v.status = 'rejected' AND v.service_month <= $3 \
             AND NOT EXISTS (SELECT 1 FROM statement_lines r WHERE r.visit_id = l.visit_id \
               AND r.kind = 'reversal')",
        )
        .bind(provider_id)
        .bind(funding)
        .bind(month)
        .bind(head.id)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    let reversed = usize::try_from(reversed).unwrap_or(0);
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "UPDATE statements SET total_fen = (SELECT COALESCE(CAST(SUM(amount_fen) AS BIGINT), 0) \
             FROM statement_lines WHERE statement_id = $1), line_count = (SELECT COUNT(*) \
             FROM statement_lines WHERE statement_id = $1), updated_at = $2 WHERE id = $1",
        )
        .bind(head.id).bind(now).execute(&mut *c).await.map(|_| ())
    })?;
    let adjustments =
        usize::try_from(adjustments_on(&mut conn, head.id, month).await? - adjustments_before)
            .unwrap_or(0);
    let statement = find(&mut conn, provider_id, month, funding)
        .await?
        .ok_or(DbError::NotFound)?;
    let event = Event::new("statement.run", "statement", statement.id)
        .region(Some(provider.region_code))
        .detail(json!({
            "provider": provider_id, "month": month, "funding": funding, "added": added,
            "adjustments": adjustments, "reversed": reversed, "unpriced": unpriced.len(),
            "total_fen": statement.total_fen,
            "first_day": first,
        }));
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(RunReport {
        statement,
        added,
        adjustments,
        unpriced,
        waiting: 0,
        reversed,
    })
}

/// A step in a statement's life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The provider agrees with every line.
    Confirm,
    /// The provider disagrees, with a reason.
    Dispute(String),
    /// The bureau re-opens a disputed statement after looking into it, with a reason.
    Reopen(String),
    /// The bureau approves a confirmed statement. Payment follows in a treasury batch
    /// (`purchase::payments`), never by hand.
    Approve,
}

impl Step {
    fn name(&self) -> &'static str {
        match self {
            Step::Confirm => "confirm",
            Step::Dispute(_) => "dispute",
            Step::Reopen(_) => "reopen",
            Step::Approve => "approve",
        }
    }

    /// (from status, to status, who may).
    fn rule(&self) -> (&'static str, &'static str, Permission) {
        match self {
            Step::Confirm => ("draft", "confirmed", Permission::ManageFacilities),
            Step::Dispute(_) => ("draft", "disputed", Permission::ManageFacilities),
            Step::Reopen(_) => ("disputed", "draft", Permission::SettleServices),
            Step::Approve => ("confirmed", "approved", Permission::SettleServices),
        }
    }

    fn text(&self) -> Option<&str> {
        match self {
            Step::Dispute(t) | Step::Reopen(t) => Some(t.trim()),
            _ => None,
        }
    }
}

/// Moves a statement one step, audited. Confirming and disputing are the provider's own
/// account's; re-opening and approving the bureau's.
pub async fn advance(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    statement_id: Uuid,
    step: &Step,
    now: DateTime<Utc>,
) -> Result<Statement, DbError> {
    let (from, to, permission) = step.rule();
    let provider_side = permission == Permission::ManageFacilities;
    let allowed = actor.user_id.is_none()
        || if provider_side {
            matches!(actor.scope, Scope::Provider { .. }) && actor.may(permission)
        } else {
            actor.may(permission)
        };
    if !allowed {
        return Err(DbError::Forbidden(if provider_side {
            "只有服务机构本身可以确认或提出异议".into()
        } else {
            "您的角色不能审批结算单".into()
        }));
    }
    if step.text().is_some_and(str::is_empty) {
        return Err(Invalid::one("reason", "请填写").into());
    }
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let head = get(&mut conn, &actor.scope, statement_id)
        .await?
        .ok_or(DbError::NotFound)?;
    if matches!(step, Step::Approve)
        && let Some(why) = contract_hold(&mut conn, statement_id).await?
    {
        return Err(Invalid::one("statement", why).into());
    }
    // Each step sets its own columns; every statement guards the status it starts from.
    let (set, text) = match step {
        Step::Confirm => ("confirmed_by = $3, confirmed_at = $4", None),
        Step::Dispute(t) => (
            "confirmed_by = $3, confirmed_at = $4, dispute_reason = $6",
            Some(t),
        ),
        Step::Reopen(t) => (
            "reopened_by = $3, reopened_at = $4, reopen_reason = $6, confirmed_by = NULL, \
             confirmed_at = NULL",
            Some(t),
        ),
        Step::Approve => ("approved_by = $3, approved_at = $4", None),
    };
    let sql = format!(
        "UPDATE statements SET status = $1, {set}, updated_at = $4 WHERE id = $5 AND status = $2"
    );
    let changed = on_conn!(&mut conn, |c| {
        let q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(to)
            .bind(from)
            .bind(actor.user_id)
            .bind(now)
            .bind(statement_id);
        let q = match text {
            Some(t) => q.bind(t.trim()),
            None => q,
        };
        q.execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    if changed == 0 {
        return Err(Invalid::one(
            "status",
            format!(
                "结算单当前状态为「{}」，不能执行这一步",
                status_label(&head.status)
            ),
        )
        .into());
    }
    let action = format!("statement.{}", step.name());
    let event = Event::new(&action, "statement", statement_id).detail(
        json!({ "from": from, "to": to, "text": step.text(), "total_fen": head.total_fen }),
    );
    audit::append(&mut conn, key, actor, event, now).await?;
    let after = get(&mut conn, &Scope::All, statement_id)
        .await?
        .ok_or(DbError::NotFound)?;
    tx.commit().await?;
    Ok(after)
}

/// The Chinese name of a statement status.
pub fn status_label(status: &str) -> &'static str {
    match status {
        "draft" => "待确认",
        "confirmed" => "机构已确认",
        "disputed" => "机构有异议",
        "approved" => "已审批",
        "paying" => "国库支付中",
        "paid" => "已支付",
        _ => "未知",
    }
}

/// A statement with its provider's name, for lists.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Listed {
    /// Head.
    #[sqlx(flatten)]
    pub statement: Statement,
    /// Provider name.
    pub provider_name: String,
}

/// Filters for [`list`].
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// One month (`2026-10`).
    pub month: Option<String>,
    /// One status (draft | confirmed | disputed | approved | paid).
    pub status: Option<String>,
    /// One provider.
    pub provider_id: Option<Uuid>,
    /// Providers registered within this region (narrows the caller's scope, never widens it).
    pub region: Option<jinglao_domain::RegionCode>,
    /// Only statements after this one in list order (month, newest first; provider name; id):
    /// the next page.
    pub after: Option<(String, String, Uuid)>,
}

/// Statements within `scope`, newest month first, then by provider name, at most `limit`.
pub async fn list(
    conn: &mut Conn<'_>,
    scope: &Scope,
    f: &ListFilter,
    limit: i64,
) -> Result<Vec<Listed>, DbError> {
    Ok(on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(
            "SELECT s.id, s.provider_id, s.service_month, s.funding, s.status, s.total_fen, \
             s.line_count, s.dispute_reason, s.payment_ref, p.name AS provider_name \
             FROM statements s JOIN providers p ON p.id = s.provider_id WHERE 1 = 1",
        );
        if let Some(m) = &f.month {
            q.push(" AND s.service_month = ").push_bind(m.clone());
        }
        if let Some(st) = &f.status {
            q.push(" AND s.status = ").push_bind(st.clone());
        }
        if let Some(p) = f.provider_id {
            q.push(" AND s.provider_id = ").push_bind(p);
        }
        if let Some(region) = &f.region {
            let (lo, hi) = region.subtree_range();
            q.push(" AND p.region_code BETWEEN ")
                .push_bind(lo)
                .push(" AND ")
                .push_bind(hi);
        }
        if let Some((month, name, id)) = &f.after {
            q.push(" AND (s.service_month < ").push_bind(month.clone());
            q.push(" OR (s.service_month = ").push_bind(month.clone());
            q.push(" AND (p.name > ").push_bind(name.clone());
            q.push(" OR (p.name = ").push_bind(name.clone());
            q.push(" AND s.id > ").push_bind(*id).push("))))");
        }
        crate::scope_sql::push_scope(&mut q, scope, "p.region_code", "p.id");
        q.push(" ORDER BY s.service_month DESC, p.name, s.id LIMIT ")
            .push_bind(limit);
        q.build_query_as::<Listed>().fetch_all(&mut *c).await
    })?)
}

/// A line with the names an auditor and the provider need to check it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LineDetail {
    /// The line.
    #[sqlx(flatten)]
    pub line: Line,
    /// The person served.
    pub elder_name: String,
    /// The caregiver.
    pub caregiver_name: String,
    /// Check-in and check-out, as stored.
    pub in_at: DateTime<Utc>,
    /// Check-out.
    pub out_at: Option<DateTime<Utc>>,
    /// verified | accepted (the reviewer's decision shows why it is paid).
    pub visit_status: String,
}

/// A statement's lines with names, by day.
pub async fn lines_detail(
    conn: &mut Conn<'_>,
    statement_id: Uuid,
) -> Result<Vec<LineDetail>, DbError> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT l.visit_id, l.kind, l.item_code, l.service_on, l.service_month, l.amount_fen, \
             e.name AS elder_name, s.name AS caregiver_name, v.in_at, v.out_at, v.status AS visit_status \
             FROM statement_lines l JOIN visits v ON v.id = l.visit_id \
             JOIN elders e ON e.id = v.elder_id JOIN staff s ON s.id = v.caregiver_id \
             WHERE l.statement_id = $1 ORDER BY l.service_on, v.in_at, l.visit_id",
        )
        .bind(statement_id).fetch_all(&mut *c).await
    })?)
}

/// Why a statement must be held rather than approved, if it must: for each purchase contract
/// its lines were priced under, the amount on it against what the contract has left (its
/// ceiling less its lines on approved and paid statements). The first contract it would take
/// past its ceiling, named with its number.
async fn contract_hold(conn: &mut Conn<'_>, statement_id: Uuid) -> Result<Option<String>, DbError> {
    let mine: Vec<(Uuid, i64)> = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT contract_id, CAST(SUM(amount_fen) AS BIGINT) FROM statement_lines \
             WHERE statement_id = $1 AND contract_id IS NOT NULL GROUP BY contract_id",
        )
        .bind(statement_id)
        .fetch_all(&mut *c)
        .await
    })?;
    for (contract, amount) in mine {
        // Approvals against one contract queue here (a write that changes nothing locks the
        // row on PostgreSQL; SQLite's writers are serialised anyway).
        on_conn!(conn, |c| {
            sqlx::query("UPDATE purchase_contracts SET ceiling_fen = ceiling_fen WHERE id = $1")
                .bind(contract)
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected())
        })?;
        let (no, ceiling): (String, i64) = on_conn!(conn, |c| {
            sqlx::query_as("SELECT contract_no, ceiling_fen FROM purchase_contracts WHERE id = $1")
                .bind(contract)
                .fetch_one(&mut *c)
                .await
        })?;
        let committed: i64 = on_conn!(conn, |c| {
            sqlx::query_scalar(
                "SELECT COALESCE(CAST(SUM(l.amount_fen) AS BIGINT), 0) FROM statement_lines l \
                 JOIN statements s ON s.id = l.statement_id \
                 WHERE l.contract_id = $1 AND s.id <> $2 AND s.status IN ('approved', 'paying', 'paid')",
            )
            .bind(contract)
            .bind(statement_id)
            .fetch_one(&mut *c)
            .await
        })?;
        if let Some(why) =
            jinglao_domain::purchase::contract::ceiling_hold(ceiling, committed, amount)
        {
            return Ok(Some(format!("合同 {no}：{why}")));
        }
    }
    Ok(None)
}
