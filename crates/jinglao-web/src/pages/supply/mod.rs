//! Supply (服务供给): providers, their facilities, beds and residents, staff, star ratings, credit records and the public institution finder.

pub mod credit;
pub mod facilities;
pub mod facility_actions;
pub mod finder;
pub mod providers;
pub mod ratings;
pub mod staff;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::state::AppState;

/// Provider, facility, staff, rating and finder pages, by URL.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/facilities",
            get(facilities::index).post(facilities::create),
        )
        .route("/facilities/new", get(facilities::new_form))
        .route("/facilities/export", get(facilities::export))
        .route("/facilities/{id}", get(facilities::show))
        .route("/facilities/{id}/admissions", post(facility_actions::admit))
        .route(
            "/facilities/{id}/bed-status",
            post(facility_actions::set_bed_status),
        )
        .route("/facilities/{id}/beds", post(facility_actions::add_beds))
        .route(
            "/facilities/{id}/discharges",
            post(facility_actions::discharge),
        )
        .route(
            "/facilities/{id}/photos",
            post(facility_actions::add_photo).layer(DefaultBodyLimit::max(
                jinglao_domain::evidence::MAX_EVIDENCE_BYTES + 64 * 1024,
            )),
        )
        .route("/facilities/{id}/ratings", post(ratings::apply))
        .route(
            "/facilities/{id}/waiting-list",
            post(facility_actions::join_waiting_list),
        )
        .route("/institutions", get(finder::search))
        .route("/institutions/{id}", get(finder::show))
        .route("/institutions/{id}/photos/{photo}", get(finder::photo))
        .route("/providers", get(providers::index).post(providers::create))
        .route("/providers/{id}", get(providers::show))
        .route("/providers/{id}/credit-records", post(credit::record))
        .route(
            "/providers/{id}/credit-records/{record}/revoke",
            post(credit::revoke),
        )
        .route("/providers/{id}/findings", post(providers::record_finding))
        .route("/providers/{id}/staff", get(staff::index).post(staff::hire))
        .route(
            "/providers/{id}/staff/insurance",
            post(staff::record_insurance),
        )
        .route("/providers/{id}/staff/records", post(staff::add_record))
        .route("/providers/{id}/skills", post(staff::set_skills_bulk))
        .route(
            "/providers/{id}/staff/{staff}/skills",
            post(staff::set_skills),
        )
        .route("/ratings/{id}", get(ratings::show))
        .route("/ratings/{id}/decision", post(ratings::decide))
        .route("/ratings/{id}/sheets/{sheet}", post(ratings::save_sheet))
}
