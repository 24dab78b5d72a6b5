//! `POST /api/v1/auth/token` and `DELETE /api/v1/auth/token`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::ApiJson;
use crate::auth::{ApiUser, login};
use crate::error::{ApiError, ErrorEnvelope};
use crate::request::RequestMeta;
use crate::state::AppState;

/// Credentials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// Login name.
    #[schema(example = "demo_county_staff")]
    pub username: String,
    /// Password.
    pub password: String,
}

/// A bearer token and when it stops working.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// Expiry (RFC 3339, UTC).
    pub expires_at: DateTime<Utc>,
}

/// Exchange a name and password for a short-lived token. Five failures lock the account (and
/// the client address) for fifteen minutes.
#[utoipa::path(
    post,
    path = "/auth/token",
    tag = "auth",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "令牌", body = TokenResponse),
        (status = 400, description = "请求不是有效的 JSON", body = ErrorEnvelope),
        (status = 422, description = "用户名或密码不正确，或字段缺失", body = ErrorEnvelope),
        (status = 429, description = "失败次数过多，已被暂时锁定", body = ErrorEnvelope),
    )
)]
pub async fn create_token(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiJson(req): ApiJson<TokenRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let account = login::authenticate(&state, &meta, &req.username, &req.password).await?;
    if account.must_change_password {
        return Err(crate::error::AppError::PasswordChangeRequired.into());
    }
    let (token, expires_at) = login::issue_api_token(&state, &meta, &account).await?;
    Ok(Json(TokenResponse { token, expires_at }))
}

/// Revoke the token this request is made with.
#[utoipa::path(
    delete,
    path = "/auth/token",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "已吊销"),
        (status = 401, description = "未提供有效令牌", body = ErrorEnvelope),
    )
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
) -> Result<StatusCode, ApiError> {
    if let Some(id) = user.token_id {
        jinglao_db::tokens::revoke(
            &state.db,
            &state.keys.audit_chain,
            &user.actor(&meta),
            id,
            state.clock.now(),
        )
        .await?;
        state.access_changed();
    }
    Ok(StatusCode::NO_CONTENT)
}
