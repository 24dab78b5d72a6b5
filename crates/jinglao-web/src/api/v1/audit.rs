//! `GET /api/v1/audit-entries`: the audit trail for auditors, newest first, within scope.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use jinglao_db::audit::{self, AuditFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::extract::ApiQuery;
use crate::auth::can::{ApiCan, need};
use crate::error::{ApiError, AppError, ErrorEnvelope};
use crate::state::AppState;

/// An audit entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryDto {
    /// Position in the chain.
    pub seq: i64,
    /// When (RFC 3339, UTC).
    pub occurred_at: DateTime<Utc>,
    /// Acting account id.
    pub actor_id: Option<Uuid>,
    /// Acting account name.
    pub actor_name: String,
    /// Actor's role.
    pub actor_role: String,
    /// `<entity>.<verb>`.
    #[schema(example = "region.update")]
    pub action: String,
    /// Kind of record.
    pub entity: String,
    /// Record id.
    pub record_id: Option<String>,
    /// Region of the record.
    pub region_code: Option<String>,
    /// Client address.
    pub client_ip: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
    /// Details (JSON text, exactly as hashed).
    pub detail: String,
    /// This entry's chain hash.
    pub hash: String,
}

/// A page of entries.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// Entries, newest first.
    pub items: Vec<AuditEntryDto>,
    /// Pass as `before_seq` to get the next (older) page; null on the last page.
    pub next_before_seq: Option<i64>,
}

/// Filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Exact account name.
    pub actor: Option<String>,
    /// Exact action, or a prefix ending in `.` such as `auth.`.
    pub action: Option<String>,
    /// Exact entity kind.
    pub entity: Option<String>,
    /// Exact record id.
    pub record_id: Option<String>,
    /// From (RFC 3339, e.g. `2026-11-23T00:00:00+08:00`).
    pub from: Option<String>,
    /// Until, exclusive (RFC 3339).
    pub until: Option<String>,
    /// Only entries older than this sequence number.
    pub before_seq: Option<i64>,
    /// Page size, 1–500 (default 100).
    pub limit: Option<i64>,
}

fn parse_time(text: Option<&str>, field: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => DateTime::parse_from_rfc3339(t)
            .map(|d| Some(d.with_timezone(&Utc)))
            .map_err(|_| {
                ApiError(AppError::BadRequest {
                    message: format!("{field} 应为 RFC 3339 时间，例如 2026-11-23T00:00:00+08:00"),
                    field: Some(field.into()),
                })
            }),
    }
}

/// List audit entries (auditors and administrators).
#[utoipa::path(
    get,
    path = "/audit-entries",
    tag = "audit",
    security(("bearer" = [])),
    params(AuditParams),
    responses(
        (status = 200, description = "成功", body = AuditPage),
        (status = 400, description = "请求格式错误", body = ErrorEnvelope),
        (status = 401, description = "未提供有效令牌", body = ErrorEnvelope),
        (status = 403, description = "角色无权执行", body = ErrorEnvelope),
    )
)]
pub async fn list_entries(
    State(state): State<AppState>,
    ApiCan(user, _): ApiCan<need::ViewAudit>,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> Result<Json<AuditPage>, ApiError> {
    let from = parse_time(p.from.as_deref(), "from")?;
    let until = parse_time(p.until.as_deref(), "until")?;
    let limit = p.limit.unwrap_or(100).clamp(1, 500);
    let filter = AuditFilter {
        actor_name: p.actor,
        action: p.action,
        entity: p.entity,
        record_id: p.record_id,
        from,
        until,
        before_seq: p.before_seq,
    };
    let mut entries = audit::list(&state.db, &user.scope, &filter, limit + 1).await?;
    let more = entries.len() as i64 > limit;
    entries.truncate(limit as usize);
    let next_before_seq = if more {
        entries.last().map(|e| e.seq)
    } else {
        None
    };
    Ok(Json(AuditPage {
        items: entries
            .into_iter()
            .map(|e| AuditEntryDto {
                seq: e.seq,
                occurred_at: e.occurred_at,
                actor_id: e.actor_id,
                actor_name: e.actor_name,
                actor_role: e.actor_role,
                action: e.action,
                entity: e.entity,
                record_id: e.record_id,
                region_code: e.region_code,
                client_ip: e.client_ip,
                request_id: e.request_id,
                detail: e.detail,
                hash: e.hash,
            })
            .collect(),
        next_before_seq,
    }))
}
