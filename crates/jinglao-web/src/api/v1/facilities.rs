//! Providers and facilities over the API: a provider's bid standing, the facilities in scope
//! (with the "whitelist" filter later purchase work uses: a level in force of at least N and a
//! provider not blacklisted), one facility with its warnings, registering a facility, its beds,
//! and admitting a resident to a bed. Same scope and checks as the pages.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use jinglao_db::beds::{self, Admission, Discharge, NewBeds};
use jinglao_db::facilities::{self, Facility, NewFacility};
use jinglao_db::providers;
use jinglao_domain::RegionCode;
use jinglao_domain::category::parse_date;
use jinglao_domain::facility::FacilityKind;
use jinglao_domain::facility_input::{Choices, MoneyFields};
use jinglao_domain::policy::PolicyBook;
use jinglao_domain::{Invalid, Permission};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::idempotency::{IdempotencyKey, once};
use super::responses::{ScopedRead, ScopedWrite};
use crate::auth::{ApiUser, CurrentUser};
use crate::error::{ApiError, AppError, ErrorEnvelope};
use crate::request::RequestMeta;
use crate::state::AppState;
use crate::usecase::Acting;
use crate::usecase::supply::beds as bed_usecase;
use crate::usecase::supply::facilities as facility_usecase;

pub(crate) fn may_view(user: &CurrentUser) -> Result<(), ApiError> {
    Ok(user.require(Permission::ViewProviders)?)
}

/// Whether a provider may bid, and why not.
#[derive(Debug, Serialize, ToSchema)]
pub struct StandingDto {
    /// Provider id.
    pub provider_id: Uuid,
    /// Provider name.
    pub name: String,
    /// All seven conditions hold and the provider is not blacklisted.
    pub qualified: bool,
    /// A 3A+ social organisation (priority in selection).
    pub priority: bool,
    /// What is missing, expired or failed, in words.
    pub gaps: Vec<String>,
}

