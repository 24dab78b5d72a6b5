//! Recurring service plans over the API: the plan list (cursor-paged, filtered by person,
//! provider, status and region), creating a plan (its days ahead are booked at once, and the
//! days refused come back with their reasons) and ending one. Same scope and checks as the
//! booking page; writes accept an `Idempotency-Key`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{NaiveDate, NaiveTime};
use jinglao_db::orders::Channel;
use jinglao_db::plans::{ListFilter, Listed, NewPlan};
use jinglao_domain::Invalid;
use jinglao_domain::service_plan::Weekdays;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::idempotency::{IdempotencyKey, once};
use super::orders::{channel_or_default, funding_or_entitlement, provider_or_own};
use super::paging;
use super::responses::{ScopedRead, ScopedWrite};
use crate::auth::ApiUser;
use crate::error::{ApiError, AppError, ErrorEnvelope};
use crate::request::RequestMeta;
use crate::state::AppState;
use crate::usecase::Acting;
use crate::usecase::home_services::plans::{self as usecase, status_label};

/// Filters of the plan list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlanQuery {
    /// One person.
    pub elder_id: Option<Uuid>,
    /// One provider.
    pub provider_id: Option<Uuid>,
    /// active | ended.
    pub status: Option<String>,
    /// People living within this region (12-digit or shorter code).
    pub region: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Items per page (1–500, default 100).
    pub limit: Option<i64>,
}

/// One plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanDto {
    /// Plan id.
    pub id: Uuid,
    /// The person.
    pub elder_id: Uuid,
    /// Their name.
    pub elder_name: String,
    /// Provider.
    pub provider_id: Uuid,
    /// Provider's name.
    pub provider_name: String,
    /// Service-list item code.
    pub item_code: String,
    /// entitlement | voucher | self_pay | care_insurance.
    pub funding: String,
    /// Weekdays, 1 = Monday … 7 = Sunday.
    pub weekdays: Vec<u32>,
    /// Start time, China time (HH:MM).
    pub start_time: String,
    /// Minutes per visit.
    pub minutes: i32,
    /// First day.
    pub start_on: NaiveDate,
    /// Last day, if any.
    pub end_on: Option<NaiveDate>,
    /// active | ended.
    pub status: String,
    /// The status in words.
    pub status_label: String,
    /// The schedule in words ("周二、周五 09:00，60 分钟").
    pub schedule: String,
    /// Why it ended.
    pub end_reason: Option<String>,
    /// Orders are booked through this day.
    pub booked_through: Option<NaiveDate>,
}

impl From<Listed> for PlanDto {
    fn from(l: Listed) -> Self {
        let p = l.plan;
        let weekdays = Weekdays::from_bits(i64::from(p.weekdays))
            .map(|w| w.days())
            .unwrap_or_default();
        PlanDto {
            schedule: p.schedule_label(),
            status_label: status_label(&p.status).into(),
            start_time: format!("{:02}:{:02}", p.start_minute / 60, p.start_minute % 60),
            weekdays,
            id: p.id,
            elder_id: p.elder_id,
            elder_name: l.elder_name,
            provider_id: p.provider_id,
            provider_name: l.provider_name,
            item_code: p.item_code,
            funding: p.funding,
            minutes: p.minutes,
            start_on: p.start_on,
            end_on: p.end_on,
            status: p.status,
            end_reason: p.end_reason,
            booked_through: p.generated_to,
        }
    }
}

/// A page of plans.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanList {
    /// Plans, oldest first.
    pub items: Vec<PlanDto>,
    /// Send as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Service plans in my scope, oldest first.
#[utoipa::path(
    get,
    path = "/plans",
    tag = "home-services",
    security(("bearer" = [])),
    params(PlanQuery),
    responses(
        (status = 200, description = "服务计划（分页）", body = PlanList),
        (status = 400, description = "参数无效（指明参数）", body = ErrorEnvelope),
        ScopedRead,
    )
)]
pub async fn list_plans(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(q): ApiQuery<PlanQuery>,
) -> Result<axum::Json<PlanList>, ApiError> {
    let limit = paging::limit(q.limit)?;
    let status = match q.status.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s @ ("active" | "ended")) => Some(s.to_string()),
        Some(_) => {
            return Err(AppError::BadRequest {
                message: "status 应为 active 或 ended".into(),
                field: Some("status".into()),
            }
            .into());
        }
    };
    let filter = ListFilter {
        elder_id: q.elder_id,
        provider_id: q.provider_id,
        status,
        region: paging::region(q.region.as_deref(), "region")?,
        after: paging::decode(q.cursor.as_deref())?,
    };
    let rows = usecase::list(&state, &user, &filter, limit + 1).await?;
    let (rows, next_cursor) = paging::page(rows, limit, |l| l.plan.id);
    Ok(axum::Json(PlanList {
        items: rows.into_iter().map(PlanDto::from).collect(),
        next_cursor,
    }))
}

