//! Orders and dispatch over the API, so a provider's own system can connect
//! (企业平台为基础, 接入监管平台): the order list (cursor-paged, filtered by day, status, region,
//! provider and person), booking, cancelling or recording a no-show, assigning a caregiver
//! and auto-dispatching a day. Same scope and checks as the order board; writes accept an
//! `Idempotency-Key`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use jinglao_db::orders::{Channel, Ending, ListFilter, Listed, NewOrder};
use jinglao_domain::order::Funding;
use jinglao_domain::{Invalid, Scope};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::idempotency::{IdempotencyKey, once};
use super::paging;
use super::responses::ScopedRead;
use crate::auth::ApiUser;
use crate::error::{ApiError, AppError, ErrorEnvelope};
use crate::request::RequestMeta;
use crate::state::AppState;
use crate::usecase::Acting;
use crate::usecase::home_services::orders::{self as usecase, status_label};

/// Filters of the order list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderQuery {
    /// One service day (ISO date).
    pub date: Option<NaiveDate>,
    /// Service days from (ISO date, with `to`).
    pub from: Option<NaiveDate>,
    /// Service days to (ISO date, inclusive).
    pub to: Option<NaiveDate>,
    /// booked | done | cancelled | no_show.
    pub status: Option<String>,
    /// People served within this region (12-digit or shorter code).
    pub region: Option<String>,
    /// One provider.
    pub provider_id: Option<Uuid>,
    /// One person.
    pub elder_id: Option<Uuid>,
    /// Only booked orders with nobody assigned.
    #[serde(default)]
    pub unassigned: bool,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Items per page (1–500, default 100).
    pub limit: Option<i64>,
}

/// One order.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderDto {
    /// Order id.
    pub id: Uuid,
    /// The person.
    pub elder_id: Uuid,
    /// Their name.
    pub elder_name: String,
    /// Their address.
    pub address: String,
    /// Provider.
    pub provider_id: Uuid,
    /// Provider's name.
    pub provider_name: String,
    /// Service-list item code.
    pub item_code: String,
    /// entitlement | voucher | self_pay | care_insurance.
    pub funding: String,
    /// Window start.
    pub window_start: DateTime<Utc>,
    /// Window end.
    pub window_end: DateTime<Utc>,
    /// Minutes booked.
    pub minutes: i32,
    /// booked | done | cancelled | no_show.
    pub status: String,
    /// The status in words.
    pub status_label: String,
    /// Assigned caregiver.
    pub caregiver_id: Option<Uuid>,
    /// Their name.
    pub caregiver_name: Option<String>,
    /// Planned start (set by dispatch).
    pub planned_at: Option<DateTime<Utc>>,
    /// staff | provider | public | phone.
    pub channel: String,
    /// Why it ended without a visit.
    pub end_reason: Option<String>,
    /// The visit, once started.
    pub visit_id: Option<Uuid>,
    /// Its status.
    pub visit_status: Option<String>,
}

impl From<Listed> for OrderDto {
    fn from(o: Listed) -> Self {
        OrderDto {
            status_label: status_label(&o.status).into(),
            id: o.id,
            elder_id: o.elder_id,
            elder_name: o.elder_name,
            address: o.address,
            provider_id: o.provider_id,
            provider_name: o.provider_name,
            item_code: o.item_code,
            funding: o.funding,
            window_start: o.window_start,
            window_end: o.window_end,
            minutes: o.minutes,
            status: o.status,
            caregiver_id: o.caregiver_id,
            caregiver_name: o.caregiver_name,
            planned_at: o.planned_at,
            channel: o.channel,
            end_reason: o.end_reason,
            visit_id: o.visit_id,
            visit_status: o.visit_status,
        }
    }
}

/// A page of orders.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderList {
    /// Orders in time order.
    pub items: Vec<OrderDto>,
    /// Send as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Orders in my scope, in time order.
#[utoipa::path(
    get,
    path = "/orders",
    tag = "home-services",
    security(("bearer" = [])),
    params(OrderQuery),
    responses(
        (status = 200, description = "工单（按时间排序，分页）", body = OrderList),
        (status = 400, description = "参数无效（指明参数）", body = ErrorEnvelope),
        (status = 401, description = "未提供有效令牌", body = ErrorEnvelope),
        (status = 403, description = "角色无权查看工单", body = ErrorEnvelope),
    )
)]
pub async fn list_orders(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(q): ApiQuery<OrderQuery>,
) -> Result<axum::Json<OrderList>, ApiError> {
    let limit = paging::limit(q.limit)?;
    let region = paging::region(q.region.as_deref(), "region")?;
    let days = match (q.from, q.to) {
        (Some(f), Some(t)) => Some((f, t)),
        (None, None) => None,
        _ => {
            return Err(AppError::BadRequest {
                message: "from 和 to 须同时给出".into(),
                field: Some(if q.from.is_none() { "from" } else { "to" }.into()),
            }
            .into());
        }
    };
    let filter = ListFilter {
        day: q.date,
        provider_id: q.provider_id,
        elder_id: q.elder_id,
        unassigned: q.unassigned,
        days,
        status: q.status.filter(|s| !s.trim().is_empty()),
        region,
        after: paging::decode(q.cursor.as_deref())?,
    };
    let rows = usecase::list(&state, &user, &filter, limit + 1).await?;
    let (rows, next_cursor) = paging::page(rows, limit, |o| (o.window_start, o.id));
    Ok(axum::Json(OrderList {
        items: rows.into_iter().map(OrderDto::from).collect(),
        next_cursor,
    }))
}

