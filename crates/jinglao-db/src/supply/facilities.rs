//! Facilities (养老服务设施): registration within scope, the live bed counters kept on each
//! row, and the warnings the policy norms give. A provider administrator sees and changes only
//! its own provider's facilities; bureau staff those in their region.

use chrono::{DateTime, NaiveDate, Utc};
use jinglao_domain::facility::{
    FacilityKind, FireStatus, Functions, Ownership, Profile, Warning, warnings,
};
use jinglao_domain::policy::PolicyBook;
use jinglao_domain::rating::Level;
use jinglao_domain::{Invalid, RegionCode, Scope};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, ChainKey, Event};
use crate::scope_sql::push_scope;
use crate::{Actor, Conn, Db, DbError, on_conn, providers};

/// A facility.
#[derive(Debug, Clone, PartialEq)]
pub struct Facility {
    /// Id.
    pub id: Uuid,
    /// Operating provider.
    pub provider_id: Uuid,
    /// Operating provider's name.
    pub provider_name: String,
    /// Name.
    pub name: String,
    /// Type.
    pub kind: FacilityKind,
    /// Ownership and operation.
    pub ownership: Ownership,
    /// Owner (产权方).
    pub owner: String,
    /// Region.
    pub region_code: RegionCode,
    /// Address.
    pub address: String,
    /// WGS-84 latitude.
    pub latitude: Option<f64>,
    /// WGS-84 longitude.
    pub longitude: Option<f64>,
    /// Floor area, m².
    pub floor_area_m2: f64,
    /// A virtual community station (no premises: no floor area is asked of it).
    pub virtual_station: bool,
    /// Service functions.
    pub functions: Functions,
    /// Partner medical institution (医养结合).
    pub medical_partner: String,
    /// Opening date.
    pub opened_on: Option<NaiveDate>,
    /// 备案 number.
    pub filing_no: String,
    /// 备案 date.
    pub filed_on: Option<NaiveDate>,
    /// Fire-safety approval.
    pub fire_status: FireStatus,
    /// Food licence number.
    pub food_licence: String,
    /// Liability insurer.
    pub insurer: String,
    /// Insured beds.
    pub insured_beds: i64,
    /// Insurance period start.
    pub insurance_from: Option<NaiveDate>,
    /// Insurance period end.
    pub insurance_to: Option<NaiveDate>,
    /// Premium, fen.
    pub premium_fen: i64,
    /// Monthly price from, fen.
    pub price_min_fen: i64,
    /// Monthly price to, fen.
    pub price_max_fen: i64,
    /// Public phone.
    pub phone: String,
    /// Public description.
    pub description: String,
    /// Beds in service.
    pub beds_total: i64,
    /// Nursing-type beds in service.
    pub nursing_beds: i64,
    /// Occupied beds.
    pub occupied_beds: i64,
    /// Current star level.
    pub star_level: Option<Level>,
    /// Until when the level holds.
    pub star_valid_until: Option<NaiveDate>,
}

impl Facility {
    /// Occupied beds as a share of beds in service, percent.
    pub fn occupancy_percent(&self) -> f64 {
        if self.beds_total == 0 {
            0.0
        } else {
            self.occupied_beds as f64 * 100.0 / self.beds_total as f64
        }
    }

    /// Nursing-bed share, percent.
    pub fn nursing_percent(&self) -> f64 {
        jinglao_domain::facility::nursing_percent(self.beds_total, self.nursing_beds)
    }

    /// The level in force on `today`.
    pub fn level_on(&self, today: NaiveDate) -> Option<Level> {
        self.star_level
            .filter(|_| self.star_valid_until.is_some_and(|u| today <= u))
    }

    /// The shortfalls against the region's norms on `today`.
    pub fn warnings(&self, book: &PolicyBook, today: NaiveDate) -> Vec<Warning> {
        let urban = jinglao_domain::region::derive_area_type(&self.region_code, "")
            == Some(jinglao_domain::AreaType::Urban);
        warnings(
            &Profile {
                kind: self.kind,
                urban,
                virtual_station: self.virtual_station,
                star_level: self.level_on(today).map(|l| l.number() as u8),
                floor_area_m2: self.floor_area_m2,
                functions: self.functions,
                beds: self.beds_total,
                nursing_beds: self.nursing_beds,
            },
            &book.facility_norms(&self.region_code),
        )
    }

