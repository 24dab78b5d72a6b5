//! Treasury payment batches (国库集中支付): finance puts approved statements into a batch, one
//! line per statement and contract, with the payee and amount copied onto the line; the batch
//! is exported for the treasury; the treasury's confirmation file, imported whole or not at
//! all, marks lines paid or failed. A statement is paid only when every contract it was priced
//! under has a paid line; a failed line sends it back to 已审批, to go into a new batch.
//! The file layouts and the confirmation checks are in
//! `jinglao_domain::purchase::payment`.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use jinglao_domain::policy::PolicyKey;
use jinglao_domain::purchase::acceptance;
use jinglao_domain::purchase::contract::PaymentTerms;
use jinglao_domain::purchase::payment::{self, ConfirmationRow, LineState, Outcome, RowProblem};
use jinglao_domain::purchase::project::ProjectInput;
use jinglao_domain::{Invalid, Permission, RegionCode, Scope};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, Event};
use crate::{Conn, DbError, WriteCtx, on_conn};

/// A payment batch.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Batch {
    /// Id.
    pub id: Uuid,
    /// 批次号.
    pub batch_no: String,
    /// The payer's region.
    pub region_code: String,
    /// Lines.
    pub line_count: i32,
    /// Sum, fen.
    pub total_fen: i64,
    /// open | closed.
    pub status: String,
    /// Made at.
    pub created_at: DateTime<Utc>,
    /// Every line answered at.
    pub closed_at: Option<DateTime<Utc>>,
}

const BATCH_COLUMNS: &str = "SELECT id, batch_no, region_code, line_count, total_fen, status, \
    created_at, closed_at FROM payment_batches";

/// One line of a batch.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BatchLine {
    /// 序号.
    pub seq: i32,
    /// The statement paid.
    pub statement_id: Uuid,
    /// Its month.
    pub service_month: String,
    /// The contract paid under.
    pub contract_id: Uuid,
    /// Its number.
    pub contract_no: String,
    /// Payee.
    pub provider_id: Uuid,
    /// Amount paid, fen.
    pub amount_fen: i64,
    /// Withheld by an acceptance's deduction, fen.
    pub deducted_fen: i64,
    /// 收款单位.
    pub payee_name: String,
    /// 统一社会信用代码.
    pub payee_credit_code: String,
    /// 开户银行.
    pub payee_bank: String,
    /// 银行账号.
    pub payee_account: String,
    /// 资金来源.
    pub funding_source: String,
    /// 用途.
    pub purpose: String,
    /// pending | paid | failed.
    pub status: String,
    /// 支付凭证号.
    pub voucher_no: Option<String>,
    /// 支付日期.
    pub paid_on: Option<NaiveDate>,
    /// 失败原因.
    pub failure_reason: Option<String>,
}

impl BatchLine {
    /// The Chinese name of the line's state.
    pub fn status_label(&self) -> &'static str {
        line_status_label(&self.status)
    }

    /// The row of the treasury file (`payment::BATCH_HEADERS`).
    pub fn file_row(&self, batch_no: &str) -> Vec<String> {
        vec![
            batch_no.to_string(),
            self.seq.to_string(),
            self.payee_name.clone(),
            self.payee_credit_code.clone(),
            self.payee_bank.clone(),
            self.payee_account.clone(),
            jinglao_domain::settlement::yuan(self.amount_fen),
            self.funding_source.clone(),
            self.contract_no.clone(),
            self.purpose.clone(),
            match self.status.as_str() {
                "paid" => "成功".into(),
                "failed" => "失败".into(),
                _ => String::new(),
            },
            self.voucher_no.clone().unwrap_or_default(),
            self.paid_on.map(|d| d.to_string()).unwrap_or_default(),
            self.failure_reason.clone().unwrap_or_default(),
        ]
    }
}

/// The Chinese name of a line state.
pub fn line_status_label(status: &str) -> &'static str {
    match status {
        "pending" => "待国库确认",
        "paid" => "已支付",
        "failed" => "支付失败",
        _ => "未知",
    }
}

