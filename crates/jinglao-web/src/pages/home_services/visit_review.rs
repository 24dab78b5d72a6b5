//! The exception queue (服务异常核查): visits whose check found something, with the reasons in
//! words, filtered by reason code; township and county staff accept (pay it) or reject each one
//! with a reason. A provider's administrator sees its own visits here, read-only.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use jinglao_db::DbError;
use jinglao_db::visits::{self, Decision, QueueRow};
use jinglao_domain::clock::format_local;
use jinglao_domain::visit::{CorrectionReason, ExceptionCode};
use jinglao_domain::{Invalid, Permission, Role};
use serde::Deserialize;

use crate::auth::can::{PageCan, need};
use crate::auth::{CurrentUser, PageUser};
use crate::error::{AppError, PageError, render};
use crate::pages::IdPath;
use crate::pages::answer_form;
use crate::pages::{FormErrors, PageCtx};
use crate::request::RequestMeta;
use crate::state::AppState;

/// Who may open the queue.
pub fn may_view(user: &CurrentUser) -> Result<(), AppError> {
    if user.can(Permission::ReviewVisits)
        || user.can(Permission::ManageFacilities)
        || user.account.role == Role::Inspector
    {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

/// Filters.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct QueueQuery {
    code: String,
    decided: String,
}

/// One row, formatted.
pub struct Row {
    v: QueueRow,
    when: String,
    minutes: Option<i64>,
    reasons: Vec<String>,
}

/// `GET /visits/exceptions`.
#[derive(Template)]
#[template(path = "visits/exceptions.html")]
pub struct QueuePage {
    ctx: PageCtx,
    errors: FormErrors,
    rows: Vec<Row>,
    total: i64,
    codes: Vec<(&'static str, &'static str)>,
    code: String,
    decided: bool,
    can_review: bool,
    /// The reasons a correction may give (stable name, words).
    correction_reasons: Vec<(&'static str, &'static str)>,
    /// Item names by code.
    names: jinglao_domain::service_list::ItemNames,
}

async fn page(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    q: &QueueQuery,
    errors: FormErrors,
) -> Result<QueuePage, PageError> {
    let code = ExceptionCode::parse(q.code.trim());
    let decided = q.decided == "yes";
    let mut c = state.db.acquire().await?;
    let (rows, total) = visits::queue(&mut c.conn(), &user.scope, code, decided, 200).await?;
    let names = jinglao_db::service_lists::item_names(&mut c.conn()).await?;
    let rows = rows
        .into_iter()
        .map(|v| Row {
            when: format_local(v.in_at),
            minutes: v.out_at.map(|o| (o - v.in_at).num_minutes()),
            reasons: serde_json::from_str::<Vec<serde_json::Value>>(&v.findings)
                .unwrap_or_default()
                .iter()
                .filter_map(|f| f["detail"].as_str().map(str::to_string))
                .collect(),
            v,
        })
        .collect();
    Ok(QueuePage {
        names,
        ctx: ctx.with_errors(&errors),
        errors,
        rows,
        total,
        codes: ExceptionCode::ALL
            .iter()
            .map(|c| (c.as_str(), c.label()))
            .collect(),
        code: code.map(|c| c.as_str().to_string()).unwrap_or_default(),
        decided,
        can_review: user.can(Permission::ReviewVisits) && !decided,
        correction_reasons: CorrectionReason::ALL
            .iter()
            .map(|r| (r.as_str(), r.label()))
            .collect(),
    })
}

/// `GET /visits/exceptions`
pub async fn index(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    Query(q): Query<QueueQuery>,
) -> Result<Response, PageError> {
    may_view(&user)?;
    render(&page(&state, ctx, &user, &q, FormErrors::new()).await?)
}

/// The review form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReviewForm {
    decision: String,
    reason: String,
}

/// `POST /visits/{id}/review`
pub async fn review(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ReviewVisits>,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<ReviewForm>,
) -> Result<Response, PageError> {
    let result = match decision_of(&form.decision) {
        Ok(d) => {
            let (db, key) = (&state.db, &state.keys.audit_chain);
            visits::review(
                db,
                key,
                &user.actor(&meta),
                id,
                d,
                &form.reason,
                state.clock.now(),
            )
            .await
        }
        Err(e) => Err(e),
    };
    answer_form(
        result,
        |_| "/visits/exceptions?notice=visit_reviewed".to_string(),
        async |errors| page(&state, ctx, &user, &QueueQuery::default(), errors).await,
    )
    .await
}

