//! Visits over the API, for caregivers' phones (and the phone pages' script): check in to an
//! assigned order and check out with the elder's confirmation. Both are idempotent: the phone
//! chooses the visit id, so a retry after a dropped connection, or a record synced after a
//! spell offline, is the same visit. Someone else's order or visit is 403.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use jinglao_db::visit_queue::Who;
use jinglao_db::visits::{self, CheckIn, CheckOut, StampInput};
use jinglao_domain::Invalid;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath};
use super::responses::ScopedRead;
use crate::auth::ApiUser;
use crate::error::{ApiError, AppError, ErrorEnvelope};
use crate::request::RequestMeta;
use crate::state::AppState;
use crate::usecase::home_services::day;

/// Time and place as the phone recorded them.
#[derive(Debug, Deserialize, ToSchema)]
pub struct StampDto {
    /// The phone's clock, RFC 3339.
    #[schema(example = "2026-11-23T09:00:00+08:00")]
    pub device_at: String,
    /// Latitude (WGS-84 or GCJ-02 as the phone gives it); omit when there is no fix.
    pub lat: Option<f64>,
    /// Longitude.
    pub lon: Option<f64>,
    /// Recorded without a connection and sent later (the phone's time then counts, and the
    /// visit is always reviewed).
    #[serde(default)]
    pub offline: bool,
}

impl StampDto {
    fn input(&self) -> Result<StampInput, Invalid> {
        let device_at = DateTime::parse_from_rfc3339(self.device_at.trim())
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                Invalid::one(
                    "device_at",
                    "手机时间应为 RFC 3339 格式，例如 2026-11-23T09:00:00+08:00",
                )
            })?;
        Ok(StampInput {
            device_at: Some(device_at),
            lat: self.lat,
            lon: self.lon,
            offline: self.offline,
        })
    }
}

/// A check-in.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CheckInRequest {
    /// Chosen by the phone (UUID v7), kept for retries.
    pub visit_id: Uuid,
    /// The assigned order.
    pub order_id: Uuid,
    /// Time and place.
    #[serde(flatten)]
    pub stamp: StampDto,
}

/// A visit's state.
#[derive(Debug, Serialize, ToSchema)]
pub struct VisitDto {
    /// Visit id.
    pub visit_id: Uuid,
    /// in_progress | verified | exception | accepted | rejected.
    pub status: String,
    /// Why it went to the exception queue.
    pub findings: Vec<FindingDto>,
}

/// One broken verification rule.
#[derive(Debug, Serialize, ToSchema)]
pub struct FindingDto {
    /// Stable reason code (e.g. `too_far`, `no_location`, `late_sync`).
    pub code: String,
    /// In words, with the figures.
    pub detail: String,
}

/// Check in to an order assigned to me.
#[utoipa::path(
    post,
    path = "/visits/check-in",
    tag = "visits",
    security(("bearer" = [])),
    request_body = CheckInRequest,
    responses(
        (status = 200, description = "已签到（重复请求返回同一次服务）", body = VisitDto),
        ScopedRead,
        (status = 422, description = "时间格式、坐标超出范围、工单已结束（指明字段）", body = ErrorEnvelope),
    )
)]
pub async fn check_in(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    ApiJson(body): ApiJson<CheckInRequest>,
) -> Result<Json<VisitDto>, ApiError> {
    let ci = CheckIn {
        visit_id: body.visit_id,
        order_id: body.order_id,
        stamp: body.stamp.input()?,
    };
    let id = state
        .visit_queue
        .check_in(
            &user.actor(&meta),
            Who::Account(user.account.id),
            &ci,
            state.clock.now(),
        )
        .await?;
    Ok(Json(VisitDto {
        visit_id: id,
        status: "in_progress".into(),
        findings: Vec::new(),
    }))
}

/// A check-out.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CheckOutRequest {
    /// Time and place.
    #[serde(flatten)]
    pub stamp: StampDto,
    /// The code the elder read out.
    pub code: Option<String>,
    /// The person's signature instead of a code: a PNG, base64 (a `data:image/png;base64,`
    /// prefix is accepted), at most 200 KB. Kept encrypted as the visit's evidence.
    #[serde(default)]
    pub signature_png: Option<String>,
    /// Checklist items done, comma-separated.
    #[serde(default)]
    pub tasks: String,
    /// Notes.
    #[serde(default)]
    pub notes: String,
    /// `true` asks to be refused (422 on `confirm_short`) when the visit is shorter than the
    /// item's contract minimum, so the app can warn before recording it; send again without it
    /// to check out early anyway.
    #[serde(default)]
    pub warn_short: bool,
}

