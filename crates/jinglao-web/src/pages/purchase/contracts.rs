//! A contract's page (履约管理): the live figures and warnings, acceptances with their reports
//! and the form to record one, early termination, and the year-end evaluations. The JSON
//! endpoints are in `api::v1::contracts`.

use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jinglao_domain::purchase::acceptance::{AcceptanceDraft, AcceptanceKind, AcceptanceResult};
use jinglao_domain::settlement::yuan;
use jinglao_domain::{Invalid, Permission};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::{CurrentUser, PageUser};
use crate::error::{AppError, PageError, render, render_with_status};
use crate::pages::{FormErrors, IdPath, PageCtx};
use crate::request::RequestMeta;
use crate::state::AppState;
use crate::usecase::Acting;
use crate::usecase::purchase::contracts::{self as usecase, ContractView};

/// `GET /purchase/contracts/{id}`.
#[derive(Template)]
#[template(path = "purchase/contract.html")]
pub struct ShowPage {
    ctx: PageCtx,
    errors: FormErrors,
    v: ContractView,
    ceiling: String,
    settled: String,
    paid: String,
    warnings: Vec<String>,
    kinds: Vec<(&'static str, &'static str)>,
    results: Vec<(&'static str, &'static str)>,
    can_manage: bool,
    can_file: bool,
    staff: bool,
    form: AcceptanceDraft,
    today: String,
    end_hint: String,
    today_hint: String,
    signed_hint: String,
    year: i32,
}

async fn show_page(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    id: Uuid,
    errors: FormErrors,
    form: AcceptanceDraft,
) -> Result<ShowPage, PageError> {
    let v = usecase::show(state, user, id).await?;
    let today = state.today();
    Ok(ShowPage {
        ctx: ctx.with_errors(&errors),
        errors,
        ceiling: yuan(v.performance.ceiling_fen),
        settled: yuan(v.performance.settled_fen),
        paid: yuan(v.performance.paid_fen),
        warnings: v.performance.warnings(),
        kinds: AcceptanceKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.label()))
            .collect(),
        results: AcceptanceResult::ALL
            .iter()
            .map(|k| (k.as_str(), k.label()))
            .collect(),
        can_manage: user.can(Permission::PlanPurchases)
            && user.scope.provider_id().is_none()
            && v.contract.status == "active",
        can_file: user.can(Permission::ApprovePurchases)
            && user.scope.provider_id().is_none()
            && v.contract.filed_on.is_none(),
        staff: user.scope.provider_id().is_none()
            && (user.can(Permission::PlanPurchases) || user.can(Permission::ApprovePurchases)),
        form,
        today: today.to_string(),
        end_hint: format!("终期验收填合同终止日 {}", v.contract.input.end),
        today_hint: format!("不晚于今天 {today}"),
        signed_hint: format!("不早于签订日期 {}", v.contract.input.signed_on),
        year: chrono::Datelike::year(&today).min(chrono::Datelike::year(&v.contract.input.end)),
        v,
    })
}

/// `GET /purchase/contracts/{id}`
pub async fn show(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    IdPath(id): IdPath,
) -> Result<Response, PageError> {
    render(
        &show_page(
            &state,
            ctx,
            &user,
            id,
            FormErrors::new(),
            AcceptanceDraft::default(),
        )
        .await?,
    )
}

/// `POST /purchase/contracts/{id}/acceptances` (multipart: the fields and the report).
pub async fn accept(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
    mut multipart: Multipart,
) -> Result<Response, PageError> {
    let limit_mb = jinglao_db::purchase::acceptances::MAX_REPORT_BYTES / 1024 / 1024;
    let mut up = crate::pages::upload::read(&mut multipart, "report", "验收报告", limit_mb).await?;
    let draft = AcceptanceDraft {
        kind: up.text("kind").into(),
        period_end: up.text("period_end").into(),
        inspected_on: up.text("inspected_on").into(),
        inspectors: up.text("inspectors").into(),
        third_party: up.text("third_party").into(),
        findings: up.text("findings").into(),
        result: up.text("result").into(),
        deduction_yuan: up.text("deduction_yuan").into(),
        deduction_fen: None,
    };
    let file = up.take_file();
    let acting = Acting::new(&state, user.clone(), &meta);
    let result = usecase::accept(
        &state,
        &acting,
        id,
        &draft,
        file.as_ref().map(|(n, b)| (n.as_str(), b.as_slice())),
    )
    .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!(
            "/purchase/contracts/{id}?notice=acceptance_recorded"
        ))
        .into_response()),
        Err(AppError::Invalid(errors)) => render_with_status(
            &show_page(&state, ctx, &user, id, errors, draft).await?,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => Err(e.into()),
    }
}