/// `POST /visits/reviews`: one decision and one reason for every ticked visit, all or none.
pub async fn review_batch(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ReviewVisits>,
    meta: RequestMeta,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let mut form = ReviewForm::default();
    let mut ids = Vec::new();
    for (k, v) in pairs {
        match k.as_str() {
            "visit" => ids.push(uuid::Uuid::parse_str(v.trim()).map_err(|_| AppError::NotFound)?),
            "decision" => form.decision = v,
            "reason" => form.reason = v,
            _ => {}
        }
    }
    let result = match decision_of(&form.decision) {
        Ok(d) => visits::review_many(
            &state.db,
            &state.keys.audit_chain,
            &user.actor(&meta),
            &ids,
            d,
            &form.reason,
            state.clock.now(),
        )
        .await
        .map(|_| ()),
        Err(e) => Err(e),
    };
    answer_form(
        result,
        |_| "/visits/exceptions?notice=visit_reviewed".to_string(),
        async |errors| page(&state, ctx, &user, &QueueQuery::default(), errors).await,
    )
    .await
}

/// The decision of a review form.
pub fn decision_of(text: &str) -> Result<Decision, DbError> {
    match text.trim() {
        "accept" => Ok(Decision::Accept),
        "reject" => Ok(Decision::Reject),
        _ => Err(DbError::Invalid(Invalid::one(
            "decision",
            "请选择通过或不通过",
        ))),
    }
}

/// The correction form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CorrectionForm {
    which: String,
    day: String,
    time: String,
    reason_code: String,
    reason: String,
}

/// `POST /visits/{id}/correction`: a reviewer corrects a check-in or check-out time by hand,
/// with a reason from the list; the visit is checked again at once.
pub async fn correct(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::ReviewVisits>,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<CorrectionForm>,
) -> Result<Response, PageError> {
    let mut inv = Invalid::new();
    let which = visits::Corrected::parse(&form.which);
    if which.is_none() {
        inv.add("which", "请选择更正签到时间还是签退时间");
    }
    let day = chrono::NaiveDate::parse_from_str(form.day.trim(), "%Y-%m-%d").ok();
    let time = chrono::NaiveTime::parse_from_str(form.time.trim(), "%H:%M").ok();
    if day.is_none() || time.is_none() {
        inv.add("at", "请填写更正后的日期和时间，例如 2026-11-23 和 09:30");
    }
    let result = match (which, day.zip(time), inv.is_empty()) {
        (Some(which), Some((d, t)), true) => {
            let fix = visits::Correction {
                which,
                at: jinglao_domain::clock::china_time(d, t),
                code: CorrectionReason::parse(&form.reason_code),
                reason: &form.reason,
            };
            let book = jinglao_db::policy::book(&state.db).await?;
            let (db, key, now) = (&state.db, &state.keys.audit_chain, state.clock.now());
            visits::correct(db, key, &user.actor(&meta), id, &fix, &book, now)
                .await
                .map(|_| ())
        }
        _ => Err(DbError::Invalid(inv)),
    };
    answer_form(
        result,
        |_| "/visits/exceptions?notice=visit_corrected".to_string(),
        async |errors| page(&state, ctx, &user, &QueueQuery::default(), errors).await,
    )
    .await
}

/// `GET /visits/{id}/signature.png`: the signature a person drew at the end of a visit, for
/// those who may open the queue and whose scope covers the visit (the read is audited).
pub async fn signature(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
) -> Result<Response, PageError> {
    may_view(&user)?;
    let (db, key, cipher) = (&state.db, &state.keys.audit_chain, &state.keys.cipher);
    let actor = user.actor(&meta);
    let png = visits::signature(db, key, cipher, &actor, id, state.clock.now())
        .await?
        .ok_or(AppError::NotFound)?;
    let headers = [
        (axum::http::header::CONTENT_TYPE, "image/png"),
        (axum::http::header::CACHE_CONTROL, "private, no-store"),
    ];
    Ok((headers, png).into_response())
}
