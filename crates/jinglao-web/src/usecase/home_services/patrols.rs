//! Regular patrols (巡访关爱): the list of people whose visit is due in the caller's area
//! (overdue first) and recording a patrol visit, for village and township workers. Who is on
//! the list and how often they are visited follows the region's patrol rules
//! (`patrol.weekly_rule`, `patrol.monthly_rule`); recording a visit sets the next due day.

use chrono::Duration;
use jinglao_db::DbError;
use jinglao_db::patrols::{self, DuePosition, Listed, NewVisit};
use jinglao_domain::{Permission, RegionCode};
use uuid::Uuid;

use super::super::Acting;
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;

/// Who keeps the patrol lists: staff who edit people's records.
pub fn may_use(user: &CurrentUser) -> Result<(), AppError> {
    user.require(Permission::EditElders)
}

/// The due list: people whose visit falls due within `within` days (0–31) from today, under
/// `under` if given, after `after` or skipping `offset` rows, at most `limit`; with the whole
/// list's size.
pub async fn due(
    state: &AppState,
    user: &CurrentUser,
    under: Option<&RegionCode>,
    within: i64,
    after: Option<&DuePosition>,
    window: (i64, i64),
) -> Result<(Vec<Listed>, i64), AppError> {
    may_use(user)?;
    let by = state.today() + Duration::days(within.clamp(0, 31));
    let mut c = state.db.acquire().await?;
    Ok(patrols::due(&mut c.conn(), &user.scope, under, by, after, window).await?)
}

/// Records a patrol visit to a person in the caller's area.
pub async fn record(
    state: &AppState,
    acting: &Acting,
    visit: &NewVisit<'_>,
) -> Result<Uuid, DbError> {
    may_use(&acting.user).map_err(|e| DbError::Forbidden(e.to_string()))?;
    patrols::record(
        &state.db,
        &state.keys.audit_chain,
        &acting.actor,
        visit,
        state.today(),
        acting.now,
    )
    .await
}

/// Assigns one regular visitor to several people on the caller's list (or one), all or none.
pub async fn assign_visitor(
    state: &AppState,
    acting: &Acting,
    elder_ids: &[Uuid],
    kind: &str,
    name: &str,
) -> Result<u64, DbError> {
    may_use(&acting.user).map_err(|e| DbError::Forbidden(e.to_string()))?;
    patrols::assign_visitor(
        &state.db,
        &state.keys.audit_chain,
        &acting.actor,
        elder_ids,
        kind,
        name,
        acting.now,
    )
    .await
}

/// Brings the caller's own area's list up to date with today's registry and rules.
pub async fn refresh(state: &AppState, acting: &Acting) -> Result<patrols::Refreshed, AppError> {
    may_use(&acting.user)?;
    let book = jinglao_db::policy::book(&state.db).await?;
    Ok(patrols::refresh(
        &state.db,
        &state.keys.audit_chain,
        &acting.actor,
        &acting.user.account.region_code,
        &book,
        state.today(),
        acting.now,
    )
    .await?)
}

/// Brings the visit list of one village/community up to date after a record there changed (a
/// person registered, edited, given or relieved of a category, died or moved): someone who now
/// qualifies is on the list at once, not after the next manual or nightly refresh. Callers
/// that may not keep the lists change nothing here.
pub async fn refresh_village(
    state: &AppState,
    acting: &Acting,
    village: &RegionCode,
) -> Result<(), AppError> {
    if may_use(&acting.user).is_err() || !acting.user.scope.covers_record_in(village) {
        return Ok(());
    }
    let book = jinglao_db::policy::book(&state.db).await?;
    patrols::refresh(
        &state.db,
        &state.keys.audit_chain,
        &acting.actor,
        village,
        &book,
        state.today(),
        acting.now,
    )
    .await?;
    Ok(())
}
