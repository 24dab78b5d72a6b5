//! Year-end evaluation pages (绩效评价): the caller's evaluations (a third party's named ones
//! first of all), one evaluation with the scheme, the contract's figures, each party's marks,
//! the recipients' satisfaction and telephone survey, and the forms each party uses; and the
//! public page of published results. JSON endpoints in `api::v1::contracts`.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jinglao_domain::purchase::evaluation::Party;
use jinglao_domain::settlement::yuan;
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::PageUser;
use crate::error::{AppError, PageError, render, render_with_status};
use crate::pages::{FormErrors, IdPath, PageCtx};
use crate::request::RequestMeta;
use crate::state::AppState;
use crate::usecase::Acting;
use crate::usecase::purchase::contracts::{self as usecase, EvaluationRow, EvaluationView};

/// `GET /purchase/evaluations`.
#[derive(Template)]
#[template(path = "purchase/evaluations.html")]
pub struct ListPage {
    ctx: PageCtx,
    rows: Vec<EvaluationRow>,
}

/// `GET /purchase/evaluations`
pub async fn index(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
) -> Result<Response, PageError> {
    let rows = usecase::mine(&state, &user).await?;
    render(&ListPage { ctx, rows })
}

/// A tenth-of-a-point figure as text.
pub fn tenths(t: u32) -> String {
    format!("{}.{}", t / 10, t % 10)
}

/// `GET /purchase/evaluations/{id}`.
#[derive(Template)]
#[template(path = "purchase/evaluation.html")]
pub struct ShowPage {
    ctx: PageCtx,
    errors: FormErrors,
    v: EvaluationView,
    ceiling: String,
    settled: String,
    total: Option<String>,
    my_marks: Vec<(String, u32, u32)>,
    my_comment: String,
    failed: bool,
    /// Party, weight, score, what it is made of.
    party_rows: Vec<(&'static str, u32, String, String)>,
}

async fn show_page(
    state: &AppState,
    ctx: PageCtx,
    acting: &Acting,
    id: Uuid,
    errors: FormErrors,
) -> Result<ShowPage, PageError> {
    let v = usecase::evaluation(state, acting, id).await?;
    let mut party_rows = Vec::new();
    for (p, w) in &v.evaluation.scheme.weights {
        let (score, detail) = if *p == Party::Recipients {
            let s = &v.satisfaction;
            (
                s.score_tenths().map_or("—".into(), tenths),
                format!(
                    "老人本人评价 {} 条，电话回访接通 {} 人、未接通 {} 人（5 星为 100 分；两种来源各占一半）",
                    s.ratings.0, s.survey.0, s.unreached
                ),
            )
        } else {
            match v.scores.iter().find(|s| s.party == *p) {
                Some(s) => {
                    let marks: Vec<String> =
                        s.marks.iter().map(|(c, n)| format!("{c} {n}")).collect();
                    let mut d = marks.join("，");
                    if !s.comment.is_empty() {
                        d.push_str(&format!("。{}", s.comment));
                    }
                    (s.sum.to_string(), d)
                }
                None => ("—".into(), "尚未打分".into()),
            }
        };
        party_rows.push((p.label(), *w, score, detail));
    }
    // The recipients first: their weight is the largest.
    party_rows.sort_by_key(|r| std::cmp::Reverse(r.1));
    let mine = v
        .my_party
        .and_then(|p| v.scores.iter().find(|s| s.party == p));
    let my_marks = v
        .evaluation
        .scheme
        .criteria
        .iter()
        .map(|(name, max)| {
            let got = mine
                .and_then(|s| s.marks.iter().find(|(n, _)| n == name))
                .map_or(0, |(_, g)| *g);
            (name.clone(), *max, got)
        })
        .collect();
    Ok(ShowPage {
        ctx: ctx.with_errors(&errors),
        errors,
        ceiling: yuan(v.performance.ceiling_fen),
        settled: yuan(v.performance.settled_fen),
        total: v.evaluation.total_tenths.map(|t| tenths(t.max(0) as u32)),
        my_comment: mine.map(|s| s.comment.clone()).unwrap_or_default(),
        my_marks,
        party_rows,
        failed: v.evaluation.grade == Some(jinglao_domain::purchase::evaluation::Grade::Fail),
        v,
    })
}

/// `GET /purchase/evaluations/{id}`
pub async fn show(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
) -> Result<Response, PageError> {
    let acting = Acting::new(&state, user, &meta);
    render(&show_page(&state, ctx, &acting, id, FormErrors::new()).await?)
}

async fn answer(
    state: &AppState,
    ctx: PageCtx,
    acting: &Acting,
    id: Uuid,
    result: Result<(), AppError>,
    notice: &str,
) -> Result<Response, PageError> {
    match result {
        Ok(()) => Ok(
            Redirect::to(&format!("/purchase/evaluations/{id}?notice={notice}")).into_response(),
        ),
        Err(AppError::Invalid(errors)) => render_with_status(
            &show_page(state, ctx, acting, id, errors).await?,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => Err(e.into()),
    }
}

/// `POST /purchase/evaluations/{id}/score`: `mark` repeated in the scheme's order, `comment`.
pub async fn score(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let acting = Acting::new(&state, user, &meta);
    let v = usecase::evaluation(&state, &acting, id).await?;
    let mut marks = Vec::new();
    let mut bad = jinglao_domain::Invalid::new();
    for (name, max) in &v.evaluation.scheme.criteria {
        let text = fields
            .iter()
            .find(|(k, _)| *k == format!("mark.{name}"))
            .map_or("", |(_, v)| v.as_str());
        match text.trim().parse::<u32>() {
            Ok(n) => marks.push((name.clone(), n)),
            Err(_) => bad.add(
                &format!("marks.{name}"),
                format!("请为“{name}”填写 0–{max} 的整数"),
            ),
        }
    }
    let comment = fields
        .iter()
        .find(|(k, _)| k == "comment")
        .map_or("", |(_, v)| v.as_str());
    let result = match bad.into_result(()) {
        Ok(()) => usecase::score(&state, &acting, id, &marks, comment).await,
        Err(i) => Err(AppError::Invalid(i)),
    };
    answer(&state, ctx, &acting, id, result, "evaluation_scored").await
}

/// The survey-call form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CallForm {
    elder_id: String,
    /// 1–5, or `none` for not reached.
    stars: String,
    note: String,
}

/// `POST /purchase/evaluations/{id}/calls`
pub async fn call(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<CallForm>,
) -> Result<Response, PageError> {
    let acting = Acting::new(&state, user, &meta);
    let elder = Uuid::parse_str(form.elder_id.trim());
    let stars = match form.stars.trim() {
        "none" => Ok(None),
        s => s.parse::<u8>().map(Some),
    };
    let result = match (elder, stars) {
        (Ok(e), Ok(s)) => usecase::record_call(&state, &acting, id, e, s, &form.note).await,
        (Err(_), _) => Err(AppError::Invalid(jinglao_domain::Invalid::one(
            "elder_id",
            "请选择回访对象",
        ))),
        (_, Err(_)) => Err(AppError::Invalid(jinglao_domain::Invalid::one(
            "score",
            "请选择满意度，或“未接通”",
        ))),
    };
    answer(&state, ctx, &acting, id, result, "call_recorded").await
}

/// The evaluator form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EvaluatorForm {
    username: String,
}