const LINE_COLUMNS: &str = "SELECT l.seq, l.statement_id, s.service_month, l.contract_id, \
    k.contract_no, l.provider_id, l.amount_fen, l.deducted_fen, l.payee_name, l.payee_credit_code, l.payee_bank, \
    l.payee_account, l.funding_source, l.purpose, l.status, l.voucher_no, l.paid_on, \
    l.failure_reason FROM payment_batch_lines l JOIN statements s ON s.id = l.statement_id \
    JOIN purchase_contracts k ON k.id = l.contract_id";

/// An approved statement's amount under one contract not yet paid or waiting in a batch.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Payable {
    /// Statement.
    pub statement_id: Uuid,
    /// Provider.
    pub provider_id: Uuid,
    /// Provider name.
    pub provider_name: String,
    /// Month served.
    pub service_month: String,
    /// Contract.
    pub contract_id: Uuid,
    /// Its number.
    pub contract_no: String,
    /// Amount, fen.
    pub amount_fen: i64,
}

/// The amounts of approved statements (in `scope`) per contract, with no live line yet: what
/// a new batch can pay. Statements with lines priced outside a contract are not here (they
/// cannot be paid from public funds; [`create`] says why when one is chosen).
pub async fn payable(conn: &mut Conn<'_>, scope: &Scope) -> Result<Vec<Payable>, DbError> {
    on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(
            "SELECT s.id AS statement_id, s.provider_id, p.name AS provider_name, s.service_month, \
             l.contract_id, k.contract_no, CAST(SUM(l.amount_fen) AS BIGINT) AS amount_fen \
             FROM statements s JOIN providers p ON p.id = s.provider_id \
             JOIN statement_lines l ON l.statement_id = s.id \
             JOIN purchase_contracts k ON k.id = l.contract_id \
             JOIN purchase_projects pp ON pp.id = k.project_id \
             WHERE s.status = 'approved' AND s.funding IN ('entitlement', 'voucher') \
             AND NOT EXISTS (SELECT 1 FROM statement_lines f WHERE f.statement_id = s.id \
               AND f.contract_id IS NULL) \
             AND NOT EXISTS (SELECT 1 FROM payment_batch_lines b WHERE b.statement_id = s.id \
               AND b.contract_id = l.contract_id AND b.status <> 'failed')",
        );
        crate::scope_sql::push_scope(&mut q, scope, "p.region_code", "p.id");
        // The money is the purchasing body's: its contract's project is in the payer's subtree.
        crate::scope_sql::push_scope(&mut q, scope, "pp.region_code", "p.id");
        q.push(
            " GROUP BY s.id, s.provider_id, p.name, s.service_month, l.contract_id, k.contract_no \
             HAVING SUM(l.amount_fen) > 0 ORDER BY s.service_month, p.name, k.contract_no",
        );
        q.build_query_as::<Payable>().fetch_all(&mut *c).await
    })
    .map_err(DbError::from)
}

/// Batches within `scope`, newest first.
pub async fn list(conn: &mut Conn<'_>, scope: &Scope) -> Result<Vec<Batch>, DbError> {
    if scope.provider_id().is_some() {
        return Ok(Vec::new());
    }
    on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(BATCH_COLUMNS);
        q.push(" WHERE 1 = 1");
        crate::scope_sql::push_scope(&mut q, scope, "region_code", "id");
        q.push(" ORDER BY created_at DESC, batch_no DESC LIMIT 500");
        q.build_query_as::<Batch>().fetch_all(&mut *c).await
    })
    .map_err(DbError::from)
}

/// A batch within `scope`.
pub async fn get(conn: &mut Conn<'_>, scope: &Scope, id: Uuid) -> Result<Option<Batch>, DbError> {
    if scope.provider_id().is_some() {
        return Ok(None);
    }
    let rows: Vec<Batch> = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(BATCH_COLUMNS);
        q.push(" WHERE id = ").push_bind(id);
        crate::scope_sql::push_scope(&mut q, scope, "region_code", "id");
        q.build_query_as::<Batch>().fetch_all(&mut *c).await
    })?;
    Ok(rows.into_iter().next())
}

