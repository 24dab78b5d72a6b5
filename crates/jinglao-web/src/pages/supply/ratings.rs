//! Star rating (等级评定, GB/T 37276): applying for a level from the facility's page, the
//! rating's page with the item-level sheet (the facility's self-assessment, then the experts'
//! scores), and the decision under the region's thresholds, published at once.

use askama::Template;
use axum::Form;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use jinglao_db::DbError;
use jinglao_db::facilities::Facility;
use jinglao_db::ratings::{self, Rating};
use jinglao_domain::rating::{self, Part, PartScores, SHEET, SheetItem, tenths};
use jinglao_domain::{Invalid, Permission};
use uuid::Uuid;

use crate::auth::can::{PageCan, need};
use crate::auth::{CurrentUser, PageUser};
use crate::error::{AppError, PageError, render};
use crate::pages::IdPath;
use crate::pages::answer_form;
use crate::pages::facilities::{FacilityForms, after_action};
use crate::pages::providers::{may_view, parse_id};
use crate::pages::{FormErrors, PageCtx};
use crate::request::RequestMeta;
use crate::state::AppState;
use crate::usecase::Acting;
use crate::usecase::supply::ratings as usecase;

/// `POST /facilities/{id}/ratings`: applies for a level (prerequisites checked).
pub async fn apply(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    IdPath(id): IdPath,
    Form(form): Form<FacilityForms>,
) -> Result<Response, PageError> {
    if !user.can(Permission::ManageFacilities) && !user.can(Permission::RateFacilities) {
        return Err(AppError::forbidden().into());
    }
    let result = match form.requested_level.trim().parse::<i64>() {
        Ok(level) => {
            let acting = Acting::new(&state, user.clone(), &meta);
            usecase::apply(&state, &acting, id, level).await
        }
        Err(_) => Err(DbError::Invalid(Invalid::one(
            "requested_level",
            "请选择申请的等级",
        ))),
    };
    after_action(
        &state,
        ctx,
        &user,
        id,
        form,
        result,
        ("rating_applied", "ratings"),
    )
    .await
}

/// A status's label.
pub fn status_label(status: &str) -> &'static str {
    match status {
        "applied" => "已申请，待机构自评",
        "self_assessed" => "已自评，待专家评分",
        "scored" => "专家已评分，待评定",
        "decided" => "已评定",
        "published" => "已评定并公布",
        _ => "未知",
    }
}

/// One line of the sheet with both sheets' scores and the value in the form.
pub struct SheetLine {
    item: &'static SheetItem,
    own: String,
    expert: String,
    value: String,
}

/// One part: its lines and totals.
pub struct SheetPart {
    part: Part,
    lines: Vec<SheetLine>,
    own_total: String,
    expert_total: String,
}

/// `GET /ratings/{id}`.
#[derive(Template)]
#[template(path = "facilities/rating.html")]
pub struct RatingPage {
    ctx: PageCtx,
    errors: FormErrors,
    r: Rating,
    f: Facility,
    status: &'static str,
    parts: Vec<SheetPart>,
    own_total: String,
    expert_total: String,
    /// The sheet the user may fill now: "self", "expert" or "".
    fill: &'static str,
    can_decide: bool,
    thresholds: Vec<(String, String, String)>,
}

fn which_sheet(user: &CurrentUser, status: &str) -> &'static str {
    match status {
        "applied" | "self_assessed" if user.can(Permission::ManageFacilities) => {
            if status == "self_assessed" && user.can(Permission::RateFacilities) {
                "expert"
            } else {
                "self"
            }
        }
        "scored" if user.can(Permission::RateFacilities) => "expert",
        _ => "",
    }
}

