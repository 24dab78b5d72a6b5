//! Providers' credit records over the API: list a provider's records, record a 失信 listing or
//! an administrative penalty, revoke one. The same use cases, scope and checks as the
//! provider's page.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use jinglao_db::credit::{self, StoredRecord};
use jinglao_db::providers;
use jinglao_domain::category::parse_date;
use jinglao_domain::credit::CreditDraft;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath};
use super::facilities::may_view;
use super::responses::ScopedRead;
use crate::auth::ApiUser;
use crate::auth::can::{ApiCan, need};
use crate::error::{ApiError, AppError, ErrorEnvelope};
use crate::request::RequestMeta;
use crate::state::AppState;

/// A credit record as returned.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreditRecordDto {
    /// Id.
    pub id: Uuid,
    /// Provider.
    pub provider_id: Uuid,
    /// `dishonest` (列入失信名单), `fraud_penalty` (弄虚作假、冒领财政资金受行政处罚),
    /// `serious_penalty` (重大行政处罚) or `penalty` (一般行政处罚).
    pub kind: String,
    /// Its label.
    pub kind_label: String,
    /// Decision number.
    pub decision_no: String,
    /// Deciding authority.
    pub authority: String,
    /// Decision date: in force from it.
    pub decided_on: NaiveDate,
    /// Last day in force, or null: until revoked.
    pub ends_on: Option<NaiveDate>,
    /// What happened.
    pub summary: String,
    /// Revoked from this day, if it was.
    pub revoked_on: Option<NaiveDate>,
    /// Why it was revoked.
    pub revoke_reason: Option<String>,
    /// Who recorded it.
    pub recorded_by: String,
}

fn dto(s: StoredRecord) -> CreditRecordDto {
    CreditRecordDto {
        id: s.id,
        provider_id: s.provider_id,
        kind: s.record.kind.as_str().into(),
        kind_label: s.record.kind.label().into(),
        decision_no: s.record.decision_no,
        authority: s.record.authority,
        decided_on: s.record.decided_on,
        ends_on: s.record.ends_on,
        summary: s.record.summary,
        revoked_on: s.record.revoked_on,
        revoke_reason: s.revoke_reason,
        recorded_by: s.recorded_by_name,
    }
}

/// A provider's credit records, newest decision first.
#[utoipa::path(
    get,
    path = "/providers/{id}/credit-records",
    tag = "facilities",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "服务机构编号")),
    responses(
        (status = 200, description = "信用记录", body = [CreditRecordDto]),
        ScopedRead,
    )
)]
pub async fn list_credit_records(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Vec<CreditRecordDto>>, ApiError> {
    may_view(&user)?;
    let mut c = state.db.acquire().await?;
    providers::get(&mut c.conn(), &user.scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let records = credit::of_provider(&mut c.conn(), id).await?;
    Ok(Json(records.into_iter().map(dto).collect()))
}

/// A credit record to add.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewCreditRecord {
    /// `dishonest`, `fraud_penalty`, `serious_penalty` or `penalty` (or the label).
    #[schema(example = "dishonest")]
    pub kind: String,
    /// Decision number.
    #[schema(example = "潭民失信〔2026〕1号")]
    pub decision_no: String,
    /// Deciding authority.
    #[schema(example = "湘潭市民政局")]
    pub authority: String,
    /// Decision date, `YYYY-MM-DD`, not after today.
    #[schema(example = "2026-11-20")]
    pub decided_on: String,
    /// Last day in force, `YYYY-MM-DD`; omit for "until revoked".
    #[serde(default)]
    pub ends_on: String,
    /// What happened (at most 500 characters).
    pub summary: String,
}

/// The id of what was created.
#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    /// Id.
    pub id: Uuid,
}

/// Record a 失信 listing or an administrative penalty against a provider in your scope
/// (city and county staff, inspectors). The same decision and kind twice is refused.
#[utoipa::path(
    post,
    path = "/providers/{id}/credit-records",
    tag = "facilities",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "服务机构编号")),
    request_body = NewCreditRecord,
    responses(
        (status = 201, description = "已登记", body = Created),
        (status = 400, description = "请求体无效", body = ErrorEnvelope),
        ScopedRead,
        (status = 422, description = "字段无效或已登记", body = ErrorEnvelope),
    )
)]
pub async fn record_credit(
    State(state): State<AppState>,
    ApiCan(user, _): ApiCan<need::RecordCredit>,
    meta: RequestMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<NewCreditRecord>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let draft = CreditDraft {
        kind: &body.kind,
        decision_no: &body.decision_no,
        authority: &body.authority,
        decided_on: &body.decided_on,
        ends_on: &body.ends_on,
        summary: &body.summary,
    };
    let rec = draft.validate(state.today()).map_err(AppError::from)?;
    let (db, key) = (&state.db, &state.keys.audit_chain);
    let id = credit::record(db, key, &user.actor(&meta), id, &rec, state.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// Revoking a record.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RevokeCredit {
    /// From this day, `YYYY-MM-DD` (not before the decision, not after today).
    pub revoked_on: String,
    /// Why (e.g. the 信用修复 decision's number).
    pub revoke_reason: String,
}

/// Revoke a credit record of a provider in your scope; the record keeps the day and reason.
#[utoipa::path(
    post,
    path = "/credit-records/{id}/revoke",
    tag = "facilities",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "信用记录编号")),
    request_body = RevokeCredit,
    responses(
        (status = 204, description = "已撤销"),
        (status = 400, description = "请求体无效", body = ErrorEnvelope),
        ScopedRead,
        (status = 422, description = "日期或原因无效，或已撤销", body = ErrorEnvelope),
    )
)]
pub async fn revoke_credit(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<RevokeCredit>,
) -> Result<StatusCode, ApiError> {
    let on: Option<NaiveDate> = parse_date(&body.revoked_on);
    credit::revoke(
        &jinglao_db::WriteCtx::new(
            &state.db,
            &state.keys.audit_chain,
            &user.actor(&meta),
            state.clock.now(),
        ),
        id,
        on,
        &body.revoke_reason,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
