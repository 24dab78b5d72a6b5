//! Family care beds (家庭养老床位) over the API: the beds in force with a month's verified
//! visits against the minimum (cursor-paged), one person's beds with their checklist and
//! devices, setting a bed up, recording adaptations and devices, and ending a bed. Same scope
//! and checks as the bed pages; writes accept an `Idempotency-Key`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use jinglao_db::family_beds::{ListOrder, NewAdaptation, NewBed, NewDevice};
use jinglao_db::orders;
use jinglao_domain::RegionCode;
use jinglao_domain::family_bed::{adaptation_label, device_label};
use jinglao_domain::policy::PolicyKey;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::idempotency::{IdempotencyKey, once};
use super::orders::provider_or_own;
use super::paging;
use super::responses::{ScopedRead, ScopedWrite};
use crate::auth::ApiUser;
use crate::error::{ApiError, AppError, ErrorEnvelope};
use crate::request::RequestMeta;
use crate::state::AppState;
use crate::usecase::Acting;
use crate::usecase::home_services::family_beds::{self as usecase, BedDetail};

/// Filters of the bed list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BedQuery {
    /// The month whose verified visits are counted (YYYY-MM; default this month).
    pub month: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Items per page (1–500, default 100).
    pub limit: Option<i64>,
}

/// A bed in force, with the month's visits.
#[derive(Debug, Serialize, ToSchema)]
pub struct BedListItem {
    /// Bed id.
    pub id: Uuid,
    /// The person.
    pub elder_id: Uuid,
    /// Their name.
    pub elder_name: String,
    /// Residence (village/community code).
    pub region_code: String,
    /// Provider's name.
    pub provider_name: String,
    /// First day.
    pub start_on: NaiveDate,
    /// Verified (or accepted) visits in the month.
    pub visits_done: i64,
    /// The region's monthly minimum (family_bed.min_visits).
    pub visits_minimum: i64,
}

/// A page of beds.
#[derive(Debug, Serialize, ToSchema)]
pub struct BedList {
    /// The month counted.
    pub month: String,
    /// Beds, in the order they were set up.
    pub items: Vec<BedListItem>,
    /// Send as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Family care beds in force in my scope, with a month's verified visits.
#[utoipa::path(
    get,
    path = "/family-beds",
    tag = "home-services",
    security(("bearer" = [])),
    params(BedQuery),
    responses(
        (status = 200, description = "家庭养老床位（分页）", body = BedList),
        (status = 400, description = "参数无效（指明参数）", body = ErrorEnvelope),
        ScopedRead,
    )
)]
pub async fn list_family_beds(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(q): ApiQuery<BedQuery>,
) -> Result<axum::Json<BedList>, ApiError> {
    let limit = paging::limit(q.limit)?;
    let month = match q.month.as_deref().map(str::trim) {
        None | Some("") => orders::month_of(state.today()),
        Some(m) => NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d")
            .map(|d| d.format("%Y-%m").to_string())
            .map_err(|_| AppError::BadRequest {
                message: "month 应写成 年-月，例如 2026-11".into(),
                field: Some("month".into()),
            })?,
    };
    let after = paging::decode(q.cursor.as_deref())?;
    let order = ListOrder::Registered { after };
    let rows = usecase::list(&state, &user, &month, order, limit + 1).await?;
    let (rows, next_cursor) = paging::page(rows, limit, |b| b.id);
    let book = jinglao_db::policy::book(&state.db).await?;
    let items = rows
        .into_iter()
        .map(|b| BedListItem {
            visits_minimum: RegionCode::parse(&b.region_code)
                .map(|r| book.int(PolicyKey::FamilyBedMinVisits, &r))
                .unwrap_or_default(),
            id: b.id,
            elder_id: b.elder_id,
            elder_name: b.elder_name,
            region_code: b.region_code,
            provider_name: b.provider_name,
            start_on: b.start_on,
            visits_done: b.done,
        })
        .collect();
    Ok(axum::Json(BedList {
        month,
        items,
        next_cursor,
    }))
}

/// One bed with its details.
#[derive(Debug, Serialize, ToSchema)]
pub struct BedDto {
    /// Bed id.
    pub id: Uuid,
    /// Provider.
    pub provider_id: Uuid,
    /// Provider's name.
    pub provider_name: String,
    /// Service agreement number.
    pub contract_no: String,
    /// The item its visits are booked under.
    pub item_code: String,
    /// First day.
    pub start_on: NaiveDate,
    /// Last day, once ended.
    pub end_on: Option<NaiveDate>,
    /// active | ended.
    pub status: String,
    /// Why it ended.
    pub end_reason: Option<String>,
    /// Home assessment day.
    pub assessed_on: NaiveDate,
    /// Who assessed the home.
    pub assessor: String,
    /// What the home assessment found.
    pub assessment: String,
    /// The rule it qualified under, in words.
    pub basis: String,
    /// This month's verified visits.
    pub visits_done: i64,
    /// The monthly minimum.
    pub visits_minimum: i64,
    /// Adaptations done.
    pub adaptations: Vec<AdaptationDto>,
    /// Devices in use.
    pub devices: Vec<DeviceDto>,
}

