//! Application pages: apply on a person's behalf (from the record page), the queue with the
//! overdue ones first, one application with its decisions and the decision form of the step
//! it waits for, send-back and appeal on the applicant's behalf, and the public notice (公示,
//! no sign-in, surnames only).

use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use jinglao_db::DbError;
use jinglao_db::applications::{
    self, ApplicantAction, Application, DecisionRecord, NewApplication, NoticeLine, QueueFilter,
};
use jinglao_db::evidence::{self, EvidenceFile};
use jinglao_domain::application::{ApplicationStatus, Decision, Step};
use jinglao_domain::clock::format_local;
use jinglao_domain::evidence::{EvidenceKind, MAX_EVIDENCE_BYTES};
use jinglao_domain::{Invalid, Permission, RegionCode};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::can::{PageCan, need};
use crate::auth::{CurrentUser, PageUser};
use crate::error::{AppError, PageError, render, render_with_status};
use crate::pages::IdPath;
use crate::pages::{FormErrors, PageCtx};
use crate::request::RequestMeta;
use crate::state::AppState;

fn parse_id(id: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(id).map_err(|_| AppError::NotFound)
}

/// The apply form on the record page.
#[derive(Debug, Default, Deserialize)]
pub struct ApplyForm {
    #[serde(default)]
    item_code: String,
    #[serde(default)]
    applicant_name: String,
    #[serde(default)]
    applicant_relation: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    note: String,
}

/// `POST /elders/{id}/applications`: apply on the person's behalf.
pub async fn apply(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::EditElders>,
    meta: RequestMeta,
    Path(id): Path<String>,
    Form(form): Form<ApplyForm>,
) -> Result<Response, PageError> {
    let elder = parse_id(&id)?;
    let book = jinglao_db::policy::book(&state.db).await?;
    let result = applications::submit(
        &state.db,
        &state.keys.audit_chain,
        &user.actor(&meta),
        &NewApplication {
            elder_id: elder,
            item_code: form.item_code.trim(),
            applicant_name: &form.applicant_name,
            applicant_relation: &form.applicant_relation,
            reason: &form.reason,
            note: &form.note,
            channel: "staff",
        },
        &book,
        state.clock.now(),
    )
    .await;
    match result {
        Ok(aid) => Ok(
            Redirect::to(&format!("/applications/{aid}?notice=application_submitted"))
                .into_response(),
        ),
        Err(DbError::Invalid(errors)) => {
            let page =
                crate::pages::elders::record_page_for(&state, ctx, &user, &meta, elder, errors)
                    .await?;
            render_with_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(other) => Err(AppError::from(other).into()),
    }
}

/// Query of the queue.
#[derive(Debug, Deserialize)]
pub struct QueueQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    overdue: String,
    #[serde(default)]
    soon: String,
    #[serde(default)]
    page: String,
    /// How many the last batch decision took (for the confirmation).
    #[serde(default)]
    decided: String,
}

/// Applications per page of the queue.
const QUEUE_PAGE: i64 = 50;

/// A queue row.
pub struct QueueRow {
    a: Application,
    place: String,
    overdue: bool,
    /// Its step falls due within the next few days (shown in red before it is missed).
    due_soon: bool,
}

/// The queue page.
#[derive(Template)]
#[template(path = "applications/index.html")]
pub struct QueuePage {
    ctx: PageCtx,
    saved: crate::pages::saved_filters::SavedView,
    errors: FormErrors,
    rows: Vec<QueueRow>,
    statuses: Vec<ApplicationStatus>,
    status: String,
    overdue_only: bool,
    soon_only: bool,
    pager: crate::pages::paging::Pager,
    /// The filter as a query (with its `?`), for the export link.
    export_query: String,
    decided: Option<i64>,
    /// The batch form as last sent (kept after an error).
    batch: BatchForm,
}

/// `GET /applications`
pub async fn index(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ViewElders>,
    Query(q): Query<QueueQuery>,
) -> Result<Response, PageError> {
    render(
        &queue_page(
            &state,
            ctx,
            &user,
            &q,
            FormErrors::new(),
            BatchForm::default(),
        )
        .await?,
    )
}

