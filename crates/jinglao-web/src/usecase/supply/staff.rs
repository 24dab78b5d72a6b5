//! A provider's staff and caregivers: the list (ID numbers and phones masked), hiring (a
//! person already on another provider's books is matched by ID number; overlapping full-time
//! contracts are refused) and the social-insurance months that make a caregiver count.
//!
//! Who may: anyone who may see providers reads a provider in their scope; a provider's
//! administrator (or staff with facility rights) hires and records.

use jinglao_db::DbError;
use jinglao_db::staff::{self, NewHire, StaffMember};
use jinglao_domain::Permission;
use uuid::Uuid;

use super::super::Acting;
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;

fn may_manage(user: &CurrentUser) -> Result<(), DbError> {
    if user.can(Permission::ManageFacilities) {
        Ok(())
    } else {
        Err(DbError::Forbidden(AppError::forbidden().to_string()))
    }
}

/// The provider's staff under contract today (optionally of one facility), by name.
pub async fn list(
    state: &AppState,
    user: &CurrentUser,
    provider_id: Uuid,
    facility_id: Option<Uuid>,
) -> Result<Vec<StaffMember>, AppError> {
    user.require(Permission::ViewProviders)?;
    let mut c = state.db.acquire().await?;
    let today = jinglao_domain::clock::china_date(state.clock.now());
    Ok(staff::list(&mut c.conn(), &user.scope, provider_id, facility_id, today).await?)
}

/// Hires a person for the provider; returns the person's staff id.
pub async fn hire(
    state: &AppState,
    acting: &Acting,
    provider_id: Uuid,
    h: &NewHire,
) -> Result<Uuid, DbError> {
    may_manage(&acting.user)?;
    staff::hire(
        &state.db,
        &state.keys.audit_chain,
        &state.keys.cipher,
        &acting.actor,
        provider_id,
        h,
        acting.now,
    )
    .await
}

/// Records a month of social insurance paid for a person (YYYY-MM).
pub async fn record_insurance(
    state: &AppState,
    acting: &Acting,
    provider_id: Uuid,
    staff_id: Uuid,
    month: &str,
) -> Result<(), DbError> {
    may_manage(&acting.user)?;
    let (db, key) = (&state.db, &state.keys.audit_chain);
    staff::record_insurance(
        db,
        key,
        &acting.actor,
        provider_id,
        staff_id,
        month,
        acting.now,
    )
    .await
}
