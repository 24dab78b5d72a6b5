//! Monthly settlement statements (月度结算对账单): listing them, reading one with every
//! visit charged, generating a month for a provider, moving a statement one step (the provider
//! confirms or disputes; the bureau re-opens, approves and records the payment), and the
//! payment record as XLSX for the treasury.
//!
//! Who may look: settlement staff within their region, and a provider's own administrator for
//! its own statements. Who may act is checked again by storage for each step.

use jinglao_db::providers;
use jinglao_db::statements::{self, LineDetail, ListFilter, Listed, RunReport, Statement, Step};
use jinglao_domain::clock::format_local;
use jinglao_domain::order::Funding;
use jinglao_domain::{Permission, Scope};
use uuid::Uuid;

use super::super::Acting;
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;

/// Whether `user` may see statements at all.
pub fn may_view(user: &CurrentUser) -> Result<(), AppError> {
    if user.can(Permission::SettleServices) || provider_side(user) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

/// Whether `user` is a provider's own administrator (who confirms or disputes).
pub fn provider_side(user: &CurrentUser) -> bool {
    user.can(Permission::ManageFacilities) && matches!(user.scope, Scope::Provider { .. })
}

/// A funding source's name in words.
pub fn funding_label(f: &str) -> &'static str {
    Funding::parse(f).map_or("未知", |f| f.label())
}

/// Statements `user` may see, filtered, at most `limit`.
pub async fn list(
    state: &AppState,
    user: &CurrentUser,
    filter: &ListFilter,
    limit: i64,
) -> Result<Vec<Listed>, AppError> {
    may_view(user)?;
    let mut c = state.db.acquire().await?;
    Ok(statements::list(&mut c.conn(), &user.scope, filter, limit).await?)
}

/// One statement with its provider's name and every line.
#[derive(Debug, Clone)]
pub struct StatementView {
    /// The head.
    pub statement: Statement,
    /// The provider's name.
    pub provider_name: String,
    /// The lines with names, by day.
    pub lines: Vec<LineDetail>,
}

