//! Pure domain types and rules of jinglao (敬老), the elderly-care service platform of a
//! civil-affairs bureau.
//!
//! Nothing here does I/O: no database, no HTTP, no async runtime. Values that come from
//! outside (region codes, user names, passwords) are parsed into types that can only hold
//! valid data; rules are plain functions over them, so they can be tested and benchmarked
//! on their own.

pub mod account;
pub mod application;
pub mod assessment;
pub mod assessment_form;
pub mod audit;
pub mod audit_anchor;
pub mod calendar;
pub mod category;
pub mod clock;
pub mod credit;
pub mod credit_code;
pub mod dispatch;
pub mod elder;
pub mod elder_import;
pub mod eligibility;
pub mod evidence;
pub mod facility;
pub mod family_bed;
pub mod id_number;
mod labels;
pub mod order;
pub mod patrol;
pub mod phone;
pub mod policy;
pub mod provider;
pub mod rating;
pub mod region;
pub mod region_import;
pub mod region_tree;
pub mod role;
pub mod rules;
pub mod scope;
pub mod service_item_draft;
pub mod service_list;
pub mod service_plan;
pub mod settlement;
pub mod staff;
pub mod synth;
pub mod tabular;
pub mod validation;
pub mod visit;
pub mod visit_fraud;
pub mod waiting_list;

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