/// A booking.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookRequest {
    /// The person.
    pub elder_id: Uuid,
    /// The provider (a provider's own account may leave it out).
    pub provider_id: Option<Uuid>,
    /// Service-list item code.
    pub item_code: String,
    /// entitlement | voucher | self_pay | care_insurance (default entitlement).
    pub funding: Option<String>,
    /// Start of the window (RFC 3339).
    pub window_start: DateTime<Utc>,
    /// The latest the visit may start (dispatch plans within); omit for exactly `window_start`.
    pub latest_start: Option<DateTime<Utc>>,
    /// Minutes booked.
    pub minutes: i64,
    /// staff | phone | provider (default: provider for a provider's account, staff otherwise).
    pub channel: Option<String>,
}

/// A booked order.
#[derive(Debug, Serialize, ToSchema)]
pub struct BookedDto {
    /// The new order's id. The confirmation code goes to the person (public page, card), never
    /// through this answer.
    pub order_id: Uuid,
}

/// Book a visit for a person within the month's quota.
#[utoipa::path(
    post,
    path = "/orders",
    tag = "home-services",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "重试时带同一个键，得到同一结果")),
    request_body = BookRequest,
    responses(
        (status = 201, description = "已预约", body = BookedDto),
        ScopedRead,
        (status = 409, description = "同一幂等键的请求正在处理", body = ErrorEnvelope),
        (status = 422, description = "超出额度、无价格、时间不对（指明字段）", body = ErrorEnvelope),
    )
)]
pub async fn book_order(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    key: IdempotencyKey,
    ApiJson(body): ApiJson<BookRequest>,
) -> Response {
    let acting = Acting::new(&state, user, &meta);
    once(
        state,
        acting,
        key,
        "POST /api/v1/orders".to_string(),
        body,
        |state, acting, body| async move {
            let provider_id = provider_or_own(body.provider_id, &acting.user.scope)?;
            let funding = funding_or_entitlement(body.funding.as_deref())?;
            let channel = channel_or_default(body.channel.as_deref(), &acting.user)?;
            let order = NewOrder {
                elder_id: body.elder_id,
                provider_id,
                item_code: body.item_code.trim(),
                funding: Some(funding),
                window_start: Some(body.window_start),
                latest_start: body.latest_start,
                minutes: Some(body.minutes),
                channel,
            };
            let placed = usecase::book(&state, &acting, &order).await?;
            Ok((
                StatusCode::CREATED,
                BookedDto {
                    order_id: placed.id,
                },
            ))
        },
    )
    .await
}

/// How a booking arrived: as asked (never `public`: that is the public page's own), else
/// `provider` for a provider's account and `staff` for anyone else.
pub(crate) fn channel_or_default(
    asked: Option<&str>,
    user: &crate::auth::CurrentUser,
) -> Result<Channel, AppError> {
    match asked {
        None if user.scope.provider_id().is_some() => Ok(Channel::Provider),
        None => Ok(Channel::Staff),
        Some(c) => Channel::parse(c.trim())
            .filter(|c| *c != Channel::Public)
            .ok_or_else(|| Invalid::one("channel", "应为 staff、phone 或 provider").into()),
    }
}

/// The provider a request names, or the caller's own for a provider's account.
pub(crate) fn provider_or_own(asked: Option<Uuid>, scope: &Scope) -> Result<Uuid, AppError> {
    asked
        .or(scope.provider_id())
        .ok_or_else(|| Invalid::one("provider_id", "请指明服务机构").into())
}

/// A funding source by its stored name; entitlement (服务额度) when left out.
pub(crate) fn funding_or_entitlement(asked: Option<&str>) -> Result<Funding, AppError> {
    match asked {
        None => Ok(Funding::Entitlement),
        Some(f) => Funding::parse(f.trim()).ok_or_else(|| {
            Invalid::one(
                "funding",
                "应为 entitlement、voucher、self_pay 或 care_insurance",
            )
            .into()
        }),
    }
}

/// Cancelling an order, or recording that nobody was served.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    /// Why (required).
    pub reason: String,
    /// Nobody home, or the caregiver did not come (instead of a cancellation beforehand).
    #[serde(default)]
    pub no_show: bool,
}

/// The order's new state.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderStateDto {
    /// Order id.
    pub order_id: Uuid,
    /// booked | done | cancelled | no_show.
    pub status: String,
}

