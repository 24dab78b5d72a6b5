//! Contracts: signed by the purchasing body with an awarded provider, their unit prices
//! written to `service_prices` (with the contract's id, in force over the contract's term) so
//! that settlement prices visits from the contract and nowhere else; filed with finance.

use chrono::{DateTime, NaiveDate, Utc};
use jinglao_domain::purchase::contract::ContractInput;
use jinglao_domain::purchase::project::ProjectStatus;
use jinglao_domain::{Invalid, Permission, Scope};
use serde_json::json;
use uuid::Uuid;

use super::{projects, selection};
use crate::audit::{self, Event};
use crate::home_services::prices::{CheckedPrice, PriceError, insert_locked};
use crate::{Conn, DbError, WriteCtx, on_conn, providers};

/// A stored contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    /// Id.
    pub id: Uuid,
    /// Project.
    pub project_id: Uuid,
    /// Award.
    pub award_id: Uuid,
    /// Provider.
    pub provider_id: Uuid,
    /// What was signed.
    pub input: ContractInput,
    /// Filed with finance on.
    pub filed_on: Option<NaiveDate>,
    /// active | accepted | terminated.
    pub status: String,
    /// Ended early on (解除合同), and why.
    pub terminated: Option<(NaiveDate, String)>,
    /// Recorded at.
    pub created_at: DateTime<Utc>,
}

impl Contract {
    /// The Chinese name of its state.
    pub fn status_label(&self) -> &'static str {
        match self.status.as_str() {
            "active" => "履行中",
            "accepted" => "已终期验收",
            "terminated" => "已解除",
            _ => "未知",
        }
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    project_id: Uuid,
    award_id: Uuid,
    provider_id: Uuid,
    body: String,
    filed_on: Option<NaiveDate>,
    status: String,
    terminated_on: Option<NaiveDate>,
    termination_reason: Option<String>,
    created_at: DateTime<Utc>,
}

impl TryFrom<Row> for Contract {
    type Error = DbError;
    fn try_from(r: Row) -> Result<Self, DbError> {
        Ok(Contract {
            input: serde_json::from_str(&r.body)
                .map_err(|e| DbError::Corrupt(format!("contract body: {e}")))?,
            id: r.id,
            project_id: r.project_id,
            award_id: r.award_id,
            provider_id: r.provider_id,
            filed_on: r.filed_on,
            status: r.status,
            terminated: r.terminated_on.zip(r.termination_reason),
            created_at: r.created_at,
        })
    }
}

const COLUMNS: &str = "SELECT id, project_id, award_id, provider_id, body, filed_on, status, \
    terminated_on, termination_reason, created_at FROM purchase_contracts";

/// Locks a contract's row until the transaction ends (PostgreSQL; SQLite writes one at a time):
/// what reads the deductions taken under it or changes its state goes one after another.
pub(crate) async fn lock(conn: &mut Conn<'_>, id: Uuid) -> Result<(), DbError> {
    on_conn!(conn, |c| {
        sqlx::query("UPDATE purchase_contracts SET status = status WHERE id = $1")
            .bind(id)
            .execute(&mut *c)
            .await
            .map(|_| ())
    })?;
    Ok(())
}

impl Contract {
    /// The last day of service: the day before an early end, else the term's last day.
    pub fn last_day(&self) -> NaiveDate {
        match &self.terminated {
            Some((on, _)) => on.pred_opt().unwrap_or(*on).max(self.input.start),
            None => self.input.end,
        }
    }
}

/// A contract by its number (unscoped: for the demo and the command line).
pub async fn by_number(
    conn: &mut Conn<'_>,
    contract_no: &str,
) -> Result<Option<Contract>, DbError> {
    let row: Option<Row> = on_conn!(conn, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{COLUMNS} WHERE contract_no = $1"
        )))
        .bind(contract_no)
        .fetch_optional(&mut *c)
        .await
    })?;
    row.map(Contract::try_from).transpose()
}

/// A contract and its project, when the project is visible in `scope` (staff: the purchasing
/// body's subtree; a provider: its own contracts only).
pub async fn get(
    conn: &mut Conn<'_>,
    scope: &Scope,
    id: Uuid,
) -> Result<Option<(Contract, projects::Project)>, DbError> {
    let row: Option<Row> = on_conn!(conn, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{COLUMNS} WHERE id = $1")))
            .bind(id)
            .fetch_optional(&mut *c)
            .await
    })?;
    let Some(contract) = row.map(Contract::try_from).transpose()? else {
        return Ok(None);
    };
    if scope
        .provider_id()
        .is_some_and(|p| p != contract.provider_id)
    {
        return Ok(None);
    }
    let Some(project) = projects::get(conn, scope, contract.project_id).await? else {
        return Ok(None);
    };
    Ok(Some((contract, project)))
}

