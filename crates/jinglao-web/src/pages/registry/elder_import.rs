//! Bulk import pages: templates to download, upload, a preview with every problem and every
//! change, and the commit — all rows or, when the user explicitly chooses, only the valid ones
//! with the rejected rows downloadable as a file.

use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jinglao_db::DbError;
use jinglao_db::elder_import::{self, Action, Batch, ImportPlan, ImportSource, ImportSummary};
use jinglao_domain::elder::FieldChange;
use jinglao_domain::elder::{
    ETHNICITIES, Education, IncomeSource, LivingArrangement, MaritalStatus, MedicalPayment,
    ValidationContext,
};
use jinglao_domain::elder_import::{
    IMPORT_COLUMNS, ParsedImport, category_labels, parse_table, rejected_csv, template_csv,
};
use jinglao_domain::policy::PolicyKey;
use jinglao_domain::region_import::RowProblem;
use jinglao_domain::tabular::read_table;
use jinglao_domain::{Invalid, Permission};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::can::{PageCan, need};
use crate::auth::{CurrentUser, PageUser};
use crate::error::{AppError, PageError, render, render_with_status};
use crate::pages::{FormErrors, PageCtx};
use crate::request::RequestMeta;
use crate::state::AppState;

/// Largest file the page accepts (about 300,000 rows of CSV); bigger exchanges go through
/// `jinglao elders import`.
pub const MAX_UPLOAD_BYTES: usize = 64 * 1024 * 1024;

/// The upload page.
#[derive(Template)]
#[template(path = "elders/import.html")]
pub struct UploadPage {
    ctx: PageCtx,
    errors: FormErrors,
    columns: Vec<(&'static str, bool, &'static str)>,
}

fn upload_page(ctx: PageCtx, errors: FormErrors) -> UploadPage {
    UploadPage {
        ctx: ctx.with_errors(&errors),
        errors,
        columns: IMPORT_COLUMNS
            .iter()
            .map(|c| (c.header, c.required, c.help))
            .collect(),
    }
}

/// `GET /elders/import`
pub async fn upload_form(ctx: PageCtx, PageUser(user): PageUser) -> Result<Response, PageError> {
    user.require(Permission::ImportElders)?;
    render(&upload_page(ctx, FormErrors::new()))
}

