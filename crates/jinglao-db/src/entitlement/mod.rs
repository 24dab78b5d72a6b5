//! Entitlement (基本养老服务清单与申请): the service list and its rules, who is entitled to what (服务找人), enrolment, and applications through review, decision and public notice.

pub mod applications;
pub mod deadline_reminders;
pub mod eligibility;
pub mod entitlements;
pub mod evidence;
pub mod service_lists;
pub mod worklists;
