//! Roles (stable names used by the API, the CLI and later issues) and what each may do.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::region::RegionLevel;

/// A user's role. The `as_str` names are part of the API and never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// System administrator of the deployment: manages accounts; not limited to a region.
    Admin,
    /// 市级民政工作人员.
    CityStaff,
    /// 县（区）级民政工作人员.
    CountyStaff,
    /// 乡镇（街道）工作人员.
    TownshipStaff,
    /// 村（社区）工作人员.
    VillageStaff,
    /// 老年人能力评估师.
    Assessor,
    /// 服务机构管理员: manages one provider.
    ProviderAdmin,
    /// 护理员: works for one provider.
    Caregiver,
    /// 财务人员.
    Finance,
    /// 监管检查人员.
    Inspector,
    /// 审计人员: reads the audit trail.
    Auditor,
    /// 第三方评估机构: scores the purchase contracts it is named on, and reads nothing else.
    Evaluator,
}

/// How a role's data access is limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeKind {
    /// Everything (admin only).
    Global,
    /// A region and its whole subtree.
    Region,
    /// One provider.
    Provider,
}

/// Things a role may be allowed to do. Scope still limits *which* records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Browse the region tree (within scope).
    ViewRegions,
    /// Change a region's urban/rural classification.
    EditRegions,
    /// Create, change, lock and unlock accounts.
    ManageAccounts,
    /// Read the audit trail.
    ViewAudit,
    /// Search and read older people's records (within scope).
    ViewElders,
    /// Create and change older people's records, categories and life events.
    EditElders,
    /// Import files of older people's records.
    ImportElders,
    /// See full ID and phone numbers (each view is audited).
    RevealIdentifiers,
    /// Read whole capability assessments (diagnoses, medication, religion, living risks): the
    /// assessors, their reviewers and the staff who decide on applications and admissions.
    /// Finance and inspection read the level on the person's record, not the assessment.
    ReadAssessments,
    /// Fill in and submit capability assessments.
    Assess,
    /// Review submitted assessments (approve or return).
    ReviewAssessments,
    /// Make reviewed assessments effective.
    ApproveAssessments,
    /// Register assessment agencies and assessors' certificates.
    ManageAgencies,
    /// Set policy parameters for the region.
    ManagePolicy,
    /// Publish versions of the basic elderly-service list for the region.
    PublishServiceLists,
    /// See providers and their facilities (within scope): those who register them or their
    /// facilities, and those who record their credit.
    ViewProviders,
    /// Register providers and record their qualification findings.
    ManageProviders,
    /// Accept a credit code whose check character fails (early pilot codes), with a reason.
    OverrideCreditCode,
    /// Register and change facilities, beds, residents and staff (within scope: a provider
    /// administrator only its own provider's).
    ManageFacilities,
    /// Score and decide star ratings.
    RateFacilities,
    /// Review visits in the exception queue (accept or reject, with a reason) and correct
    /// visit records.
    ReviewVisits,
    /// Generate, approve and pay monthly settlement statements.
    SettleServices,
    /// Record providers' 失信 listings and administrative penalties, and revoke them.
    RecordCredit,
    /// Load a year's public-holiday notice into the working-day calendar (national data).
    ManageCalendar,
    /// Publish the guiding catalogue of services that may be bought (财政 with 民政).
    ManagePurchaseCatalogue,
    /// Draft purchase projects, announce them, record bids and scores, award and sign
    /// contracts (the purchasing body: city, county and township staff).
    PlanPurchases,
    /// Approve or return purchase projects and record contract filings (finance).
    ApprovePurchases,
    /// Put approved statements into treasury payment batches and import the treasury's
    /// confirmation (国库集中支付, finance).
    PayStatements,
    /// Open a contract's year-end evaluation, name its third party, record the telephone
    /// survey and publish the result (the purchasing body); finance scores with it.
    EvaluateContracts,
    /// Score an evaluation one is named on as the third party.
    ScoreAsThirdParty,
}

