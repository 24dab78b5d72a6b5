//! Monthly statements over the API: the list (cursor-paged, filtered by month, status,
//! provider and region), generating a month, one statement with every line, moving it one
//! step (confirm, dispute, reopen, approve, pay) and the payment record as XLSX. Same scope
//! and checks as the statement pages; writes accept an `Idempotency-Key`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use jinglao_db::statements::{self, ListFilter, Statement};

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::idempotency::{IdempotencyKey, once};
use super::paging;
use super::responses::ScopedRead;
use crate::auth::ApiUser;
use crate::error::{ApiError, AppError, ErrorEnvelope};
use crate::request::RequestMeta;
use crate::state::AppState;
use crate::usecase::Acting;
use crate::usecase::home_services::statements::{
    self as usecase, funding_label, parse_step, verification_label,
};

/// A statement's head.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatementDto {
    /// Id.
    pub id: Uuid,
    /// Provider.
    pub provider_id: Uuid,
    /// Provider's name.
    pub provider_name: String,
    /// `2026-11`.
    pub service_month: String,
    /// entitlement | voucher | self_pay | care_insurance.
    pub funding: String,
    /// The funding source in words.
    pub funding_label: String,
    /// draft | confirmed | disputed | approved | paid.
    pub status: String,
    /// The status in words.
    pub status_label: String,
    /// Sum of the lines, fen.
    pub total_fen: i64,
    /// Number of lines.
    pub line_count: i32,
    /// The provider's reason for a dispute.
    pub dispute_reason: Option<String>,
    /// Treasury payment reference, once paid.
    pub payment_ref: Option<String>,
}

impl StatementDto {
    fn new(s: Statement, provider_name: String) -> Self {
        StatementDto {
            funding_label: funding_label(&s.funding).into(),
            status_label: statements::status_label(&s.status).into(),
            id: s.id,
            provider_id: s.provider_id,
            provider_name,
            service_month: s.service_month,
            funding: s.funding,
            status: s.status,
            total_fen: s.total_fen,
            line_count: s.line_count,
            dispute_reason: s.dispute_reason,
            payment_ref: s.payment_ref,
        }
    }
}

/// Filters of the statement list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatementQuery {
    /// One month (`2026-10`).
    pub month: Option<String>,
    /// draft | confirmed | disputed | approved | paid.
    pub status: Option<String>,
    /// One provider.
    pub provider_id: Option<Uuid>,
    /// Providers registered within this region.
    pub region: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Items per page (1–500, default 100).
    pub limit: Option<i64>,
}

/// A page of statements.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatementList {
    /// Newest month first, then by provider.
    pub items: Vec<StatementDto>,
    /// Send as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Statements in my scope.
#[utoipa::path(
    get,
    path = "/statements",
    tag = "home-services",
    security(("bearer" = [])),
    params(StatementQuery),
    responses(
        (status = 200, description = "结算单（分页）", body = StatementList),
        (status = 400, description = "参数无效（指明参数）", body = ErrorEnvelope),
        (status = 401, description = "未提供有效令牌", body = ErrorEnvelope),
        (status = 403, description = "角色无权查看结算单", body = ErrorEnvelope),
    )
)]
pub async fn list_statements(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(q): ApiQuery<StatementQuery>,
) -> Result<axum::Json<StatementList>, ApiError> {
    let limit = paging::limit(q.limit)?;
    let region = paging::region(q.region.as_deref(), "region")?;
    let filter = ListFilter {
        month: q.month.filter(|m| !m.trim().is_empty()),
        status: q.status.filter(|s| !s.trim().is_empty()),
        provider_id: q.provider_id,
        region,
        after: paging::decode(q.cursor.as_deref())?,
    };
    let rows = usecase::list(&state, &user, &filter, limit + 1).await?;
    let (rows, next_cursor) = paging::page(rows, limit, |l| {
        (
            l.statement.service_month.clone(),
            l.provider_name.clone(),
            l.statement.id,
        )
    });
    Ok(axum::Json(StatementList {
        items: rows
            .into_iter()
            .map(|l| StatementDto::new(l.statement, l.provider_name))
            .collect(),
        next_cursor,
    }))
}

/// Generating a month's statement.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// The provider.
    pub provider_id: Uuid,
    /// A month that has ended (`2026-10`).
    pub month: String,
    /// entitlement | voucher | self_pay | care_insurance (default entitlement).
    pub funding: Option<String>,
}

/// What the run did.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunReportDto {
    /// The month's statement.
    pub statement: StatementDto,
    /// Lines added by this run.
    pub added: usize,
    /// Of those, visits from earlier months.
    pub adjustments: usize,
    /// Payable visits with no contract price on their day (not charged).
    pub unpriced: Vec<Uuid>,
    /// Visits charged earlier and since revoked, taken back by a negative line.
    pub reversed: usize,
}