async fn queue_page(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    q: &QueueQuery,
    errors: FormErrors,
    batch: BatchForm,
) -> Result<QueuePage, PageError> {
    let today = state.today();
    let (f, soon_by) = queue_filter(q, today);
    let (overdue_only, soon_only) = (f.overdue_on.is_some(), f.due_by.is_some());
    let base = crate::pages::paging::query_of(
        "/applications",
        &[
            ("status", &q.status),
            ("overdue", &q.overdue),
            ("soon", &q.soon),
        ],
    );
    let mut c = state.db.acquire().await?;
    let (_, total) = applications::queue_page(&mut c.conn(), &user.scope, &f, (0, 0)).await?;
    let pager = crate::pages::paging::Pager::new(
        q.page.trim().parse().unwrap_or(1),
        QUEUE_PAGE,
        total,
        base,
    );
    let (rows, _) =
        applications::queue_page(&mut c.conn(), &user.scope, &f, (QUEUE_PAGE, pager.offset()))
            .await?;
    let saved_query = crate::pages::paging::query_of(
        "",
        &[
            ("status", &q.status),
            ("overdue", &q.overdue),
            ("soon", &q.soon),
        ],
    );
    let saved = crate::pages::saved_filters::view(
        state,
        user,
        "applications",
        saved_query.trim_start_matches('?').to_string(),
    )
    .await?;
    Ok(QueuePage {
        saved,
        ctx: ctx.with_errors(&errors),
        errors,
        rows: rows
            .into_iter()
            .map(|a| QueueRow {
                place: state.region_name(&a.region),
                overdue: a.overdue_on(today),
                due_soon: a.status.step().is_some()
                    && a.step_deadline.is_some_and(|d| d <= soon_by),
                a,
            })
            .collect(),
        statuses: ApplicationStatus::ALL.to_vec(),
        status: f
            .statuses
            .first()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        overdue_only,
        soon_only,
        pager,
        export_query: saved_query.clone(),
        decided: q.decided.trim().parse().ok(),
        batch,
    })
}

/// The queue's filter from its query, and the day up to which a step counts as due soon.
fn queue_filter(q: &QueueQuery, today: NaiveDate) -> (QueueFilter, NaiveDate) {
    let mut f = QueueFilter::default();
    if let Some(s) = ApplicationStatus::parse(&q.status) {
        f.statuses = vec![s];
    }
    if q.overdue == "1" {
        f.overdue_on = Some(today);
    }
    let soon_by = today + chrono::Duration::days(crate::pages::home_work::SOON_DAYS);
    if q.soon == "1" {
        f.due_by = Some(soon_by);
    }
    (f, soon_by)
}

/// The most applications one export carries.
const EXPORT_MAX: i64 = 20_000;

/// `GET /applications/export?status=&overdue=&soon=`: the queue exactly as filtered (every
/// page), as an Excel file with names, places and items by name; audited
/// (`application.export`, with the filter and the row count).
pub async fn export(
    State(state): State<AppState>,
    PageCan(user, _): PageCan<need::ViewElders>,
    meta: RequestMeta,
    Query(q): Query<QueueQuery>,
) -> Result<Response, PageError> {
    let today = state.today();
    let (f, _) = queue_filter(&q, today);
    let mut c = state.db.acquire().await?;
    let (rows, total) =
        applications::queue_page(&mut c.conn(), &user.scope, &f, (EXPORT_MAX, 0)).await?;
    drop(c);
    if total > EXPORT_MAX {
        return Err(AppError::BadRequest {
            message: format!("符合条件的申请超过 {EXPORT_MAX} 件，请按状态缩小范围后再导出"),
            field: Some("status".into()),
        }
        .into());
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|a| {
            vec![
                a.elder_name.clone(),
                state.region_path(&a.region),
                a.item_name.clone(),
                a.status.label().to_string(),
                jinglao_domain::clock::china_date(a.submitted_at).to_string(),
                a.step_deadline.map(|d| d.to_string()).unwrap_or_default(),
                if a.overdue_on(today) { "已逾期" } else { "" }.to_string(),
                if a.precheck_eligible {
                    "符合"
                } else {
                    "不符合"
                }
                .to_string(),
                a.applicant_name.clone(),
            ]
        })
        .collect();
    let export = crate::download::ListExport {
        action: "application.export",
        record_type: "application",
        detail: serde_json::json!({
            "status": q.status, "overdue": q.overdue == "1", "soon": q.soon == "1",
        }),
        sheet: "服务申请",
        headers: &[
            "老人",
            "居住地",
            "服务项目",
            "状态",
            "申请日期",
            "本步时限",
            "逾期",
            "规则预审",
            "申请人",
        ],
        fallback: "applications.xlsx",
        name: format!("服务申请 {today}.xlsx"),
    };
    Ok(export.answer(&state, &user, &meta, &table).await?)
}

