//! Data scope: which records an account may see or change.
//!
//! Every repository function that lists, reads or writes scoped data takes a `Scope` and turns
//! it into a predicate in the query itself, so that a missing link in the UI can never widen
//! access. Region-anchored records are visible when their region lies in the scope's subtree,
//! which is one range comparison on a 12-digit code.

use uuid::Uuid;

use crate::region::RegionCode;
use crate::role::{Role, ScopeKind};

/// The data an account may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// No limit (system administrators).
    All,
    /// A region and everything below it.
    Region(RegionCode),
    /// One provider's own records; `region` is the provider's registered region, used only to
    /// show reference data (the division tree) around it.
    Provider {
        /// The provider.
        provider_id: Uuid,
        /// Where the provider is registered.
        region: RegionCode,
    },
}

/// Why an account's attributes do not define a scope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// A provider role without a provider.
    #[error("服务机构角色必须关联一家服务机构")]
    ProviderMissing,
}

impl Scope {
    /// The scope of an account with this role, region and provider.
    pub fn for_account(
        role: Role,
        region: RegionCode,
        provider_id: Option<Uuid>,
    ) -> Result<Scope, ScopeError> {
        Ok(match role.scope_kind() {
            ScopeKind::Global => Scope::All,
            ScopeKind::Region => Scope::Region(region),
            ScopeKind::Provider => Scope::Provider {
                provider_id: provider_id.ok_or(ScopeError::ProviderMissing)?,
                region,
            },
        })
    }

    /// The root of the region subtree this scope reaches, or `None` for everything.
    pub fn region_root(&self) -> Option<RegionCode> {
        match self {
            Scope::All => None,
            Scope::Region(r) => Some(*r),
            Scope::Provider { region, .. } => Some(*region),
        }
    }

    /// The inclusive code range of the scope's subtree, or `None` for everything.
    pub fn subtree_range(&self) -> Option<(String, String)> {
        self.region_root().map(|r| r.subtree_range())
    }

    /// Whether a region-anchored record (a person, a facility…) in `code` is in scope.
    /// Provider scopes reach records through the provider, never through a region.
    pub fn covers_record_in(&self, code: &RegionCode) -> bool {
        match self {
            Scope::All => true,
            Scope::Region(root) => root.contains(code),
            Scope::Provider { .. } => false,
        }
    }

    /// Whether the region itself may be shown: its subtree, plus the chain of ancestors above
    /// the root so that breadcrumbs make sense.
    pub fn sees_region(&self, code: &RegionCode) -> bool {
        match self.region_root() {
            None => true,
            Some(root) => root.contains(code) || code.contains(&root),
        }
    }

    /// Ancestors of the scope root (visible as context, not as data).
    pub fn visible_ancestors(&self) -> Vec<RegionCode> {
        self.region_root()
            .map(|r| r.ancestors())
            .unwrap_or_default()
    }

    /// The provider this scope is limited to, if any.
    pub fn provider_id(&self) -> Option<Uuid> {
        match self {
            Scope::Provider { provider_id, .. } => Some(*provider_id),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> RegionCode {
        RegionCode::parse(s).unwrap()
    }

    #[test]
    fn a_community_scope_sees_its_own_chain_but_not_a_neighbouring_county() {
        let s = Scope::for_account(Role::VillageStaff, code("430302001001"), None).unwrap();
        assert!(s.sees_region(&code("430302001001")));
        assert!(s.sees_region(&code("430302001")));
        assert!(s.sees_region(&code("4303")));
        assert!(!s.sees_region(&code("430302001002")));
        assert!(!s.sees_region(&code("430304001001")));
        assert!(s.covers_record_in(&code("430302001001")));
        assert!(!s.covers_record_in(&code("430302001")));
    }

    #[test]
    fn a_county_scope_covers_its_whole_subtree() {
        let s = Scope::for_account(Role::CountyStaff, code("430302"), None).unwrap();
        assert!(s.covers_record_in(&code("430302101203")));
        assert!(!s.covers_record_in(&code("430304001001")));
        assert_eq!(
            s.subtree_range(),
            Some(("430302000000".into(), "430302999999".into()))
        );
    }

    #[test]
    fn provider_roles_need_a_provider_and_reach_no_region_records() {
        assert_eq!(
            Scope::for_account(Role::Caregiver, code("430302"), None),
            Err(ScopeError::ProviderMissing)
        );
        let p = Uuid::now_v7();
        let s = Scope::for_account(Role::Caregiver, code("430302"), Some(p)).unwrap();
        assert_eq!(s.provider_id(), Some(p));
        assert!(!s.covers_record_in(&code("430302001001")));
        assert!(s.sees_region(&code("430302001001")));
    }

    #[test]
    fn admins_see_everything() {
        let s = Scope::for_account(Role::Admin, code("4303"), None).unwrap();
        assert_eq!(s, Scope::All);
        assert!(s.sees_region(&code("530111")));
    }
}
