//! The basic elderly-service list (基本养老服务清单): the list that applies to a region, one
//! version, and publishing a new version (rules are checked when saved; a county list must
//! cover the city's).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use jinglao_db::service_lists::{self, ServiceList};
use jinglao_domain::service_item_draft::{ItemDraft, validate_items};
use jinglao_domain::{Invalid, RegionCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::auth::ApiUser;
use crate::auth::can::{ApiCan, need};
use crate::error::{ApiError, AppError, ErrorEnvelope};
use crate::request::RequestMeta;
use crate::state::AppState;

// The documented shape of `jinglao_domain::service_item_draft::ItemDraft`, which is what is
// (de)serialised.
/// An item as sent and as returned.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct ItemDto {
    /// Code, stable across versions and levels.
    #[schema(example = "XT-ZH-02")]
    pub code: String,
    /// Name.
    #[schema(example = "老年助餐")]
    pub name: String,
    /// 物质帮助, 照护服务 or 关爱服务.
    #[schema(example = "照护服务")]
    pub category: String,
    /// Target-group rule (docs/RULES.md).
    #[schema(example = "age >= 80 or \"失能\" in categories")]
    pub target_rule: String,
    /// Content and service standard.
    pub content: String,
    /// `government`, `share` or `self`.
    #[schema(example = "share")]
    pub payer: String,
    /// With `share`: the government's share in per cent.
    #[schema(example = "50")]
    pub government_share_percent: String,
    /// `unlimited`, `hours`, `times` (a month) or `fen` (a month).
    #[schema(example = "times")]
    pub quota_kind: String,
    /// The amount.
    #[schema(example = "30")]
    pub quota_amount: String,
    /// YYYY-MM-DD.
    #[schema(example = "2024-01-01")]
    pub effective_from: String,
    /// YYYY-MM-DD or empty.
    pub effective_to: String,
    /// Legal basis: document number and article.
    #[schema(example = "潭政办发〔2023〕20号")]
    pub basis: String,
}

/// A published version.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceListDto {
    /// Version id (decisions record it).
    pub id: Uuid,
    /// Region it was published for.
    pub region_code: String,
    /// 1, 2, …
    pub version: i32,
    /// Title.
    pub title: String,
    /// The publishing document.
    pub basis: String,
    /// When.
    pub published_at: DateTime<Utc>,
    /// Items in order.
    #[schema(value_type = Vec<ItemDto>)]
    pub items: Vec<ItemDraft>,
}

fn dto(l: ServiceList) -> ServiceListDto {
    ServiceListDto {
        id: l.id,
        region_code: l.region.short().to_string(),
        version: l.version,
        title: l.title,
        basis: l.basis,
        published_at: l.published_at,
        items: l.items.iter().map(ItemDraft::of_item).collect(),
    }
}

/// Query of the applicable list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApplicableQuery {
    /// A region code (default: the caller's).
    #[serde(default)]
    pub region: Option<String>,
}

/// The list that applies to people in a region: the latest version of the nearest region at
/// or above it that published one. Lists are public documents: any signed-in account may read
/// them.
#[utoipa::path(
    get,
    path = "/service-lists/applicable",
    tag = "service-lists",
    security(("bearer" = [])),
    params(ApplicableQuery),
    responses(
        (status = 200, description = "适用的清单", body = ServiceListDto),
        (status = 401, description = "未提供有效令牌", body = ErrorEnvelope),
        (status = 404, description = "该地区及其上级都没有发布清单", body = ErrorEnvelope),
        (status = 422, description = "区划代码无效", body = ErrorEnvelope),
    )
)]
pub async fn applicable_list(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(q): ApiQuery<ApplicableQuery>,
) -> Result<Json<ServiceListDto>, ApiError> {
    let region = match q.region.as_deref().filter(|r| !r.is_empty()) {
        Some(r) => RegionCode::parse(r)
            .map_err(|_| Invalid::one("region", "区划代码应为 2、4、6、9 或 12 位数字"))?,
        None => user.scope.region_root().unwrap_or(user.account.region_code),
    };
    let mut c = state.db.acquire().await?;
    let list = service_lists::applicable(&mut c.conn(), &region)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(dto(list)))
}

/// One version as it was published.
#[utoipa::path(
    get,
    path = "/service-lists/{id}",
    tag = "service-lists",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "清单版本编号")),
    responses(
        (status = 200, description = "清单版本", body = ServiceListDto),
        (status = 401, description = "未提供有效令牌", body = ErrorEnvelope),
        (status = 404, description = "不存在", body = ErrorEnvelope),
    )
)]
pub async fn show_list(
    State(state): State<AppState>,
    ApiUser(_user): ApiUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ServiceListDto>, ApiError> {
    let mut c = state.db.acquire().await?;
    let list = service_lists::get(&mut c.conn(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(dto(list)))
}

/// A new version.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// The region it is published for (in the caller's scope).
    #[schema(example = "430302")]
    pub region: String,
    /// Title.
    #[schema(example = "雨湖区基本养老服务清单（2025年版）")]
    pub title: String,
    /// The publishing document.
    #[schema(example = "雨民发〔2025〕1号")]
    pub basis: String,
    /// Every item of the new version.
    #[schema(value_type = Vec<ItemDto>)]
    pub items: Vec<ItemDraft>,
}

/// Publish a new version. Every rule is parsed and type-checked (errors name
/// `items[i].target_rule` with line and column); a county list that drops or narrows an item
/// of the list above it is refused naming the item (`items.<code>`). Versions never change
/// once published.
#[utoipa::path(
    post,
    path = "/service-lists",
    tag = "service-lists",
    security(("bearer" = [])),
    request_body = PublishRequest,
    responses(
        (status = 201, description = "已发布新版本", body = ServiceListDto),
        (status = 401, description = "未提供有效令牌", body = ErrorEnvelope),
        (status = 403, description = "角色无权发布清单", body = ErrorEnvelope),
        (status = 422, description = "规则有误（指明行列）、项目不全或窄于上级清单、区划不在范围内", body = ErrorEnvelope),
    )
)]
pub async fn publish_list(
    State(state): State<AppState>,
    ApiCan(user, _): ApiCan<need::PublishServiceLists>,
    meta: RequestMeta,
    ApiJson(body): ApiJson<PublishRequest>,
) -> Result<(StatusCode, Json<ServiceListDto>), ApiError> {
    let region = RegionCode::parse(&body.region)
        .map_err(|_| Invalid::one("region", "区划代码应为 2、4、6、9 或 12 位数字"))?;
    let items = validate_items(&body.items)?;
    let list = service_lists::publish(
        &jinglao_db::WriteCtx::new(
            &state.db,
            &state.keys.audit_chain,
            &user.actor(&meta),
            state.clock.now(),
        ),
        region,
        &body.title,
        &body.basis,
        &items,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(dto(list))))
}