/// The head of statement `id` and its provider's name, if `user` may see it (otherwise 404,
/// as if it did not exist).
pub async fn head(
    state: &AppState,
    user: &CurrentUser,
    id: Uuid,
) -> Result<(Statement, String), AppError> {
    may_view(user)?;
    let mut c = state.db.acquire().await?;
    let statement = statements::get(&mut c.conn(), &user.scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let provider_name = providers::get(&mut c.conn(), &Scope::All, statement.provider_id)
        .await?
        .map(|p| p.name)
        .unwrap_or_default();
    Ok((statement, provider_name))
}

/// The statement `id` with every line, if `user` may see it.
pub async fn show(
    state: &AppState,
    user: &CurrentUser,
    id: Uuid,
) -> Result<StatementView, AppError> {
    let (statement, provider_name) = head(state, user, id).await?;
    let mut c = state.db.acquire().await?;
    let lines = statements::lines_detail(&mut c.conn(), id).await?;
    Ok(StatementView {
        statement,
        provider_name,
        lines,
    })
}

/// The name of a provider within `user`'s reach (404 otherwise).
pub async fn provider_name(
    state: &AppState,
    user: &CurrentUser,
    provider_id: Uuid,
) -> Result<String, AppError> {
    let mut c = state.db.acquire().await?;
    Ok(providers::get(&mut c.conn(), &user.scope, provider_id)
        .await?
        .ok_or(AppError::NotFound)?
        .name)
}

/// Generates (or brings up to date) `month`'s statement of a provider for one funding source.
pub async fn run(
    state: &AppState,
    acting: &Acting,
    provider_id: Uuid,
    month: &str,
    funding: Funding,
) -> Result<RunReport, jinglao_db::DbError> {
    if !acting.user.can(Permission::SettleServices) {
        return Err(jinglao_db::DbError::Forbidden(
            "您的角色不能生成结算单".into(),
        ));
    }
    statements::run(
        &state.db,
        &state.keys.audit_chain,
        &acting.actor,
        provider_id,
        month,
        funding,
        acting.now,
    )
    .await
}

/// Moves statement `id` one step.
pub async fn advance(
    state: &AppState,
    acting: &Acting,
    id: Uuid,
    step: &Step,
) -> Result<Statement, jinglao_db::DbError> {
    may_view(&acting.user).map_err(|_| jinglao_db::DbError::NotFound)?;
    statements::advance(
        &state.db,
        &state.keys.audit_chain,
        &acting.actor,
        id,
        step,
        acting.now,
    )
    .await
}

/// A step named as the page's buttons and the API name it, with its text.
pub fn parse_step(step: &str, reason: &str) -> Result<Step, jinglao_domain::Invalid> {
    let reason = reason.trim().to_string();
    Ok(match step.trim() {
        "confirm" => Step::Confirm,
        "dispute" => Step::Dispute(reason),
        "reopen" => Step::Reopen(reason),
        "approve" => Step::Approve,
        "pay" => {
            return Err(jinglao_domain::Invalid::one(
                "step",
                "结算单由财务人员放进国库支付批次，收到国库的支付确认后才记为已支付，不能直接登记",
            ));
        }
        _ => {
            return Err(jinglao_domain::Invalid::one(
                "step",
                "未知的操作：应为 confirm、dispute、reopen 或 approve",
            ));
        }
    })
}

/// The XLSX file's name: 对账单-<provider>-<month>-<funding>.xlsx.
pub fn workbook_name(v: &StatementView) -> String {
    format!(
        "对账单-{}-{}-{}.xlsx",
        v.provider_name,
        v.statement.service_month,
        funding_label(&v.statement.funding)
    )
}

/// The payment record for the treasury: the head, then every line.
pub fn workbook(v: &StatementView) -> Result<Vec<u8>, AppError> {
    build_workbook(v).map_err(|e| AppError::Internal(anyhow::anyhow!("statement workbook: {e}")))
}

fn build_workbook(v: &StatementView) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let s = &v.statement;
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("0.00");
    let sheet = wb.add_worksheet();
    sheet.set_name("对账单")?;
    let head = [
        ("服务机构", v.provider_name.clone()),
        ("服务月份", s.service_month.clone()),
        ("资金来源", funding_label(&s.funding).to_string()),
        ("状态", statements::status_label(&s.status).to_string()),
        ("明细行数", s.line_count.to_string()),
        ("支付凭证号", s.payment_ref.clone().unwrap_or_default()),
    ];
    for (row, (k, val)) in head.iter().enumerate() {
        sheet.write_string_with_format(row as u32, 0, *k, &bold)?;
        sheet.write_string(row as u32, 1, val)?;
    }
    sheet.write_string_with_format(6, 0, "合计（元）", &bold)?;
    sheet.write_number_with_format(6, 1, s.total_fen as f64 / 100.0, &money)?;
    let columns = [
        "服务日期",
        "服务月份",
        "服务项目",
        "老人",
        "护理员",
        "签到",
        "签退",
        "核验",
        "金额（元）",
        "服务记录编号",
    ];
    for (c, h) in columns.iter().enumerate() {
        sheet.write_string_with_format(8, c as u16, *h, &bold)?;
        sheet.set_column_width(c as u16, if c == 9 { 38 } else { 14 })?;
    }
    for (i, l) in v.lines.iter().enumerate() {
        let r = 9 + i as u32;
        sheet.write_string(r, 0, l.line.service_on.to_string())?;
        sheet.write_string(r, 1, &l.line.service_month)?;
        sheet.write_string(r, 2, &l.line.item_code)?;
        sheet.write_string(r, 3, &l.elder_name)?;
        sheet.write_string(r, 4, &l.caregiver_name)?;
        sheet.write_string(r, 5, format_local(l.in_at))?;
        sheet.write_string(r, 6, l.out_at.map(format_local).unwrap_or_default())?;
        sheet.write_string(r, 7, verification_label(&l.visit_status))?;
        sheet.write_number_with_format(r, 8, l.line.amount_fen as f64 / 100.0, &money)?;
        sheet.write_string(r, 9, l.line.visit_id.to_string())?;
    }
    wb.save_to_buffer()
}

/// How a charged visit was verified, in words.
pub fn verification_label(visit_status: &str) -> &'static str {
    if visit_status == "accepted" {
        "人工核查通过"
    } else {
        "自动核验通过"
    }
}
