//! Star rating (等级评定, GB/T 37276): a facility's ratings, applying for a level, the
//! item-level sheets (the facility's self-assessment, then the experts' scores) and the
//! decision under the region's thresholds, published at once.
//!
//! Who may: a provider (for its facilities) or a rater applies; the provider fills the self
//! sheet and raters the experts' (storage checks which sheet whom); only raters decide.

use jinglao_db::DbError;
use jinglao_db::ratings::{self, Rating};
use jinglao_domain::Permission;
use jinglao_domain::rating::{Outcome, PartScores};
use uuid::Uuid;

use super::super::Acting;
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;

fn refused() -> DbError {
    DbError::Forbidden(AppError::forbidden().to_string())
}

/// A facility's ratings, newest first, if the facility is in the caller's scope.
pub async fn of_facility(
    state: &AppState,
    user: &CurrentUser,
    facility_id: Uuid,
) -> Result<Vec<Rating>, AppError> {
    user.require(Permission::ViewProviders)?;
    let mut c = state.db.acquire().await?;
    jinglao_db::facilities::get(&mut c.conn(), &user.scope, facility_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(ratings::of_facility(&mut c.conn(), facility_id).await?)
}

/// Applies for a level (prerequisites, credit records and the first-time cap are checked).
pub async fn apply(
    state: &AppState,
    acting: &Acting,
    facility_id: Uuid,
    level: i64,
) -> Result<Uuid, DbError> {
    let u = &acting.user;
    if !u.can(Permission::ManageFacilities) && !u.can(Permission::RateFacilities) {
        return Err(refused());
    }
    let book = jinglao_db::policy::book(&state.db).await?;
    let (db, key) = (&state.db, &state.keys.audit_chain);
    ratings::apply(
        db,
        key,
        &book,
        &acting.actor,
        facility_id,
        level,
        acting.now,
    )
    .await
}

/// Saves one sheet's item scores (`self` or `expert`; points as written, e.g. "8.5").
pub async fn save_sheet(
    state: &AppState,
    acting: &Acting,
    rating_id: Uuid,
    sheet: &str,
    scores: &[(String, String)],
) -> Result<PartScores, DbError> {
    if !acting.user.can(Permission::ViewProviders) {
        return Err(refused());
    }
    let (db, key) = (&state.db, &state.keys.audit_chain);
    ratings::save_sheet(db, key, &acting.actor, rating_id, sheet, scores, acting.now).await
}

/// Decides from the experts' sheet and publishes.
pub async fn decide(
    state: &AppState,
    acting: &Acting,
    rating_id: Uuid,
) -> Result<Outcome, DbError> {
    if !acting.user.can(Permission::RateFacilities) {
        return Err(refused());
    }
    let book = jinglao_db::policy::book(&state.db).await?;
    let (db, key) = (&state.db, &state.keys.audit_chain);
    ratings::decide_and_publish(db, key, &book, &acting.actor, rating_id, acting.now).await
}
