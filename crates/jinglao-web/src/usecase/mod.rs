//! The use-case layer: one function per thing a user does (book a visit, read a caregiver's
//! day, settle a month), shared by the page handler and the API handler that offer it.
//!
//! A use case takes the application state, the caller ([`Acting`]) and typed input; it checks
//! what the caller may do, applies the domain rules, and calls storage (which runs the
//! transaction and the audit entry). Handlers only turn a form or a JSON body into the typed
//! input and the answer into a page or JSON. Areas are folders, as in the domain and storage
//! crates: `home_services` now; registry, assessment, eligibility and providers move here as
//! they are touched, and purchase, subsidies, supervision, targets and alarms start here.

pub mod home_services;
pub mod purchase;
pub mod registry;
pub mod supply;

use chrono::{DateTime, Utc};
use jinglao_db::Actor;

use crate::auth::CurrentUser;
use crate::request::RequestMeta;
use crate::state::AppState;

/// Who is acting, when: the signed-in account, the audit actor with the request's facts
/// (address, request id), and the application clock's "now", built once per request.
#[derive(Debug, Clone)]
pub struct Acting {
    /// The account and its scope.
    pub user: CurrentUser,
    /// The audit actor.
    pub actor: Actor,
    /// The time of the request.
    pub now: DateTime<Utc>,
}

impl Acting {
    /// The write context for storage: the pool, the audit chain key, this actor, now.
    pub fn write<'a>(&'a self, state: &'a AppState) -> jinglao_db::WriteCtx<'a> {
        jinglao_db::WriteCtx::new(&state.db, &state.keys.audit_chain, &self.actor, self.now)
    }

    /// Appends `event` to the audit trail as this caller, now (a read worth recording: a
    /// file downloaded, a list of people shown).
    pub async fn audit(
        &self,
        state: &AppState,
        event: jinglao_db::audit::Event<'_>,
    ) -> Result<(), jinglao_db::DbError> {
        jinglao_db::audit::record(
            &state.db,
            &state.keys.audit_chain,
            &self.actor,
            event,
            self.now,
        )
        .await
        .map(|_| ())
    }

    /// The caller of this request.
    pub fn new(state: &AppState, user: CurrentUser, meta: &RequestMeta) -> Acting {
        Acting {
            actor: user.actor(meta),
            now: state.clock.now(),
            user,
        }
    }
}