/// Ends a contract early (解除合同) from `on`, with its reason (a failing evaluation, a breach):
/// its prices end the day before, so no visit from `on` is priced under it; its last month is
/// then the final payment, which waits for an acceptance. One transaction, audited.
pub async fn terminate(
    w: &WriteCtx<'_>,
    id: Uuid,
    on: NaiveDate,
    reason: &str,
) -> Result<(), DbError> {
    if !w.actor.may(Permission::PlanPurchases) {
        return Err(DbError::Forbidden("解除购买服务合同".into()));
    }
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(Invalid::one("reason", "请写明解除合同的理由（不超过 500 字）").into());
    }
    let mut tx = w.db.begin().await?;
    let mut conn = tx.conn();
    if w.actor.scope.provider_id().is_some() {
        return Err(DbError::NotFound);
    }
    let (contract, project) = get(&mut conn, &w.actor.scope, id)
        .await?
        .ok_or(DbError::NotFound)?;
    if contract.status != "active" {
        return Err(Invalid::one(
            "status",
            format!("合同{}，不能解除", contract.status_label()),
        )
        .into());
    }
    if on < contract.input.start || on > contract.input.end {
        return Err(Invalid::one(
            "terminated_on",
            format!(
                "解除日期应在服务期（{} 至 {}）内",
                contract.input.start, contract.input.end
            ),
        )
        .into());
    }
    if on <= contract.input.start {
        return Err(Invalid::one(
            "terminated_on",
            "解除日期应晚于服务开始日期（从未开始的合同请撤销项目）",
        )
        .into());
    }
    let changed = on_conn!(&mut conn, |cn| {
        sqlx::query(
            "UPDATE purchase_contracts SET status = 'terminated', terminated_on = $2, \
             termination_reason = $3 WHERE id = $1 AND status = 'active'",
        )
        .bind(id)
        .bind(on)
        .bind(reason)
        .execute(&mut *cn)
        .await
        .map(|r| r.rows_affected())
    })?;
    if changed == 0 {
        return Err(Invalid::one("status", "合同刚被其他人办理，请刷新后重试").into());
    }
    // Service from the day it ends is no longer priced under it.
    let last = on.pred_opt().unwrap_or(on);
    let stopped = on_conn!(&mut conn, |cn| {
        sqlx::query(
            "UPDATE service_prices SET valid_to = $2 WHERE contract_id = $1 \
             AND (valid_to IS NULL OR valid_to > $2)",
        )
        .bind(id)
        .bind(last)
        .execute(&mut *cn)
        .await
        .map(|r| r.rows_affected())
    })?;
    let event = Event::new(
        "purchase_contract.terminate",
        "purchase_project",
        project.id,
    )
    .region(Some(project.region))
    .detail(json!({
        "contract_no": contract.input.contract_no, "terminated_on": on, "reason": reason,
        "prices_stopped": stopped,
    }));
    audit::append(&mut conn, w.chain, w.actor, event, w.now).await?;
    tx.commit().await?;
    Ok(())
}

/// The contracts of a project.
pub async fn of_project(conn: &mut Conn<'_>, project_id: Uuid) -> Result<Vec<Contract>, DbError> {
    let rows: Vec<Row> = on_conn!(conn, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{COLUMNS} WHERE project_id = $1 ORDER BY created_at, id"
        )))
        .bind(project_id)
        .fetch_all(&mut *c)
        .await
    })?;
    rows.into_iter().map(Contract::try_from).collect()
}

