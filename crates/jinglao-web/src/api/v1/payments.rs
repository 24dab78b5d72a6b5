//! Treasury payment batches over the API (finance only): what can be paid, making a batch, the
//! batch file for the treasury, and the treasury's confirmation — the only way a statement
//! becomes paid. Scoped to the caller's subtree like the pages.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use jinglao_db::purchase::payments::{Batch, BatchLine, Confirmed, Payable};
use jinglao_domain::Invalid;
use jinglao_domain::purchase::payment::{CONFIRMATION_HEADERS, RowProblem};
use jinglao_domain::tabular::Table;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::responses::ScopedRead;
use crate::auth::can::{ApiCan, need};
use crate::error::{ApiError, AppError, ErrorEnvelope};
use crate::request::RequestMeta;
use crate::state::AppState;
use crate::usecase::Acting;
use crate::usecase::purchase::payments as usecase;

/// An approved statement's amount under one contract, ready for a batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct PayableDto {
    /// Statement.
    pub statement_id: Uuid,
    /// Provider.
    pub provider_name: String,
    /// Month served (`2026-11`).
    pub service_month: String,
    /// Contract number.
    pub contract_no: String,
    /// Amount, fen.
    pub amount_fen: i64,
}

impl From<Payable> for PayableDto {
    fn from(p: Payable) -> Self {
        PayableDto {
            statement_id: p.statement_id,
            provider_name: p.provider_name,
            service_month: p.service_month,
            contract_no: p.contract_no,
            amount_fen: p.amount_fen,
        }
    }
}

/// A batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchDto {
    /// Id.
    pub id: Uuid,
    /// 批次号.
    pub batch_no: String,
    /// Lines.
    pub line_count: i32,
    /// Sum, fen.
    pub total_fen: i64,
    /// `open` (waiting for the treasury) or `closed` (every line answered).
    pub status: String,
    /// Made at.
    pub created_at: DateTime<Utc>,
}

impl From<Batch> for BatchDto {
    fn from(b: Batch) -> Self {
        BatchDto {
            id: b.id,
            batch_no: b.batch_no,
            line_count: b.line_count,
            total_fen: b.total_fen,
            status: b.status,
            created_at: b.created_at,
        }
    }
}

/// One line of a batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchLineDto {
    /// 序号.
    pub seq: i32,
    /// Statement.
    pub statement_id: Uuid,
    /// Month served.
    pub service_month: String,
    /// Contract number.
    pub contract_no: String,
    /// Payee.
    pub payee_name: String,
    /// Bank.
    pub payee_bank: String,
    /// Account number.
    pub payee_account: String,
    /// Amount, fen.
    pub amount_fen: i64,
    /// Funding source.
    pub funding_source: String,
    /// `pending`, `paid` or `failed`.
    pub status: String,
    /// Voucher, once paid.
    pub voucher_no: Option<String>,
    /// Paid on.
    pub paid_on: Option<NaiveDate>,
    /// Why it failed.
    pub failure_reason: Option<String>,
}

impl From<BatchLine> for BatchLineDto {
    fn from(l: BatchLine) -> Self {
        BatchLineDto {
            seq: l.seq,
            statement_id: l.statement_id,
            service_month: l.service_month,
            contract_no: l.contract_no,
            payee_name: l.payee_name,
            payee_bank: l.payee_bank,
            payee_account: l.payee_account,
            amount_fen: l.amount_fen,
            funding_source: l.funding_source,
            status: l.status,
            voucher_no: l.voucher_no,
            paid_on: l.paid_on,
            failure_reason: l.failure_reason,
        }
    }
}

/// A batch with its lines.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchDetailDto {
    /// The batch.
    pub batch: BatchDto,
    /// Its lines.
    pub lines: Vec<BatchLineDto>,
}

/// Approved statements' amounts not yet paid or waiting in a batch, per contract.
#[utoipa::path(
    get,
    path = "/payment-batches/payable",
    tag = "payments",
    security(("bearer" = [])),
    responses((status = 200, description = "可支付的结算金额", body = [PayableDto]), ScopedRead)
)]
pub async fn list_payable(
    State(state): State<AppState>,
    ApiCan(user, _): ApiCan<need::PayStatements>,
) -> Result<Json<Vec<PayableDto>>, ApiError> {
    let rows = usecase::payable(&state, &user).await?;
    Ok(Json(rows.into_iter().map(PayableDto::from).collect()))
}

