//! The web crate's integration tests, linked into one test binary: every file here used to be
//! its own binary, and each one linked the whole platform (a few hundred megabytes apiece with
//! debug information), which made a clean build slow to link and heavy on disk.

mod common;

mod admin;
mod api_home_services;
mod api_plans_beds;
mod api_purchase;
mod auth;
mod browser;
mod eligibility;
mod facilities;
mod home_pages;
mod openapi;
mod orders;
mod patrols;
mod public_services;
mod purchase_pages;
mod regions;
mod registry;
mod scope;
mod service_lists;
mod visits;
