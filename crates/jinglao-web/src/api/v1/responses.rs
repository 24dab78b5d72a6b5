//! The error answers every scoped endpoint shares, derived once for the OpenAPI document
//! instead of written into each path: `responses((status = 200, …), ScopedRead)`.

use utoipa::IntoResponses;

use crate::error::ErrorEnvelope;

/// What a read within the caller's scope can answer besides success.
#[derive(IntoResponses)]
#[allow(dead_code)] // only the OpenAPI document reads these
pub enum ScopedRead {
    /// 未提供有效令牌
    #[response(status = 401)]
    Unauthenticated(ErrorEnvelope),
    /// 角色无权进行此操作
    #[response(status = 403)]
    Forbidden(ErrorEnvelope),
    /// 不存在或不在您的管理范围内
    #[response(status = 404)]
    NotFound(ErrorEnvelope),
}

/// What a write within the caller's scope can answer besides success: those of
/// [`ScopedRead`], a request with the same `Idempotency-Key` still running, and field errors.
#[derive(IntoResponses)]
#[allow(dead_code)] // only the OpenAPI document reads these
pub enum ScopedWrite {
    /// 未提供有效令牌
    #[response(status = 401)]
    Unauthenticated(ErrorEnvelope),
    /// 角色无权进行此操作
    #[response(status = 403)]
    Forbidden(ErrorEnvelope),
    /// 不存在或不在您的管理范围内
    #[response(status = 404)]
    NotFound(ErrorEnvelope),
    /// 同一幂等键的请求正在处理
    #[response(status = 409)]
    InFlight(ErrorEnvelope),
    /// 字段有误（指明字段和原因），未写入任何数据
    #[response(status = 422)]
    Invalid(ErrorEnvelope),
}
