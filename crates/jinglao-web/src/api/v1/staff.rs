//! A provider's staff over the API: the people under contract today (ID numbers and phones
//! masked, as on the page) and hiring. Same scope and checks as the staff page; hiring accepts
//! an `Idempotency-Key`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use jinglao_db::staff::{HireDraft, StaffMember};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::idempotency::{IdempotencyKey, once};
use super::responses::{ScopedRead, ScopedWrite};
use crate::auth::ApiUser;
use crate::error::{ApiError, AppError};
use crate::request::RequestMeta;
use crate::state::AppState;
use crate::usecase::Acting;
use crate::usecase::supply::staff as usecase;

/// Filters of the staff list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StaffQuery {
    /// Only those working at this facility.
    pub facility_id: Option<Uuid>,
}

/// A member of staff.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffDto {
    /// The person's staff id.
    pub staff_id: Uuid,
    /// This contract's id.
    pub employment_id: Uuid,
    /// Name.
    pub name: String,
    /// ID number, masked.
    pub id_masked: String,
    /// Phone, masked.
    pub phone_masked: String,
    /// Role (stable name).
    pub role: String,
    /// Caregiver level (stable name), if any.
    pub vocational_level: Option<String>,
    /// The level in words ("—" when none).
    pub vocational_level_label: String,
    /// Certificate number.
    pub certificate_no: String,
    /// Facility worked at (none: the provider itself).
    pub facility_id: Option<Uuid>,
    /// Contract start.
    pub start_on: NaiveDate,
    /// Contract end.
    pub end_on: Option<NaiveDate>,
    /// Full-time (全日制).
    pub full_time: bool,
    /// Training hours recorded.
    pub training_hours: i64,
    /// Months of social insurance recorded.
    pub insured_months: i64,
}

impl From<StaffMember> for StaffDto {
    fn from(m: StaffMember) -> Self {
        StaffDto {
            vocational_level_label: m.level_label().into(),
            staff_id: m.staff_id,
            employment_id: m.employment_id,
            name: m.name,
            id_masked: m.id_masked,
            phone_masked: m.phone_masked,
            role: m.role,
            vocational_level: m.vocational_level,
            certificate_no: m.certificate_no,
            facility_id: m.facility_id,
            start_on: m.start_on,
            end_on: m.end_on,
            full_time: m.full_time,
            training_hours: m.training_hours,
            insured_months: m.insured_months,
        }
    }
}

/// A provider's staff under contract today, by name.
#[utoipa::path(
    get,
    path = "/providers/{id}/staff",
    tag = "facilities",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "服务机构编号"), StaffQuery),
    responses((status = 200, description = "工作人员", body = Vec<StaffDto>), ScopedRead)
)]
pub async fn list_staff(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<StaffQuery>,
) -> Result<axum::Json<Vec<StaffDto>>, ApiError> {
    let people = usecase::list(&state, &user, id, q.facility_id).await?;
    Ok(axum::Json(people.into_iter().map(StaffDto::from).collect()))
}

/// A hire.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HireRequest {
    /// Name (1–50 characters).
    pub name: String,
    /// Resident ID number (18 characters, check digit verified).
    pub id_number: String,
    /// Mobile phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// Role: stable name (`caregiver`, …) or label.
    #[schema(example = "caregiver")]
    pub role: String,
    /// Caregiver level: `5` (五级/初级工) … `1` (一级/高级技师).
    #[serde(default)]
    pub vocational_level: Option<String>,
    /// Certificate number (required with a level).
    #[serde(default)]
    pub certificate_no: Option<String>,
    /// Certificate date.
    #[serde(default)]
    pub certificate_on: Option<NaiveDate>,
    /// The facility worked at (one of the provider's); none for the provider itself.
    #[serde(default)]
    pub facility_id: Option<Uuid>,
    /// Contract start.
    pub start_on: NaiveDate,
    /// Contract end; none for open-ended.
    #[serde(default)]
    pub end_on: Option<NaiveDate>,
    /// Full-time (全日制); two overlapping full-time contracts are refused.
    pub full_time: bool,
}

impl From<HireRequest> for HireDraft {
    fn from(r: HireRequest) -> Self {
        let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        HireDraft {
            name: r.name,
            id_number: r.id_number,
            phone: r.phone.unwrap_or_default(),
            role: r.role,
            vocational_level: r.vocational_level.unwrap_or_default(),
            certificate_no: r.certificate_no.unwrap_or_default(),
            certificate_on: date(r.certificate_on),
            facility_id: r.facility_id.map(|f| f.to_string()).unwrap_or_default(),
            start_on: r.start_on.to_string(),
            end_on: date(r.end_on),
            full_time: r.full_time,
        }
    }
}

/// The person hired.
#[derive(Debug, Serialize, ToSchema)]
pub struct HiredDto {
    /// Their staff id (the same person across providers, matched by ID number).
    pub staff_id: Uuid,
}

/// Hire a person for a provider.
#[utoipa::path(
    post,
    path = "/providers/{id}/staff",
    tag = "facilities",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "服务机构编号"),
        ("Idempotency-Key" = Option<String>, Header, description = "重试时带同一个键，得到同一结果"),
    ),
    request_body = HireRequest,
    responses((status = 201, description = "已登记", body = HiredDto), ScopedWrite)
)]
pub async fn hire(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    key: IdempotencyKey,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<HireRequest>,
) -> Response {
    let acting = Acting::new(&state, user, &meta);
    let route = format!("POST /api/v1/providers/{id}/staff");
    once(
        state,
        acting,
        key,
        route,
        body,
        move |state, acting, body| async move {
            let h = HireDraft::from(body)
                .parse()
                .map_err(|e| ApiError::from(AppError::from(e)))?;
            let staff_id = usecase::hire(&state, &acting, id, &h).await?;
            Ok((StatusCode::CREATED, HiredDto { staff_id }))
        },
    )
    .await
}
