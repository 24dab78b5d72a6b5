//! Capability assessment (老年人能力评估, GB/T 42195-2022): assessments and the agencies that make them.

pub mod agencies;
pub mod assessments;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

/// Assessment pages, by URL.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/agencies", get(agencies::index).post(agencies::create))
        .route("/agencies/{id}", get(agencies::show))
        .route("/agencies/{id}/assessors", post(agencies::set_certificate))
        .route("/assessments", get(assessments::index))
        .route("/assessments/due", get(assessments::due))
        .route("/assessments/{id}", get(assessments::show))
        .route("/assessments/{id}/cancel", post(assessments::cancel))
        .route("/assessments/{id}/correct", post(assessments::correct))
        .route(
            "/assessments/{id}/edit",
            get(assessments::edit_form).post(assessments::save),
        )
        .route(
            "/assessments/{id}/effective",
            post(assessments::make_effective),
        )
        .route("/assessments/{id}/report", get(assessments::report))
        .route("/assessments/{id}/review", post(assessments::review))
        .route("/elders/{id}/assessments", post(assessments::open))
}