/// Your region's batches, newest first (at most 500).
#[utoipa::path(
    get,
    path = "/payment-batches",
    tag = "payments",
    security(("bearer" = [])),
    responses((status = 200, description = "支付批次", body = [BatchDto]), ScopedRead)
)]
pub async fn list_batches(
    State(state): State<AppState>,
    ApiCan(user, _): ApiCan<need::PayStatements>,
) -> Result<Json<Vec<BatchDto>>, ApiError> {
    let rows = usecase::list(&state, &user).await?;
    Ok(Json(rows.into_iter().map(BatchDto::from).collect()))
}

/// The statements to pay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBatchBody {
    /// Approved statements (each paid under every contract it was priced at).
    pub statement_ids: Vec<Uuid>,
}

/// Make a batch of approved statements (refused whole, naming the statement, if one is not
/// approved, is self-paid, has a price not from a contract, rests on a contract not filed with
/// finance, or was approved by you where the region separates the duties).
#[utoipa::path(
    post,
    path = "/payment-batches",
    tag = "payments",
    security(("bearer" = [])),
    request_body = NewBatchBody,
    responses(
        (status = 201, description = "已生成批次", body = BatchDto),
        (status = 400, description = "请求体无效", body = ErrorEnvelope),
        ScopedRead,
        (status = 422, description = "有结算单不能支付（说明是哪一份、为什么）", body = ErrorEnvelope),
    )
)]
pub async fn create_batch(
    State(state): State<AppState>,
    ApiCan(user, _): ApiCan<need::PayStatements>,
    meta: RequestMeta,
    ApiJson(body): ApiJson<NewBatchBody>,
) -> Result<(StatusCode, Json<BatchDto>), ApiError> {
    let acting = Acting::new(&state, user, &meta);
    let batch = usecase::create(&state, &acting, &body.statement_ids).await?;
    Ok((StatusCode::CREATED, Json(batch.into())))
}

/// A batch and its lines.
#[utoipa::path(
    get,
    path = "/payment-batches/{id}",
    tag = "payments",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "批次编号")),
    responses((status = 200, description = "批次", body = BatchDetailDto), ScopedRead)
)]
pub async fn show_batch(
    State(state): State<AppState>,
    ApiCan(user, _): ApiCan<need::PayStatements>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<BatchDetailDto>, ApiError> {
    let (batch, lines) = usecase::show(&state, &user, id).await?;
    Ok(Json(BatchDetailDto {
        batch: batch.into(),
        lines: lines.into_iter().map(BatchLineDto::from).collect(),
    }))
}

/// The file's format.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FileQuery {
    /// `csv` (default) or `xlsx`.
    #[serde(default)]
    pub format: Option<String>,
}

/// The batch file for the treasury clerk: 批次号, 序号, 收款单位, 统一社会信用代码, 开户银行,
/// 银行账号, 金额（元）, 资金来源, 合同编号, 用途, 支付结果.
#[utoipa::path(
    get,
    path = "/payment-batches/{id}/file",
    tag = "payments",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "批次编号"), FileQuery),
    responses(
        (status = 200, description = "支付清单（CSV 或 XLSX）", content_type = "text/csv"),
        ScopedRead,
        (status = 422, description = "未知的格式", body = ErrorEnvelope),
    )
)]
pub async fn batch_file(
    State(state): State<AppState>,
    ApiCan(user, _): ApiCan<need::PayStatements>,
    meta: RequestMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<FileQuery>,
) -> Result<Response, ApiError> {
    let xlsx = match q.format.as_deref().unwrap_or("csv") {
        "csv" => false,
        "xlsx" => true,
        _ => return Err(AppError::from(Invalid::one("format", "应为 csv 或 xlsx")).into()),
    };
    let acting = Acting::new(&state, user, &meta);
    Ok(file_response(&state, &acting, id, xlsx).await?)
}

/// The download of a batch's file (shared with the page), audited.
pub async fn file_response(
    state: &AppState,
    acting: &Acting,
    id: Uuid,
    xlsx: bool,
) -> Result<Response, AppError> {
    let (batch, _, body) = usecase::download(state, acting, id, xlsx).await?;
    let batch = &batch;
    let (kind, fallback) = if xlsx {
        (crate::download::XLSX, "payment-batch.xlsx")
    } else {
        ("text/csv; charset=utf-8", "payment-batch.csv")
    };
    Ok(crate::download::attachment(
        kind,
        fallback,
        &usecase::batch_file_name(batch, xlsx),
        body,
    ))
}