/// The batch decision form under the queue: the ticked applications, one decision, one reason.
#[derive(Debug, Default, Clone)]
pub struct BatchForm {
    decision: String,
    reason: String,
}

/// `POST /applications/decisions`: one decision on every ticked application, all or none.
pub async fn decide_batch(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ViewElders>,
    meta: RequestMeta,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let mut batch = BatchForm::default();
    let mut q = QueueQuery {
        status: String::new(),
        overdue: String::new(),
        soon: String::new(),
        page: String::new(),
        decided: String::new(),
    };
    let mut ids = Vec::new();
    for (k, v) in pairs {
        match k.as_str() {
            "id" => ids.push(Uuid::parse_str(v.trim()).map_err(|_| AppError::NotFound)?),
            "decision" => batch.decision = v,
            "reason" => batch.reason = v,
            "status" => q.status = v,
            "overdue" => q.overdue = v,
            "soon" => q.soon = v,
            "page" => q.page = v,
            _ => {}
        }
    }
    let book = jinglao_db::policy::book(&state.db).await?;
    let result = match Decision::parse(&batch.decision) {
        None => Err(DbError::Invalid(Invalid::one("decision", "请选择审核决定"))),
        Some(d) => {
            applications::decide_many(
                &jinglao_db::WriteCtx::new(
                    &state.db,
                    &state.keys.audit_chain,
                    &user.actor(&meta),
                    state.clock.now(),
                ),
                &ids,
                d,
                &batch.reason,
                &book,
            )
            .await
        }
    };
    match result {
        Ok(n) => {
            let back = crate::pages::paging::query_of(
                "/applications",
                &[
                    ("status", &q.status),
                    ("overdue", &q.overdue),
                    ("soon", &q.soon),
                    ("decided", &n.to_string()),
                ],
            );
            Ok(Redirect::to(&back).into_response())
        }
        Err(DbError::Invalid(errors)) => render_with_status(
            &queue_page(&state, ctx, &user, &q, errors, batch).await?,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(other) => Err(AppError::from(other).into()),
    }
}

/// One application.
#[derive(Template)]
#[template(path = "applications/show.html")]
pub struct ShowPage {
    ctx: PageCtx,
    errors: FormErrors,
    a: Application,
    place: String,
    /// Each decision with its time, step and result in words.
    history: Vec<(DecisionRecord, String, &'static str, String)>,
    overdue: bool,
    step_label: String,
    can_decide: bool,
    can_act_for_applicant: bool,
    can_withdraw: bool,
    can_object: bool,
    is_appeal: bool,
    files: Vec<(EvidenceFile, String)>,
    kinds: Vec<EvidenceKind>,
    max_mb: usize,
}

async fn show_page(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    id: Uuid,
    errors: FormErrors,
) -> Result<ShowPage, PageError> {
    let mut c = state.db.acquire().await?;
    let a = applications::get(&mut c.conn(), &user.scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let history = applications::history(&mut c.conn(), id)
        .await?
        .into_iter()
        .map(|h| {
            let at = format_local(h.decided_at);
            let step = step_label(&h.step);
            let result = format!(
                "{}，{}",
                Decision::parse(&h.decision).map_or(step, |d| d.label()),
                ApplicationStatus::parse(&h.to_status).map_or("", |s| s.label())
            );
            (h, at, step, result)
        })
        .collect();
    let files = evidence::list(&mut c.conn(), id)
        .await?
        .into_iter()
        .map(|f| {
            let size = if f.size_bytes >= 1024 * 1024 {
                format!("{:.1} MB", f.size_bytes as f64 / 1024.0 / 1024.0)
            } else {
                format!("{} KB", (f.size_bytes + 1023) / 1024)
            };
            (f, size)
        })
        .collect();
    let step = a.status.step();
    let book = jinglao_db::policy::book(&state.db).await?;
    let may = |s: Step| {
        book.roles(s.roles_key(), &a.region)
            .contains(&user.account.role)
    };
    Ok(ShowPage {
        files,
        kinds: EvidenceKind::ALL.to_vec(),
        max_mb: MAX_EVIDENCE_BYTES / 1024 / 1024,
        ctx: ctx.with_errors(&errors),
        errors,
        place: state.region_path(&a.region),
        overdue: a.overdue_on(state.today()),
        step_label: step.map(|s| s.label().to_string()).unwrap_or_default(),
        can_decide: step.is_some_and(may),
        can_act_for_applicant: user.can(Permission::EditElders),
        can_withdraw: user.can(Permission::EditElders) && a.status.can_withdraw(),
        can_object: a.status == ApplicationStatus::InNotice && may(Step::TownshipDecision),
        is_appeal: a.status == ApplicationStatus::Appealed,
        history,
        a,
    })
}

/// A stored step name in words.
fn step_label(step: &str) -> &'static str {
    match step {
        "submit" => "提交申请",
        "village_review" => "村（居）初审",
        "township_decision" => "乡镇（街道）审定",
        "appeal_decision" => "复核决定",
        "resubmit" => "补正后重新提交",
        "appeal" => "申请复核",
        "withdraw" => "撤回申请",
        "notice_objection" => "公示异议处理",
        "notice_end" => "公示期满",
        _ => "其他",
    }
}

/// `GET /applications/{id}`
pub async fn show(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ViewElders>,
    IdPath(id): IdPath,
) -> Result<Response, PageError> {
    render(&show_page(&state, ctx, &user, id, FormErrors::new()).await?)
}

/// The decision form.
#[derive(Debug, Deserialize)]
pub struct DecideForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: String,
}

/// `POST /applications/{id}/decisions`
pub async fn decide(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ViewElders>,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<DecideForm>,
) -> Result<Response, PageError> {
    let book = jinglao_db::policy::book(&state.db).await?;
    let result = match Decision::parse(&form.decision) {
        None => Err(DbError::Invalid(Invalid::one("decision", "请选择审核决定"))),
        Some(d) => applications::decide_on(
            &jinglao_db::WriteCtx::new(
                &state.db,
                &state.keys.audit_chain,
                &user.actor(&meta),
                state.clock.now(),
            ),
            id,
            d,
            &form.reason,
            &book,
        )
        .await
        .map(|_| ()),
    };
    after(&state, ctx, &user, id, result, "application_decided").await
}

/// The applicant's form (resubmission, appeal).
#[derive(Debug, Deserialize)]
pub struct ApplicantForm {
    #[serde(default)]
    text: String,
}

/// `POST /applications/{id}/resubmit`
pub async fn resubmit(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    Path(id): Path<String>,
    Form(form): Form<ApplicantForm>,
) -> Result<Response, PageError> {
    applicant(
        &state,
        ctx,
        &user,
        &meta,
        &id,
        ApplicantAction::Resubmit,
        &form.text,
    )
    .await
}

/// `POST /applications/{id}/withdraw`
pub async fn withdraw(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    Path(id): Path<String>,
    Form(form): Form<ApplicantForm>,
) -> Result<Response, PageError> {
    applicant(
        &state,
        ctx,
        &user,
        &meta,
        &id,
        ApplicantAction::Withdraw,
        &form.text,
    )
    .await
}

/// `POST /applications/{id}/appeal`
pub async fn appeal(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    Path(id): Path<String>,
    Form(form): Form<ApplicantForm>,
) -> Result<Response, PageError> {
    applicant(
        &state,
        ctx,
        &user,
        &meta,
        &id,
        ApplicantAction::Appeal,
        &form.text,
    )
    .await
}

/// An applicant's action on their behalf (resubmit, appeal, withdraw).
async fn applicant(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    meta: &RequestMeta,
    id: &str,
    action: ApplicantAction,
    text: &str,
) -> Result<Response, PageError> {
    user.require(Permission::EditElders)?;
    let id = parse_id(id)?;
    let book = jinglao_db::policy::book(&state.db).await?;
    let r = applications::act_for_applicant(
        &jinglao_db::WriteCtx::new(
            &state.db,
            &state.keys.audit_chain,
            &user.actor(meta),
            state.clock.now(),
        ),
        id,
        action,
        text,
        &book,
    )
    .await
    .map(|_| ());
    let notice = match action {
        ApplicantAction::Resubmit => "application_resubmitted",
        ApplicantAction::Appeal => "application_appealed",
        ApplicantAction::Withdraw => "application_withdrawn",
    };
    after(state, ctx, user, id, r, notice).await
}

/// Redirects after a change, or shows the page again with the errors.
async fn after(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    id: Uuid,
    result: Result<(), DbError>,
    notice: &str,
) -> Result<Response, PageError> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/applications/{id}?notice={notice}")).into_response()),
        Err(DbError::Invalid(errors)) => render_with_status(
            &show_page(state, ctx, user, id, errors).await?,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(other) => Err(AppError::from(other).into()),
    }
}

