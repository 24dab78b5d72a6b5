//! Monthly settlement statements (月度结算对账单): the list in scope, generating a month for a
//! provider (finance, county and city staff), one statement with every visit listed, the steps
//! (the provider confirms or disputes; the bureau re-opens and approves; finance pays through a
//! treasury batch, `pages::purchase::payments`),
//! and the payment record as XLSX for the treasury.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jinglao_db::statements::{self, LineDetail, ListFilter, Listed, Statement};
use jinglao_db::{DbError, providers};
use jinglao_domain::clock::format_local;
use jinglao_domain::order::Funding;
use jinglao_domain::settlement::yuan;
use jinglao_domain::{Invalid, Permission};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::can::{PageCan, need};
use crate::auth::{CurrentUser, PageUser};
use crate::error::{AppError, PageError, render, render_with_status};
use crate::pages::IdPath;
use crate::pages::answer_form;
use crate::pages::{FormErrors, PageCtx};
use crate::request::RequestMeta;
use crate::state::AppState;
use crate::usecase::Acting;
use crate::usecase::home_services::statements::{
    self as usecase, StatementView, funding_label, may_view, parse_step,
};

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
    let filter = ListFilter {
        month: month.map(str::to_string),
        ..ListFilter::default()
    };
    let rows = usecase::list(state, user, &filter, 500)
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
        let mut c = state.db.acquire().await?;
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
    PageCan(user, _): PageCan<need::SettleServices>,
    meta: RequestMeta,
    Form(form): Form<RunForm>,
) -> Result<Response, PageError> {
    let acting = Acting::new(&state, user.clone(), &meta);
    let result = async {
        let provider = Uuid::parse_str(form.provider_id.trim())
            .map_err(|_| Invalid::one("provider_id", "请选择服务机构"))?;
        let funding = Funding::parse(form.funding.trim())
            .ok_or_else(|| Invalid::one("funding", "请选择资金来源"))?;
        usecase::run(&state, &acting, provider, form.month.trim(), funding).await
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
    /// Item names by code.
    names: jinglao_domain::service_list::ItemNames,
}

async fn show_page(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    id: Uuid,
    errors: FormErrors,
) -> Result<ShowPage, PageError> {
    let StatementView {
        statement: s,
        provider_name,
        lines,
    } = usecase::show(state, user, id).await?;
    let names =
        jinglao_db::service_lists::item_names(&mut state.db.acquire().await?.conn()).await?;
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
        names,
        ctx: ctx.with_errors(&errors),
        errors,
        total: yuan(s.total_fen),
        status: statements::status_label(&s.status),
        funding: funding_label(&s.funding),
        provider_side: usecase::provider_side(user),
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
}

/// `POST /statements/{id}/step`
pub async fn step(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<StepForm>,
) -> Result<Response, PageError> {
    may_view(&user)?;
    let step = parse_step(&form.step, &form.reason).map_err(AppError::from)?;
    let acting = Acting::new(&state, user.clone(), &meta);
    answer_form(
        usecase::advance(&state, &acting, id, &step).await,
        |_| format!("/statements/{id}?notice=saved"),
        async |errors| show_page(&state, ctx, &user, id, errors).await,
    )
    .await
}

/// The payment record for the treasury.
async fn xlsx(state: &AppState, user: &CurrentUser, id: Uuid) -> Result<Response, PageError> {
    let view = usecase::show(state, user, id).await?;
    Ok(crate::download::attachment(
        crate::download::XLSX,
        "statement.xlsx",
        &usecase::workbook_name(&view),
        usecase::workbook(&view)?,
    ))
}