/// A new plan.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanRequest {
    /// The person.
    pub elder_id: Uuid,
    /// The provider (a provider's own account may leave it out).
    pub provider_id: Option<Uuid>,
    /// Service-list item code.
    pub item_code: String,
    /// entitlement | voucher | self_pay | care_insurance (default entitlement).
    pub funding: Option<String>,
    /// Weekdays, 1 = Monday … 7 = Sunday.
    #[schema(example = json!([2, 5]))]
    pub weekdays: Vec<u32>,
    /// Start time, China time (HH:MM).
    #[schema(example = "09:00")]
    pub start_time: String,
    /// Minutes per visit (1–480).
    pub minutes: i64,
    /// First day (today or later).
    pub start_on: NaiveDate,
    /// Last day, if any.
    pub end_on: Option<NaiveDate>,
    /// staff | phone | provider (default: provider for a provider's account, staff otherwise).
    pub channel: Option<String>,
}

/// What creating a plan booked.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanCreatedDto {
    /// The new plan's id.
    pub plan_id: Uuid,
    /// Orders booked, by day.
    pub booked: Vec<BookedDay>,
    /// Days not booked, each with why (quota used up, no price that day, …).
    pub skipped: Vec<SkippedDay>,
}

/// A day booked by a plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct BookedDay {
    /// The day.
    pub day: NaiveDate,
    /// The order.
    pub order_id: Uuid,
}

/// A day a plan could not book.
#[derive(Debug, Serialize, ToSchema)]
pub struct SkippedDay {
    /// The day.
    pub day: NaiveDate,
    /// Why, in words.
    pub reason: String,
}

/// Create a recurring plan; its days ahead are booked at once.
#[utoipa::path(
    post,
    path = "/plans",
    tag = "home-services",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "重试时带同一个键，得到同一结果")),
    request_body = PlanRequest,
    responses(
        (status = 201, description = "已建立计划并预约", body = PlanCreatedDto),
        ScopedWrite,
    )
)]
pub async fn create_plan(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    key: IdempotencyKey,
    ApiJson(body): ApiJson<PlanRequest>,
) -> Response {
    let acting = Acting::new(&state, user, &meta);
    once(
        state,
        acting,
        key,
        "POST /api/v1/plans".to_string(),
        body,
        |state, acting, body| async move {
            let mut inv = Invalid::new();
            let weekdays = Weekdays::from_days(&body.weekdays)
                .filter(|_| body.weekdays.iter().all(|d| (1..=7).contains(d)));
            if weekdays.is_none() {
                inv.add("weekdays", "应为 1（周一）到 7（周日）之间的数，至少一个");
            }
            let start_time = NaiveTime::parse_from_str(body.start_time.trim(), "%H:%M").ok();
            if start_time.is_none() {
                inv.add("start_time", "开始时间应写成 时:分，例如 09:00");
            }
            let provider_id = provider_or_own(body.provider_id, &acting.user.scope)?;
            let funding = funding_or_entitlement(body.funding.as_deref())?;
            let channel: Channel = channel_or_default(body.channel.as_deref(), &acting.user)?;
            if !inv.is_empty() {
                return Err(ApiError::from(AppError::from(inv)));
            }
            let plan = NewPlan {
                elder_id: body.elder_id,
                provider_id,
                item_code: body.item_code.trim(),
                funding: Some(funding),
                weekdays,
                start_time,
                minutes: Some(body.minutes),
                start_on: Some(body.start_on),
                end_on: body.end_on,
                channel,
            };
            let (plan_id, g) = usecase::create(&state, &acting, &plan).await?;
            Ok((
                StatusCode::CREATED,
                PlanCreatedDto {
                    plan_id,
                    booked: g
                        .booked
                        .into_iter()
                        .map(|(day, order_id)| BookedDay { day, order_id })
                        .collect(),
                    skipped: g
                        .skipped
                        .into_iter()
                        .map(|(day, reason)| SkippedDay { day, reason })
                        .collect(),
                },
            ))
        },
    )
    .await
}

/// Ending a plan.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndPlanRequest {
    /// Why (required).
    pub reason: String,
}

/// What ending a plan did.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanEndedDto {
    /// The plan.
    pub plan_id: Uuid,
    /// Future orders not yet started that were cancelled with it.
    pub orders_cancelled: u64,
}

/// End a plan; its future orders not yet started are cancelled and their quota freed.
#[utoipa::path(
    post,
    path = "/plans/{id}/end",
    tag = "home-services",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "计划编号"),
        ("Idempotency-Key" = Option<String>, Header, description = "重试时带同一个键，得到同一结果"),
    ),
    request_body = EndPlanRequest,
    responses(
        (status = 200, description = "已终止", body = PlanEndedDto),
        ScopedWrite,
    )
)]
pub async fn end_plan(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    key: IdempotencyKey,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<EndPlanRequest>,
) -> Response {
    let acting = Acting::new(&state, user, &meta);
    let route = format!("POST /api/v1/plans/{id}/end");
    once(
        state,
        acting,
        key,
        route,
        body,
        move |state, acting, body| async move {
            let n = usecase::end(&state, &acting, id, &body.reason).await?;
            Ok((
                StatusCode::OK,
                PlanEndedDto {
                    plan_id: id,
                    orders_cancelled: n,
                },
            ))
        },
    )
    .await
}
