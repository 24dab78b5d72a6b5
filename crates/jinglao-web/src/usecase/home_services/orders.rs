//! Orders for home services (服务工单) and their dispatch: booking a visit within the month's
//! quota, the order list, cancelling or recording a no-show, assigning a caregiver by hand and
//! auto-dispatching a provider's day.
//!
//! Who may: staff who see people's records read the list and cancel; staff who edit records
//! and providers book; providers (and region staff with facility rights) dispatch. Storage
//! checks again that the order, person and caregiver are within the caller's reach.

use chrono::NaiveDate;
use jinglao_db::DbError;
use jinglao_db::dispatch::{self, Report};
use jinglao_db::orders::{self, Ending, ListFilter, Listed, NewOrder, Placed};
use jinglao_domain::Permission;
use uuid::Uuid;

use super::super::Acting;
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;

/// Who may read orders: staff who see people's records, and providers.
pub fn may_view(user: &CurrentUser) -> Result<(), AppError> {
    if user.can(Permission::ViewElders) || user.can(Permission::ManageFacilities) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

/// Who may book: staff who edit people's records, and providers.
pub fn may_book(user: &CurrentUser) -> Result<(), AppError> {
    if user.can(Permission::EditElders) || user.can(Permission::ManageFacilities) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

/// An order's status in words.
pub fn status_label(s: &str) -> &'static str {
    match s {
        "booked" => "待服务",
        "done" => "已服务",
        "cancelled" => "已取消",
        "no_show" => "未服务",
        _ => "未知",
    }
}

/// An order's status with its visit's: a served order whose visit is waiting for review is
/// not yet 「已服务」 in the sense that counts (it is not paid until reviewed).
pub fn shown_status(o: &Listed) -> &'static str {
    match (o.status.as_str(), o.visit_status.as_deref()) {
        (_, Some("in_progress")) => "服务中",
        (_, Some("exception")) => "已服务，待核查",
        (_, Some("rejected")) => "核查不通过",
        (_, Some("verified" | "accepted")) => "已服务，核验通过",
        (s, _) => status_label(s),
    }
}

/// Orders `user` may see, filtered, in time order, at most `limit`.
pub async fn list(
    state: &AppState,
    user: &CurrentUser,
    filter: &ListFilter,
    limit: i64,
) -> Result<Vec<Listed>, AppError> {
    may_view(user)?;
    let mut c = state.db.acquire().await?;
    Ok(orders::list(&mut c.conn(), &user.scope, filter, limit).await?)
}

/// Books one visit (the quota, the price and the person's reach are checked by storage).
pub async fn book(
    state: &AppState,
    acting: &Acting,
    order: &NewOrder<'_>,
) -> Result<Placed, DbError> {
    may_book(&acting.user).map_err(forbidden)?;
    orders::place(
        &state.db,
        &state.keys.audit_chain,
        &acting.actor,
        order,
        acting.now,
    )
    .await
}

/// Cancels a booked order, or records that nobody was served, with the reason.
pub async fn end(
    state: &AppState,
    acting: &Acting,
    id: Uuid,
    how: Ending,
    reason: &str,
) -> Result<(), DbError> {
    may_view(&acting.user).map_err(forbidden)?;
    orders::end(
        &state.db,
        &state.keys.audit_chain,
        &acting.actor,
        id,
        how,
        reason,
        acting.now,
    )
    .await
}

/// Assigns an order to a caregiver by hand.
pub async fn assign(
    state: &AppState,
    acting: &Acting,
    id: Uuid,
    caregiver: Uuid,
) -> Result<(), DbError> {
    if !acting.user.can(Permission::ManageFacilities) {
        return Err(forbidden(AppError::forbidden()));
    }
    orders::assign(
        &state.db,
        &state.keys.audit_chain,
        &acting.actor,
        id,
        caregiver,
        acting.now,
    )
    .await
}

/// Auto-dispatches a provider's day: every unassigned order to the nearest free caregiver
/// with the skill, within their hours; what cannot be placed is reported with why.
pub async fn auto_dispatch(
    state: &AppState,
    acting: &Acting,
    provider_id: Uuid,
    day: NaiveDate,
) -> Result<Report, DbError> {
    if !acting.user.can(Permission::ManageFacilities) {
        return Err(forbidden(AppError::forbidden()));
    }
    dispatch::auto(
        &state.db,
        &state.keys.audit_chain,
        &acting.actor,
        provider_id,
        day,
        acting.now,
    )
    .await
}

/// A refusal as storage would say it.
fn forbidden(e: AppError) -> DbError {
    DbError::Forbidden(e.to_string())
}
