//! Recurring service plans (服务计划): a person's weekly visits booked ahead from one plan,
//! the plan list, and ending a plan (its future orders are cancelled with it).
//!
//! Who may: as for booking one order ([`super::orders::may_book`]), for reading the plans as for
//! changing them (the booking page is where plans are shown); storage checks again that the
//! person lives within the caller's reach and that a provider books only for itself.

use jinglao_db::DbError;
use jinglao_db::plans::{self, Generated, ListFilter, Listed, NewPlan, Plan};
use uuid::Uuid;

use super::super::Acting;
use super::orders::may_book;
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;

/// A plan's status in words.
pub fn status_label(s: &str) -> &'static str {
    match s {
        "active" => "执行中",
        "ended" => "已终止",
        _ => "未知",
    }
}

/// Plans `user` may see, filtered, oldest first, at most `limit`.
pub async fn list(
    state: &AppState,
    user: &CurrentUser,
    filter: &ListFilter,
    limit: i64,
) -> Result<Vec<Listed>, AppError> {
    may_book(user)?;
    let mut c = state.db.acquire().await?;
    Ok(plans::list(&mut c.conn(), &user.scope, filter, limit).await?)
}

/// One person's plans, newest first.
pub async fn of_elder(
    state: &AppState,
    user: &CurrentUser,
    elder_id: Uuid,
) -> Result<Vec<Plan>, AppError> {
    may_book(user)?;
    let mut c = state.db.acquire().await?;
    Ok(plans::of_elder(&mut c.conn(), &user.scope, elder_id).await?)
}

/// One plan, if the caller may see it.
pub async fn get(state: &AppState, user: &CurrentUser, id: Uuid) -> Result<Plan, AppError> {
    may_book(user)?;
    let mut c = state.db.acquire().await?;
    plans::get(&mut c.conn(), &user.scope, id)
        .await?
        .ok_or(AppError::NotFound)
}

/// Creates a plan and books its days ahead; the days refused (quota, price, the person's
/// status) come back with their reasons.
pub async fn create(
    state: &AppState,
    acting: &Acting,
    plan: &NewPlan<'_>,
) -> Result<(Uuid, Generated), DbError> {
    may_book(&acting.user).map_err(|e| DbError::Forbidden(e.to_string()))?;
    plans::create(
        &state.db,
        &state.keys.audit_chain,
        &acting.actor,
        plan,
        acting.now,
    )
    .await
}

/// Ends a plan with a reason; returns how many future orders were cancelled with it.
pub async fn end(
    state: &AppState,
    acting: &Acting,
    id: Uuid,
    reason: &str,
) -> Result<u64, DbError> {
    may_book(&acting.user).map_err(|e| DbError::Forbidden(e.to_string()))?;
    plans::end(
        &state.db,
        &state.keys.audit_chain,
        &acting.actor,
        id,
        reason,
        acting.now,
    )
    .await
}