/// `POST /purchase/evaluations/{id}/evaluators`
pub async fn name_evaluator(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<EvaluatorForm>,
) -> Result<Response, PageError> {
    let acting = Acting::new(&state, user, &meta);
    let result = usecase::name_evaluator(&state, &acting, id, &form.username).await;
    answer(&state, ctx, &acting, id, result, "evaluator_named").await
}

/// `POST /purchase/evaluations/{id}/publish`
pub async fn publish(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
) -> Result<Response, PageError> {
    let acting = Acting::new(&state, user, &meta);
    let result = usecase::publish(&state, &acting, id).await.map(|_| ());
    answer(&state, ctx, &acting, id, result, "evaluation_published").await
}

/// `GET /open-data/evaluations`: published results, for everyone.
#[derive(Template)]
#[template(path = "purchase/evaluations_public.html")]
pub struct PublicPage {
    ctx: PageCtx,
    rows: Vec<jinglao_db::purchase::evaluations::Published>,
}

/// `GET /open-data/evaluations`
pub async fn public(State(state): State<AppState>, ctx: PageCtx) -> Result<Response, PageError> {
    let rows = usecase::published(&state).await?;
    render(&PublicPage { ctx, rows })
}

/// `GET /open-data/evaluations.json`: the same results as data (no personal data: projects,
/// providers, contracts and grades only).
pub async fn public_json(State(state): State<AppState>) -> Result<Response, PageError> {
    let rows = usecase::published(&state).await?;
    let body: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "project_id": r.project_id, "title": r.title, "purchaser": r.purchaser_name,
                "provider": r.provider_name, "contract_no": r.contract_no, "year": r.year,
                "total": r.total_text(), "grade": r.grade, "grade_label": r.grade_label(),
                "published_at": r.published_at,
            })
        })
        .collect();
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )],
        serde_json::Value::Array(body).to_string(),
    )
        .into_response())
}