    /// Whether its liability insurance covers `today`.
    pub fn insured_on(&self, today: NaiveDate) -> bool {
        matches!((self.insurance_from, self.insurance_to), (Some(f), Some(t)) if f <= today && today <= t)
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct FacilityRow {
    id: Uuid,
    provider_id: Uuid,
    provider_name: String,
    name: String,
    kind: String,
    ownership: String,
    owner: String,
    region_code: String,
    address: String,
    latitude: Option<f64>,
    longitude: Option<f64>,
    floor_area_m2: f64,
    virtual_station: bool,
    functions: i32,
    medical_partner: String,
    opened_on: Option<NaiveDate>,
    filing_no: String,
    filed_on: Option<NaiveDate>,
    fire_status: String,
    food_licence: String,
    insurer: String,
    insured_beds: i32,
    insurance_from: Option<NaiveDate>,
    insurance_to: Option<NaiveDate>,
    premium_fen: i64,
    price_min_fen: i64,
    price_max_fen: i64,
    phone: String,
    description: String,
    beds_total: i32,
    nursing_beds: i32,
    occupied_beds: i32,
    star_level: Option<i32>,
    star_valid_until: Option<NaiveDate>,
}

/// The select list shared with the finder (aliases `f` and `p`).
pub(crate) const SELECT: &str = "SELECT f.id, f.provider_id, p.name AS provider_name, f.name, \
    f.kind, f.ownership, f.owner, f.region_code, f.address, f.latitude, f.longitude, \
    f.floor_area_m2, f.virtual_station, f.functions, f.medical_partner, f.opened_on, f.filing_no, f.filed_on, \
    f.fire_status, f.food_licence, f.insurer, f.insured_beds, f.insurance_from, f.insurance_to, \
    f.premium_fen, f.price_min_fen, f.price_max_fen, f.phone, f.description, f.beds_total, \
    f.nursing_beds, f.occupied_beds, f.star_level, f.star_valid_until \
    FROM facilities f JOIN providers p ON p.id = f.provider_id";

impl TryFrom<FacilityRow> for Facility {
    type Error = DbError;
    fn try_from(r: FacilityRow) -> Result<Self, DbError> {
        let bad = |what: &str| DbError::Corrupt(format!("设施 {}：{what}", r.name));
        Ok(Facility {
            id: r.id,
            provider_id: r.provider_id,
            kind: FacilityKind::parse(&r.kind).ok_or_else(|| bad("类型无效"))?,
            ownership: Ownership::parse(&r.ownership).ok_or_else(|| bad("性质无效"))?,
            region_code: RegionCode::parse(&r.region_code).map_err(|e| bad(&e.to_string()))?,
            fire_status: FireStatus::parse(&r.fire_status).ok_or_else(|| bad("消防状态无效"))?,
            star_level: r.star_level.and_then(|l| Level::new(l.into())),
            provider_name: r.provider_name,
            owner: r.owner,
            address: r.address,
            latitude: r.latitude,
            longitude: r.longitude,
            floor_area_m2: r.floor_area_m2,
            virtual_station: r.virtual_station,
            functions: Functions(r.functions as u32),
            medical_partner: r.medical_partner,
            opened_on: r.opened_on,
            filing_no: r.filing_no,
            filed_on: r.filed_on,
            food_licence: r.food_licence,
            insurer: r.insurer,
            insured_beds: r.insured_beds.into(),
            insurance_from: r.insurance_from,
            insurance_to: r.insurance_to,
            premium_fen: r.premium_fen,
            price_min_fen: r.price_min_fen,
            price_max_fen: r.price_max_fen,
            phone: r.phone,
            description: r.description,
            beds_total: r.beds_total.into(),
            nursing_beds: r.nursing_beds.into(),
            occupied_beds: r.occupied_beds.into(),
            star_valid_until: r.star_valid_until,
            name: r.name,
        })
    }
}

/// One facility within `scope`.
pub async fn get(
    conn: &mut Conn<'_>,
    scope: &Scope,
    id: Uuid,
) -> Result<Option<Facility>, DbError> {
    let rows: Vec<FacilityRow> = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(SELECT);
        q.push(" WHERE f.id = ").push_bind(id);
        push_scope(&mut q, scope, "f.region_code", "f.provider_id");
        q.build_query_as::<FacilityRow>().fetch_all(&mut *c).await
    })?;
    rows.into_iter().next().map(Facility::try_from).transpose()
}

/// Facilities within `scope`, optionally of one provider, by region then name.
pub async fn list(
    conn: &mut Conn<'_>,
    scope: &Scope,
    provider_id: Option<Uuid>,
) -> Result<Vec<Facility>, DbError> {
    let rows: Vec<FacilityRow> = on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(SELECT);
        q.push(" WHERE 1 = 1");
        push_scope(&mut q, scope, "f.region_code", "f.provider_id");
        if let Some(p) = provider_id {
            q.push(" AND f.provider_id = ").push_bind(p);
        }
        q.push(" ORDER BY f.region_code, f.name");
        q.build_query_as::<FacilityRow>().fetch_all(&mut *c).await
    })?;
    rows.into_iter().map(Facility::try_from).collect()
}

pub use jinglao_domain::facility_input::{FacilityDraft, NewFacility, yuan_to_fen};

/// The city (市级) containing `code`, or `code` itself above city level.
fn city_of(code: &RegionCode) -> RegionCode {
    code.ancestors()
        .into_iter()
        .chain(std::iter::once(*code))
        .find(|a| a.level() == jinglao_domain::RegionLevel::City)
        .unwrap_or(*code)
}