/// A batch's lines, in order.
pub async fn lines(conn: &mut Conn<'_>, batch_id: Uuid) -> Result<Vec<BatchLine>, DbError> {
    on_conn!(conn, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{LINE_COLUMNS} WHERE l.batch_id = $1 ORDER BY l.seq"
        )))
        .bind(batch_id)
        .fetch_all(&mut *c)
        .await
    })
    .map_err(DbError::from)
}

/// The paid lines of a contract, oldest first (the OCDS transactions).
pub async fn paid_for_contract(
    conn: &mut Conn<'_>,
    contract_id: Uuid,
) -> Result<Vec<BatchLine>, DbError> {
    on_conn!(conn, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{LINE_COLUMNS} WHERE l.contract_id = $1 AND l.status = 'paid' \
             ORDER BY l.paid_on, l.batch_id, l.seq"
        )))
        .bind(contract_id)
        .fetch_all(&mut *c)
        .await
    })
    .map_err(DbError::from)
}

#[derive(Clone, sqlx::FromRow)]
struct Candidate {
    statement_id: Uuid,
    provider_id: Uuid,
    provider_name: String,
    credit_code: Option<String>,
    region_code: String,
    service_month: String,
    status: String,
    funding: String,
    approved_by: Option<Uuid>,
}

#[derive(sqlx::FromRow)]
struct Group {
    contract_id: Option<Uuid>,
    amount_fen: i64,
    lines: i64,
}

#[derive(sqlx::FromRow)]
struct ContractFacts {
    contract_no: String,
    payment_terms: String,
    end_on: NaiveDate,
    terminated_on: Option<NaiveDate>,
    project_region: String,
    filed_on: Option<NaiveDate>,
    body: String,
    project_body: String,
    live: i64,
}

