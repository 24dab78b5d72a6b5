//! The write context: what every audited write needs besides its own input — the pool, the
//! audit chain's key, who acts and when — passed as one value instead of four arguments.
//! The web crate builds it once per request from the caller (`Acting::write`); the command
//! line and the tests build it with [`WriteCtx::new`].

use chrono::{DateTime, Utc};

use crate::audit::ChainKey;
use crate::{Actor, Db};

/// Who writes, through which pool and chain key, at what time.
#[derive(Debug, Clone, Copy)]
pub struct WriteCtx<'a> {
    /// The pool (writes open their own transaction on it).
    pub db: &'a Db,
    /// The audit chain's key.
    pub chain: &'a ChainKey,
    /// Who acts (scope, permissions, request facts for the audit entry).
    pub actor: &'a Actor,
    /// The time the write happens.
    pub now: DateTime<Utc>,
}

impl<'a> WriteCtx<'a> {
    /// A write context.
    pub fn new(db: &'a Db, chain: &'a ChainKey, actor: &'a Actor, now: DateTime<Utc>) -> Self {
        WriteCtx {
            db,
            chain,
            actor,
            now,
        }
    }
}
