//! Monthly settlement statements (月度结算对账单): the list in scope, generating a month for a
//! provider (finance, county and city staff), one statement with every visit listed, the steps
//! (the provider confirms or disputes; the bureau re-opens, approves and records the payment),
//! and the payment record as XLSX for the treasury.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jinglao_db::statements::{self, LineDetail, Listed, Statement, Step};
use jinglao_db::{DbError, providers};
use jinglao_domain::clock::format_local;
use jinglao_domain::order::Funding;
use jinglao_domain::settlement::yuan;
use jinglao_domain::{Invalid, Permission, Scope};
use serde::Deserialize;
use uuid::Uuid;

use super::{FormErrors, PageCtx};
use crate::auth::{CurrentUser, PageUser};
use crate::error::{AppError, PageError, render, render_with_status};
use crate::request::RequestMeta;
use crate::state::AppState;

fn may_view(user: &CurrentUser) -> Result<(), AppError> {
    if user.can(Permission::SettleServices)
        || (user.can(Permission::ManageFacilities) && matches!(user.scope, Scope::Provider { .. }))
    {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

fn funding_label(f: &str) -> &'static str {
    Funding::parse(f).map_or("未知", |f| f.label())
}

/// A list row, formatted.
pub struct Row {
    s: Listed,
    total: String,
    status: &'static str,
    funding: &'static str,
}

/// The run form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RunForm {
    provider_id: String,
    month: String,
    funding: String,
}

/// `GET /statements`.
#[derive(Template)]
#[template(path = "statements/index.html")]
pub struct ListPage {
    ctx: PageCtx,
    errors: FormErrors,
    rows: Vec<Row>,
    providers: Vec<(Uuid, String)>,
    form: RunForm,
    can_run: bool,
}

/// Filter.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    month: String,
}

async fn list_page(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    month: Option<&str>,
    errors: FormErrors,
    form: RunForm,
) -> Result<ListPage, PageError> {
    let mut c = state.db.acquire().await?;
    let rows = statements::list(&mut c.conn(), &user.scope, month)
        .await?
        .into_iter()
        .map(|s| Row {
            total: yuan(s.statement.total_fen),
            status: statements::status_label(&s.statement.status),
            funding: funding_label(&s.statement.funding),
            s,
        })
        .collect();
    let can_run = user.can(Permission::SettleServices);
    let providers = if can_run {
        providers::list(&mut c.conn(), &user.scope)
            .await?
            .into_iter()
            .map(|p| (p.id, p.name))
            .collect()
    } else {
        Vec::new()
    };
    Ok(ListPage {
        ctx: ctx.with_errors(&errors),
        errors,
        rows,
        providers,
        form,
        can_run,
    })
}

/// `GET /statements`
pub async fn index(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    may_view(&user)?;
    let month = Some(q.month.trim()).filter(|m| !m.is_empty());
    let form = RunForm {
        funding: Funding::Entitlement.as_str().into(),
        ..RunForm::default()
    };
    render(&list_page(&state, ctx, &user, month, FormErrors::new(), form).await?)
}

