//! The guard of the public pages that name a person by ID number (`/apply`, `/apply/status`,
//! `/services`): without it, anyone could walk the thousand checksum-valid ID numbers of a
//! known birth date and learn who is registered.
//!
//! Each attempt is reserved before the registry is asked (see `throttle::reserve`), against
//! the client's address — an IPv6 client by its /64 — and against the keyed hash of the ID
//! number typed, so that neither many numbers from one network nor one number from many
//! networks gets more than the sign-in lock-out's number of tries. The keys are prefixed
//! `public:` so that a family's typing errors never lock staff sign-in from the same address.
//! A failure is recorded in the audit trail with the client's address (never the number).

use chrono::{DateTime, Utc};
use jinglao_db::audit::{self, Event};
use jinglao_db::crypto::Field;
use jinglao_db::throttle::{self, ThrottlePolicy, ip_key};
use jinglao_db::{Actor, DbError};
use jinglao_domain::{Invalid, ResidentId, Scope};
use serde_json::json;

use crate::request::RequestMeta;
use crate::state::AppState;

/// An attempt that may go ahead: call [`Attempt::succeeded`] or [`Attempt::failed`].
#[must_use]
pub struct Attempt {
    keys: Vec<(String, ThrottlePolicy)>,
    page: &'static str,
}

/// The attempt was refused before the registry was asked: too many failures.
#[derive(Debug)]
pub struct Locked {
    /// Until when.
    pub until: DateTime<Utc>,
    /// Minutes to wait (at least one).
    pub minutes: i64,
}

impl Locked {
    /// The message on `field`, for the form.
    pub fn errors(&self, field: &str) -> Invalid {
        Invalid::one(
            field,
            format!("尝试次数过多，请 {} 分钟后再试", self.minutes),
        )
    }
}

/// The actor of an action taken on a public page, with the client's address.
pub fn public_actor(
    name: &str,
    region: Option<jinglao_domain::RegionCode>,
    meta: &RequestMeta,
) -> Actor {
    Actor {
        user_id: None,
        name: name.chars().take(64).collect(),
        role: "public".into(),
        scope: Scope::All,
        region,
        client_ip: meta.client_ip.clone(),
        request_id: meta.request_id.clone(),
    }
}

/// Reserves an attempt of `page` to name the person with `id`, or says it is locked.
pub async fn begin(
    state: &AppState,
    meta: &RequestMeta,
    page: &'static str,
    id: &ResidentId,
) -> Result<Result<Attempt, Locked>, DbError> {
    let now = state.clock.now();
    let mut keys = vec![(
        format!(
            "public:id:{}",
            state.keys.cipher.lookup_hash(Field::IdNumber, id.as_str())
        ),
        state.account_throttle(),
    )];
    if let Some(ip) = meta.client_ip.as_deref() {
        keys.push((format!("public:{}", ip_key(ip)), state.ip_throttle()));
    }
    let mut tx = state.db.begin().await?;
    let locked = throttle::reserve(&mut tx.conn(), &borrowed(&keys), now).await?;
    tx.commit().await?;
    Ok(match locked {
        Some(until) => Err(Locked {
            until,
            minutes: (until - now).num_minutes().max(1),
        }),
        None => Ok(Attempt { keys, page }),
    })
}

fn borrowed(keys: &[(String, ThrottlePolicy)]) -> Vec<(&str, ThrottlePolicy)> {
    keys.iter().map(|(k, p)| (k.as_str(), *p)).collect()
}

impl Attempt {
    /// The person was named: the reserved attempt is given back.
    pub async fn succeeded(self, state: &AppState) -> Result<(), DbError> {
        let mut tx = state.db.begin().await?;
        let keys: Vec<&str> = self.keys.iter().map(|(k, _)| k.as_str()).collect();
        throttle::succeeded(&mut tx.conn(), &keys).await?;
        tx.commit().await
    }

    /// The person was not named (or the action was refused with the one public answer): the
    /// failure stays counted, may lock the keys, and is audited with the client's address.
    pub async fn failed(self, state: &AppState, meta: &RequestMeta) -> Result<(), DbError> {
        let now = state.clock.now();
        let mut tx = state.db.begin().await?;
        let mut conn = tx.conn();
        let locked = throttle::failed(&mut conn, &borrowed(&self.keys), now).await?;
        let actor = public_actor(&format!("public:{}", self.page), None, meta);
        let mut event = Event::new("public.identify_failed", "public_page", self.page);
        event.detail = json!({ "page": self.page, "locked_until": locked });
        audit::append(&mut conn, &state.keys.audit_chain, &actor, event, now).await?;
        tx.commit().await
    }
}