/// Generate (or bring up to date) a provider's statement for a month that has ended.
#[utoipa::path(
    post,
    path = "/statements",
    tag = "home-services",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "重试时带同一个键，得到同一结果")),
    request_body = RunRequest,
    responses(
        (status = 200, description = "已生成或更新", body = RunReportDto),
        ScopedRead,
        (status = 422, description = "月份无效或尚未结束（指明字段）", body = ErrorEnvelope),
    )
)]
pub async fn run_statement(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    key: IdempotencyKey,
    ApiJson(body): ApiJson<RunRequest>,
) -> Response {
    let acting = Acting::new(&state, user, &meta);
    once(
        state,
        acting,
        key,
        "POST /api/v1/statements".to_string(),
        body,
        |state, acting, body| async move {
            let funding = super::orders::funding_or_entitlement(body.funding.as_deref())?;
            // Read before the write: nothing after the commit may fail and lose the answer.
            let provider_name =
                usecase::provider_name(&state, &acting.user, body.provider_id).await?;
            let r = usecase::run(
                &state,
                &acting,
                body.provider_id,
                body.month.trim(),
                funding,
            )
            .await?;
            Ok((
                StatusCode::OK,
                RunReportDto {
                    statement: StatementDto::new(r.statement, provider_name),
                    added: r.added,
                    adjustments: r.adjustments,
                    unpriced: r.unpriced,
                    reversed: r.reversed,
                },
            ))
        },
    )
    .await
}

/// One line: a visit and its amount.
#[derive(Debug, Serialize, ToSchema)]
pub struct LineDto {
    /// The visit.
    pub visit_id: Uuid,
    /// charge | reversal.
    pub kind: String,
    /// Item code.
    pub item_code: String,
    /// Day of the visit (ISO date).
    pub service_on: NaiveDate,
    /// The visit's own month (an adjustment when it differs from the statement's).
    pub service_month: String,
    /// Amount, fen (negative for a reversal).
    pub amount_fen: i64,
    /// The person served.
    pub elder_name: String,
    /// The caregiver.
    pub caregiver_name: String,
    /// Check-in.
    pub checked_in_at: DateTime<Utc>,
    /// Check-out.
    pub checked_out_at: Option<DateTime<Utc>>,
    /// verified | accepted.
    pub visit_status: String,
    /// How the visit was verified, in words.
    pub verification: String,
}

/// A statement with its lines.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatementDetail {
    /// The head.
    #[serde(flatten)]
    pub statement: StatementDto,
    /// Every line, by day.
    pub lines: Vec<LineDto>,
}

/// One statement with every line.
#[utoipa::path(
    get,
    path = "/statements/{id}",
    tag = "home-services",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "结算单编号")),
    responses(
        (status = 200, description = "结算单及明细", body = StatementDetail),
        ScopedRead,
    )
)]
pub async fn show_statement(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<axum::Json<StatementDetail>, ApiError> {
    let v = usecase::show(&state, &user, id).await?;
    Ok(axum::Json(StatementDetail {
        lines: v
            .lines
            .into_iter()
            .map(|l| LineDto {
                verification: verification_label(&l.visit_status).into(),
                visit_id: l.line.visit_id,
                kind: l.line.kind,
                item_code: l.line.item_code,
                service_on: l.line.service_on,
                service_month: l.line.service_month,
                amount_fen: l.line.amount_fen,
                elder_name: l.elder_name,
                caregiver_name: l.caregiver_name,
                checked_in_at: l.in_at,
                checked_out_at: l.out_at,
                visit_status: l.visit_status,
            })
            .collect(),
        statement: StatementDto::new(v.statement, v.provider_name),
    }))
}

/// A step.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepRequest {
    /// confirm | dispute | reopen | approve.
    pub step: String,
    /// Why (dispute, reopen).
    #[serde(default)]
    pub reason: String,
}

/// Move a statement one step: the provider confirms or disputes; the bureau re-opens and
/// approves. Payment is not a step: finance pays approved statements in a treasury batch
/// (`/payment-batches`).
#[utoipa::path(
    post,
    path = "/statements/{id}/steps",
    tag = "home-services",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "结算单编号"),
        ("Idempotency-Key" = Option<String>, Header, description = "重试时带同一个键，得到同一结果"),
    ),
    request_body = StepRequest,
    responses(
        (status = 200, description = "新的状态", body = StatementDto),
        ScopedRead,
        (status = 422, description = "当前状态不能执行这一步或缺少原因（指明字段）", body = ErrorEnvelope),
    )
)]
pub async fn step_statement(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    key: IdempotencyKey,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<StepRequest>,
) -> Response {
    let acting = Acting::new(&state, user, &meta);
    let route = format!("POST /api/v1/statements/{id}/steps");
    once(
        state,
        acting,
        key,
        route,
        body,
        move |state, acting, body| async move {
            let step = parse_step(&body.step, &body.reason).map_err(AppError::from)?;
            // Read before the write: nothing after the commit may fail and lose the answer.
            let view = usecase::show(&state, &acting.user, id).await?;
            let after = usecase::advance(&state, &acting, id, &step).await?;
            Ok((StatusCode::OK, StatementDto::new(after, view.provider_name)))
        },
    )
    .await
}

/// The payment record for the treasury (XLSX): the head, then every line.
#[utoipa::path(
    get,
    path = "/statements/{id}/xlsx",
    tag = "home-services",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "结算单编号")),
    responses(
        (status = 200, description = "对账单 XLSX", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ScopedRead,
    )
)]
pub async fn statement_xlsx(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, ApiError> {
    let view = usecase::show(&state, &user, id).await?;
    Ok(crate::download::attachment(
        crate::download::XLSX,
        "statement.xlsx",
        &usecase::workbook_name(&view),
        usecase::workbook(&view)?,
    ))
}
