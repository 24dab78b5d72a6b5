//! Treasury payment (国库集中支付): the use cases shared by the payment-batch pages and the API —
//! what can be paid, making a batch, its file for the treasury (CSV or XLSX), and importing the
//! treasury's confirmation, which alone marks statements paid.

use jinglao_db::purchase::payments::{self, Batch, BatchLine, Confirmed, Payable};
use jinglao_domain::Permission;
use jinglao_domain::purchase::payment::{self, RowProblem};
use jinglao_domain::tabular::{Table, read_table};
use uuid::Uuid;

use super::super::Acting;
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;

/// The largest confirmation file read (bytes): the request body limit every upload has.
pub const MAX_FILE_BYTES: usize = crate::routes::BODY_LIMIT;

fn may(user: &CurrentUser) -> Result<(), AppError> {
    if user.can(Permission::PayStatements) {
        Ok(())
    } else {
        Err(AppError::Forbidden("只有财务人员可以办理国库支付".into()))
    }
}

/// What a new batch can pay, in the caller's subtree.
pub async fn payable(state: &AppState, user: &CurrentUser) -> Result<Vec<Payable>, AppError> {
    may(user)?;
    let mut c = state.db.acquire().await?;
    Ok(payments::payable(&mut c.conn(), &user.scope).await?)
}

/// The caller's batches, newest first.
pub async fn list(state: &AppState, user: &CurrentUser) -> Result<Vec<Batch>, AppError> {
    may(user)?;
    let mut c = state.db.acquire().await?;
    Ok(payments::list(&mut c.conn(), &user.scope).await?)
}

/// A batch and its lines.
pub async fn show(
    state: &AppState,
    user: &CurrentUser,
    id: Uuid,
) -> Result<(Batch, Vec<BatchLine>), AppError> {
    may(user)?;
    let mut c = state.db.acquire().await?;
    let batch = payments::get(&mut c.conn(), &user.scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let lines = payments::lines(&mut c.conn(), id).await?;
    Ok((batch, lines))
}

/// Makes a batch of the chosen statements.
pub async fn create(
    state: &AppState,
    acting: &Acting,
    statement_ids: &[Uuid],
) -> Result<Batch, AppError> {
    may(&acting.user)?;
    Ok(payments::create(&acting.write(state), statement_ids).await?)
}

/// The batch's file for the treasury, for `acting`, audited (`payment_batch.download`: it holds
/// the payees' whole bank accounts).
pub async fn download(
    state: &AppState,
    acting: &Acting,
    id: Uuid,
    xlsx: bool,
) -> Result<(Batch, Vec<BatchLine>, Vec<u8>), AppError> {
    let (batch, lines) = show(state, &acting.user, id).await?;
    let body = batch_file(&batch, &lines, xlsx)?;
    let event = jinglao_db::audit::Event::new("payment_batch.download", "payment_batch", batch.id)
        .region(jinglao_domain::RegionCode::parse(&batch.region_code).ok())
        .detail(serde_json::json!({
            "batch_no": batch.batch_no, "format": if xlsx { "xlsx" } else { "csv" },
            "lines": lines.len(),
        }));
    acting.audit(state, event).await?;
    Ok((batch, lines, body))
}

/// The file for the treasury: `(file name, CSV bytes)` or XLSX when `xlsx`.
pub fn batch_file(batch: &Batch, lines: &[BatchLine], xlsx: bool) -> Result<Vec<u8>, AppError> {
    let rows: Vec<Vec<String>> = lines.iter().map(|l| l.file_row(&batch.batch_no)).collect();
    if xlsx {
        crate::download::table_xlsx("支付清单", &payment::BATCH_HEADERS, &rows)
    } else {
        Ok(payment::batch_csv(&rows))
    }
}

/// The file's name, e.g. 国库支付批次-ZF4303-2026-0001.csv.
pub fn batch_file_name(batch: &Batch, xlsx: bool) -> String {
    format!(
        "国库支付批次-{}.{}",
        batch.batch_no,
        if xlsx { "xlsx" } else { "csv" }
    )
}

/// Imports the treasury's confirmation of batch `id` from a table: every row is checked
/// against the batch first; one problem and nothing is written.
pub async fn confirm(
    state: &AppState,
    acting: &Acting,
    id: Uuid,
    table: &Table,
    source: &str,
) -> Result<Confirmed, AppError> {
    may(&acting.user)?;
    let rows = match payment::parse_confirmation(table) {
        Ok(rows) => rows,
        Err(problems) => return Ok(Confirmed::Refused(problems)),
    };
    Ok(payments::confirm(&acting.write(state), id, &rows, source).await?)
}

/// Where an uploaded file came from, for the audit entry: its name and SHA-256.
pub fn file_source(name: &str, bytes: &[u8]) -> String {
    use sha2::Digest;
    let name: String = name.chars().take(100).collect();
    format!(
        "文件 {name}，SHA-256 {}",
        hex::encode(sha2::Sha256::digest(bytes))
    )
}

/// [`read_upload`] on a blocking thread: unpacking an XLSX is CPU work.
pub async fn read_upload_blocking(
    bytes: Vec<u8>,
) -> Result<Result<Table, Vec<RowProblem>>, AppError> {
    tokio::task::spawn_blocking(move || read_upload(&bytes))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("reading an upload: {e}")))
}

/// Reads an uploaded confirmation file (XLSX or CSV) into a table, or the one problem with it.
pub fn read_upload(bytes: &[u8]) -> Result<Table, Vec<RowProblem>> {
    let whole = |reason: String| {
        vec![RowProblem {
            row: 1,
            column: "文件".into(),
            reason,
        }]
    };
    if bytes.is_empty() {
        return Err(whole("请选择国库返回的支付结果文件（XLSX 或 CSV）".into()));
    }
    if bytes.len() > MAX_FILE_BYTES {
        return Err(whole(format!(
            "文件太大（上限 {} MB）",
            MAX_FILE_BYTES / 1024 / 1024
        )));
    }
    read_table(bytes).map_err(|e| whole(e.to_string()))
}