impl Role {
    /// Every role, in the order shown on screens.
    pub const ALL: [Role; 12] = [
        Role::Admin,
        Role::CityStaff,
        Role::CountyStaff,
        Role::TownshipStaff,
        Role::VillageStaff,
        Role::Assessor,
        Role::ProviderAdmin,
        Role::Caregiver,
        Role::Finance,
        Role::Inspector,
        Role::Auditor,
        Role::Evaluator,
    ];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::CityStaff => "city_staff",
            Role::CountyStaff => "county_staff",
            Role::TownshipStaff => "township_staff",
            Role::VillageStaff => "village_staff",
            Role::Assessor => "assessor",
            Role::ProviderAdmin => "provider_admin",
            Role::Caregiver => "caregiver",
            Role::Finance => "finance",
            Role::Inspector => "inspector",
            Role::Auditor => "auditor",
            Role::Evaluator => "evaluator",
        }
    }

    /// The Chinese name shown on screen.
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "系统管理员",
            Role::CityStaff => "市级工作人员",
            Role::CountyStaff => "县（区）级工作人员",
            Role::TownshipStaff => "乡镇（街道）工作人员",
            Role::VillageStaff => "村（社区）工作人员",
            Role::Assessor => "能力评估师",
            Role::ProviderAdmin => "服务机构管理员",
            Role::Caregiver => "护理员",
            Role::Finance => "财务人员",
            Role::Inspector => "监管人员",
            Role::Auditor => "审计人员",
            Role::Evaluator => "第三方评估机构",
        }
    }

    /// How this role's access is limited.
    pub fn scope_kind(self) -> ScopeKind {
        match self {
            Role::Admin => ScopeKind::Global,
            Role::ProviderAdmin | Role::Caregiver => ScopeKind::Provider,
            _ => ScopeKind::Region,
        }
    }

    /// The region level an account of this role must be attached to, if fixed.
    pub fn required_region_level(self) -> Option<RegionLevel> {
        match self {
            Role::CityStaff => Some(RegionLevel::City),
            Role::CountyStaff => Some(RegionLevel::County),
            Role::TownshipStaff => Some(RegionLevel::Township),
            Role::VillageStaff => Some(RegionLevel::Village),
            _ => None,
        }
    }

    /// Whether this role has `permission` (within its scope).
    pub fn allows(self, permission: Permission) -> bool {
        use Permission::*;
        match permission {
            ViewRegions => self != Role::Evaluator,
            EditRegions => matches!(self, Role::Admin | Role::CityStaff | Role::CountyStaff),
            ManageAccounts => matches!(self, Role::Admin),
            ViewAudit => matches!(self, Role::Admin | Role::Auditor),
            ViewElders => matches!(
                self,
                Role::CityStaff
                    | Role::CountyStaff
                    | Role::TownshipStaff
                    | Role::VillageStaff
                    | Role::Assessor
                    | Role::Finance
                    | Role::Inspector
            ),
            EditElders => self.is_civil_affairs_staff(),
            ImportElders => matches!(self, Role::CityStaff | Role::CountyStaff),
            RevealIdentifiers => self.is_civil_affairs_staff() || self == Role::Assessor,
            ReadAssessments => self.is_civil_affairs_staff() || self == Role::Assessor,
            Assess => self == Role::Assessor,
            ReviewAssessments => matches!(self, Role::TownshipStaff | Role::CountyStaff),
            ApproveAssessments => matches!(self, Role::CountyStaff | Role::CityStaff),
            ManageAgencies => matches!(self, Role::CityStaff | Role::CountyStaff),
            ManagePolicy => matches!(self, Role::Admin | Role::CityStaff),
            PublishServiceLists => matches!(self, Role::CityStaff | Role::CountyStaff),
            ViewProviders => {
                self.allows(ManageProviders)
                    || self.allows(ManageFacilities)
                    || self.allows(RecordCredit)
            }
            ManageProviders => matches!(self, Role::CityStaff | Role::CountyStaff),
            OverrideCreditCode => matches!(self, Role::CityStaff | Role::CountyStaff),
            ManageFacilities => matches!(
                self,
                Role::CityStaff | Role::CountyStaff | Role::ProviderAdmin
            ),
            RateFacilities => matches!(self, Role::CityStaff | Role::CountyStaff),
            ReviewVisits => matches!(
                self,
                Role::CityStaff | Role::CountyStaff | Role::TownshipStaff
            ),
            SettleServices => matches!(self, Role::CityStaff | Role::CountyStaff | Role::Finance),
            RecordCredit => matches!(self, Role::CityStaff | Role::CountyStaff | Role::Inspector),
            ManageCalendar => self == Role::Admin,
            ManagePurchaseCatalogue => matches!(self, Role::Finance | Role::CityStaff),
            PlanPurchases => matches!(
                self,
                Role::CityStaff | Role::CountyStaff | Role::TownshipStaff
            ),
            ApprovePurchases => self == Role::Finance,
            PayStatements => self == Role::Finance,
            EvaluateContracts => self.allows(PlanPurchases) || self == Role::Finance,
            ScoreAsThirdParty => self == Role::Evaluator,
        }
    }

    /// City, county, township and village staff of the civil-affairs system.
    pub fn is_civil_affairs_staff(self) -> bool {
        matches!(
            self,
            Role::CityStaff | Role::CountyStaff | Role::TownshipStaff | Role::VillageStaff
        )
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "未知的角色“{s}”，应为 {}",
                    Role::ALL.map(|r| r.as_str()).join(", ")
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_round_trip_and_are_the_documented_ones() {
        let names: Vec<_> = Role::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            names,
            [
                "admin",
                "city_staff",
                "county_staff",
                "township_staff",
                "village_staff",
                "assessor",
                "provider_admin",
                "caregiver",
                "finance",
                "inspector",
                "auditor",
                "evaluator"
            ]
        );
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn only_admins_manage_accounts_and_only_admins_and_auditors_read_the_audit_trail() {
        for r in Role::ALL {
            assert_eq!(r.allows(Permission::ManageAccounts), r == Role::Admin);
            assert_eq!(
                r.allows(Permission::ViewAudit),
                matches!(r, Role::Admin | Role::Auditor)
            );
        }
    }

    #[test]
    fn finance_inspectors_auditors_and_providers_cannot_read_whole_assessments() {
        for r in Role::ALL {
            let expected = matches!(
                r,
                Role::CityStaff
                    | Role::CountyStaff
                    | Role::TownshipStaff
                    | Role::VillageStaff
                    | Role::Assessor
            );
            assert_eq!(r.allows(Permission::ReadAssessments), expected, "{r}");
        }
    }

    #[test]
    fn provider_roles_are_scoped_to_a_provider_and_staff_to_a_region() {
        assert_eq!(Role::Caregiver.scope_kind(), ScopeKind::Provider);
        assert_eq!(Role::VillageStaff.scope_kind(), ScopeKind::Region);
        assert_eq!(Role::Admin.scope_kind(), ScopeKind::Global);
        assert_eq!(
            Role::VillageStaff.required_region_level(),
            Some(RegionLevel::Village)
        );
    }
}
