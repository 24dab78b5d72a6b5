//! `POST /elders/{id}/life-events`: records a death or a move away, the same use case as the
//! record page's form — everything that depended on the person ends from the date in the same
//! transaction, and the answer says what was ended.

use axum::Json;
use axum::extract::State;
use jinglao_db::elders;
use jinglao_db::life_events::Effects;
use jinglao_domain::elder::LifeEvent;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath};
use super::responses::ScopedRead;
use crate::auth::can::{ApiCan, need};
use crate::error::{ApiError, ErrorEnvelope};
use crate::request::RequestMeta;
use crate::state::AppState;

/// A death or a move away.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LifeEventRequest {
    /// `died` (死亡) or `moved_out` (迁出).
    #[schema(example = "died")]
    pub kind: String,
    /// The day it took effect, `YYYY-MM-DD`, not after today.
    #[schema(example = "2026-11-30")]
    pub date: String,
    /// Death certificate number, destination of the move… (at most 200 characters).
    #[serde(default)]
    pub note: String,
}

/// What recording it ended.
#[derive(Debug, Serialize, ToSchema)]
pub struct LifeEventResult {
    /// Entitlements ended on the date.
    pub entitlements: u64,
    /// Booked visits on or after the date, not started, cancelled.
    pub orders: u64,
    /// Recurring service plans ended.
    pub plans: u64,
    /// Family care beds ended.
    pub family_beds: u64,
    /// Stays in an institution ended, their beds freed.
    pub stays: u64,
    /// Places on waiting lists withdrawn.
    pub waiting: u64,
    /// Regular-visit plans ended.
    pub patrols: u64,
    /// The same in a sentence, as the record page shows it.
    #[schema(example = "2 项服务资格终止，3 个未开始的上门服务预约取消")]
    pub sentence: String,
}

impl From<Effects> for LifeEventResult {
    fn from(fx: Effects) -> Self {
        LifeEventResult {
            entitlements: fx.entitlements,
            orders: fx.orders,
            plans: fx.plans,
            family_beds: fx.family_beds,
            stays: fx.stays,
            waiting: fx.waiting,
            patrols: fx.patrols,
            sentence: fx.describe(),
        }
    }
}

/// Record a person's death or move away (staff who edit the registry, within their scope).
#[utoipa::path(
    post,
    path = "/elders/{id}/life-events",
    tag = "elders",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "老年人记录编号")),
    request_body = LifeEventRequest,
    responses(
        (status = 200, description = "已登记，并列出同时终止的服务", body = LifeEventResult),
        (status = 400, description = "请求体无效", body = ErrorEnvelope),
        ScopedRead,
        (status = 422, description = "类型、日期或说明无效，或已登记过", body = ErrorEnvelope),
    )
)]
pub async fn record_life_event(
    State(state): State<AppState>,
    ApiCan(user, _): ApiCan<need::EditElders>,
    meta: RequestMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<LifeEventRequest>,
) -> Result<Json<LifeEventResult>, ApiError> {
    let event = LifeEvent::parse(id, &body.kind, &body.date, &body.note)?;
    let effects = elders::record_life_event(
        &state.db,
        &state.keys.audit_chain,
        &user.actor(&meta),
        &event,
        state.clock.now(),
    )
    .await?;
    Ok(Json(effects.into()))
}