/// One row of the treasury's answer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmationRowBody {
    /// 批次号.
    pub batch_no: String,
    /// 序号.
    pub seq: i32,
    /// The amount paid, fen (must equal the line's).
    pub amount_fen: i64,
    /// `paid` or `failed`.
    pub result: String,
    /// 支付凭证号 (paid).
    #[serde(default)]
    pub voucher_no: String,
    /// 支付日期 (paid).
    #[serde(default)]
    pub paid_on: Option<NaiveDate>,
    /// 失败原因 (failed).
    #[serde(default)]
    pub failure_reason: String,
}

/// The treasury's answer to a batch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmationBody {
    /// Rows (at most 5,000); lines without an answer yet are left out.
    pub rows: Vec<ConfirmationRowBody>,
}

/// What the import did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConfirmedDto {
    /// Lines marked paid now.
    pub paid: usize,
    /// Lines marked failed now (their statements go back to 已审批 for a new batch).
    pub failed: usize,
    /// Rows repeating an answer already recorded.
    pub unchanged: usize,
    /// Statements now fully paid.
    pub statements_paid: usize,
}

/// The API field a confirmation column is sent as.
fn api_field(column: &str) -> &'static str {
    match column {
        "批次号" => "batch_no",
        "序号" => "seq",
        "金额（元）" => "amount_fen",
        "支付结果" => "result",
        "支付凭证号" => "voucher_no",
        "支付日期" => "paid_on",
        "失败原因" => "failure_reason",
        _ => "rows",
    }
}

/// Problems by row as field errors `rows[i].field`.
fn as_invalid(problems: Vec<RowProblem>) -> Invalid {
    let mut inv = Invalid::new();
    for p in problems {
        let field = match p.row.checked_sub(2) {
            Some(i) if p.row >= 2 => format!("rows[{i}].{}", api_field(&p.column)),
            _ => "rows".to_string(),
        };
        inv.add(&field, p.reason);
    }
    inv
}

/// Import the treasury's confirmation of a batch: every row is checked against the batch
/// (line, amount, an answer not contradicting an earlier one) and nothing is written unless all
/// are right; importing the same answer twice changes nothing. A statement becomes paid only
/// here, once every contract of it is paid.
#[utoipa::path(
    post,
    path = "/payment-batches/{id}/confirmation",
    tag = "payments",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "批次编号")),
    request_body = ConfirmationBody,
    responses(
        (status = 200, description = "已导入", body = ConfirmedDto),
        (status = 400, description = "请求体无效", body = ErrorEnvelope),
        ScopedRead,
        (status = 422, description = "有行不符（逐行指明 rows[i].字段），未写入任何内容", body = ErrorEnvelope),
    )
)]
pub async fn confirm_batch(
    State(state): State<AppState>,
    ApiCan(user, _): ApiCan<need::PayStatements>,
    meta: RequestMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ConfirmationBody>,
) -> Result<Json<ConfirmedDto>, ApiError> {
    if body.rows.len() > jinglao_domain::purchase::payment::MAX_ROWS {
        return Err(AppError::from(Invalid::one("rows", "一次最多 5000 行")).into());
    }
    // The same checks as an uploaded file: the rows become the file's table.
    let mut rows = vec![CONFIRMATION_HEADERS.iter().map(|h| h.to_string()).collect()];
    for r in &body.rows {
        let result = match r.result.as_str() {
            "paid" => "成功".to_string(),
            "failed" => "失败".to_string(),
            other => other.to_string(),
        };
        rows.push(vec![
            r.batch_no.clone(),
            r.seq.to_string(),
            jinglao_domain::settlement::yuan(r.amount_fen),
            result,
            r.voucher_no.clone(),
            r.paid_on.map(|d| d.to_string()).unwrap_or_default(),
            r.failure_reason.clone(),
        ]);
    }
    let table = Table {
        rows,
        ..Table::default()
    };
    let acting = Acting::new(&state, user, &meta);
    match usecase::confirm(&state, &acting, id, &table, "接口").await? {
        Confirmed::Applied {
            paid,
            failed,
            unchanged,
            statements_paid,
        } => Ok(Json(ConfirmedDto {
            paid,
            failed,
            unchanged,
            statements_paid,
        })),
        Confirmed::Refused(problems) => Err(AppError::from(as_invalid(problems)).into()),
    }
}