/// An adaptation done.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdaptationDto {
    /// Checklist code.
    pub item: String,
    /// In words.
    pub label: String,
    /// When.
    pub done_on: NaiveDate,
    /// Note.
    pub note: String,
}

/// A device in use.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceDto {
    /// Device kind.
    pub kind: String,
    /// In words.
    pub label: String,
    /// Serial number.
    pub serial_no: String,
    /// Installed on.
    pub installed_on: NaiveDate,
}

impl From<BedDetail> for BedDto {
    fn from(d: BedDetail) -> Self {
        let b = d.bed;
        BedDto {
            visits_done: d.progress.done,
            visits_minimum: d.progress.minimum,
            adaptations: d
                .adaptations
                .into_iter()
                .map(|(item, done_on, note)| AdaptationDto {
                    label: adaptation_label(&item).unwrap_or("其他").into(),
                    item,
                    done_on,
                    note,
                })
                .collect(),
            devices: d
                .devices
                .into_iter()
                .map(|(kind, serial_no, installed_on)| DeviceDto {
                    label: device_label(&kind).unwrap_or("其他").into(),
                    kind,
                    serial_no,
                    installed_on,
                })
                .collect(),
            id: b.id,
            provider_id: b.provider_id,
            provider_name: b.provider_name,
            contract_no: b.contract_no,
            item_code: b.item_code,
            start_on: b.start_on,
            end_on: b.end_on,
            status: b.status,
            end_reason: b.end_reason,
            assessed_on: b.assessed_on,
            assessor: b.assessor,
            assessment: b.assessment,
            basis: b.basis,
        }
    }
}

/// A person's family beds.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonBedsDto {
    /// The person.
    pub elder_id: Uuid,
    /// Their name.
    pub name: String,
    /// Their beds within my reach, newest first.
    pub beds: Vec<BedDto>,
}

/// A person's family beds, with this month's visits, the checklist and the devices.
#[utoipa::path(
    get,
    path = "/elders/{id}/family-beds",
    tag = "home-services",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "老人编号")),
    responses((status = 200, description = "家庭养老床位", body = PersonBedsDto), ScopedRead)
)]
pub async fn person_beds(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<axum::Json<PersonBedsDto>, ApiError> {
    let acting = Acting::new(&state, user, &meta);
    let month = orders::month_of(state.today());
    let p = usecase::of_elder(&state, &acting, id, &month).await?;
    Ok(axum::Json(PersonBedsDto {
        elder_id: id,
        name: p.name,
        beds: p.beds.into_iter().map(BedDto::from).collect(),
    }))
}

/// Setting up a bed after the home assessment.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBedRequest {
    /// The person.
    pub elder_id: Uuid,
    /// The provider (a provider's own account may leave it out).
    pub provider_id: Option<Uuid>,
    /// Service agreement number.
    pub contract_no: String,
    /// The item its visits are booked under (the provider needs a contract price for it).
    pub item_code: String,
    /// First day (at most 31 days ago).
    pub start_on: NaiveDate,
    /// Home assessment day (not after the first day, nor after today).
    pub assessed_on: NaiveDate,
    /// Who assessed the home.
    pub assessor: String,
    /// What the home assessment found (living conditions, care needs, adaptations advised).
    pub assessment: String,
}

/// The bed set up.
#[derive(Debug, Serialize, ToSchema)]
pub struct BedCreatedDto {
    /// The new bed's id.
    pub bed_id: Uuid,
}

