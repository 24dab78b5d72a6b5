//! Treasury payment pages (国库集中支付, finance): the approved statements waiting for payment,
//! ticked into a batch; a batch with its lines, its file for the treasury (CSV or XLSX) and the
//! upload of the treasury's confirmation, checked row by row before anything is written.

use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jinglao_db::purchase::payments::{Batch, BatchLine, Confirmed, Payable};
use jinglao_domain::Invalid;
use jinglao_domain::clock::format_local;
use jinglao_domain::purchase::payment::RowProblem;
use jinglao_domain::settlement::yuan;
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::CurrentUser;
use crate::auth::can::{PageCan, need};
use crate::error::{AppError, PageError, render, render_with_status};
use crate::pages::{FormErrors, IdPath, PageCtx};
use crate::request::RequestMeta;
use crate::state::AppState;
use crate::usecase::Acting;
use crate::usecase::purchase::payments as usecase;

/// One statement waiting for payment, with its amount per contract.
pub struct PayableRow {
    /// Statement.
    pub statement_id: Uuid,
    /// Provider.
    pub provider_name: String,
    /// Month.
    pub service_month: String,
    /// (contract number, amount in yuan).
    pub contracts: Vec<(String, String)>,
    /// Sum in yuan.
    pub total: String,
}

/// Groups per-contract amounts by statement, keeping the order.
fn by_statement(rows: Vec<Payable>) -> Vec<PayableRow> {
    let mut out: Vec<(PayableRow, i64)> = Vec::new();
    for p in rows {
        let amount = yuan(p.amount_fen);
        match out
            .iter_mut()
            .find(|(r, _)| r.statement_id == p.statement_id)
        {
            Some((r, sum)) => {
                r.contracts.push((p.contract_no, amount));
                *sum += p.amount_fen;
                r.total = yuan(*sum);
            }
            None => out.push((
                PayableRow {
                    statement_id: p.statement_id,
                    provider_name: p.provider_name,
                    service_month: p.service_month,
                    contracts: vec![(p.contract_no, amount.clone())],
                    total: amount,
                },
                p.amount_fen,
            )),
        }
    }
    out.into_iter().map(|(r, _)| r).collect()
}

/// A batch in the list.
pub struct BatchRow {
    /// The batch.
    pub b: Batch,
    /// Sum in yuan.
    pub total: String,
    /// Made at, local time.
    pub when: String,
    /// State in words.
    pub status: &'static str,
}

fn batch_status(status: &str) -> &'static str {
    match status {
        "open" => "等待国库确认",
        "closed" => "已全部确认",
        _ => "未知",
    }
}

/// `GET /payment-batches`.
#[derive(Template)]
#[template(path = "payments/index.html")]
pub struct IndexPage {
    ctx: PageCtx,
    errors: FormErrors,
    payable: Vec<PayableRow>,
    batches: Vec<BatchRow>,
    chosen: Vec<Uuid>,
}

async fn index_page(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    errors: FormErrors,
    chosen: Vec<Uuid>,
) -> Result<IndexPage, PageError> {
    let payable = by_statement(usecase::payable(state, user).await?);
    let batches = usecase::list(state, user)
        .await?
        .into_iter()
        .map(|b| BatchRow {
            total: yuan(b.total_fen),
            when: format_local(b.created_at),
            status: batch_status(&b.status),
            b,
        })
        .collect();
    Ok(IndexPage {
        ctx: ctx.with_errors(&errors),
        errors,
        payable,
        batches,
        chosen,
    })
}

/// `GET /payment-batches`
pub async fn index(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::PayStatements>,
) -> Result<Response, PageError> {
    render(&index_page(&state, ctx, &user, FormErrors::new(), Vec::new()).await?)
}

