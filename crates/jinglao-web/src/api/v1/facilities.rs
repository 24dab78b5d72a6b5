//! Providers and facilities over the API: a provider's bid standing, the facilities in scope
//! (with the "whitelist" filter later purchase work uses: a level in force of at least N and a
//! provider not blacklisted), one facility with its warnings, registering a facility, its beds,
//! and admitting a resident to a bed. Same scope and checks as the pages.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use jinglao_db::beds::{self, Admission};
use jinglao_db::facilities::{self, Facility, FacilityInput};
use jinglao_db::providers;
use jinglao_domain::category::parse_date;
use jinglao_domain::policy::PolicyBook;
use jinglao_domain::{Invalid, Permission};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::auth::{ApiUser, CurrentUser};
use crate::error::{ApiError, AppError, ErrorEnvelope};
use crate::request::RequestMeta;
use crate::state::AppState;

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
        (status = 401, description = "未提供有效令牌", body = ErrorEnvelope),
        (status = 403, description = "角色无权查看", body = ErrorEnvelope),
        (status = 404, description = "不存在或不在范围内", body = ErrorEnvelope),
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

/// A new facility. Text fields as on the form; dates YYYY-MM-DD; money in yuan.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct FacilityRequest {
    /// Operating provider (a provider account: its own).
    pub provider_id: String,
    /// Name.
    #[schema(example = "雨湖区颐和护理院")]
    pub name: String,
    /// Type, stable name or label.
    #[schema(example = "care_home")]
    pub kind: String,
    /// Ownership and operation, stable name or label.
    #[schema(example = "private")]
    pub ownership: String,
    /// Owner of the premises.
    pub owner: String,
    /// Township or village code, in the provider's city.
    #[schema(example = "430302001")]
    pub region_code: String,
    /// Address.
    pub address: String,
    /// Latitude.
    pub latitude: String,
    /// Longitude.
    pub longitude: String,
    /// Floor area, m².
    pub floor_area_m2: String,
    /// Service functions, stable names or labels.
    pub functions: Vec<String>,
    /// Partner medical institution.
    pub medical_partner: String,
    /// Opening date.
    pub opened_on: String,
    /// Filing number.
    pub filing_no: String,
    /// Filing date.
    pub filed_on: String,
    /// Fire-safety status.
    #[schema(example = "approved")]
    pub fire_status: String,
    /// Food licence number.
    pub food_licence: String,
    /// Liability insurer.
    pub insurer: String,
    /// Insured beds.
    pub insured_beds: String,
    /// Insurance start.
    pub insurance_from: String,
    /// Insurance end.
    pub insurance_to: String,
    /// Premium, yuan.
    pub premium_yuan: String,
    /// Lowest monthly price, yuan.
    pub price_min_yuan: String,
    /// Highest monthly price, yuan.
    pub price_max_yuan: String,
    /// Public phone.
    pub phone: String,
    /// Public description.
    pub description: String,
    /// A community post without premises of its own (虚拟服务站): `true` skips the floor-area
    /// norm.
    #[serde(default)]
    pub virtual_station: bool,
}

impl From<FacilityRequest> for FacilityInput {
    fn from(r: FacilityRequest) -> Self {
        FacilityInput {
            provider_id: r.provider_id,
            name: r.name,
            kind: r.kind,
            ownership: r.ownership,
            owner: r.owner,
            region_code: r.region_code,
            address: r.address,
            latitude: r.latitude,
            longitude: r.longitude,
            floor_area_m2: r.floor_area_m2,
            functions: r.functions,
            medical_partner: r.medical_partner,
            opened_on: r.opened_on,
            filing_no: r.filing_no,
            filed_on: r.filed_on,
            fire_status: r.fire_status,
            food_licence: r.food_licence,
            insurer: r.insurer,
            insured_beds: r.insured_beds,
            insurance_from: r.insurance_from,
            insurance_to: r.insurance_to,
            premium_yuan: r.premium_yuan,
            price_min_yuan: r.price_min_yuan,
            price_max_yuan: r.price_max_yuan,
            phone: r.phone,
            description: r.description,
            virtual_station: if r.virtual_station { "yes" } else { "" }.into(),
        }
    }
}

/// Register a facility. Errors name the field (`region_code` outside the provider's city,
/// `provider_id` not yours, `functions` unknown, …); nothing is written on any error.
#[utoipa::path(
    post,
    path = "/facilities",
    tag = "facilities",
    security(("bearer" = [])),
    request_body = FacilityRequest,
    responses(
        (status = 201, description = "已登记", body = FacilityDto),
        (status = 401, description = "未提供有效令牌", body = ErrorEnvelope),
        (status = 403, description = "角色无权登记设施", body = ErrorEnvelope),
        (status = 422, description = "字段有误（指明字段）", body = ErrorEnvelope),
    )
)]
pub async fn create_facility(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    meta: RequestMeta,
    ApiJson(body): ApiJson<FacilityRequest>,
) -> Result<(StatusCode, Json<FacilityDto>), ApiError> {
    user.require(Permission::ManageFacilities)?;
    let input = FacilityInput::from(body);
    let (db, key, now) = (&state.db, &state.keys.audit_chain, state.clock.now());
    let id = facilities::create(db, key, &user.actor(&meta), &input, now).await?;
    let book = jinglao_db::policy::book(&state.db).await?;
    let mut c = state.db.acquire().await?;
    let f = facilities::get(&mut c.conn(), &user.scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((StatusCode::CREATED, Json(dto(f, &book, state.today()))))
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
        (status = 401, description = "未提供有效令牌", body = ErrorEnvelope),
        (status = 403, description = "角色无权办理入住", body = ErrorEnvelope),
        (status = 404, description = "设施不存在或不在范围内", body = ErrorEnvelope),
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
    user.require(Permission::ManageFacilities)?;
    let admitted_on = parse_date(&body.admitted_on);
    if admitted_on.is_none() {
        return Err(Invalid::one("admitted_on", "入住日期应写成 年-月-日").into());
    }
    let book = jinglao_db::policy::book(&state.db).await?;
    let a = Admission {
        bed_id: body.bed_id,
        id_number: &body.id_number,
        admitted_on,
        out_of_turn_reason: &body.out_of_turn_reason,
    };
    let stay_id = beds::admit(
        &state.db,
        &state.keys.audit_chain,
        &state.keys.cipher,
        &book,
        &user.actor(&meta),
        id,
        &a,
        state.clock.now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(StayDto { stay_id })))
}
