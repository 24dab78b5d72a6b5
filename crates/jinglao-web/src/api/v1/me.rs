//! `GET /api/v1/me`

use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::ApiUser;
use crate::error::{ApiError, ErrorEnvelope};

/// The caller's account.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// Account id.
    pub id: Uuid,
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Role (stable name: admin, city_staff, county_staff, township_staff, village_staff,
    /// assessor, provider_admin, caregiver, finance, inspector, auditor).
    #[schema(example = "county_staff")]
    pub role: String,
    /// Home region (12 digits): the root of a staff account's scope.
    #[schema(example = "430302000000")]
    pub region_code: String,
    /// The provider of a provider account.
    pub provider_id: Option<Uuid>,
}

/// Who the token belongs to.
#[utoipa::path(
    get,
    path = "/me",
    tag = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "成功", body = Me),
        (status = 401, description = "未提供有效令牌", body = ErrorEnvelope),
    )
)]
pub async fn show_me(ApiUser(user): ApiUser) -> Result<Json<Me>, ApiError> {
    let a = user.account;
    Ok(Json(Me {
        id: a.id,
        username: a.username.to_string(),
        display_name: a.display_name,
        role: a.role.as_str().into(),
        region_code: a.region_code.to_string(),
        provider_id: a.provider_id,
    }))
}