/// Records the contract signed for `award_id`: its prices become the provider's settlement
/// prices over the term (refused, naming the item, where another price of the provider is in
/// force), the project moves to 合同履行中 once every award has its contract. One transaction.
pub async fn sign(w: &WriteCtx<'_>, award_id: Uuid, c: &ContractInput) -> Result<Uuid, DbError> {
    if !w.actor.may(Permission::PlanPurchases) {
        return Err(DbError::Forbidden("签订购买服务合同".into()));
    }
    let mut tx = w.db.begin().await?;
    let mut conn = tx.conn();
    let award = selection::award_by_id(&mut conn, award_id)
        .await?
        .ok_or(DbError::NotFound)?;
    let scope = &w.actor.scope;
    if scope.provider_id().is_some() {
        return Err(DbError::NotFound);
    }
    let p = projects::get(&mut conn, scope, award.project_id)
        .await?
        .ok_or(DbError::NotFound)?;
    if p.status != ProjectStatus::Awarded {
        return Err(
            Invalid::one("status", format!("项目{}，不能签订合同", p.status.label())).into(),
        );
    }
    if c.ceiling_fen > award.value_fen {
        return Err(Invalid::one("ceiling_fen", "合同金额不能超过中标（成交）金额").into());
    }
    let exists: Option<Uuid> = on_conn!(&mut conn, |cn| {
        sqlx::query_scalar("SELECT id FROM purchase_contracts WHERE award_id = $1")
            .bind(award_id)
            .fetch_optional(&mut *cn)
            .await
    })?;
    if exists.is_some() {
        return Err(
            Invalid::one("award_id", format!("{}的合同已经登记", award.provider_name)).into(),
        );
    }
    let id = Uuid::now_v7();
    on_conn!(&mut conn, |cn| {
        sqlx::query(
            "INSERT INTO purchase_contracts (id, project_id, award_id, provider_id, contract_no, ceiling_fen, start_on, end_on, \
             signed_on, payment_terms, body, status, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'active', $12, $13)",
        )
        .bind(id).bind(p.id).bind(award_id).bind(award.provider_id).bind(&c.contract_no).bind(c.ceiling_fen)
        .bind(c.start).bind(c.end).bind(c.signed_on).bind(c.payment_terms.as_str())
        .bind(serde_json::to_string(c).unwrap_or_default()).bind(w.actor.user_id).bind(w.now)
        .execute(&mut *cn).await.map(|r| r.rows_affected())
    })
    .map_err(DbError::from)
    .map_err(|e| {
        if e.is_conflict_on("purchase_contracts.contract_no") {
            DbError::from(Invalid::one("contract_no", format!("合同编号“{}”已经登记", c.contract_no)))
        } else {
            e
        }
    })?;
    providers::lock(&mut conn, award.provider_id).await?;
    let basis = format!("购买服务合同 {}", c.contract_no);
    for (i, price) in c.prices.iter().enumerate() {
        let checked = CheckedPrice {
            item: &price.item_code,
            from: c.start,
            to: Some(c.end),
            unit_fen: price.unit_fen,
            min_minutes: price.min_minutes as i32,
            needs_certificate: price.needs_certificate,
            basis: &basis,
            contract_id: Some(id),
        };
        insert_locked(
            &mut conn,
            award.provider_id,
            &checked,
            w.actor.user_id,
            w.now,
        )
        .await
        .map_err(|e| match e {
            PriceError::PriceClash(m) => {
                DbError::from(Invalid::one(&format!("prices[{i}].item_code"), m))
            }
            PriceError::PriceDb(e) => e,
        })?;
    }
    let open: i64 = on_conn!(&mut conn, |cn| {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM purchase_awards a WHERE a.project_id = $1 \
             AND NOT EXISTS (SELECT 1 FROM purchase_contracts k WHERE k.award_id = a.id)",
        )
        .bind(p.id)
        .fetch_one(&mut *cn)
        .await
    })?;
    if open == 0 {
        projects::set_status(
            &mut conn,
            p.id,
            ProjectStatus::Awarded,
            ProjectStatus::Contracted,
            w.now,
        )
        .await?;
    }
    let event = Event::new("purchase_contract.sign", "purchase_project", p.id)
        .region(Some(p.region))
        .detail(json!({
            "contract": id, "contract_no": c.contract_no, "provider": award.provider_name,
            "ceiling_fen": c.ceiling_fen, "prices": c.prices.len(),
        }));
    audit::append(&mut conn, w.chain, w.actor, event, w.now).await?;
    tx.commit().await?;
    Ok(id)
}

/// Finance records that a contract was filed with it (合同报同级财政部门备案) on `on`.
pub async fn file(w: &WriteCtx<'_>, id: Uuid, on: NaiveDate) -> Result<(), DbError> {
    if !w.actor.may(Permission::ApprovePurchases) {
        return Err(DbError::Forbidden("合同备案".into()));
    }
    if on > jinglao_domain::clock::china_date(w.now) {
        return Err(Invalid::one("filed_on", "备案日期不能晚于今天").into());
    }
    let mut tx = w.db.begin().await?;
    let mut conn = tx.conn();
    let row: Option<Row> = on_conn!(&mut conn, |cn| {
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{COLUMNS} WHERE id = $1")))
            .bind(id)
            .fetch_optional(&mut *cn)
            .await
    })?;
    let contract = Contract::try_from(row.ok_or(DbError::NotFound)?)?;
    let p = projects::get(&mut conn, &w.actor.scope, contract.project_id)
        .await?
        .ok_or(DbError::NotFound)?;
    if matches!(w.actor.scope, Scope::Provider { .. }) {
        return Err(DbError::NotFound);
    }
    if contract.filed_on.is_some() {
        return Err(Invalid::one("filed_on", "该合同已经备案").into());
    }
    if on < contract.input.signed_on {
        return Err(Invalid::one("filed_on", "备案日期不能早于签订日期").into());
    }
    on_conn!(&mut conn, |cn| {
        sqlx::query("UPDATE purchase_contracts SET filed_on = $2, filed_by = $3 WHERE id = $1")
            .bind(id)
            .bind(on)
            .bind(w.actor.user_id)
            .execute(&mut *cn)
            .await
            .map(|r| r.rows_affected())
    })?;
    let event = Event::new("purchase_contract.file", "purchase_project", p.id)
        .region(Some(p.region))
        .detail(json!({ "contract_no": contract.input.contract_no, "filed_on": on }));
    audit::append(&mut conn, w.chain, w.actor, event, w.now).await?;
    tx.commit().await?;
    Ok(())
}