/// `POST /statements`: generate (or bring up to date) a month's statement.
pub async fn run(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    Form(form): Form<RunForm>,
) -> Result<Response, PageError> {
    user.require(Permission::SettleServices)?;
    let result = async {
        let provider = Uuid::parse_str(form.provider_id.trim())
            .map_err(|_| Invalid::one("provider_id", "请选择服务机构"))?;
        let funding = Funding::parse(form.funding.trim())
            .ok_or_else(|| Invalid::one("funding", "请选择资金来源"))?;
        let (db, key) = (&state.db, &state.keys.audit_chain);
        let now = state.clock.now();
        statements::run(
            db,
            key,
            &user.actor(&meta),
            provider,
            form.month.trim(),
            funding,
            now,
        )
        .await
    }
    .await;
    match result {
        Ok(r) => Ok(Redirect::to(&format!(
            "/statements/{}?notice=statement_run&added={}&unpriced={}",
            r.statement.id,
            r.added,
            r.unpriced.len()
        ))
        .into_response()),
        Err(DbError::Invalid(errors)) => {
            let page = list_page(&state, ctx, &user, None, errors, form).await?;
            render_with_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(AppError::from(e).into()),
    }
}

/// One line, formatted.
pub struct LineRow {
    l: LineDetail,
    amount: String,
    when: String,
    adjustment: bool,
}

/// `GET /statements/{id}`.
#[derive(Template)]
#[template(path = "statements/show.html")]
pub struct ShowPage {
    ctx: PageCtx,
    errors: FormErrors,
    s: Statement,
    provider_name: String,
    total: String,
    status: &'static str,
    funding: &'static str,
    lines: Vec<LineRow>,
    provider_side: bool,
    bureau_side: bool,
}

async fn load(
    state: &AppState,
    user: &CurrentUser,
    id: Uuid,
) -> Result<(Statement, String, Vec<LineDetail>), PageError> {
    let mut c = state.db.acquire().await?;
    let s = statements::get(&mut c.conn(), &user.scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let name = providers::get(&mut c.conn(), &Scope::All, s.provider_id)
        .await?
        .map(|p| p.name)
        .unwrap_or_default();
    let lines = statements::lines_detail(&mut c.conn(), id).await?;
    Ok((s, name, lines))
}

async fn show_page(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    id: Uuid,
    errors: FormErrors,
) -> Result<ShowPage, PageError> {
    let (s, provider_name, lines) = load(state, user, id).await?;
    let lines = lines
        .into_iter()
        .map(|l| LineRow {
            amount: yuan(l.line.amount_fen),
            when: format_local(l.in_at),
            adjustment: l.line.service_month != s.service_month,
            l,
        })
        .collect();
    Ok(ShowPage {
        ctx: ctx.with_errors(&errors),
        errors,
        total: yuan(s.total_fen),
        status: statements::status_label(&s.status),
        funding: funding_label(&s.funding),
        provider_side: matches!(user.scope, Scope::Provider { .. })
            && user.can(Permission::ManageFacilities),
        bureau_side: user.can(Permission::SettleServices),
        provider_name,
        lines,
        s,
    })
}

fn parse_id(id: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(id.trim().trim_end_matches(".xlsx")).map_err(|_| AppError::NotFound)
}

/// `GET /statements/{id}`
pub async fn show(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    may_view(&user)?;
    if id.ends_with(".xlsx") {
        return xlsx(&state, &user, parse_id(&id)?).await;
    }
    render(&show_page(&state, ctx, &user, parse_id(&id)?, FormErrors::new()).await?)
}

/// The step form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StepForm {
    step: String,
    reason: String,
    payment_ref: String,
}

/// `POST /statements/{id}/step`
pub async fn step(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    Path(id): Path<String>,
    Form(form): Form<StepForm>,
) -> Result<Response, PageError> {
    may_view(&user)?;
    let id = parse_id(&id)?;
    let reason = form.reason.trim().to_string();
    let step = match form.step.as_str() {
        "confirm" => Step::Confirm,
        "dispute" => Step::Dispute(reason),
        "reopen" => Step::Reopen(reason),
        "approve" => Step::Approve,
        "pay" => Step::Pay(form.payment_ref.trim().to_string()),
        _ => return Err(AppError::from(Invalid::one("step", "未知的操作")).into()),
    };
    let (db, key) = (&state.db, &state.keys.audit_chain);
    match statements::advance(db, key, &user.actor(&meta), id, &step, state.clock.now()).await {
        Ok(_) => Ok(Redirect::to(&format!("/statements/{id}?notice=saved")).into_response()),
        Err(DbError::Invalid(errors)) => {
            let page = show_page(&state, ctx, &user, id, errors).await?;
            render_with_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(AppError::from(e).into()),
    }
}

/// The payment record for the treasury: the head, then every line.
async fn xlsx(state: &AppState, user: &CurrentUser, id: Uuid) -> Result<Response, PageError> {
    let (s, provider_name, lines) = load(state, user, id).await?;
    let bytes = workbook(&s, &provider_name, &lines)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("statement workbook: {e}")))?;
    let name = format!(
        "对账单-{provider_name}-{}-{}.xlsx",
        s.service_month,
        funding_label(&s.funding)
    );
    Ok(crate::download::attachment(
        crate::download::XLSX,
        "statement.xlsx",
        &name,
        bytes,
    ))
}

fn workbook(
    s: &Statement,
    provider: &str,
    lines: &[LineDetail],
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("0.00");
    let sheet = wb.add_worksheet();
    sheet.set_name("对账单")?;
    let head = [
        ("服务机构", provider.to_string()),
        ("服务月份", s.service_month.clone()),
        ("资金来源", funding_label(&s.funding).to_string()),
        ("状态", statements::status_label(&s.status).to_string()),
        ("明细行数", s.line_count.to_string()),
        ("支付凭证号", s.payment_ref.clone().unwrap_or_default()),
    ];
    for (row, (k, v)) in head.iter().enumerate() {
        sheet.write_string_with_format(row as u32, 0, *k, &bold)?;
        sheet.write_string(row as u32, 1, v)?;
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
    for (i, l) in lines.iter().enumerate() {
        let r = 9 + i as u32;
        sheet.write_string(r, 0, l.line.service_on.to_string())?;
        sheet.write_string(r, 1, &l.line.service_month)?;
        sheet.write_string(r, 2, &l.line.item_code)?;
        sheet.write_string(r, 3, &l.elder_name)?;
        sheet.write_string(r, 4, &l.caregiver_name)?;
        sheet.write_string(r, 5, format_local(l.in_at))?;
        sheet.write_string(r, 6, l.out_at.map(format_local).unwrap_or_default())?;
        sheet.write_string(
            r,
            7,
            if l.visit_status == "accepted" {
                "人工核查通过"
            } else {
                "自动核验通过"
            },
        )?;
        sheet.write_number_with_format(r, 8, l.line.amount_fen as f64 / 100.0, &money)?;
        sheet.write_string(r, 9, l.line.visit_id.to_string())?;
    }
    wb.save_to_buffer()
}