/// Makes a batch of the given statements (each in the caller's subtree, approved, paid from
/// public funds, every line priced under a filed contract, and not approved by the caller where
/// the region separates the duties). Refuses the whole batch, naming the statement, if one
/// does not qualify. One transaction, audited.
pub async fn create(w: &WriteCtx<'_>, statement_ids: &[Uuid]) -> Result<Batch, DbError> {
    if !w.actor.may(Permission::PayStatements) {
        return Err(DbError::Forbidden("您的角色不能办理国库支付".into()));
    }
    let Some(root) = w.actor.scope.region_root() else {
        return Err(DbError::Forbidden(
            "支付批次属于一个行政区划，请用财务人员账号办理".into(),
        ));
    };
    let mut ids: Vec<Uuid> = statement_ids.to_vec();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Err(Invalid::one("statement_ids", "请选择要支付的结算单").into());
    }
    if ids.len() > payment::MAX_ROWS / 2 {
        return Err(Invalid::one("statement_ids", "一个批次的结算单太多，请分批").into());
    }
    let mut tx = w.db.begin().await?;
    let mut conn = tx.conn();
    let book = crate::policy::load(&mut conn).await?;
    #[allow(clippy::type_complexity)]
    let mut planned: Vec<(Candidate, Uuid, i64, ContractFacts, Option<Uuid>, i64)> = Vec::new();
    for id in &ids {
        let found: Option<Candidate> = on_conn!(&mut conn, |c| {
            let mut q = sqlx::QueryBuilder::new(
                "SELECT s.id AS statement_id, s.provider_id, p.name AS provider_name, \
                 p.credit_code, p.region_code, s.service_month, s.status, s.funding, \
                 s.approved_by FROM statements s JOIN providers p ON p.id = s.provider_id \
                 WHERE s.id = ",
            );
            q.push_bind(*id);
            crate::scope_sql::push_scope(&mut q, &w.actor.scope, "p.region_code", "p.id");
            q.build_query_as::<Candidate>()
                .fetch_optional(&mut *c)
                .await
        })?;
        let s = found.ok_or(DbError::NotFound)?;
        let name = format!("{} {} 的结算单", s.provider_name, s.service_month);
        let refuse = |why: String| -> DbError {
            Invalid::one("statement_ids", format!("{name}{why}")).into()
        };
        if s.status != "approved" {
            return Err(refuse(format!(
                "当前状态为「{}」，只有已审批的结算单可以支付",
                crate::statements::status_label(&s.status)
            )));
        }
        if !matches!(s.funding.as_str(), "entitlement" | "voucher") {
            return Err(refuse("由老年人自付或保险支付，不经国库".into()));
        }
        let region = RegionCode::parse(&s.region_code)
            .map_err(|_| DbError::Corrupt(format!("服务机构区划 {}", s.region_code)))?;
        if book.flag(PolicyKey::SettlementSeparateDuties, &region)
            && s.approved_by.is_some()
            && s.approved_by == w.actor.user_id
        {
            return Err(refuse(
                "是您审批的；审批和支付须由不同的人办理，请另一位同事提交支付".into(),
            ));
        }
        let groups: Vec<Group> = on_conn!(&mut conn, |c| {
            sqlx::query_as(
                "SELECT contract_id, CAST(SUM(amount_fen) AS BIGINT) AS amount_fen, \
                 COUNT(*) AS lines FROM statement_lines WHERE statement_id = $1 \
                 GROUP BY contract_id",
            )
            .bind(s.statement_id)
            .fetch_all(&mut *c)
            .await
        })?;
        if let Some(free) = groups.iter().find(|g| g.contract_id.is_none()) {
            return Err(refuse(format!(
                "有 {} 次服务的单价不是购买服务合同的单价，不能用财政资金支付",
                free.lines
            )));
        }
        let mut any = false;
        for g in &groups {
            let Some(contract_id) = g.contract_id else {
                continue;
            };
            let facts: ContractFacts = on_conn!(&mut conn, |c| {
                sqlx::query_as(
                    "SELECT k.contract_no, k.payment_terms, k.end_on, k.terminated_on, \
                     p.region_code AS project_region, \
                     k.filed_on, k.body, \
                     p.body AS project_body, \
                     (SELECT COUNT(*) FROM payment_batch_lines b WHERE b.statement_id = $2 \
                       AND b.contract_id = k.id AND b.status <> 'failed') AS live \
                     FROM purchase_contracts k JOIN purchase_projects p ON p.id = k.project_id \
                     WHERE k.id = $1",
                )
                .bind(contract_id)
                .bind(s.statement_id)
                .fetch_one(&mut *c)
                .await
            })?;
            if facts.live > 0 || g.amount_fen == 0 {
                continue;
            }
            if g.amount_fen < 0 {
                return Err(refuse(format!(
                    "在合同 {} 下冲减 {} 元，多于本月应付；冲减款须由承接主体退回或另行抵扣，不能放进支付批次",
                    facts.contract_no,
                    jinglao_domain::settlement::yuan(-g.amount_fen)
                )));
            }
            let payer_covers = RegionCode::parse(&facts.project_region)
                .is_ok_and(|r| w.actor.scope.covers_record_in(&r));
            if !payer_covers {
                return Err(refuse(format!(
                    "所依据的合同 {} 不是本级购买的，应由购买主体所在地的财政部门支付",
                    facts.contract_no
                )));
            }
            if facts.filed_on.is_none() {
                return Err(refuse(format!(
                    "所依据的合同 {} 尚未报财政部门备案，备案后才能支付",
                    facts.contract_no
                )));
            }
            let terms = PaymentTerms::parse(&facts.payment_terms).ok_or_else(|| {
                DbError::Corrupt(format!("payment terms {}", facts.payment_terms))
            })?;
            // One batch at a time reads and takes this contract's deductions.
            super::contracts::lock(&mut conn, contract_id).await?;
            let accepted = super::acceptances::facts(&mut conn, contract_id).await?;
            let last_day = facts
                .terminated_on
                .map_or(facts.end_on, |t| t.pred_opt().unwrap_or(t));
            let cleared =
                acceptance::clearing_acceptance(terms, last_day, &s.service_month, &accepted)
                    .map_err(|why| refuse(format!("在合同 {} 下{why}", facts.contract_no)))?;
            // A deduction is withheld from the next payment under the contract: the acceptance
            // that clears this month if it deducts, else the oldest one with some left to take.
            let mut candidates: Vec<&acceptance::AcceptanceFact> = Vec::new();
            if let Some(a) = cleared {
                candidates.push(a);
            }
            candidates.extend(accepted.iter().filter(|a| {
                a.result != acceptance::AcceptanceResult::Rejected
                    && Some(a.id) != cleared.map(|c| c.id)
            }));
            let mut deducted = 0;
            let mut deducting = None;
            for a in candidates.into_iter().filter(|a| a.deduction_fen > 0) {
                let taken: i64 = on_conn!(&mut conn, |c| {
                    sqlx::query_scalar(
                        "SELECT CAST(COALESCE(SUM(deducted_fen), 0) AS BIGINT) \
                         FROM payment_batch_lines WHERE acceptance_id = $1 AND status <> 'failed'",
                    )
                    .bind(a.id)
                    .fetch_one(&mut *c)
                    .await
                })?;
                let taken = taken
                    + planned
                        .iter()
                        .filter(|p| p.4 == Some(a.id))
                        .map(|p| p.5)
                        .sum::<i64>();
                if a.deduction_fen > taken {
                    deducted = a.deduction_fen - taken;
                    deducting = Some(a.id);
                    break;
                }
            }
            if deducted >= g.amount_fen {
                return Err(refuse(format!(
                    "在合同 {} 下应付 {} 元，验收扣减 {} 元，扣减后没有应付金额；请与承接主体核对后另行处理",
                    facts.contract_no,
                    jinglao_domain::settlement::yuan(g.amount_fen),
                    jinglao_domain::settlement::yuan(deducted)
                )));
            }
            any = true;
            planned.push((
                s.clone(),
                contract_id,
                g.amount_fen - deducted,
                facts,
                deducting.or(cleared.map(|a| a.id)),
                deducted,
            ));
        }
        if !any {
            return Err(refuse("没有待支付的金额".into()));
        }
    }
    let year = jinglao_domain::clock::china_date(w.now)
        .format("%Y")
        .to_string();
    let prefix = format!("ZF{}-{year}-", root.short());
    let n: i64 = on_conn!(&mut conn, |c| {
        sqlx::query_scalar("SELECT COUNT(*) FROM payment_batches WHERE batch_no LIKE $1")
            .bind(format!("{prefix}%"))
            .fetch_one(&mut *c)
            .await
    })?;
    let batch_no = format!("{prefix}{:04}", n + 1);
    let batch_id = Uuid::now_v7();
    let total: i64 = planned.iter().map(|p| p.2).sum();
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "INSERT INTO payment_batches (id, batch_no, region_code, line_count, total_fen, \
             status, created_by, created_at) VALUES ($1, $2, $3, $4, $5, 'open', $6, $7)",
        )
        .bind(batch_id)
        .bind(&batch_no)
        .bind(root.as_str())
        .bind(planned.len() as i32)
        .bind(total)
        .bind(w.actor.user_id)
        .bind(w.now)
        .execute(&mut *c)
        .await
        .map(|_| ())
    })
    .map_err(DbError::from)
    .map_err(|e| {
        if e.is_conflict_on("payment_batches.batch_no") {
            DbError::from(Invalid::one(
                "statement_ids",
                "另一个支付批次刚刚生成，请重新提交",
            ))
        } else {
            e
        }
    })?;
    for (i, (s, contract_id, amount, facts, acceptance_id, deducted)) in planned.iter().enumerate()
    {
        let contract: jinglao_domain::purchase::contract::ContractInput =
            serde_json::from_str(&facts.body)
                .map_err(|e| DbError::Corrupt(format!("contract body: {e}")))?;
        let project: ProjectInput = serde_json::from_str(&facts.project_body)
            .map_err(|e| DbError::Corrupt(format!("project body: {e}")))?;
        on_conn!(&mut conn, |c| {
            sqlx::query(
                "INSERT INTO payment_batch_lines (batch_id, seq, statement_id, contract_id, \
                 provider_id, amount_fen, payee_name, payee_credit_code, payee_bank, \
                 payee_account, funding_source, purpose, status, deducted_fen, acceptance_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending', $13, $14)",
            )
            .bind(batch_id)
            .bind(i as i32 + 1)
            .bind(s.statement_id)
            .bind(*contract_id)
            .bind(s.provider_id)
            .bind(*amount)
            .bind(&s.provider_name)
            .bind(s.credit_code.clone().unwrap_or_default())
            .bind(&contract.payee_bank)
            .bind(&contract.payee_account)
            .bind(project.funding.label())
            .bind(payment::purpose(&s.service_month, &facts.contract_no))
            .bind(*deducted)
            .bind(*acceptance_id)
            .execute(&mut *c)
            .await
            .map(|_| ())
        })
        .map_err(DbError::from)
        .map_err(|e| {
            if e.is_conflict_on("payment_batch_lines.statement_id") {
                DbError::from(Invalid::one(
                    "statement_ids",
                    format!(
                        "{} {} 的结算单刚被放进另一个批次",
                        s.provider_name, s.service_month
                    ),
                ))
            } else {
                e
            }
        })?;
    }
    for id in &ids {
        let moved = on_conn!(&mut conn, |c| {
            sqlx::query(
                "UPDATE statements SET status = 'paying', updated_at = $2 \
                 WHERE id = $1 AND status = 'approved'",
            )
            .bind(*id)
            .bind(w.now)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
        })?;
        if moved == 0 {
            return Err(Invalid::one("statement_ids", "结算单刚被其他人办理，请刷新后重试").into());
        }
    }
    let event = Event::new("payment_batch.create", "payment_batch", batch_id)
        .region(Some(root))
        .detail(json!({
            "batch_no": batch_no, "lines": planned.len(), "total_fen": total,
            "statements": ids,
        }));
    audit::append(&mut conn, w.chain, w.actor, event, w.now).await?;
    let batch = get(&mut conn, &Scope::All, batch_id)
        .await?
        .ok_or(DbError::NotFound)?;
    tx.commit().await?;
    Ok(batch)
}

