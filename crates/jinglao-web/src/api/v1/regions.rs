//! Regions: `GET /regions`, `GET /regions/{code}`, `PATCH /regions/{code}`,
//! `GET /regions/{code}/children`. Everything is limited to the caller's scope: a region
//! outside it answers 404, exactly like one that does not exist.

use axum::Json;
use axum::extract::State;
use jinglao_domain::{AreaType, Invalid, Permission, Region, RegionCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{ApiJson, ApiPath};
use super::responses::ScopedRead;
use crate::auth::ApiUser;
use crate::error::{ApiError, AppError, ErrorEnvelope};
use crate::request::RequestMeta;
use crate::state::AppState;

/// A region.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegionDto {
    /// 12-digit statistical division code.
    #[schema(example = "430302001001")]
    pub code: String,
    /// Official name.
    #[schema(example = "雨湖路社区居委会")]
    pub name: String,
    /// `province`, `city`, `county`, `township` or `village`.
    #[schema(example = "village")]
    pub level: String,
    /// Parent code (null for a province).
    pub parent_code: Option<String>,
    /// `urban`, `rural`, or null when not classified.
    pub area_type: Option<String>,
    /// Whether staff set `area_type` by hand (otherwise derived from the name and code).
    pub area_type_manual: bool,
    /// Where the code list came from.
    pub source: String,
}

impl From<&Region> for RegionDto {
    fn from(r: &Region) -> Self {
        RegionDto {
            code: r.code.to_string(),
            name: r.name.clone(),
            level: r.level.as_str().into(),
            parent_code: r.parent_code.map(|p| p.to_string()),
            area_type: r.area_type.map(|a| a.as_str().into()),
            area_type_manual: r.area_type_manual,
            source: r.source.clone(),
        }
    }
}

/// A list of regions.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegionList {
    /// The regions, in code order.
    pub items: Vec<RegionDto>,
}

/// A change to a region.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegionUpdate {
    /// `urban`, `rural`, or null to mark it as not yet classified. Townships and villages only.
    pub area_type: Option<String>,
}

fn parse_code(code: &str) -> Result<RegionCode, AppError> {
    RegionCode::parse(code).map_err(|e| AppError::BadRequest {
        message: format!("区划代码无效：{e}"),
        field: Some("code".into()),
    })
}

/// The top of the caller's region tree: provinces for system administrators, otherwise the
/// root of the caller's scope.
#[utoipa::path(
    get,
    path = "/regions",
    tag = "regions",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "成功", body = RegionList),
        (status = 401, description = "未提供有效令牌", body = ErrorEnvelope),
    )
)]
pub async fn list_roots(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> Result<Json<RegionList>, ApiError> {
    if !user.can(jinglao_domain::Permission::ViewRegions) {
        return Err(AppError::Forbidden("您的账号不能浏览行政区划".into()).into());
    }
    let tree = state.regions.tree();
    Ok(Json(RegionList {
        items: tree
            .roots(&user.scope)
            .into_iter()
            .map(RegionDto::from)
            .collect(),
    }))
}

/// One region. Ancestors of the caller's scope are visible (for context); anything else outside
/// the scope answers 404.
#[utoipa::path(
    get,
    path = "/regions/{code}",
    tag = "regions",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "区划代码（2、4、6、9 或 12 位）", example = "430302")),
    responses(
        (status = 200, description = "成功", body = RegionDto),
        (status = 400, description = "代码格式错误", body = ErrorEnvelope),
        (status = 401, description = "未提供有效令牌", body = ErrorEnvelope),
        (status = 404, description = "不存在或不在您的范围内", body = ErrorEnvelope),
    )
)]
pub async fn show_region(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<RegionDto>, ApiError> {
    if !user.can(jinglao_domain::Permission::ViewRegions) {
        return Err(AppError::Forbidden("您的账号不能浏览行政区划".into()).into());
    }
    let code = parse_code(&code)?;
    let tree = state.regions.tree();
    let r = tree.get(&user.scope, &code).ok_or(AppError::NotFound)?;
    Ok(Json(r.into()))
}

/// The children of a region that the caller may see.
#[utoipa::path(
    get,
    path = "/regions/{code}/children",
    tag = "regions",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "区划代码", example = "430302")),
    responses(
        (status = 200, description = "成功", body = RegionList),
        (status = 400, description = "请求格式错误", body = ErrorEnvelope),
        (status = 401, description = "未提供有效令牌", body = ErrorEnvelope),
        (status = 404, description = "不存在或不在您的范围内", body = ErrorEnvelope),
    )
)]
pub async fn list_children(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<RegionList>, ApiError> {
    if !user.can(jinglao_domain::Permission::ViewRegions) {
        return Err(AppError::Forbidden("您的账号不能浏览行政区划".into()).into());
    }
    let code = parse_code(&code)?;
    let tree = state.regions.tree();
    let items = tree
        .children(&user.scope, &code)
        .ok_or(AppError::NotFound)?;
    Ok(Json(RegionList {
        items: items.into_iter().map(RegionDto::from).collect(),
    }))
}

/// Set a township's or village's urban/rural type by hand (city and county staff and
/// administrators, within scope). Audited with the old and new value.
#[utoipa::path(
    patch,
    path = "/regions/{code}",
    tag = "regions",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "区划代码", example = "430302001001")),
    request_body = RegionUpdate,
    responses(
        (status = 200, description = "成功", body = RegionDto),
        (status = 400, description = "请求格式错误", body = ErrorEnvelope),
        ScopedRead,
        (status = 422, description = "取值无效，或该级别不能设置城乡类型", body = ErrorEnvelope),
    )
)]
pub async fn update_region(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    ApiPath(code): ApiPath<String>,
    ApiJson(body): ApiJson<RegionUpdate>,
) -> Result<Json<RegionDto>, ApiError> {
    if !user.can(jinglao_domain::Permission::ViewRegions) {
        return Err(AppError::Forbidden("您的账号不能浏览行政区划".into()).into());
    }
    let code = parse_code(&code)?;
    if !user.scope.sees_region(&code) {
        return Err(AppError::NotFound.into());
    }
    user.require(Permission::EditRegions)?;
    let area = match body.area_type.as_deref() {
        None => None,
        Some(s) => Some(
            s.parse::<AreaType>()
                .map_err(|_| Invalid::one("area_type", "area_type 应为 urban、rural 或 null"))?,
        ),
    };
    let r = state
        .regions
        .set_area_type(
            &state.db,
            &state.keys.audit_chain,
            &user.actor(&meta),
            &code,
            area,
            state.clock.now(),
        )
        .await?;
    Ok(Json((&r).into()))
}