/// Checks what needs the database: the provider is within the caller's reach and the region
/// within the caller's and the provider's city. Returns the provider's id.
async fn check(conn: &mut Conn<'_>, actor: &Actor, f: &NewFacility) -> Result<Uuid, DbError> {
    let mut inv = Invalid::new();
    let provider = providers::get(conn, &actor.scope, f.provider_id).await?;
    if provider.is_none() {
        inv.add("provider_id", "请选择您有权管理的运营机构");
    }
    let r = &f.region_code;
    let in_scope = match &actor.scope {
        Scope::Provider { .. } => true,
        s => s.covers_record_in(r),
    };
    if !in_scope {
        inv.add("region_code", "该区划不在您的管理范围内");
    } else if let Some(p) = &provider
        && !city_of(&p.region_code).contains(r)
    {
        inv.add(
            "region_code",
            "设施须位于运营机构登记地所在的市（州）范围内；跨市运营请在当地另行登记",
        );
    }
    Ok(inv.into_result(f.provider_id)?)
}

/// Registers a facility, audited. A provider administrator may register only for its own
/// provider; staff only in their region; the facility must lie in the provider's city.
pub async fn create(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    i: &NewFacility,
    now: DateTime<Utc>,
) -> Result<Uuid, DbError> {
    // Checked by the use case too; kept here so no caller can skip it.
    if !actor.may(jinglao_domain::Permission::ManageFacilities) {
        return Err(DbError::NotFound);
    }
    i.check(jinglao_domain::facility_input::MoneyFields::Fen)?;
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let provider_id = check(&mut conn, actor, i).await?;
    let id = Uuid::now_v7();
    on_conn!(&mut conn, |cx| {
        sqlx::query(
            "INSERT INTO facilities (id, provider_id, name, kind, ownership, owner, region_code, address, \
             latitude, longitude, floor_area_m2, functions, medical_partner, opened_on, filing_no, filed_on, \
             fire_status, food_licence, insurer, insured_beds, insurance_from, insurance_to, premium_fen, \
             price_min_fen, price_max_fen, phone, description, created_at, updated_at, virtual_station) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
             $21, $22, $23, $24, $25, $26, $27, $28, $28, $29)",
        )
        .bind(id)
        .bind(provider_id)
        .bind(i.name.trim())
        .bind(i.kind.as_str())
        .bind(i.ownership.as_str())
        .bind(i.owner.trim())
        .bind(i.region_code.as_str())
        .bind(i.address.trim())
        .bind(i.latitude)
        .bind(i.longitude)
        .bind(i.floor_area_m2)
        .bind(i.functions.0 as i32)
        .bind(i.medical_partner.trim())
        .bind(i.opened_on)
        .bind(i.filing_no.trim())
        .bind(i.filed_on)
        .bind(i.fire_status.as_str())
        .bind(i.food_licence.trim())
        .bind(i.insurer.trim())
        .bind(i.insured_beds as i32)
        .bind(i.insurance_from)
        .bind(i.insurance_to)
        .bind(i.premium_fen)
        .bind(i.price_min_fen)
        .bind(i.price_max_fen)
        .bind(i.phone.trim())
        .bind(i.description.trim())
        .bind(now)
        .bind(i.kind == FacilityKind::CommunityPost && i.virtual_station)
        .execute(&mut *cx)
        .await
        .map(|r| r.rows_affected())
    })
    .map_err(|e| match DbError::from(e) {
        DbError::ForeignKey => DbError::Invalid(Invalid::one("region_code", "区划代码不存在")),
        e => e,
    })?;
    let event = Event::new("facility.create", "facility", id)
        .region(Some(i.region_code))
        .detail(
            json!({ "name": i.name.trim(), "kind": i.kind.as_str(), "provider_id": provider_id }),
        );
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(id)
}

/// Recomputes bed counters from the beds, of one facility (inside the caller's transaction) or,
/// with `None`, of every facility (after a bulk load).
pub async fn recount(
    conn: &mut Conn<'_>,
    facility_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    const SET: &str = "UPDATE facilities SET \
         beds_total = (SELECT COUNT(*) FROM beds b WHERE b.facility_id = facilities.id AND b.status <> 'out_of_service'), \
         nursing_beds = (SELECT COUNT(*) FROM beds b WHERE b.facility_id = facilities.id AND b.status <> 'out_of_service' AND b.nursing = TRUE), \
         occupied_beds = (SELECT COUNT(*) FROM beds b WHERE b.facility_id = facilities.id AND b.status = 'occupied'), \
         updated_at = ";
    on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new(SET);
        q.push_bind(now);
        if let Some(id) = facility_id {
            q.push(" WHERE id = ").push_bind(id);
        }
        q.build().execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    Ok(())
}