/// What a confirmation import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmed {
    /// Applied: lines paid and failed now, rows that repeated an earlier answer, and the
    /// statements now fully paid.
    Applied {
        /// Lines marked paid.
        paid: usize,
        /// Lines marked failed.
        failed: usize,
        /// Rows that changed nothing.
        unchanged: usize,
        /// Statements now paid.
        statements_paid: usize,
    },
    /// Refused, nothing written: every problem by row and column.
    Refused(Vec<RowProblem>),
}

#[derive(sqlx::FromRow)]
struct AnsweredRow {
    seq: i32,
    amount_fen: i64,
    status: String,
    voucher_no: Option<String>,
    paid_on: Option<NaiveDate>,
    failure_reason: Option<String>,
}

/// Imports the treasury's confirmation `rows` for batch `batch_id`, from `source` (the file's
/// name and SHA-256, or the API; kept in the audit entry so the answer can be traced to the
/// document): all rows or none; a row repeating an answer already recorded changes nothing. Lines paid mark their statement paid
/// once every contract of it is paid; a failed line returns its statement to 已审批. One
/// transaction, audited.
pub async fn confirm(
    w: &WriteCtx<'_>,
    batch_id: Uuid,
    rows: &[ConfirmationRow],
    source: &str,
) -> Result<Confirmed, DbError> {
    if !w.actor.may(Permission::PayStatements) {
        return Err(DbError::Forbidden("您的角色不能办理国库支付".into()));
    }
    let mut tx = w.db.begin().await?;
    let mut conn = tx.conn();
    // Imports of one batch queue here, before the batch is read.
    on_conn!(&mut conn, |c| {
        sqlx::query("UPDATE payment_batches SET status = status WHERE id = $1")
            .bind(batch_id)
            .execute(&mut *c)
            .await
            .map(|_| ())
    })?;
    let batch = get(&mut conn, &w.actor.scope, batch_id)
        .await?
        .ok_or(DbError::NotFound)?;
    let stored: Vec<AnsweredRow> = on_conn!(&mut conn, |c| {
        sqlx::query_as(
            "SELECT seq, amount_fen, status, voucher_no, paid_on, failure_reason \
             FROM payment_batch_lines WHERE batch_id = $1",
        )
        .bind(batch_id)
        .fetch_all(&mut *c)
        .await
    })?;
    let states: Vec<LineState> = stored
        .iter()
        .map(|r| LineState {
            seq: r.seq,
            amount_fen: r.amount_fen,
            answered: match (r.status.as_str(), &r.voucher_no, r.paid_on) {
                ("paid", Some(v), Some(d)) => Some(Outcome::Paid {
                    voucher: v.clone(),
                    paid_on: d,
                }),
                ("failed", _, _) => Some(Outcome::Failed {
                    reason: r.failure_reason.clone().unwrap_or_default(),
                }),
                _ => None,
            },
        })
        .collect();
    let changes = match payment::match_confirmation(&batch.batch_no, &states, rows) {
        Ok(c) => c,
        Err(problems) => return Ok(Confirmed::Refused(problems)),
    };
    let today = jinglao_domain::clock::china_date(w.now);
    if let Some(r) = rows.iter().find(|r| {
        matches!(&r.outcome, Outcome::Paid { paid_on, .. }
            if *paid_on > today || *paid_on < batch.created_at.date_naive() - chrono::Days::new(1))
    }) {
        return Ok(Confirmed::Refused(vec![RowProblem {
            row: r.row,
            column: "支付日期".into(),
            reason: "支付日期应在批次生成之后、不晚于今天".into(),
        }]));
    }
    // A voucher names one payment: one already stored elsewhere is refused.
    for r in rows {
        if let Outcome::Paid { voucher, .. } = &r.outcome {
            let elsewhere: i64 = on_conn!(&mut conn, |c| {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM payment_batch_lines WHERE voucher_no = $1 \
                     AND NOT (batch_id = $2 AND seq = $3)",
                )
                .bind(voucher)
                .bind(batch_id)
                .bind(r.seq)
                .fetch_one(&mut *c)
                .await
            })?;
            if elsewhere > 0 {
                return Ok(Confirmed::Refused(vec![RowProblem {
                    row: r.row,
                    column: "支付凭证号".into(),
                    reason: format!("凭证号 {voucher} 已用于另一笔支付"),
                }]));
            }
        }
    }
    let (mut paid, mut failed) = (0, 0);
    let mut touched: BTreeMap<Uuid, ()> = BTreeMap::new();
    for (seq, outcome) in &changes.answers {
        let (status, voucher, day, reason) = match outcome {
            Outcome::Paid { voucher, paid_on } => {
                paid += 1;
                ("paid", Some(voucher.as_str()), Some(*paid_on), None)
            }
            Outcome::Failed { reason } => {
                failed += 1;
                ("failed", None, None, Some(reason.as_str()))
            }
        };
        let statement: Uuid = on_conn!(&mut conn, |c| {
            sqlx::query_scalar(
                "UPDATE payment_batch_lines SET status = $3, voucher_no = $4, paid_on = $5, \
                 failure_reason = $6, answered_by = $7, answered_at = $8 \
                 WHERE batch_id = $1 AND seq = $2 AND status = 'pending' RETURNING statement_id",
            )
            .bind(batch_id)
            .bind(*seq)
            .bind(status)
            .bind(voucher)
            .bind(day)
            .bind(reason)
            .bind(w.actor.user_id)
            .bind(w.now)
            .fetch_one(&mut *c)
            .await
        })?;
        touched.insert(statement, ());
    }
    let mut statements_paid = 0;
    for statement in touched.keys() {
        if settle_statement(&mut conn, w, *statement).await? {
            statements_paid += 1;
        }
    }
    let open: i64 = on_conn!(&mut conn, |c| {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM payment_batch_lines WHERE batch_id = $1 AND status = 'pending'",
        )
        .bind(batch_id)
        .fetch_one(&mut *c)
        .await
    })?;
    if open == 0 && batch.status == "open" {
        on_conn!(&mut conn, |c| {
            sqlx::query(
                "UPDATE payment_batches SET status = 'closed', closed_at = $2 WHERE id = $1",
            )
            .bind(batch_id)
            .bind(w.now)
            .execute(&mut *c)
            .await
            .map(|_| ())
        })?;
    }
    if paid + failed > 0 {
        let region = RegionCode::parse(&batch.region_code).ok();
        let event = Event::new("payment_batch.confirm", "payment_batch", batch_id)
            .region(region)
            .detail(json!({
                "batch_no": batch.batch_no, "source": source, "paid": paid, "failed": failed,
                "statements": touched.keys().collect::<Vec<_>>(),
                "unchanged": changes.unchanged, "statements_paid": statements_paid,
                "answers": changes.answers.iter().map(|(seq, o)| match o {
                    Outcome::Paid { voucher, paid_on } =>
                        json!({ "seq": seq, "paid": voucher, "on": paid_on }),
                    Outcome::Failed { reason } => json!({ "seq": seq, "failed": reason }),
                }).collect::<Vec<_>>(),
            }));
        audit::append(&mut conn, w.chain, w.actor, event, w.now).await?;
    }
    tx.commit().await?;
    Ok(Confirmed::Applied {
        paid,
        failed,
        unchanged: changes.unchanged,
        statements_paid,
    })
}