/// Check out of my visit: records the confirmation and verifies the visit. A wrong code sent
/// online is refused (422 on `code`, saying how many tries are left) until the region's
/// `visit.code_tries` distinct wrong codes have been tried; the last is recorded and the visit
/// goes to review.
#[utoipa::path(
    post,
    path = "/visits/{id}/check-out",
    tag = "visits",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "服务记录编号（签到时手机生成）")),
    request_body = CheckOutRequest,
    responses(
        (status = 200, description = "已签退并核验（重复请求返回同一结果）", body = VisitDto),
        (status = 401, description = "未提供有效令牌", body = ErrorEnvelope),
        (status = 403, description = "不是我的服务记录", body = ErrorEnvelope),
        (status = 422, description = "尚未签到、签退早于签到、坐标无效、确认码不对（还可重试）、时长不足（要求提醒时）（指明字段）", body = ErrorEnvelope),
    )
)]
pub async fn check_out(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<CheckOutRequest>,
) -> Result<Json<VisitDto>, ApiError> {
    let co = CheckOut {
        visit_id: id,
        stamp: body.stamp.input()?,
        code: body.code,
        signature: sealed_signature(
            &state,
            id,
            body.signature_png.as_deref().unwrap_or(""),
            "signature_png",
        )?,
        tasks: body.tasks,
        notes: body.notes,
        warn_short: body.warn_short,
    };
    let out = state
        .visit_queue
        .check_out(
            &user.actor(&meta),
            Who::Account(user.account.id),
            &co,
            state.clock.now(),
        )
        .await?;
    Ok(Json(VisitDto::from(out)))
}

impl From<visits::Outcome> for VisitDto {
    fn from(out: visits::Outcome) -> Self {
        VisitDto {
            visit_id: out.visit_id,
            status: out.status,
            findings: out
                .findings
                .into_iter()
                .map(|f| FindingDto {
                    code: f.code.as_str().into(),
                    detail: f.detail,
                })
                .collect(),
        }
    }
}

/// A drawn signature from a form or request (`data:image/png;base64,…` or bare base64): checked
/// and sealed for storage; `None` when empty. Errors name `field`.
pub(crate) fn sealed_signature(
    state: &AppState,
    visit_id: Uuid,
    text: &str,
    field: &str,
) -> Result<Option<Vec<u8>>, Invalid> {
    use base64::Engine;
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let b64 = text.strip_prefix("data:image/png;base64,").unwrap_or(text);
    let png = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| Invalid::one(field, "签名图片无法读取，请重新签名"))?;
    jinglao_domain::visit::check_signature_png(&png).map_err(|e| Invalid::one(field, e))?;
    let field = jinglao_db::crypto::Field::Signature;
    Ok(Some(state.keys.cipher.encrypt_bytes(field, visit_id, &png)))
}

/// A manual correction of a visit's time.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectionRequest {
    /// `check_in` or `check_out`.
    pub field: String,
    /// The corrected time, RFC 3339.
    #[schema(example = "2026-11-23T10:15:00+08:00")]
    pub at: String,
    /// Why, from the list: `device_clock`, `forgot_check_out`, `no_signal`, `system_fault`,
    /// `other`.
    pub reason_code: String,
    /// Why, in words (required for `other`).
    #[serde(default)]
    pub note: String,
}

/// Correct a check-in or check-out time by hand (township staff and above, within scope), with
/// a reason code; the correction is kept apart from the visit, audited, and the visit checked
/// again. Answers the visit's new outcome.
#[utoipa::path(
    post,
    path = "/visits/{id}/corrections",
    tag = "visits",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "服务记录编号")),
    request_body = CorrectionRequest,
    responses(
        (status = 200, description = "已更正并重新核验", body = VisitDto),
        ScopedRead,
        (status = 422, description = "字段有误、原因不在列表中，或已进入结算单", body = ErrorEnvelope),
    )
)]
pub async fn correct_visit(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<CorrectionRequest>,
) -> Result<Json<VisitDto>, ApiError> {
    let mut inv = Invalid::new();
    let which = visits::Corrected::parse(&body.field);
    if which.is_none() {
        inv.add("field", "应为 check_in 或 check_out");
    }
    let at = DateTime::parse_from_rfc3339(body.at.trim())
        .map(|t| t.with_timezone(&Utc))
        .ok();
    if at.is_none() {
        inv.add(
            "at",
            "时间应为 RFC 3339 格式，例如 2026-11-23T10:15:00+08:00",
        );
    }
    let code = jinglao_domain::visit::CorrectionReason::parse(&body.reason_code);
    if code.is_none() {
        inv.add(
            "reason_code",
            "应为 device_clock、forgot_check_out、no_signal、system_fault 或 other",
        );
    }
    let (Some(which), Some(at), true) = (which, at, inv.is_empty()) else {
        return Err(inv.into());
    };
    let fix = visits::Correction {
        which,
        at,
        code,
        reason: &body.note,
    };
    let book = jinglao_db::policy::book(&state.db).await?;
    let (db, key, now) = (&state.db, &state.keys.audit_chain, state.clock.now());
    let out = visits::correct(db, key, &user.actor(&meta), id, &fix, &book, now).await?;
    Ok(Json(VisitDto::from(out)))
}