/// A provider's standing to bid for government-bought services (湘政发〔2014〕20号).
#[utoipa::path(
    get,
    path = "/providers/{id}/standing",
    tag = "facilities",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "服务机构编号")),
    responses(
        (status = 200, description = "承接资格", body = StandingDto),
        ScopedRead,
    )
)]
pub async fn provider_standing(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<StandingDto>, ApiError> {
    may_view(&user)?;
    let mut c = state.db.acquire().await?;
    let p = providers::get(&mut c.conn(), &user.scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let s = providers::standing(&mut c.conn(), &p, state.today()).await?;
    Ok(Json(StandingDto {
        provider_id: p.id,
        name: p.name,
        qualified: s.qualified,
        priority: s.priority,
        gaps: s.gaps.into_iter().map(|g| g.reason).collect(),
    }))
}

/// A facility as returned.
#[derive(Debug, Serialize, ToSchema)]
pub struct FacilityDto {
    /// Id.
    pub id: Uuid,
    /// Operating provider.
    pub provider_id: Uuid,
    /// Its name.
    pub provider_name: String,
    /// Name.
    pub name: String,
    /// Type (stable name, e.g. `care_home`).
    pub kind: String,
    /// `public_run`, `public_built_private_run`, `private` or `ppp`.
    pub ownership: String,
    /// Region code.
    pub region_code: String,
    /// Address.
    pub address: String,
    /// Latitude.
    pub latitude: Option<f64>,
    /// Longitude.
    pub longitude: Option<f64>,
    /// Floor area, m².
    pub floor_area_m2: f64,
    /// Service functions (stable names).
    pub functions: Vec<String>,
    /// Beds in service.
    pub beds_total: i64,
    /// Nursing-type beds in service.
    pub nursing_beds: i64,
    /// Occupied beds.
    pub occupied_beds: i64,
    /// Star level in force today (1–5), if any.
    pub level: Option<i64>,
    /// Until when.
    pub level_valid_until: Option<NaiveDate>,
    /// Filing (备案) number; empty when not filed.
    pub filing_no: String,
    /// Monthly price range, fen.
    pub price_min_fen: i64,
    /// Monthly price range, fen.
    pub price_max_fen: i64,
    /// Shortfalls against the region's norms, in words.
    pub warnings: Vec<String>,
}

fn dto(f: Facility, book: &PolicyBook, today: NaiveDate) -> FacilityDto {
    FacilityDto {
        warnings: f
            .warnings(book, today)
            .into_iter()
            .map(|w| w.message)
            .collect(),
        level: f.level_on(today).map(|l| l.number()),
        level_valid_until: f.level_on(today).and(f.star_valid_until),
        id: f.id,
        provider_id: f.provider_id,
        provider_name: f.provider_name,
        name: f.name,
        kind: f.kind.as_str().into(),
        ownership: f.ownership.as_str().into(),
        region_code: f.region_code.short().to_string(),
        address: f.address,
        latitude: f.latitude,
        longitude: f.longitude,
        floor_area_m2: f.floor_area_m2,
        functions: f
            .functions
            .list()
            .into_iter()
            .map(|s| s.as_str().to_string())
            .collect(),
        beds_total: f.beds_total,
        nursing_beds: f.nursing_beds,
        occupied_beds: f.occupied_beds,
        filing_no: f.filing_no,
        price_min_fen: f.price_min_fen,
        price_max_fen: f.price_max_fen,
    }
}

/// List filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FacilityFilter {
    /// Only this provider's facilities.
    pub provider: Option<Uuid>,
    /// Whitelist: a star level in force of at least this (1–5), run by a provider that is not
    /// blacklisted.
    pub min_level: Option<i64>,
}

/// Facilities in your scope (a provider account: its own), by region and name.
#[utoipa::path(
    get,
    path = "/facilities",
    tag = "facilities",
    security(("bearer" = [])),
    params(FacilityFilter),
    responses(
        (status = 200, description = "设施", body = Vec<FacilityDto>),
        (status = 401, description = "未提供有效令牌", body = ErrorEnvelope),
        (status = 403, description = "角色无权查看", body = ErrorEnvelope),
    )
)]
pub async fn list_facilities(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(q): ApiQuery<FacilityFilter>,
) -> Result<Json<Vec<FacilityDto>>, ApiError> {
    may_view(&user)?;
    if q.min_level.is_some_and(|l| !(1..=5).contains(&l)) {
        return Err(Invalid::one("min_level", "等级应为 1 到 5").into());
    }
    let book = jinglao_db::policy::book(&state.db).await?;
    let today = state.today();
    let mut c = state.db.acquire().await?;
    let mut all = facilities::list(&mut c.conn(), &user.scope, q.provider).await?;
    if let Some(min) = q.min_level {
        all.retain(|f| f.level_on(today).is_some_and(|l| l.number() >= min));
        let ids: Vec<Uuid> = all.iter().map(|f| f.provider_id).collect();
        let black = providers::blacklisted_among(&mut c.conn(), &ids, today).await?;
        all.retain(|f| !black.contains_key(&f.provider_id));
    }
    Ok(Json(
        all.into_iter().map(|f| dto(f, &book, today)).collect(),
    ))
}

