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
/// `under` if given, after `after`, at most `limit`; with the whole list's size.
pub async fn due(
    state: &AppState,
    user: &CurrentUser,
    under: Option<&RegionCode>,
    within: i64,
    after: Option<&DuePosition>,
    limit: i64,
) -> Result<(Vec<Listed>, i64), AppError> {
    may_use(user)?;
    let by = state.today() + Duration::days(within.clamp(0, 31));
    let mut c = state.db.acquire().await?;
    Ok(patrols::due(&mut c.conn(), &user.scope, under, by, after, limit).await?)
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
