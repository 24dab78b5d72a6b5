//! A short-lived, per-process cache of verified API tokens.
//!
//! Bearer-token verification is a database query on every API request, the most frequent query
//! in the system. Verified tokens are remembered for `auth.cache_seconds` (default 5; 0 turns
//! the cache off). Within this process, anything that can withdraw access (revoking a token,
//! disabling an account, changing its role or region, resetting or changing a password) clears
//! the cache at once. Another server process sees such a change within `cache_seconds` at the
//! latest; the trade-off is documented in docs/ARCHITECTURE.md.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use jinglao_db::tokens::TokenRecord;
use jinglao_domain::Account;

/// Bound on remembered tokens; past it the cache is emptied (it refills from the database).
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Clone)]
struct Entry {
    token: TokenRecord,
    account: Account,
    valid_until: DateTime<Utc>,
}

/// The cache.
#[derive(Debug)]
pub struct TokenCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, Entry>>,
}

impl TokenCache {
    /// A cache keeping entries for `seconds` (0 disables it).
    pub fn new(seconds: i64) -> Self {
        TokenCache {
            ttl: Duration::seconds(seconds.max(0)),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The token and account for `digest`, if verified recently and still unexpired.
    pub fn get(&self, digest: &str, now: DateTime<Utc>) -> Option<(TokenRecord, Account)> {
        if self.ttl.is_zero() {
            return None;
        }
        let map = self.entries.lock().ok()?;
        let e = map.get(digest)?;
        (now < e.valid_until && now < e.token.expires_at)
            .then(|| (e.token.clone(), e.account.clone()))
    }

    /// Remembers a verified token.
    pub fn put(&self, digest: &str, token: TokenRecord, account: Account, now: DateTime<Utc>) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut map) = self.entries.lock() {
            if map.len() >= MAX_ENTRIES {
                map.retain(|_, e| e.valid_until > now);
                if map.len() >= MAX_ENTRIES {
                    map.clear();
                }
            }
            map.insert(
                digest.to_string(),
                Entry {
                    token,
                    account,
                    valid_until: now + self.ttl,
                },
            );
        }
    }

    /// Forgets everything (after any change that can withdraw access).
    pub fn clear(&self) {
        if let Ok(mut map) = self.entries.lock() {
            map.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jinglao_domain::{RegionCode, Role, Username};

    fn sample(now: DateTime<Utc>) -> (TokenRecord, Account) {
        let id = uuid::Uuid::now_v7();
        (
            TokenRecord {
                id,
                user_id: id,
                kind: "login".into(),
                name: "t".into(),
                created_at: now,
                expires_at: now + Duration::hours(12),
                last_used_at: None,
                revoked_at: None,
            },
            Account {
                id,
                username: Username::parse("abc").unwrap(),
                display_name: "x".into(),
                role: Role::CityStaff,
                region_code: RegionCode::parse("4303").unwrap(),
                provider_id: None,
                must_change_password: false,
                active: true,
                large_print: false,
                password_changed_at: now,
                last_login_at: None,
                last_login_ip: None,
                created_at: now,
            },
        )
    }

    #[test]
    fn entries_live_for_the_configured_seconds_only() {
        let now = Utc::now();
        let c = TokenCache::new(5);
        let (t, a) = sample(now);
        c.put("d", t, a, now);
        assert!(c.get("d", now + Duration::seconds(4)).is_some());
        assert!(c.get("d", now + Duration::seconds(5)).is_none());
        assert!(c.get("other", now).is_none());
    }

    #[test]
    fn clearing_forgets_every_token_and_zero_seconds_disables_the_cache() {
        let now = Utc::now();
        let c = TokenCache::new(5);
        let (t, a) = sample(now);
        c.put("d", t.clone(), a.clone(), now);
        c.clear();
        assert!(c.get("d", now).is_none());
        let off = TokenCache::new(0);
        off.put("d", t, a, now);
        assert!(off.get("d", now).is_none());
    }
}