/// Set up a family care bed for a person who qualifies under the region's rule (refused on
/// `elder_id` with the rule's clauses in words when they do not).
#[utoipa::path(
    post,
    path = "/family-beds",
    tag = "home-services",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "重试时带同一个键，得到同一结果")),
    request_body = NewBedRequest,
    responses((status = 201, description = "已建床", body = BedCreatedDto), ScopedWrite)
)]
pub async fn create_family_bed(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    key: IdempotencyKey,
    ApiJson(body): ApiJson<NewBedRequest>,
) -> Response {
    let acting = Acting::new(&state, user, &meta);
    once(
        state,
        acting,
        key,
        "POST /api/v1/family-beds".to_string(),
        body,
        |state, acting, body| async move {
            let provider_id = provider_or_own(body.provider_id, &acting.user.scope)?;
            let bed = NewBed {
                elder_id: body.elder_id,
                provider_id: Some(provider_id),
                contract_no: &body.contract_no,
                item_code: body.item_code.trim(),
                start_on: Some(body.start_on),
                assessed_on: Some(body.assessed_on),
                assessor: &body.assessor,
                assessment: &body.assessment,
            };
            let bed_id = usecase::create(&state, &acting, &bed).await?;
            Ok((StatusCode::CREATED, BedCreatedDto { bed_id }))
        },
    )
    .await
}

/// An adaptation of the home.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdaptationRequest {
    /// Checklist code: grab_bars, non_slip, threshold, night_light, care_bed, commode,
    /// wheelchair or call_button.
    pub item: String,
    /// When it was done.
    pub done_on: NaiveDate,
    /// A note.
    #[serde(default)]
    pub note: String,
}

/// What a bed change answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct BedChangedDto {
    /// The bed.
    pub bed_id: Uuid,
}

/// Record an adaptation of the home (again for the same item: the new day and note).
#[utoipa::path(
    post,
    path = "/family-beds/{id}/adaptations",
    tag = "home-services",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "床位编号"),
        ("Idempotency-Key" = Option<String>, Header, description = "重试时带同一个键，得到同一结果"),
    ),
    request_body = AdaptationRequest,
    responses((status = 200, description = "已记录", body = BedChangedDto), ScopedWrite)
)]
pub async fn record_adaptation(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    key: IdempotencyKey,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<AdaptationRequest>,
) -> Response {
    let acting = Acting::new(&state, user, &meta);
    let route = format!("POST /api/v1/family-beds/{id}/adaptations");
    once(
        state,
        acting,
        key,
        route,
        body,
        move |state, acting, body| async move {
            let a = NewAdaptation {
                item: body.item.trim(),
                done_on: Some(body.done_on),
                note: &body.note,
            };
            usecase::adapt(&state, &acting, id, &a).await?;
            Ok((StatusCode::OK, BedChangedDto { bed_id: id }))
        },
    )
    .await
}

/// A device installed in the home.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceRequest {
    /// emergency_button, smoke, gas, door, fall or mattress.
    pub kind: String,
    /// Serial number (unique among devices in use).
    pub serial_no: String,
    /// Installed on.
    pub installed_on: NaiveDate,
}

/// Record a device installed in the home.
#[utoipa::path(
    post,
    path = "/family-beds/{id}/devices",
    tag = "home-services",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "床位编号"),
        ("Idempotency-Key" = Option<String>, Header, description = "重试时带同一个键，得到同一结果"),
    ),
    request_body = DeviceRequest,
    responses((status = 200, description = "已登记", body = BedChangedDto), ScopedWrite)
)]
pub async fn record_device(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    key: IdempotencyKey,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<DeviceRequest>,
) -> Response {
    let acting = Acting::new(&state, user, &meta);
    let route = format!("POST /api/v1/family-beds/{id}/devices");
    once(
        state,
        acting,
        key,
        route,
        body,
        move |state, acting, body| async move {
            let d = NewDevice {
                kind: body.kind.trim(),
                serial_no: &body.serial_no,
                installed_on: Some(body.installed_on),
            };
            usecase::install(&state, &acting, id, &d).await?;
            Ok((StatusCode::OK, BedChangedDto { bed_id: id }))
        },
    )
    .await
}

/// Ending a bed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndBedRequest {
    /// Why (required).
    pub reason: String,
}

/// End a bed today.
#[utoipa::path(
    post,
    path = "/family-beds/{id}/end",
    tag = "home-services",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "床位编号"),
        ("Idempotency-Key" = Option<String>, Header, description = "重试时带同一个键，得到同一结果"),
    ),
    request_body = EndBedRequest,
    responses((status = 200, description = "已撤床", body = BedChangedDto), ScopedWrite)
)]
pub async fn end_family_bed(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    key: IdempotencyKey,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<EndBedRequest>,
) -> Response {
    let acting = Acting::new(&state, user, &meta);
    let route = format!("POST /api/v1/family-beds/{id}/end");
    once(
        state,
        acting,
        key,
        route,
        body,
        move |state, acting, body| async move {
            usecase::end(&state, &acting, id, &body.reason).await?;
            Ok((StatusCode::OK, BedChangedDto { bed_id: id }))
        },
    )
    .await
}
