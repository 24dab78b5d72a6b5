//! Star rating (等级评定, GB/T 37276) over the API: a facility's ratings, applying for a level,
//! saving a scoring sheet and the decision. Same scope and checks as the rating pages; writes
//! accept an `Idempotency-Key`.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use jinglao_db::ratings::Rating;
use jinglao_domain::rating::tenths;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath};
use super::idempotency::{IdempotencyKey, once};
use super::responses::{ScopedRead, ScopedWrite};
use crate::auth::ApiUser;
use crate::error::ApiError;
use crate::request::RequestMeta;
use crate::state::AppState;
use crate::usecase::Acting;
use crate::usecase::supply::ratings as usecase;

/// A rating.
#[derive(Debug, Serialize, ToSchema)]
pub struct RatingDto {
    /// Id.
    pub id: Uuid,
    /// Facility.
    pub facility_id: Uuid,
    /// Level asked for (1–5).
    pub requested_level: i32,
    /// applied | self_assessed | scored | decided | published.
    pub status: String,
    /// Applied on.
    pub applied_on: NaiveDate,
    /// Level granted.
    pub granted_level: Option<i32>,
    /// The requested level was not reached (the two-year bar applies to it).
    pub failed: bool,
    /// Decided on.
    pub decided_on: Option<NaiveDate>,
    /// The level holds until.
    pub valid_until: Option<NaiveDate>,
    /// Published on.
    pub published_on: Option<NaiveDate>,
    /// The decision's reasons, in words.
    pub reasons: Vec<String>,
}

impl From<Rating> for RatingDto {
    fn from(r: Rating) -> Self {
        RatingDto {
            reasons: r
                .reasons
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string)
                .collect(),
            id: r.id,
            facility_id: r.facility_id,
            requested_level: r.requested_level,
            status: r.status,
            applied_on: r.applied_on,
            granted_level: r.granted_level,
            failed: r.failed,
            decided_on: r.decided_on,
            valid_until: r.valid_until,
            published_on: r.published_on,
        }
    }
}

/// A facility's ratings, newest first.
#[utoipa::path(
    get,
    path = "/facilities/{id}/ratings",
    tag = "facilities",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "设施编号")),
    responses((status = 200, description = "等级评定", body = Vec<RatingDto>), ScopedRead)
)]
pub async fn list_ratings(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<axum::Json<Vec<RatingDto>>, ApiError> {
    let rows = usecase::of_facility(&state, &user, id).await?;
    Ok(axum::Json(rows.into_iter().map(RatingDto::from).collect()))
}

/// Applying for a level.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyRequest {
    /// The level asked for (1–5; a first rating is capped by the region's rule).
    pub requested_level: i64,
}

/// The rating created or changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct RatingRefDto {
    /// Rating id.
    pub rating_id: Uuid,
}

/// Apply for a star level (the facility's prerequisites and credit records are checked).
#[utoipa::path(
    post,
    path = "/facilities/{id}/ratings",
    tag = "facilities",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "设施编号"),
        ("Idempotency-Key" = Option<String>, Header, description = "重试时带同一个键，得到同一结果"),
    ),
    request_body = ApplyRequest,
    responses((status = 201, description = "已申请", body = RatingRefDto), ScopedWrite)
)]
pub async fn apply_rating(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    key: IdempotencyKey,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ApplyRequest>,
) -> Response {
    let acting = Acting::new(&state, user, &meta);
    let route = format!("POST /api/v1/facilities/{id}/ratings");
    once(
        state,
        acting,
        key,
        route,
        body,
        move |state, acting, body| async move {
            let rating_id = usecase::apply(&state, &acting, id, body.requested_level).await?;
            Ok((StatusCode::CREATED, RatingRefDto { rating_id }))
        },
    )
    .await
}

/// One scoring sheet.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SheetRequest {
    /// Points by GB/T 37276 item code, as decimals with at most one place (e.g. 8.5).
    #[schema(example = json!({"1.1": 8.5, "1.2": 10}))]
    pub scores: BTreeMap<String, f64>,
}

/// A sheet's totals by part.
#[derive(Debug, Serialize, ToSchema)]
pub struct SheetTotalsDto {
    /// 环境.
    pub environment: String,
    /// 设施设备.
    pub equipment: String,
    /// 运营管理.
    pub operations: String,
    /// 服务.
    pub service: String,
    /// 总分.
    pub total: String,
}

/// Save a scoring sheet: `self` (the facility's self-assessment) or `expert` (the raters').
#[utoipa::path(
    put,
    path = "/ratings/{id}/sheets/{sheet}",
    tag = "facilities",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "评定编号"),
        ("sheet" = String, Path, description = "self 或 expert"),
        ("Idempotency-Key" = Option<String>, Header, description = "重试时带同一个键，得到同一结果"),
    ),
    request_body = SheetRequest,
    responses((status = 200, description = "已保存", body = SheetTotalsDto), ScopedWrite)
)]
pub async fn save_sheet(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    key: IdempotencyKey,
    ApiPath((id, sheet)): ApiPath<(Uuid, String)>,
    ApiJson(body): ApiJson<SheetRequest>,
) -> Response {
    let acting = Acting::new(&state, user, &meta);
    let route = format!("PUT /api/v1/ratings/{id}/sheets/{sheet}");
    once(
        state,
        acting,
        key,
        route,
        body,
        move |state, acting, body| async move {
            if body.scores.len() > jinglao_domain::rating::SHEET.len() {
                let e = jinglao_domain::Invalid::one("scores", "评分项多于评定表的项目数");
                return Err(ApiError::from(crate::error::AppError::from(e)));
            }
            // The sheet's own parser checks each value's range and decimals, as on the form.
            let scores: Vec<(String, String)> = body
                .scores
                .into_iter()
                .map(|(code, points)| (code, points.to_string()))
                .collect();
            let s = usecase::save_sheet(&state, &acting, id, &sheet, &scores).await?;
            Ok((
                StatusCode::OK,
                SheetTotalsDto {
                    environment: tenths(s.environment),
                    equipment: tenths(s.equipment),
                    operations: tenths(s.operations),
                    service: tenths(s.service),
                    total: tenths(s.total()),
                },
            ))
        },
    )
    .await
}

/// The decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionDto {
    /// Rating id.
    pub rating_id: Uuid,
    /// The level granted (none: none).
    pub granted_level: Option<i64>,
    /// The requested level was not reached.
    pub failed: bool,
    /// Why, line by line.
    pub reasons: Vec<String>,
}

/// Decide from the experts' sheet under the region's thresholds, and publish.
#[utoipa::path(
    post,
    path = "/ratings/{id}/decision",
    tag = "facilities",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "评定编号"),
        ("Idempotency-Key" = Option<String>, Header, description = "重试时带同一个键，得到同一结果"),
    ),
    responses((status = 200, description = "已评定并公示", body = DecisionDto), ScopedWrite)
)]
pub async fn decide_rating(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    key: IdempotencyKey,
    ApiPath(id): ApiPath<Uuid>,
) -> Response {
    let acting = Acting::new(&state, user, &meta);
    let route = format!("POST /api/v1/ratings/{id}/decision");
    once(
        state,
        acting,
        key,
        route,
        (),
        move |state, acting, ()| async move {
            let o = usecase::decide(&state, &acting, id).await?;
            Ok((
                StatusCode::OK,
                DecisionDto {
                    rating_id: id,
                    granted_level: o.granted.map(|l| l.number()),
                    failed: o.failed,
                    reasons: o.reasons,
                },
            ))
        },
    )
    .await
}
