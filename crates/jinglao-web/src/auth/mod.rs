//! Authentication and authorisation: who is asking (session cookie for pages, bearer token for
//! the API), what they may do (role permissions) and over which data (scope, applied by the
//! repositories).

pub mod cache;
pub mod can;
pub mod csrf;
pub mod login;
pub mod password;
pub mod public;
pub mod secrets;
pub mod session;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use jinglao_db::Actor;
use jinglao_domain::{Account, Permission, Scope};
use uuid::Uuid;

use crate::error::{ApiError, AppError, PageError};
use crate::request::{RequestMeta, meta_from_parts};
use crate::state::AppState;

/// The browser session behind a page request.
#[derive(Debug, Clone)]
pub struct SessionRef {
    /// SHA-256 of the cookie secret (the table key).
    pub id_hash: String,
    /// The token this session's forms carry.
    pub csrf_token: String,
}

/// The signed-in account making the request.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// The account.
    pub account: Account,
    /// What it may reach.
    pub scope: Scope,
    /// Its browser session (pages).
    pub session: Option<SessionRef>,
    /// Its bearer token (API).
    pub token_id: Option<Uuid>,
}

impl CurrentUser {
    /// Builds the current user from an account (fails for accounts whose role and provider do
    /// not fit, which the database constraints should already prevent).
    pub fn new(
        account: Account,
        session: Option<SessionRef>,
        token_id: Option<Uuid>,
    ) -> Result<Self, AppError> {
        let scope = account
            .scope()
            .map_err(|e| AppError::Internal(anyhow::anyhow!("account {}: {e}", account.id)))?;
        Ok(CurrentUser {
            account,
            scope,
            session,
            token_id,
        })
    }

    /// The audit actor for this request.
    pub fn actor(&self, meta: &RequestMeta) -> Actor {
        self.reader()
            .with_request(meta.client_ip.clone(), meta.request_id.clone())
    }

    /// The account as an actor for a storage check that writes nothing (no request facts).
    pub fn reader(&self) -> Actor {
        Actor::user(
            self.account.id,
            self.account.username.as_str(),
            self.account.role,
            self.scope.clone(),
            self.account.region_code,
        )
    }

    /// Fails with 403 unless the role has `p`.
    pub fn require(&self, p: Permission) -> Result<(), AppError> {
        if self.account.role.allows(p) {
            Ok(())
        } else {
            Err(AppError::forbidden())
        }
    }

    /// Whether the role has `p`.
    pub fn can(&self, p: Permission) -> bool {
        self.account.role.allows(p)
    }
}

/// The signed-in user of a page request; redirects to the sign-in page when there is none.
#[derive(Debug, Clone)]
pub struct PageUser(pub CurrentUser);

impl<S: Send + Sync> FromRequestParts<S> for PageUser {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<CurrentUser>() {
            Some(u) => Ok(PageUser(u.clone())),
            None => {
                let next = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_else(|| "/".into());
                Err(PageError(AppError::LoginRequired { next }))
            }
        }
    }
}

/// The caller of an API request, from `Authorization: Bearer <token>`.
#[derive(Debug, Clone)]
pub struct ApiUser(pub CurrentUser);

impl<S> FromRequestParts<S> for ApiUser
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AppError::Unauthenticated)?;
        let now = state.clock.now();
        let digest = secrets::digest(token);
        let (record, account) = match state.token_cache.get(&digest, now) {
            Some(hit) => hit,
            None => {
                let mut c = state.db.acquire().await.map_err(AppError::from)?;
                let mut conn = c.conn();
                let (mut record, account) = jinglao_db::tokens::find_live(&mut conn, &digest, now)
                    .await
                    .map_err(AppError::from)?
                    .ok_or(AppError::Unauthenticated)?;
                // Record use at most once a minute: a write per request would serialise
                // readers.
                if record
                    .last_used_at
                    .is_none_or(|t| now - t > chrono::Duration::seconds(60))
                {
                    // Through a write transaction: on SQLite writers queue for the process's
                    // write permit rather than in SQLite's busy handler (seconds of sleeps when
                    // many tokens fall out of the cache at once).
                    drop(c);
                    let mut tx = state.db.begin().await.map_err(AppError::from)?;
                    jinglao_db::tokens::touch(&mut tx.conn(), record.id, now)
                        .await
                        .map_err(AppError::from)?;
                    tx.commit().await.map_err(AppError::from)?;
                    record.last_used_at = Some(now);
                }
                state
                    .token_cache
                    .put(&digest, record.clone(), account.clone(), now);
                (record, account)
            }
        };
        if account.must_change_password {
            return Err(AppError::PasswordChangeRequired.into());
        }
        Ok(ApiUser(CurrentUser::new(account, None, Some(record.id))?))
    }
}

/// Request facts plus the current user, for handlers that need both.
pub fn actor_for(user: &CurrentUser, parts: &Parts, state: &AppState) -> Actor {
    user.actor(&meta_from_parts(parts, state.settings.trust_proxy_headers))
}