async fn rating_page(
    state: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    id: Uuid,
    errors: FormErrors,
    entered: Vec<(String, String)>,
) -> Result<RatingPage, PageError> {
    let mut c = state.db.acquire().await?;
    let (r, f) = ratings::get(&mut c.conn(), &user.scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let own = ratings::sheet(&mut c.conn(), id, "self").await?;
    let expert = ratings::sheet(&mut c.conn(), id, "expert").await?;
    drop(c);
    let fill = which_sheet(user, &r.status);
    let shown = |scores: &[(String, i64)], code: &str| {
        scores
            .iter()
            .find(|(c, _)| c == code)
            .map(|(_, v)| tenths(*v))
            .unwrap_or_default()
    };
    let totals = |scores: &[(String, i64)]| {
        PartScores::from_items(scores.iter().map(|(c, v)| (c.as_str(), *v)))
    };
    let (own_scores, expert_scores) = (totals(&own), totals(&expert));
    let parts = Part::ALL
        .iter()
        .map(|&part| SheetPart {
            part,
            lines: SHEET
                .iter()
                .filter(|i| i.part == part)
                .map(|item| {
                    let earlier = if fill == "expert" { &expert } else { &own };
                    SheetLine {
                        item,
                        own: shown(&own, item.code),
                        expert: shown(&expert, item.code),
                        value: entered
                            .iter()
                            .find(|(c, _)| c == item.code)
                            .map(|(_, v)| v.clone())
                            .unwrap_or_else(|| shown(earlier, item.code)),
                    }
                })
                .collect(),
            own_total: tenths(own_scores.part(part)),
            expert_total: tenths(expert_scores.part(part)),
        })
        .collect();
    let book = jinglao_db::policy::book(&state.db).await?;
    let t = book.rating_thresholds(&f.region_code);
    let thresholds = rating::Level::ALL
        .iter()
        .map(|l| {
            let th = t.of(*l);
            (
                l.label().to_string(),
                th.min_total.to_string(),
                th.min_part_percent.to_string(),
            )
        })
        .collect();
    Ok(RatingPage {
        ctx: ctx.with_errors(&errors),
        errors,
        status: status_label(&r.status),
        can_decide: r.status == "scored" && user.can(Permission::RateFacilities),
        own_total: tenths(own_scores.total()),
        expert_total: tenths(expert_scores.total()),
        parts,
        fill,
        thresholds,
        r,
        f,
    })
}

/// `GET /ratings/{id}`
pub async fn show(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    may_view(&user)?;
    let page = rating_page(
        &state,
        ctx,
        &user,
        parse_id(&id)?,
        FormErrors::new(),
        vec![],
    )
    .await?;
    render(&page)
}

/// `POST /ratings/{id}/sheets/{sheet}`: the whole sheet in one go; fields are `score.<code>`.
pub async fn save_sheet(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageUser(user): PageUser,
    meta: RequestMeta,
    Path((id, sheet)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, PageError> {
    may_view(&user)?;
    let id = parse_id(&id)?;
    let scores: Vec<(String, String)> = form_urlencoded::parse(&body)
        .filter_map(|(k, v)| {
            k.strip_prefix("score.")
                .map(|c| (c.to_string(), v.trim().to_string()))
        })
        .collect();
    let acting = Acting::new(&state, user.clone(), &meta);
    let result = usecase::save_sheet(&state, &acting, id, &sheet, &scores).await;
    answer_form(
        result,
        |_| format!("/ratings/{id}?notice=sheet_saved"),
        async |errors| rating_page(&state, ctx, &user, id, errors, scores).await,
    )
    .await
}

/// `POST /ratings/{id}/decision`: decides from the experts' sheet and publishes.
pub async fn decide(
    State(state): State<AppState>,
    ctx: PageCtx,
    PageCan(user, _): PageCan<need::RateFacilities>,
    meta: RequestMeta,
    IdPath(id): IdPath,
) -> Result<Response, PageError> {
    let acting = Acting::new(&state, user.clone(), &meta);
    let result = usecase::decide(&state, &acting, id).await;
    answer_form(
        result,
        |_| format!("/ratings/{id}?notice=rating_decided"),
        async |errors| rating_page(&state, ctx, &user, id, errors, vec![]).await,
    )
    .await
}
