//! A facility's beds and residents: adding beds to a room, changing a bed's status, admitting
//! a registered older person to a bed and discharging a resident. Storage checks the facility
//! is in the caller's scope and keeps the facility's counters in the same transaction.
//!
//! Who may: a provider's administrator for its facilities, or staff with facility rights.

use jinglao_db::DbError;
use jinglao_db::beds::{self, Admission, Discharge, NewBeds};
use jinglao_domain::Permission;
use uuid::Uuid;

use super::super::Acting;
use crate::error::AppError;
use crate::state::AppState;

fn may_manage(acting: &Acting) -> Result<(), DbError> {
    if acting.user.can(Permission::ManageFacilities) {
        Ok(())
    } else {
        Err(DbError::Forbidden(AppError::forbidden().to_string()))
    }
}

/// Adds beds to a room; returns their ids.
pub async fn add(
    state: &AppState,
    acting: &Acting,
    facility_id: Uuid,
    b: &NewBeds<'_>,
) -> Result<Vec<Uuid>, DbError> {
    may_manage(acting)?;
    let (db, key) = (&state.db, &state.keys.audit_chain);
    beds::add(db, key, &acting.actor, facility_id, b, acting.now).await
}

/// Sets a bed free, reserved or out of service (occupying it is an admission).
pub async fn set_status(
    state: &AppState,
    acting: &Acting,
    facility_id: Uuid,
    bed_id: Uuid,
    status: &str,
) -> Result<(), DbError> {
    may_manage(acting)?;
    let (db, key) = (&state.db, &state.keys.audit_chain);
    beds::set_status(
        db,
        key,
        &acting.actor,
        facility_id,
        bed_id,
        status,
        acting.now,
    )
    .await
}

/// Admits a registered older person to a bed; returns the stay.
pub async fn admit(
    state: &AppState,
    acting: &Acting,
    facility_id: Uuid,
    a: &Admission<'_>,
) -> Result<Uuid, DbError> {
    may_manage(acting)?;
    let book = jinglao_db::policy::book(&state.db).await?;
    let w = acting.write(state);
    beds::admit(&w, &state.keys.cipher, &book, facility_id, a).await
}

/// Discharges a resident: the stay closes and the bed is free again.
pub async fn discharge(
    state: &AppState,
    acting: &Acting,
    facility_id: Uuid,
    d: &Discharge<'_>,
) -> Result<(), DbError> {
    may_manage(acting)?;
    let (db, key) = (&state.db, &state.keys.audit_chain);
    beds::discharge(db, key, &acting.actor, facility_id, d, acting.now).await
}
