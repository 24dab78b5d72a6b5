//! Family care beds (家庭养老床位): the beds in force with this month's verified visits
//! against the minimum, one person's beds with their checklist and devices, setting a bed up
//! after the home assessment, recording adaptations and devices, and ending a bed.
//!
//! Who may: staff who edit people's records, and providers (for their own beds). Storage checks
//! again that the person lives within the caller's reach and applies the region's rule.

use chrono::NaiveDate;
use jinglao_db::DbError;
use jinglao_db::elders;
use jinglao_db::family_beds::{self, Bed, ListOrder, Listed, NewAdaptation, NewBed, NewDevice};
use jinglao_domain::family_bed::MonthProgress;
use jinglao_domain::{Permission, Scope};
use uuid::Uuid;

use super::super::Acting;
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;

/// Who may see and work on family beds.
pub fn may_view(user: &CurrentUser) -> Result<(), AppError> {
    if user.can(Permission::EditElders) || user.can(Permission::ManageFacilities) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

fn refused(e: AppError) -> DbError {
    DbError::Forbidden(e.to_string())
}

/// Beds in force `user` may see, with `month`'s verified visits, in `order`, at most `limit`.
pub async fn list(
    state: &AppState,
    user: &CurrentUser,
    month: &str,
    order: ListOrder,
    limit: i64,
) -> Result<Vec<Listed>, AppError> {
    may_view(user)?;
    let mut c = state.db.acquire().await?;
    Ok(family_beds::list(&mut c.conn(), &user.scope, month, order, limit).await?)
}

/// One bed with this month's progress, its adaptation checklist and its devices.
#[derive(Debug, Clone)]
pub struct BedDetail {
    /// The bed.
    pub bed: Bed,
    /// This month's verified visits against the minimum.
    pub progress: MonthProgress,
    /// Adaptations done: (item, day, note).
    pub adaptations: Vec<(String, NaiveDate, String)>,
    /// Devices in use: (kind, serial number, installed on).
    pub devices: Vec<(String, String, NaiveDate)>,
}

impl BedDetail {
    /// The adaptation of `item`, if done.
    pub fn done(&self, item: &str) -> Option<&(String, NaiveDate, String)> {
        self.adaptations.iter().find(|(i, ..)| i == item)
    }
}

/// A person's name and beds as the caller may see them.
#[derive(Debug, Clone)]
pub struct PersonBeds {
    /// The person's name.
    pub name: String,
    /// Their beds within the caller's reach, newest first.
    pub beds: Vec<BedDetail>,
}

/// A person's beds within the caller's reach, newest first, each with its details for
/// `month`. A provider sees the person only through its own beds (their record is not in its
/// scope); a read of a record in scope is audited.
pub async fn of_elder(
    state: &AppState,
    acting: &Acting,
    elder_id: Uuid,
    month: &str,
) -> Result<PersonBeds, AppError> {
    let user = &acting.user;
    may_view(user)?;
    let book = jinglao_db::policy::book(&state.db).await?;
    let mut c = state.db.acquire().await?;
    let found = family_beds::of_elder(&mut c.conn(), &user.scope, elder_id).await?;
    let mut beds = Vec::with_capacity(found.len());
    for bed in found {
        beds.push(BedDetail {
            progress: family_beds::progress(&mut c.conn(), &bed, &book, month).await?,
            adaptations: family_beds::adaptations(&mut c.conn(), bed.id).await?,
            devices: family_beds::devices(&mut c.conn(), bed.id).await?,
            bed,
        });
    }
    let record = elders::get(&mut c.conn(), &user.scope, elder_id).await?;
    let name = match (&record, beds.is_empty()) {
        (Some(r), _) => r.name.clone(),
        (None, false) => elders::get(&mut c.conn(), &Scope::All, elder_id)
            .await?
            .map(|r| r.name)
            .unwrap_or_default(),
        (None, true) => return Err(AppError::NotFound),
    };
    drop(c);
    if let Some(r) = &record {
        let (db, key) = (&state.db, &state.keys.audit_chain);
        elders::record_read(db, key, &acting.actor, r, acting.now).await?;
    }
    Ok(PersonBeds { name, beds })
}

/// One bed, if the caller may see it.
pub async fn get(state: &AppState, user: &CurrentUser, id: Uuid) -> Result<Bed, AppError> {
    may_view(user)?;
    let mut c = state.db.acquire().await?;
    family_beds::get(&mut c.conn(), &user.scope, id)
        .await?
        .ok_or(AppError::NotFound)
}

/// Sets up a bed under the region's rule, on today's facts.
pub async fn create(state: &AppState, acting: &Acting, bed: &NewBed<'_>) -> Result<Uuid, DbError> {
    may_view(&acting.user).map_err(refused)?;
    let book = jinglao_db::policy::book(&state.db).await?;
    let today = jinglao_domain::clock::china_date(acting.now);
    family_beds::create(&acting.write(state), bed, &book, today).await
}

/// Records an adaptation of the home (again for the same item: the new day and note).
pub async fn adapt(
    state: &AppState,
    acting: &Acting,
    bed_id: Uuid,
    a: &NewAdaptation<'_>,
) -> Result<(), DbError> {
    may_view(&acting.user).map_err(refused)?;
    let (db, key) = (&state.db, &state.keys.audit_chain);
    family_beds::adapt(db, key, &acting.actor, bed_id, a, acting.now).await
}

/// Records a device installed in the home.
pub async fn install(
    state: &AppState,
    acting: &Acting,
    bed_id: Uuid,
    d: &NewDevice<'_>,
) -> Result<(), DbError> {
    may_view(&acting.user).map_err(refused)?;
    let (db, key) = (&state.db, &state.keys.audit_chain);
    family_beds::install(db, key, &acting.actor, bed_id, d, acting.now).await
}

/// Ends a bed today, with the reason.
pub async fn end(
    state: &AppState,
    acting: &Acting,
    bed_id: Uuid,
    reason: &str,
) -> Result<(), DbError> {
    may_view(&acting.user).map_err(refused)?;
    let today = jinglao_domain::clock::china_date(acting.now);
    let (db, key) = (&state.db, &state.keys.audit_chain);
    family_beds::end(db, key, &acting.actor, bed_id, reason, today, acting.now).await
}