/// Moves a statement in a batch on after its lines were answered: paid when every contract
/// amount of it has a paid line, back to 已审批 when one failed and none waits. Returns whether
/// it is now paid.
async fn settle_statement(
    conn: &mut Conn<'_>,
    w: &WriteCtx<'_>,
    statement: Uuid,
) -> Result<bool, DbError> {
    let (pending, failed): (i64, i64) = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT \
             (SELECT COUNT(*) FROM payment_batch_lines WHERE statement_id = $1 AND status = 'pending'), \
             (SELECT COUNT(*) FROM (SELECT contract_id FROM statement_lines WHERE statement_id = $1 \
               GROUP BY contract_id HAVING SUM(amount_fen) > 0) g \
               WHERE NOT EXISTS (SELECT 1 FROM payment_batch_lines b WHERE b.statement_id = $1 \
               AND b.contract_id = g.contract_id AND b.status = 'paid'))",
        )
        .bind(statement)
        .fetch_one(&mut *c)
        .await
    })?;
    if pending > 0 {
        return Ok(false);
    }
    if failed > 0 {
        on_conn!(conn, |c| {
            sqlx::query(
                "UPDATE statements SET status = 'approved', updated_at = $2 \
                 WHERE id = $1 AND status = 'paying'",
            )
            .bind(statement)
            .bind(w.now)
            .execute(&mut *c)
            .await
            .map(|_| ())
        })?;
        let event = Event::new("statement.payment_failed", "statement", statement)
            .detail(json!({ "from": "paying", "to": "approved" }));
        audit::append(conn, w.chain, w.actor, event, w.now).await?;
        return Ok(false);
    }
    // Paid in full: the paid lines and what acceptances withheld from them make the total.
    let (total, paid): (i64, i64) = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT s.total_fen, CAST(COALESCE((SELECT SUM(amount_fen + deducted_fen) FROM payment_batch_lines \
             WHERE statement_id = s.id AND status = 'paid'), 0) AS BIGINT) FROM statements s \
             WHERE s.id = $1",
        )
        .bind(statement)
        .fetch_one(&mut *c)
        .await
    })?;
    if paid != total {
        return Err(DbError::Corrupt(format!(
            "statement {statement}: paid {paid} of {total} fen with every contract answered"
        )));
    }
    let vouchers: Vec<String> = on_conn!(conn, |c| {
        sqlx::query_scalar(
            "SELECT voucher_no FROM payment_batch_lines WHERE statement_id = $1 \
             AND status = 'paid' ORDER BY paid_on, voucher_no",
        )
        .bind(statement)
        .fetch_all(&mut *c)
        .await
    })?;
    let moved = on_conn!(conn, |c| {
        sqlx::query(
            "UPDATE statements SET status = 'paid', paid_by = $2, paid_at = $3, \
             payment_ref = $4, updated_at = $3 WHERE id = $1 AND status = 'paying'",
        )
        .bind(statement)
        .bind(w.actor.user_id)
        .bind(w.now)
        .bind(vouchers.join("、"))
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    if moved > 0 {
        let event = Event::new("statement.paid", "statement", statement).detail(
            json!({ "from": "paying", "to": "paid", "vouchers": vouchers, "total_fen": total }),
        );
        audit::append(conn, w.chain, w.actor, event, w.now).await?;
    }
    Ok(moved > 0)
}
