//! What every handler can reach.

use std::sync::Arc;

use axum::body::Bytes;
use chrono::Duration;
use jinglao_db::Db;
use jinglao_db::throttle::ThrottlePolicy;
use jinglao_domain::Clock;

use crate::auth::cache::TokenCache;
use crate::config::Settings;
use crate::keys::Keys;
use crate::regions_cache::RegionCache;

/// Shared application state (cheap to clone).
#[derive(Clone, Debug)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// Check-ins and check-outs, committed together (group commit).
    pub visit_queue: jinglao_db::visit_queue::VisitQueue,
    /// Configuration.
    pub settings: Arc<Settings>,
    /// Derived keys.
    pub keys: Arc<Keys>,
    /// Where "now" comes from.
    pub clock: Arc<dyn Clock>,
    /// The OpenAPI document, serialised once at start-up.
    pub openapi_json: Bytes,
    /// Recently verified API tokens.
    pub token_cache: Arc<TokenCache>,
    /// The region tree in memory.
    pub regions: Arc<RegionCache>,
    /// The bulk OCDS download, kept a few minutes.
    pub ocds_bulk: Arc<crate::ocds_cache::BulkCache>,
}

impl AppState {
    /// Today in Beijing time.
    pub fn today(&self) -> chrono::NaiveDate {
        jinglao_domain::clock::china_date(self.clock.now())
    }

    /// The area the public pages serve (`public_region`, checked when the settings load).
    pub fn public_region(&self) -> jinglao_domain::RegionCode {
        jinglao_domain::RegionCode::parse(self.settings.public_region.trim())
            .unwrap_or_else(|_| jinglao_domain::RegionCode::parse("43").expect("a code"))
    }

    /// A region's name, or its code when unknown.
    pub fn region_name(&self, code: &jinglao_domain::RegionCode) -> String {
        self.regions
            .tree()
            .get_unscoped(code)
            .map(|r| r.name.clone())
            .unwrap_or_else(|| code.to_string())
    }

    /// A region with the names above it, from the city down: 湘潭市 雨湖区 雨湖路街道 雨湖路社区居委会.
    pub fn region_path(&self, code: &jinglao_domain::RegionCode) -> String {
        let tree = self.regions.tree();
        let mut names: Vec<String> = tree
            .ancestors(code)
            .into_iter()
            .filter(|r| r.level != jinglao_domain::RegionLevel::Province)
            .map(|r| r.name.clone())
            .collect();
        names.push(
            tree.get_unscoped(code)
                .map(|r| r.name.clone())
                .unwrap_or_else(|| code.to_string()),
        );
        names.join(" ")
    }

    /// Call after any change that can withdraw access (token revoked, account disabled or
    /// moved, password set): verified tokens are checked against the database again.
    pub fn access_changed(&self) {
        self.token_cache.clear();
    }

    /// Lockout rule for accounts.
    pub fn account_throttle(&self) -> ThrottlePolicy {
        ThrottlePolicy {
            max_failures: self.settings.auth.max_failures_per_account,
            lockout: Duration::minutes(self.settings.auth.lockout_minutes),
        }
    }

    /// Lockout rule for client addresses.
    pub fn ip_throttle(&self) -> ThrottlePolicy {
        ThrottlePolicy {
            max_failures: self.settings.auth.max_failures_per_ip,
            lockout: Duration::minutes(self.settings.auth.lockout_minutes),
        }
    }

    /// Session idle time-out of the longest-idling role (for cleaning up stale sessions).
    pub fn idle_timeout(&self) -> Duration {
        let a = &self.settings.auth;
        let longest = a
            .idle_timeout_minutes_by_role
            .values()
            .copied()
            .fold(a.idle_timeout_minutes, i64::max);
        Duration::minutes(longest)
    }

    /// Session idle time-out of `role` (`auth.idle_timeout_minutes_by_role`, else the default).
    pub fn idle_timeout_for(&self, role: jinglao_domain::Role) -> Duration {
        let a = &self.settings.auth;
        Duration::minutes(
            a.idle_timeout_minutes_by_role
                .get(role.as_str())
                .copied()
                .unwrap_or(a.idle_timeout_minutes),
        )
    }

    /// Session absolute lifetime.
    pub fn absolute_timeout(&self) -> Duration {
        Duration::hours(self.settings.auth.absolute_timeout_hours)
    }
}