/// `GET /purchase/contracts/{id}/acceptances/{acceptance}/report`
pub async fn report(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    meta: RequestMeta,
    Path((id, acceptance)): Path<(Uuid, Uuid)>,
) -> Result<Response, PageError> {
    let acting = Acting::new(&state, user, &meta);
    let (r, bytes) = usecase::report(&state, &acting, id, acceptance).await?;
    Ok(crate::download::attachment(
        &r.content_type,
        "report",
        &r.name,
        bytes,
    ))
}

/// The termination form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TerminateForm {
    on: String,
    reason: String,
}

/// `POST /purchase/contracts/{id}/terminate`
pub async fn terminate(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<TerminateForm>,
) -> Result<Response, PageError> {
    let acting = Acting::new(&state, user.clone(), &meta);
    let result = match chrono::NaiveDate::parse_from_str(form.on.trim(), "%Y-%m-%d") {
        Ok(on) => usecase::terminate(&state, &acting, id, on, &form.reason).await,
        Err(_) => Err(AppError::Invalid(Invalid::one(
            "terminated_on",
            "请填写解除日期，格式如 2026-12-31",
        ))),
    };
    again(
        &state,
        ctx,
        &user,
        id,
        result.map(|_| "contract_terminated".to_string()),
    )
    .await
}

/// The evaluation form on the contract page.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct OpenForm {
    year: String,
    survey_size: String,
}

/// `POST /purchase/contracts/{id}/evaluations`
pub async fn open_evaluation(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<OpenForm>,
) -> Result<Response, PageError> {
    let acting = Acting::new(&state, user.clone(), &meta);
    let year = form.year.trim().parse::<i32>();
    let size = form.survey_size.trim().parse::<usize>();
    let result = match (year, size) {
        (Ok(y), Ok(n)) => usecase::open(&state, &acting, id, y, n).await,
        (Err(_), _) => Err(AppError::Invalid(Invalid::one(
            "year",
            "请填写评价年度，如 2026",
        ))),
        (_, Err(_)) => Err(AppError::Invalid(Invalid::one(
            "survey_size",
            "请填写电话回访抽样人数",
        ))),
    };
    match result {
        Ok(e) => Ok(Redirect::to(&format!("/purchase/evaluations/{e}")).into_response()),
        Err(e) => again(&state, ctx, &user, id, Err(e)).await,
    }
}

async fn again(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    id: Uuid,
    result: Result<String, AppError>,
) -> Result<Response, PageError> {
    match result {
        Ok(notice) => {
            Ok(Redirect::to(&format!("/purchase/contracts/{id}?notice={notice}")).into_response())
        }
        Err(AppError::Invalid(errors)) => render_with_status(
            &show_page(state, ctx, user, id, errors, AcceptanceDraft::default()).await?,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => Err(e.into()),
    }
}

/// The filing form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct FilingForm {
    filed_on: String,
}

/// `POST /purchase/contracts/{id}/filing` (finance).
pub async fn file(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<FilingForm>,
) -> Result<Response, PageError> {
    let acting = Acting::new(&state, user.clone(), &meta);
    let result = match chrono::NaiveDate::parse_from_str(form.filed_on.trim(), "%Y-%m-%d") {
        Ok(on) => usecase::file(&state, &acting, id, on).await,
        Err(_) => Err(AppError::Invalid(Invalid::one(
            "filed_on",
            "请填写备案日期，格式如 2026-12-31",
        ))),
    };
    again(
        &state,
        ctx,
        &user,
        id,
        result.map(|_| "contract_filed".to_string()),
    )
    .await
}