/// One facility with its warnings.
#[utoipa::path(
    get,
    path = "/facilities/{id}",
    tag = "facilities",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "设施编号")),
    responses(
        (status = 200, description = "设施", body = FacilityDto),
        (status = 401, description = "未提供有效令牌", body = ErrorEnvelope),
        (status = 404, description = "不存在或不在范围内", body = ErrorEnvelope),
    )
)]
pub async fn show_facility(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<FacilityDto>, ApiError> {
    may_view(&user)?;
    let book = jinglao_db::policy::book(&state.db).await?;
    let mut c = state.db.acquire().await?;
    let f = facilities::get(&mut c.conn(), &user.scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(dto(f, &book, state.today())))
}

/// A new facility: numbers as numbers, dates as ISO dates, money in integer fen, kinds and
/// statuses by their stable names.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FacilityRequest {
    /// Operating provider (a provider's own account may leave it out).
    #[serde(default)]
    pub provider_id: Option<Uuid>,
    /// Name (1–100 characters).
    #[schema(example = "雨湖区颐和护理院")]
    pub name: String,
    /// Type: care_home, extreme_poverty_home, … (stable name or label).
    #[schema(example = "care_home")]
    pub kind: String,
    /// Ownership and operation: public_run, public_built_private_run, private or ppp.
    #[schema(example = "private")]
    pub ownership: String,
    /// Owner of the premises.
    #[serde(default)]
    pub owner: String,
    /// Township or village code, in the provider's city.
    #[schema(example = "430302001")]
    pub region_code: String,
    /// Address.
    pub address: String,
    /// WGS-84 latitude (−90 to 90; with longitude, or neither).
    #[serde(default)]
    pub latitude: Option<f64>,
    /// WGS-84 longitude (−180 to 180).
    #[serde(default)]
    pub longitude: Option<f64>,
    /// Floor area, m².
    #[serde(default)]
    pub floor_area_m2: f64,
    /// Service functions, stable names.
    #[serde(default)]
    pub functions: Vec<String>,
    /// Partner medical institution.
    #[serde(default)]
    pub medical_partner: String,
    /// Opening date.
    #[serde(default)]
    pub opened_on: Option<NaiveDate>,
    /// Filing (备案) number.
    #[serde(default)]
    pub filing_no: String,
    /// Filing date (required with a number).
    #[serde(default)]
    pub filed_on: Option<NaiveDate>,
    /// Fire-safety status (default `missing`).
    #[schema(example = "approved")]
    #[serde(default)]
    pub fire_status: Option<String>,
    /// Food licence number.
    #[serde(default)]
    pub food_licence: String,
    /// Liability insurer.
    #[serde(default)]
    pub insurer: String,
    /// Insured beds.
    #[serde(default)]
    pub insured_beds: i64,
    /// Insurance start.
    #[serde(default)]
    pub insurance_from: Option<NaiveDate>,
    /// Insurance end.
    #[serde(default)]
    pub insurance_to: Option<NaiveDate>,
    /// Premium, fen.
    #[serde(default)]
    pub premium_fen: i64,
    /// Lowest monthly price, fen.
    #[serde(default)]
    pub price_min_fen: i64,
    /// Highest monthly price, fen.
    #[serde(default)]
    pub price_max_fen: i64,
    /// Public phone.
    #[serde(default)]
    pub phone: String,
    /// Public description.
    #[serde(default)]
    pub description: String,
    /// A community post without premises of its own (虚拟服务站): skips the floor-area norm.
    #[serde(default)]
    pub virtual_station: bool,
}

impl FacilityRequest {
    /// The typed facility, or every problem under its field.
    fn parse(self, user: &CurrentUser) -> Result<NewFacility, Invalid> {
        let mut inv = Invalid::new();
        let provider_id = self.provider_id.or(user.scope.provider_id());
        if provider_id.is_none() {
            inv.add("provider_id", "请指明运营机构");
        }
        let choices = Choices::parse(
            &self.kind,
            &self.ownership,
            self.fire_status.as_deref().unwrap_or(""),
            &self.functions,
            &mut inv,
        );
        let region = RegionCode::parse(self.region_code.trim())
            .map_err(|e| inv.add("region_code", e.to_string()))
            .ok();
        let (Some(provider_id), Some((kind, ownership, fire_status, functions)), Some(region_code)) =
            (provider_id, choices, region)
        else {
            return Err(inv);
        };
        let f = NewFacility {
            provider_id,
            name: self.name.trim().to_string(),
            kind,
            ownership,
            owner: self.owner.trim().to_string(),
            region_code,
            address: self.address.trim().to_string(),
            latitude: self.latitude,
            longitude: self.longitude,
            floor_area_m2: self.floor_area_m2,
            virtual_station: kind == FacilityKind::CommunityPost && self.virtual_station,
            functions,
            medical_partner: self.medical_partner.trim().to_string(),
            opened_on: self.opened_on,
            filing_no: self.filing_no.trim().to_string(),
            filed_on: self.filed_on,
            fire_status,
            food_licence: self.food_licence.trim().to_string(),
            insurer: self.insurer.trim().to_string(),
            insured_beds: self.insured_beds,
            insurance_from: self.insurance_from,
            insurance_to: self.insurance_to,
            premium_fen: self.premium_fen,
            price_min_fen: self.price_min_fen,
            price_max_fen: self.price_max_fen,
            phone: self.phone.trim().to_string(),
            description: self.description.trim().to_string(),
        };
        if let Err(more) = f.check(MoneyFields::Fen) {
            inv.errors.extend(more.errors);
        }
        inv.into_result(f)
    }
}