/// `POST /elders/import` (multipart): stores the file and shows its preview.
pub async fn upload(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ImportElders>,
    mut multipart: Multipart,
) -> Result<Response, PageError> {
    let file = crate::pages::upload::read(
        &mut multipart,
        "file",
        "文件",
        MAX_UPLOAD_BYTES / 1024 / 1024,
    )
    .await?
    .take_file();
    let Some((name, bytes)) = file else {
        return render_with_status(
            &upload_page(ctx, Invalid::one("file", "请选择要导入的 XLSX 或 CSV 文件")),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    let (checked, bytes) = off_runtime(move || (read_table(&bytes).map(|_| ()), bytes)).await?;
    if let Err(e) = checked {
        return render_with_status(
            &upload_page(ctx, Invalid::one("file", e.to_string())),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let batch = elder_import::store_batch(
        &state.db,
        &state.keys.cipher,
        user.account.id,
        &name,
        &bytes,
        state.clock.now(),
    )
    .await?;
    // Batches nobody committed within a day are forgotten.
    let _ = elder_import::delete_batches(
        &state.db,
        None,
        state.clock.now() - chrono::Duration::days(1),
    )
    .await;
    Ok(Redirect::to(&format!("/elders/import/{}", batch.id)).into_response())
}

/// A changed person in the preview.
pub struct UpdateRow {
    line: usize,
    name: String,
    changes: Vec<FieldChange>,
}

/// The preview page.
#[derive(Template)]
#[template(path = "elders/import_preview.html")]
pub struct PreviewPage {
    ctx: PageCtx,
    batch_id: Uuid,
    file_name: String,
    total: usize,
    valid: usize,
    problems: Vec<RowProblem>,
    problem_count: usize,
    rejected_rows: usize,
    ignored: Vec<String>,
    new_count: usize,
    update_count: usize,
    unchanged_count: usize,
    category_count: usize,
    updates: Vec<UpdateRow>,
    update_more: usize,
    fingerprint: String,
    errors: FormErrors,
}

/// What reading and planning a batch gives.
struct Prepared {
    parsed: ParsedImport,
    plan: ImportPlan,
}

/// Runs CPU-heavy work (reading and checking an uploaded file) on the blocking pool, so that a
/// large or hostile upload never stalls the requests sharing the async runtime's threads.
async fn off_runtime<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, PageError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        PageError(AppError::Internal(anyhow::anyhow!(
            "读取上传文件的任务失败：{e}"
        )))
    })
}

async fn prepare(
    state: &AppState,
    user: &CurrentUser,
    batch: &Batch,
) -> Result<Result<Prepared, Vec<RowProblem>>, PageError> {
    let root = user.scope.region_root().unwrap_or(user.account.region_code);
    let book = jinglao_db::policy::book(&state.db).await?;
    let tree = state.regions.tree();
    let today = state.today();
    let min_age = book.int(PolicyKey::RegistryMinAge, &root) as i32;
    let content = batch.content.clone();
    let parsed = off_runtime(move || {
        let table = read_table(&content).map_err(|e| {
            vec![RowProblem {
                line: 1,
                column: String::new(),
                value: String::new(),
                reason: e.to_string(),
            }]
        })?;
        let ctx = ValidationContext {
            regions: &tree,
            today,
            min_age,
        };
        parse_table(&table, &ctx)
    })
    .await?;
    let parsed = match parsed {
        Ok(p) => p,
        Err(problems) => return Ok(Err(problems)),
    };
    let plan =
        elder_import::plan(&state.db, &state.keys.cipher, &user.scope, &parsed.records).await?;
    Ok(Ok(Prepared { parsed, plan }))
}

async fn batch_of(state: &AppState, user: &CurrentUser, id: &str) -> Result<Batch, PageError> {
    let id = Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
    Ok(
        elder_import::get_batch(&state.db, &state.keys.cipher, id, user.account.id)
            .await?
            .ok_or(AppError::NotFound)?,
    )
}

const SHOW_PROBLEMS: usize = 500;
const SHOW_UPDATES: usize = 200;

fn preview(
    state: &AppState,
    ctx: PageCtx,
    batch: &Batch,
    p: &Prepared,
    errors: FormErrors,
) -> PreviewPage {
    let mut problems = p.parsed.problems.clone();
    problems.extend(p.plan.refused.iter().cloned());
    problems.sort_by_key(|x| x.line);
    let problem_count = problems.len();
    let mut rejected: std::collections::BTreeSet<usize> = p.parsed.rejected_lines.clone();
    rejected.extend(p.plan.refused.iter().map(|r| r.line));
    let updates: Vec<UpdateRow> = p
        .plan
        .rows
        .iter()
        .filter_map(|r| match &r.action {
            Action::Update { changes, .. } => Some(UpdateRow {
                line: r.line,
                name: p.parsed.records[r.index].input.name.clone(),
                changes: changes
                    .iter()
                    .map(|c| crate::pages::named::change(state, c))
                    .collect(),
            }),
            _ => None,
        })
        .collect();
    PreviewPage {
        ctx: ctx.with_errors(&errors),
        errors,
        batch_id: batch.id,
        file_name: batch.file_name.clone(),
        total: p.parsed.total_rows,
        valid: p.plan.rows.len(),
        problems: problems.into_iter().take(SHOW_PROBLEMS).collect(),
        problem_count,
        rejected_rows: rejected.len(),
        ignored: p.parsed.ignored_headers.clone(),
        new_count: p.plan.new_count(),
        update_count: p.plan.update_count(),
        unchanged_count: p.plan.unchanged_count(),
        category_count: p.plan.category_count(),
        update_more: updates.len().saturating_sub(SHOW_UPDATES),
        updates: updates.into_iter().take(SHOW_UPDATES).collect(),
        fingerprint: p.plan.fingerprint.clone(),
    }
}

/// The page for a file that cannot be imported at all.
#[derive(Template)]
#[template(path = "elders/import_refused.html")]
pub struct RefusedPage {
    ctx: PageCtx,
    file_name: String,
    problems: Vec<RowProblem>,
}

/// `GET /elders/import/{batch}`
pub async fn show_preview(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ImportElders>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let batch = batch_of(&state, &user, &id).await?;
    match prepare(&state, &user, &batch).await? {
        Ok(p) => render(&preview(&state, ctx, &batch, &p, FormErrors::new())),
        Err(problems) => render_with_status(
            &RefusedPage {
                ctx,
                file_name: batch.file_name.clone(),
                problems,
            },
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    }
}

/// The commit form.
#[derive(Debug, Deserialize)]
pub struct CommitForm {
    #[serde(default)]
    mode: String,
    #[serde(default)]
    fingerprint: String,
}

/// The result page.
#[derive(Template)]
#[template(path = "elders/import_done.html")]
pub struct DonePage {
    ctx: PageCtx,
    file_name: String,
    summary: ImportSummary,
    rejected_rows: usize,
}

/// `POST /elders/import/{batch}/commit`: `mode=all` only when every row is valid; `mode=valid`
/// imports the valid rows and leaves the others for the rejected-rows file.
pub async fn commit(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ImportElders>,
    meta: RequestMeta,
    Path(id): Path<String>,
    Form(form): Form<CommitForm>,
) -> Result<Response, PageError> {
    let batch = batch_of(&state, &user, &id).await?;
    let p = match prepare(&state, &user, &batch).await? {
        Ok(p) => p,
        Err(problems) => {
            return render_with_status(
                &RefusedPage {
                    ctx,
                    file_name: batch.file_name.clone(),
                    problems,
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let rejected = p.parsed.rejected_lines.len() + p.plan.refused.len();
    let refuse = |msg: &str| Invalid::one("mode", msg);
    let error = if p.plan.fingerprint != form.fingerprint {
        Some(refuse(
            "预览之后数据发生了变化，请核对下面重新生成的预览后再导入",
        ))
    } else if form.mode == "all" && rejected > 0 {
        Some(refuse(
            "文件中有问题行，不能全部导入；请修改文件后重新上传，或明确选择“只导入有效行”",
        ))
    } else if form.mode != "all" && form.mode != "valid" {
        Some(refuse("请选择导入方式"))
    } else {
        None
    };
    if let Some(errors) = error {
        return render_with_status(
            &preview(&state, ctx, &batch, &p, errors),
            StatusCode::CONFLICT,
        );
    }
    let source = ImportSource {
        file_name: batch.file_name.clone(),
        checksum: batch.checksum.clone(),
    };
    let summary = match elder_import::apply(
        &state.db,
        state.keys.secrets(),
        &user.actor(&meta),
        &p.parsed.records,
        &p.plan,
        &source,
        state.clock.now(),
    )
    .await
    {
        Ok(s) => s,
        Err(DbError::Invalid(errors)) => {
            return render_with_status(
                &preview(&state, ctx, &batch, &p, errors),
                StatusCode::CONFLICT,
            );
        }
        Err(e) => return Err(AppError::from(e).into()),
    };
    if rejected == 0 {
        elder_import::delete_batches(
            &state.db,
            Some(batch.id),
            state.clock.now() - chrono::Duration::days(1),
        )
        .await?;
    }
    render(&DonePage {
        ctx,
        file_name: batch.file_name,
        summary,
        rejected_rows: rejected,
    })
}

/// `GET /elders/import/{batch}/rejected.csv`: the rows that were not imported, with reasons.
pub async fn rejected(
    State(state): State<AppState>,
    PageCan(user, _): PageCan<need::ImportElders>,
    meta: RequestMeta,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let batch = batch_of(&state, &user, &id).await?;
    let Ok(mut p) = prepare(&state, &user, &batch).await? else {
        return Err(AppError::NotFound.into());
    };
    for r in &p.plan.refused {
        p.parsed.rejected_lines.insert(r.line);
        p.parsed.problems.push(r.clone());
    }
    p.parsed.problems.sort_by_key(|x| x.line);
    let body = rejected_csv(&p.parsed);
    // The file holds people's rows: an export, in the audit trail like a search.
    let event = jinglao_db::audit::Event::new(
        "elder_import.rejected_export",
        "import_batch",
        batch.id,
    )
    .region(user.scope.region_root())
    .detail(serde_json::json!({ "rows": p.parsed.rejected_lines.len(), "file": batch.file_name }));
    jinglao_db::audit::record(
        &state.db,
        &state.keys.audit_chain,
        &user.actor(&meta),
        event,
        state.clock.now(),
    )
    .await?;
    Ok(csv_download(
        &format!("未导入的行-{}.csv", batch.created_at.format("%Y%m%d%H%M")),
        body,
    ))
}

fn csv_download(name: &str, body: String) -> Response {
    crate::download::attachment("text/csv; charset=utf-8", "rejected.csv", name, body)
}

/// `GET /elders/import/template.csv`
pub async fn template_csv_file(PageUser(user): PageUser) -> Result<Response, PageError> {
    user.require(Permission::ImportElders)?;
    Ok(csv_download("老年人导入模板.csv", template_csv()))
}

/// The template as XLSX: the columns (身份证号 and 区划代码 formatted as text so Excel keeps
/// every digit), an example row, and a sheet of instructions and allowed values.
pub fn template_xlsx() -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let text = Format::new().set_num_format("@");
    let sheet = wb.add_worksheet();
    sheet.set_name("老年人")?;
    for (i, c) in IMPORT_COLUMNS.iter().enumerate() {
        let col = i as u16;
        sheet.set_column_width(col, 16)?;
        if matches!(
            c.field,
            "id_number"
                | "hukou_region_code"
                | "residence_region_code"
                | "phones"
                | "contacts[0].phone"
        ) {
            sheet.set_column_format(col, &text)?;
        }
        sheet.write_string_with_format(0, col, c.header, &bold)?;
        sheet.write_string(1, col, c.example)?;
    }
    let help = wb.add_worksheet();
    help.set_name("填写说明")?;
    help.set_column_width(0, 24)?;
    help.set_column_width(1, 90)?;
    help.write_string_with_format(0, 0, "列", &bold)?;
    help.write_string_with_format(0, 1, "说明", &bold)?;
    for (i, c) in IMPORT_COLUMNS.iter().enumerate() {
        help.write_string(i as u32 + 1, 0, c.header)?;
        help.write_string(
            i as u32 + 1,
            1,
            if c.required {
                format!("必填。{}", c.help)
            } else {
                c.help.to_string()
            },
        )?;
    }
    let lists: [(&str, String); 7] = [
        ("民族", ETHNICITIES.join("、")),
        ("居住情况", LivingArrangement::labels_list()),
        ("婚姻状况", MaritalStatus::labels_list()),
        ("文化程度", Education::labels_list()),
        ("经济来源", IncomeSource::labels_list()),
        ("医疗费用支付方式", MedicalPayment::labels_list()),
        ("特殊类别", category_labels().join("、")),
    ];
    // The value lists follow the column descriptions after one blank row.
    let first_row = IMPORT_COLUMNS.len() as u32 + 2;
    for (row, (name, values)) in (first_row..).zip(lists) {
        help.write_string_with_format(row, 0, format!("{name}的取值"), &bold)?;
        help.write_string(row, 1, values)?;
    }
    wb.save_to_buffer()
}

/// `GET /elders/import/template.xlsx`
pub async fn template_xlsx_file(PageUser(user): PageUser) -> Result<Response, PageError> {
    user.require(Permission::ImportElders)?;
    let bytes = template_xlsx().map_err(|e| AppError::Internal(anyhow::anyhow!("xlsx: {e}")))?;
    Ok(crate::download::attachment(
        crate::download::XLSX,
        "template.xlsx",
        "老年人导入模板.xlsx",
        bytes,
    ))
}