/// The public notice page.
#[derive(Template)]
#[template(path = "applications/notices.html")]
pub struct NoticePage {
    ctx: PageCtx,
    picker: crate::pages::region_picker::RegionPicker,
    region_label: String,
    /// The area shown (for the print link).
    region_code: String,
    lines: Vec<(NoticeLine, String)>,
    error: Option<String>,
}

/// Query of the notice page.
#[derive(Debug, Deserialize)]
pub struct NoticeQuery {
    #[serde(default)]
    region: String,
}

/// `GET /notices`: the public notice of approved applications (no sign-in; surnames only).
pub async fn notices(
    State(state): State<AppState>,
    ctx: PageCtx,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let (region, error) = match q.region.trim() {
        "" => (state.public_region(), None),
        r => match RegionCode::parse(r) {
            Ok(code) => (code, None),
            Err(_) => (
                state.public_region(),
                Some(format!("“{r}”不是行政区划代码，已显示全部。")),
            ),
        },
    };
    let mut c = state.db.acquire().await?;
    let lines = applications::notices(&mut c.conn(), &region)
        .await?
        .into_iter()
        .map(|l| {
            let place = state.region_path(&l.region);
            (l, place)
        })
        .collect();
    render(&NoticePage {
        ctx,
        picker: crate::pages::region_picker::area_filter(
            &state.regions.tree(),
            &jinglao_domain::Scope::Region(state.public_region()),
            region.short(),
        ),
        region_label: state.region_path(&region),
        region_code: region.short().to_string(),
        lines,
        error,
    })
}