/// Register a facility. Errors name the field (`region_code` outside the provider's city,
/// `provider_id` not yours, `functions` unknown, `price_max_fen` below `price_min_fen`, …);
/// nothing is written on any error.
#[utoipa::path(
    post,
    path = "/facilities",
    tag = "facilities",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "重试时带同一个键，得到同一结果")),
    request_body = FacilityRequest,
    responses((status = 201, description = "已登记", body = FacilityDto), ScopedWrite)
)]
pub async fn create_facility(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    key: IdempotencyKey,
    ApiJson(body): ApiJson<FacilityRequest>,
) -> Response {
    let acting = Acting::new(&state, user, &meta);
    once(
        state,
        acting,
        key,
        "POST /api/v1/facilities".to_string(),
        body,
        |state, acting, body| async move {
            let f = body
                .parse(&acting.user)
                .map_err(|e| ApiError::from(AppError::from(e)))?;
            let id = facility_usecase::register(&state, &acting, &f).await?;
            let book = jinglao_db::policy::book(&state.db).await?;
            let mut c = state.db.acquire().await?;
            let f = facilities::get(&mut c.conn(), &acting.user.scope, id)
                .await?
                .ok_or(AppError::NotFound)?;
            Ok((StatusCode::CREATED, dto(f, &book, state.today())))
        },
    )
    .await
}

/// A bed.
#[derive(Debug, Serialize, ToSchema)]
pub struct BedDto {
    /// Id.
    pub id: Uuid,
    /// Building, floor, room and bed.
    pub place: String,
    /// Nursing-type.
    pub nursing: bool,
    /// `free`, `occupied`, `reserved` or `out_of_service`.
    pub status: String,
}

/// The beds of a facility, by place.
#[utoipa::path(
    get,
    path = "/facilities/{id}/beds",
    tag = "facilities",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "设施编号")),
    responses(
        (status = 200, description = "床位", body = Vec<BedDto>),
        (status = 401, description = "未提供有效令牌", body = ErrorEnvelope),
        (status = 404, description = "不存在或不在范围内", body = ErrorEnvelope),
    )
)]
pub async fn list_beds(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Vec<BedDto>>, ApiError> {
    may_view(&user)?;
    let mut c = state.db.acquire().await?;
    facilities::get(&mut c.conn(), &user.scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let beds = beds::list(&mut c.conn(), id).await?;
    Ok(Json(
        beds.into_iter()
            .map(|b| BedDto {
                id: b.id,
                place: b.place(),
                nursing: b.nursing,
                status: b.status,
            })
            .collect(),
    ))
}

/// An admission.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdmissionRequest {
    /// A free or reserved bed of this facility.
    pub bed_id: Uuid,
    /// The older person's resident ID number (registered in the elder database).
    pub id_number: String,
    /// First day, YYYY-MM-DD.
    #[schema(example = "2026-11-01")]
    pub admitted_on: String,
    /// At a public institution, why someone other than the first on the waiting list is
    /// admitted (required then, at least 4 characters).
    #[serde(default)]
    pub out_of_turn_reason: String,
}

/// The stay created.
#[derive(Debug, Serialize, ToSchema)]
pub struct StayDto {
    /// Stay id (for discharge).
    pub stay_id: Uuid,
}

/// Admit a registered older person to a bed. Needs an effective capability assessment when
/// the region's policy says so; one bed per person; of two admissions racing for one bed,
/// exactly one succeeds and the other gets 422 on `bed_id`.
#[utoipa::path(
    post,
    path = "/facilities/{id}/admissions",
    tag = "facilities",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "设施编号")),
    request_body = AdmissionRequest,
    responses(
        (status = 201, description = "已入住", body = StayDto),
        ScopedRead,
        (status = 422, description = "床位已占用、无评估、已在别处入住等（指明字段）", body = ErrorEnvelope),
    )
)]
pub async fn admit_resident(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<AdmissionRequest>,
) -> Result<(StatusCode, Json<StayDto>), ApiError> {
    let admitted_on = parse_date(&body.admitted_on);
    if admitted_on.is_none() {
        return Err(Invalid::one("admitted_on", "入住日期应写成 年-月-日").into());
    }
    let a = Admission {
        bed_id: body.bed_id,
        id_number: &body.id_number,
        admitted_on,
        out_of_turn_reason: &body.out_of_turn_reason,
    };
    let acting = Acting::new(&state, user, &meta);
    let stay_id = bed_usecase::admit(&state, &acting, id, &a).await?;
    Ok((StatusCode::CREATED, Json(StayDto { stay_id })))
}