/// Cancel a booked order (or record a no-show); the quota is freed.
#[utoipa::path(
    post,
    path = "/orders/{id}/cancel",
    tag = "home-services",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "工单编号"),
        ("Idempotency-Key" = Option<String>, Header, description = "重试时带同一个键，得到同一结果"),
    ),
    request_body = CancelRequest,
    responses(
        (status = 200, description = "已取消", body = OrderStateDto),
        ScopedRead,
        (status = 422, description = "未填原因，或已开始服务（指明字段）", body = ErrorEnvelope),
    )
)]
pub async fn cancel_order(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    key: IdempotencyKey,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<CancelRequest>,
) -> Response {
    let acting = Acting::new(&state, user, &meta);
    let route = format!("POST /api/v1/orders/{id}/cancel");
    once(
        state,
        acting,
        key,
        route,
        body,
        move |state, acting, body| async move {
            let how = if body.no_show {
                Ending::NoShow
            } else {
                Ending::Cancelled
            };
            usecase::end(&state, &acting, id, how, &body.reason).await?;
            let status = if body.no_show { "no_show" } else { "cancelled" };
            Ok((
                StatusCode::OK,
                OrderStateDto {
                    order_id: id,
                    status: status.into(),
                },
            ))
        },
    )
    .await
}

/// Assigning a caregiver by hand.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// The caregiver's staff id.
    pub caregiver_id: Uuid,
}

/// Assign an order to a caregiver (who must work for the provider that day, have the skill
/// and be free).
#[utoipa::path(
    post,
    path = "/orders/{id}/assign",
    tag = "home-services",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "工单编号"),
        ("Idempotency-Key" = Option<String>, Header, description = "重试时带同一个键，得到同一结果"),
    ),
    request_body = AssignRequest,
    responses(
        (status = 200, description = "已派单", body = OrderStateDto),
        ScopedRead,
        (status = 422, description = "护理员不在岗、无此技能或时间冲突（指明字段）", body = ErrorEnvelope),
    )
)]
pub async fn assign_order(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    key: IdempotencyKey,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<AssignRequest>,
) -> Response {
    let acting = Acting::new(&state, user, &meta);
    let route = format!("POST /api/v1/orders/{id}/assign");
    once(
        state,
        acting,
        key,
        route,
        body,
        move |state, acting, body| async move {
            usecase::assign(&state, &acting, id, body.caregiver_id).await?;
            Ok((
                StatusCode::OK,
                OrderStateDto {
                    order_id: id,
                    status: "booked".into(),
                },
            ))
        },
    )
    .await
}

/// Auto-dispatching a day.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoDispatchRequest {
    /// The provider (a provider's own account may leave it out).
    pub provider_id: Option<Uuid>,
    /// The day (ISO date).
    pub date: NaiveDate,
}

/// One order placed by dispatch.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlacedDto {
    /// Order.
    pub order_id: Uuid,
    /// Caregiver's staff id.
    pub caregiver_id: Uuid,
    /// Planned start.
    pub planned_start: DateTime<Utc>,
}

/// One order dispatch could not place.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeftDto {
    /// Order.
    pub order_id: Uuid,
    /// Why, in words.
    pub reason: String,
}

/// What auto-dispatch did.
#[derive(Debug, Serialize, ToSchema)]
pub struct DispatchReportDto {
    /// Orders placed with a caregiver.
    pub assigned: Vec<PlacedDto>,
    /// Orders nobody could take.
    pub left: Vec<LeftDto>,
}

/// Auto-dispatch a provider's day: every unassigned order to a free caregiver with the skill.
#[utoipa::path(
    post,
    path = "/dispatch/auto",
    tag = "home-services",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "重试时带同一个键，得到同一结果")),
    request_body = AutoDispatchRequest,
    responses(
        (status = 200, description = "派单结果", body = DispatchReportDto),
        ScopedRead,
        (status = 422, description = "未指明服务机构", body = ErrorEnvelope),
    )
)]
pub async fn auto_dispatch(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    key: IdempotencyKey,
    ApiJson(body): ApiJson<AutoDispatchRequest>,
) -> Response {
    let acting = Acting::new(&state, user, &meta);
    once(
        state,
        acting,
        key,
        "POST /api/v1/dispatch/auto".to_string(),
        body,
        |state, acting, body| async move {
            let provider = provider_or_own(body.provider_id, &acting.user.scope)?;
            let report = usecase::auto_dispatch(&state, &acting, provider, body.date).await?;
            Ok((
                StatusCode::OK,
                DispatchReportDto {
                    assigned: report
                        .assigned
                        .into_iter()
                        .map(|a| PlacedDto {
                            order_id: a.order,
                            caregiver_id: a.caregiver,
                            planned_start: a.start,
                        })
                        .collect(),
                    left: report
                        .left
                        .into_iter()
                        .map(|(order_id, reason)| LeftDto { order_id, reason })
                        .collect(),
                },
            ))
        },
    )
    .await
}