/// `POST /payment-batches` (form: `statement` repeated): makes a batch of the ticked
/// statements.
pub async fn create(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::PayStatements>,
    meta: RequestMeta,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let chosen: Vec<Uuid> = pairs
        .iter()
        .filter(|(k, _)| k == "statement")
        .filter_map(|(_, v)| Uuid::parse_str(v.trim()).ok())
        .take(5_000)
        .collect();
    let acting = Acting::new(&state, user.clone(), &meta);
    let result = if chosen.is_empty() {
        Err(AppError::from(Invalid::one(
            "statement_ids",
            "请勾选要支付的结算单",
        )))
    } else {
        usecase::create(&state, &acting, &chosen).await
    };
    match result {
        Ok(batch) => Ok(Redirect::to(&format!(
            "/payment-batches/{}?notice=batch_created",
            batch.id
        ))
        .into_response()),
        Err(AppError::Invalid(errors)) => render_with_status(
            &index_page(&state, ctx, &user, errors, chosen).await?,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => Err(e.into()),
    }
}

/// A line, formatted.
pub struct LineRow {
    /// The line.
    pub l: BatchLine,
    /// Amount in yuan.
    pub amount: String,
    /// Account shown with the middle masked (the file has it whole).
    pub account: String,
}

/// `GET /payment-batches/{id}`.
#[derive(Template)]
#[template(path = "payments/show.html")]
pub struct ShowPage {
    ctx: PageCtx,
    errors: FormErrors,
    b: Batch,
    total: String,
    status: &'static str,
    when: String,
    lines: Vec<LineRow>,
    problems: Vec<RowProblem>,
    result: Option<String>,
}

/// An account number as the page shows it: the first four and last four digits.
fn masked_account(account: &str) -> String {
    let n = account.chars().count();
    if n <= 8 {
        return account.to_string();
    }
    let head: String = account.chars().take(4).collect();
    let tail: String = account.chars().skip(n - 4).collect();
    format!("{head} **** {tail}")
}

async fn show_page(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    id: Uuid,
    problems: Vec<RowProblem>,
    result: Option<String>,
) -> Result<ShowPage, PageError> {
    let (b, lines) = usecase::show(state, user, id).await?;
    let errors = if problems.is_empty() {
        FormErrors::new()
    } else {
        Invalid::one(
            "file",
            format!(
                "文件有 {} 处问题，没有导入任何结果；请改正后重新上传",
                problems.len()
            ),
        )
    };
    Ok(ShowPage {
        ctx: ctx.with_errors(&errors),
        errors,
        total: yuan(b.total_fen),
        status: batch_status(&b.status),
        when: format_local(b.created_at),
        lines: lines
            .into_iter()
            .map(|l| LineRow {
                amount: yuan(l.amount_fen),
                account: masked_account(&l.payee_account),
                l,
            })
            .collect(),
        b,
        problems,
        result,
    })
}

/// What an import did, after the redirect.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ShowQuery {
    paid: Option<usize>,
    failed: Option<usize>,
    unchanged: Option<usize>,
    settled: Option<usize>,
}

/// `GET /payment-batches/{id}` (and `/payment-batches/{id}.csv` / `.xlsx` for the file).
pub async fn show(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::PayStatements>,
    meta: RequestMeta,
    axum::extract::Path(id): axum::extract::Path<String>,
    Query(q): Query<ShowQuery>,
) -> Result<Response, PageError> {
    let (raw, file) = match id.rsplit_once('.') {
        Some((raw, "csv")) => (raw, Some(false)),
        Some((raw, "xlsx")) => (raw, Some(true)),
        _ => (id.as_str(), None),
    };
    let id = Uuid::parse_str(raw).map_err(|_| AppError::NotFound)?;
    if let Some(xlsx) = file {
        let acting = Acting::new(&state, user, &meta);
        return Ok(crate::api::v1::payments::file_response(&state, &acting, id, xlsx).await?);
    }
    let result = q.paid.map(|paid| {
        let mut parts = Vec::new();
        if paid > 0 {
            parts.push(format!("{paid} 笔支付成功"));
        }
        if let Some(n) = q.failed.filter(|n| *n > 0) {
            parts.push(format!(
                "{n} 笔支付失败（结算单已退回“已审批”，可放进新的批次）"
            ));
        }
        if let Some(n) = q.unchanged.filter(|n| *n > 0) {
            parts.push(format!("{n} 行与已登记的结果相同，未改动"));
        }
        if let Some(n) = q.settled.filter(|n| *n > 0) {
            parts.push(format!("{n} 张结算单已全部支付"));
        }
        if parts.is_empty() {
            "已导入，没有改动。".to_string()
        } else {
            format!("已导入：{}。", parts.join("；"))
        }
    });
    render(&show_page(&state, ctx, &user, id, Vec::new(), result).await?)
}

/// `POST /payment-batches/{id}/confirmation` (multipart `file`): the treasury's answer.
pub async fn confirm(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::PayStatements>,
    meta: RequestMeta,
    IdPath(id): IdPath,
    mut multipart: Multipart,
) -> Result<Response, PageError> {
    let limit_mb = crate::routes::BODY_LIMIT / 1024 / 1024;
    let mut form = crate::pages::upload::read(&mut multipart, "file", "文件", limit_mb).await?;
    let (name, bytes) = form.take_file().unwrap_or_default();
    let source = usecase::file_source(&name, &bytes);
    let outcome = match usecase::read_upload_blocking(bytes).await? {
        Err(problems) => Confirmed::Refused(problems),
        Ok(table) => {
            let acting = Acting::new(&state, user.clone(), &meta);
            usecase::confirm(&state, &acting, id, &table, &source).await?
        }
    };
    match outcome {
        Confirmed::Applied {
            paid,
            failed,
            unchanged,
            statements_paid,
        } => Ok(Redirect::to(&format!(
            "/payment-batches/{id}?paid={paid}&failed={failed}&unchanged={unchanged}&settled={statements_paid}"
        ))
        .into_response()),
        Confirmed::Refused(problems) => render_with_status(
            &show_page(&state, ctx, &user, id, problems, None).await?,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_shows_only_its_ends() {
        assert_eq!(masked_account("6222020000000000001"), "6222 **** 0001");
        assert_eq!(masked_account("12345678"), "12345678");
    }
}