/// Beds to add to one room.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBedsRequest {
    /// Building.
    #[schema(example = "1号楼")]
    pub building: String,
    /// Floor.
    #[schema(example = "2")]
    pub floor: String,
    /// Room.
    #[schema(example = "201")]
    pub room: String,
    /// How many (1–50), numbered after the room's existing beds.
    pub count: i64,
    /// Nursing-type beds (护理型床位).
    #[serde(default)]
    pub nursing: bool,
}

/// The beds added.
#[derive(Debug, Serialize, ToSchema)]
pub struct BedsAddedDto {
    /// Their ids.
    pub bed_ids: Vec<Uuid>,
}

/// Add beds to a room of a facility (its bed counters follow in the same transaction).
#[utoipa::path(
    post,
    path = "/facilities/{id}/beds",
    tag = "facilities",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "设施编号"),
        ("Idempotency-Key" = Option<String>, Header, description = "重试时带同一个键，得到同一结果"),
    ),
    request_body = NewBedsRequest,
    responses((status = 201, description = "已添加", body = BedsAddedDto), ScopedWrite)
)]
pub async fn add_beds(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    key: IdempotencyKey,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<NewBedsRequest>,
) -> Response {
    let acting = Acting::new(&state, user, &meta);
    let route = format!("POST /api/v1/facilities/{id}/beds");
    once(
        state,
        acting,
        key,
        route,
        body,
        move |state, acting, body| async move {
            let b = NewBeds {
                building: &body.building,
                floor: &body.floor,
                room: &body.room,
                count: body.count,
                nursing: body.nursing,
            };
            let bed_ids = bed_usecase::add(&state, &acting, id, &b).await?;
            Ok((StatusCode::CREATED, BedsAddedDto { bed_ids }))
        },
    )
    .await
}

/// A bed's new status.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BedStatusRequest {
    /// free | reserved | out_of_service (occupying a bed is an admission).
    pub status: String,
}

/// A bed as changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct BedStatusDto {
    /// The bed.
    pub bed_id: Uuid,
    /// Its status now.
    pub status: String,
}

/// Set a bed free, reserved or out of service.
#[utoipa::path(
    post,
    path = "/facilities/{id}/beds/{bed_id}/status",
    tag = "facilities",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "设施编号"),
        ("bed_id" = Uuid, Path, description = "床位编号"),
        ("Idempotency-Key" = Option<String>, Header, description = "重试时带同一个键，得到同一结果"),
    ),
    request_body = BedStatusRequest,
    responses((status = 200, description = "已修改", body = BedStatusDto), ScopedWrite)
)]
pub async fn set_bed_status(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    key: IdempotencyKey,
    ApiPath((id, bed_id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<BedStatusRequest>,
) -> Response {
    let acting = Acting::new(&state, user, &meta);
    let route = format!("POST /api/v1/facilities/{id}/beds/{bed_id}/status");
    once(
        state,
        acting,
        key,
        route,
        body,
        move |state, acting, body| async move {
            let status = body.status.trim().to_string();
            bed_usecase::set_status(&state, &acting, id, bed_id, &status).await?;
            Ok((StatusCode::OK, BedStatusDto { bed_id, status }))
        },
    )
    .await
}

/// A discharge.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DischargeRequest {
    /// The stay (from the admission).
    pub stay_id: Uuid,
    /// The last day (not before the admission).
    pub discharged_on: NaiveDate,
    /// Why (required).
    pub reason: String,
}

/// Discharge a resident: the stay closes and the bed is free again.
#[utoipa::path(
    post,
    path = "/facilities/{id}/discharges",
    tag = "facilities",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "设施编号"),
        ("Idempotency-Key" = Option<String>, Header, description = "重试时带同一个键，得到同一结果"),
    ),
    request_body = DischargeRequest,
    responses((status = 200, description = "已退住", body = StayDto), ScopedWrite)
)]
pub async fn discharge_resident(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    key: IdempotencyKey,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<DischargeRequest>,
) -> Response {
    let acting = Acting::new(&state, user, &meta);
    let route = format!("POST /api/v1/facilities/{id}/discharges");
    once(
        state,
        acting,
        key,
        route,
        body,
        move |state, acting, body| async move {
            let d = Discharge {
                stay_id: body.stay_id,
                on: Some(body.discharged_on),
                reason: &body.reason,
            };
            bed_usecase::discharge(&state, &acting, id, &d).await?;
            Ok((
                StatusCode::OK,
                StayDto {
                    stay_id: body.stay_id,
                },
            ))
        },
    )
    .await
}