/// `POST /applications/{id}/files` (multipart: `kind`, `file`): attach an evidence file.
pub async fn attach(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::EditElders>,
    meta: RequestMeta,
    IdPath(id): IdPath,
    mut multipart: Multipart,
) -> Result<Response, PageError> {
    let mut form = crate::pages::upload::read(
        &mut multipart,
        "file",
        "文件",
        MAX_EVIDENCE_BYTES / 1024 / 1024,
    )
    .await?;
    let kind = form.text("kind").to_string();
    let file = form.take_file();
    let result = match file {
        None => Err(DbError::Invalid(Invalid::one("file", "请选择要上传的文件"))),
        Some((name, bytes)) => evidence::attach(
            &jinglao_db::WriteCtx::new(
                &state.db,
                &state.keys.audit_chain,
                &user.actor(&meta),
                state.clock.now(),
            ),
            &state.settings.files_dir,
            id,
            &kind,
            &name,
            &bytes,
        )
        .await
        .map(|_| ()),
    };
    after(&state, ctx, &user, id, result, "evidence_attached").await
}

/// `GET /applications/{id}/files/{file}`: the file, checked against its checksum; audited.
pub async fn download(
    State(state): State<AppState>,
    PageCan(user, _): PageCan<need::ViewElders>,
    meta: RequestMeta,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let (id, file) = (parse_id(&id)?, parse_id(&file)?);
    let (f, bytes) = evidence::read(
        &state.db,
        &state.keys.audit_chain,
        &user.actor(&meta),
        &state.settings.files_dir,
        id,
        file,
        state.clock.now(),
    )
    .await
    .map_err(AppError::from)?;
    let ascii: String = f
        .original_name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
        .collect();
    let fallback = if ascii.is_empty() {
        "evidence".to_string()
    } else {
        ascii
    };
    Ok(crate::download::attachment(
        &f.content_type,
        &fallback,
        &f.original_name,
        bytes,
    ))
}
