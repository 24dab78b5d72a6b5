//! The exception queue (服务异常核查) over the API, as the page has it: the visits whose check
//! found something, with the reasons in words; and the reviewer's decision on one visit or on
//! a batch, all or none. Same scope and permission as the page.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use jinglao_db::visits;
use jinglao_domain::visit::ExceptionCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::responses::ScopedRead;
use crate::auth::ApiUser;
use crate::error::{ApiError, AppError, ErrorEnvelope};
use crate::pages::visit_review::{decision_of, may_view};
use crate::request::RequestMeta;
use crate::state::AppState;

/// Filters of the queue.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExceptionQuery {
    /// Only visits with this finding (e.g. `too_short`, `bad_confirmation`).
    pub code: Option<String>,
    /// `true`: the visits already reviewed instead of those waiting.
    #[serde(default)]
    pub decided: bool,
}

/// One visit of the queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExceptionDto {
    /// The visit.
    pub id: Uuid,
    /// The person visited.
    pub elder_name: String,
    /// The caregiver.
    pub caregiver_name: String,
    /// The provider.
    pub provider_name: String,
    /// The item's code.
    pub item_code: String,
    /// Check-in.
    pub in_at: DateTime<Utc>,
    /// Check-out, if any.
    pub out_at: Option<DateTime<Utc>>,
    /// exception | accepted | rejected.
    pub status: String,
    /// What the check found, in words.
    pub reasons: Vec<String>,
    /// The reviewer's reason, once decided.
    pub review_reason: Option<String>,
}

/// The queue and its size.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExceptionList {
    /// How many match (the list holds the 200 oldest).
    pub total: i64,
    /// The visits, oldest first.
    pub items: Vec<ExceptionDto>,
}

/// The visits in my area whose check found something, oldest first.
#[utoipa::path(
    get,
    path = "/visits/exceptions",
    tag = "visits",
    security(("bearer" = [])),
    params(ExceptionQuery),
    responses(
        (status = 200, description = "待核查（或已核查）的服务", body = ExceptionList),
        ScopedRead,
    )
)]
pub async fn list_exceptions(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(q): ApiQuery<ExceptionQuery>,
) -> Result<Json<ExceptionList>, ApiError> {
    may_view(&user)?;
    let code = match q.code.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(ExceptionCode::parse(c).ok_or_else(|| AppError::BadRequest {
            message: format!("没有“{c}”这种异常原因"),
            field: Some("code".into()),
        })?),
    };
    let mut c = state.db.acquire().await?;
    let (rows, total) = visits::queue(&mut c.conn(), &user.scope, code, q.decided, 200).await?;
    Ok(Json(ExceptionList {
        total,
        items: rows
            .into_iter()
            .map(|v| ExceptionDto {
                reasons: serde_json::from_str::<Vec<serde_json::Value>>(&v.findings)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|f| f["detail"].as_str().map(str::to_string))
                    .collect(),
                id: v.id,
                elder_name: v.elder_name,
                caregiver_name: v.caregiver_name,
                provider_name: v.provider_name,
                item_code: v.item_code,
                in_at: v.in_at,
                out_at: v.out_at,
                status: v.status,
                review_reason: v.review_reason,
            })
            .collect(),
    }))
}

/// A reviewer's decision.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    /// accept (pay it) | reject (do not pay it).
    pub decision: String,
    /// Why (required).
    pub reason: String,
}

/// Decide one visit of the exception queue, with a reason.
#[utoipa::path(
    post,
    path = "/visits/{id}/review",
    tag = "visits",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "服务记录编号")),
    request_body = ReviewRequest,
    responses(
        (status = 204, description = "已核查"),
        ScopedRead,
        (status = 422, description = "缺少理由、决定无效或这次服务不能这样决定", body = ErrorEnvelope),
    )
)]
pub async fn review_visit(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ReviewRequest>,
) -> Result<axum::http::StatusCode, ApiError> {
    let d = decision_of(&body.decision)?;
    visits::review(
        &state.db,
        &state.keys.audit_chain,
        &user.actor(&meta),
        id,
        d,
        &body.reason,
        state.clock.now(),
    )
    .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// One decision on several visits.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchReviewRequest {
    /// The visits (at most 200).
    pub visit_ids: Vec<Uuid>,
    /// accept | reject.
    pub decision: String,
    /// Why (required), the same for all.
    pub reason: String,
}

/// How many visits were decided.
#[derive(Debug, Serialize, ToSchema)]
pub struct Reviewed {
    /// Visits decided.
    pub reviewed: usize,
}

/// Decide several visits of the exception queue at once, all or none: if one cannot take the
/// decision, none is decided and the error names whose visit it was.
#[utoipa::path(
    post,
    path = "/visits/reviews",
    tag = "visits",
    security(("bearer" = [])),
    request_body = BatchReviewRequest,
    responses(
        (status = 200, description = "已全部核查", body = Reviewed),
        ScopedRead,
        (status = 422, description = "有一次不能这样决定（指明是谁哪天的服务），一次也没有决定", body = ErrorEnvelope),
    )
)]
pub async fn review_visits(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    ApiJson(body): ApiJson<BatchReviewRequest>,
) -> Result<Json<Reviewed>, ApiError> {
    let d = decision_of(&body.decision)?;
    let reviewed = visits::review_many(
        &state.db,
        &state.keys.audit_chain,
        &user.actor(&meta),
        &body.visit_ids,
        d,
        &body.reason,
        state.clock.now(),
    )
    .await?;
    Ok(Json(Reviewed { reviewed }))
}
