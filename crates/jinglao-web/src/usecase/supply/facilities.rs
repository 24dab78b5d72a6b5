//! Registering a facility (养老服务设施): a provider's administrator for its own provider, bureau
//! staff for providers in their region. The input arrives parsed ([`NewFacility`], from the
//! form's draft or the API's typed JSON); storage checks the provider and the region against
//! the caller's reach and records it with its audit entry in one transaction.

use jinglao_db::DbError;
use jinglao_db::facilities::{self, NewFacility};
use jinglao_domain::Permission;
use uuid::Uuid;

use super::super::Acting;
use crate::error::AppError;
use crate::state::AppState;

/// Registers a facility; returns its id.
pub async fn register(state: &AppState, acting: &Acting, f: &NewFacility) -> Result<Uuid, DbError> {
    if !acting.user.can(Permission::ManageFacilities) {
        return Err(DbError::Forbidden(AppError::forbidden().to_string()));
    }
    let (db, key) = (&state.db, &state.keys.audit_chain);
    facilities::create(db, key, &acting.actor, f, acting.now).await
}
