//! The storage crate's integration tests, each run on SQLite and on PostgreSQL, linked into one
//! test binary so that a clean build links the platform once instead of once per file.

mod applications;
mod calendar;
mod credit;
mod dispatch_plans;
mod eligibility;
mod facilities;
mod family_beds;
mod home_services;
mod idempotency;
mod life_events;
mod patrols;
mod purchase;
mod registry;
mod service_lists;
mod visit_queue;