/// The day asked for.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DayQuery {
    /// The day (ISO date), from 7 days ago to 14 days ahead; today (Beijing) when left out.
    pub date: Option<chrono::NaiveDate>,
}

/// One visit of my day, with what the phone page shows (never an ID or phone number).
#[derive(Debug, Serialize, ToSchema)]
pub struct DayVisitDto {
    /// The order (check in with it).
    pub order_id: Uuid,
    /// Service-list item code.
    pub item_code: String,
    /// The item's name.
    pub item_name: String,
    /// Window start.
    pub window_start: DateTime<Utc>,
    /// Window end.
    pub window_end: DateTime<Utc>,
    /// The window in words (`09:00–10:00`, Beijing time).
    pub window: String,
    /// The person's name.
    pub elder_name: String,
    /// Their address.
    pub address: String,
    /// Registered position.
    pub latitude: Option<f64>,
    /// Registered position.
    pub longitude: Option<f64>,
    /// A map link for the address.
    pub map_url: Option<String>,
    /// booked | done | no_show.
    pub status: String,
    /// The visit, once checked in (check out with it).
    pub visit_id: Option<Uuid>,
    /// in_progress | verified | exception | accepted | rejected.
    pub visit_status: Option<String>,
    /// The state in words, as the phone page shows it.
    pub state_label: String,
    /// Why the visit went to review, in words.
    pub reasons: Vec<String>,
    /// The person's rating given on the phone, once rated.
    pub score: Option<i32>,
}

/// My visits of a day.
#[derive(Debug, Serialize, ToSchema)]
pub struct DayDto {
    /// The day.
    pub date: chrono::NaiveDate,
    /// In time order.
    pub items: Vec<DayVisitDto>,
}

/// My visits of a day (today unless asked), in time order: the caregiver's phone page as data.
#[utoipa::path(
    get,
    path = "/me/visits",
    tag = "visits",
    security(("bearer" = [])),
    params(DayQuery),
    responses(
        (status = 200, description = "当日工单", body = DayDto),
        (status = 400, description = "日期格式无效", body = ErrorEnvelope),
        (status = 422, description = "日期超出前 7 天至后 14 天", body = ErrorEnvelope),
        (status = 401, description = "未提供有效令牌", body = ErrorEnvelope),
        (status = 403, description = "不是护理员账号", body = ErrorEnvelope),
    )
)]
pub async fn my_day(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    super::extract::ApiQuery(q): super::extract::ApiQuery<DayQuery>,
) -> Result<Json<DayDto>, ApiError> {
    let me = day::caregiver(&state, user.account.id).await?;
    let today = state.today();
    let date = q.date.unwrap_or(today);
    // The phone needs today, the week past (records to finish) and the coming fortnight.
    let days = (date - today).num_days();
    if !(-7..=14).contains(&days) {
        return Err(AppError::from(jinglao_domain::Invalid::one(
            "date",
            "只能查看前 7 天至后 14 天的工单",
        ))
        .into());
    }
    let items = day::caregiver_day(&state, me, date)
        .await?
        .into_iter()
        .map(|v| DayVisitDto {
            state_label: v.state().into(),
            order_id: v.order.id,
            item_code: v.order.item_code,
            item_name: v.item_name,
            window_start: v.order.window_start,
            window_end: v.order.window_end,
            window: v.window,
            elder_name: v.order.elder_name,
            address: v.order.address,
            latitude: v.order.latitude,
            longitude: v.order.longitude,
            map_url: v.map,
            status: v.order.status,
            visit_id: v.order.visit_id,
            visit_status: v.order.visit_status,
            reasons: v.reasons,
            score: v.order.score,
        })
        .collect();
    Ok(Json(DayDto { date, items }))
}
