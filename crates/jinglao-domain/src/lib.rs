//! Pure domain types and rules of jinglao (敬老), the elderly-care service platform of a
//! civil-affairs bureau.
//!
//! Nothing here does I/O: no database, no HTTP, no async runtime. Values that come from
//! outside (region codes, user names, passwords) are parsed into types that can only hold
//! valid data; rules are plain functions over them, so they can be tested and benchmarked
//! on their own.

pub mod account;
pub mod audit;
pub mod audit_anchor;
pub mod bulk;
pub mod calendar;
pub mod capability;
pub mod clock;
pub mod collation;
pub mod entitlement;
pub mod home_services;
mod labels;
pub mod policy;
pub mod purchase;
pub mod region;
pub mod region_import;
pub mod region_tree;
pub mod registry;
pub mod role;
pub mod scope;
pub mod supply;
pub mod tabular;
pub mod validation;
pub use capability::{assessment, assessment_form};
pub use entitlement::{
    application, eligibility, evidence, rules, service_item_draft, service_list,
};
pub use home_services::{
    dispatch, family_bed, order, patrol, service_plan, settlement, visit, visit_fraud,
};
pub use registry::{category, elder, elder_import, id_number, phone};
pub use supply::{
    credit, credit_code, facility, facility_input, provider, rating, staff, waiting_list,
};

pub use account::{Account, PasswordError, PasswordPolicy, Username, UsernameError};
pub use assessment::AbilityLevel;
pub use clock::{Clock, ManualClock, SystemClock};
pub use id_number::{ResidentId, Sex};
pub use phone::Phone;
pub use region::{AreaType, Region, RegionCode, RegionCodeError, RegionLevel};
pub use region_tree::{RegionTree, SubtreeStats};
pub use role::{Permission, Role, ScopeKind};
pub use scope::Scope;
pub use validation::{FieldError, Invalid};
