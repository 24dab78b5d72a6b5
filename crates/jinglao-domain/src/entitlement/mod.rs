//! Entitlement (基本养老服务清单与申请): the service list and its rules, who is entitled to what (服务找人), enrolment, and applications through review, decision and public notice.

pub mod application;
pub mod eligibility;
pub mod evidence;
pub mod rules;
pub mod service_item_draft;
pub mod service_list;
