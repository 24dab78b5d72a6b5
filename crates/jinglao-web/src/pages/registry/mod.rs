//! Registry (老年人信息库): older people's records, their categories, imports, search, life events and evidence.

pub mod elder_import;
pub mod elders;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::state::AppState;

/// The registry's pages, by URL.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/elders", get(elders::index).post(elders::create))
        .route(
            "/elders/import",
            get(elder_import::upload_form)
                .post(elder_import::upload)
                .layer(DefaultBodyLimit::max(elder_import::MAX_UPLOAD_BYTES)),
        )
        .route(
            "/elders/import/template.csv",
            get(elder_import::template_csv_file),
        )
        .route(
            "/elders/import/template.xlsx",
            get(elder_import::template_xlsx_file),
        )
        .route("/elders/import/{batch}", get(elder_import::show_preview))
        .route("/elders/import/{batch}/commit", post(elder_import::commit))
        .route(
            "/elders/import/{batch}/rejected.csv",
            get(elder_import::rejected),
        )
        .route("/elders/new", get(elders::new_form))
        .route("/elders/search", post(elders::search_posted))
        .route("/elders/export", get(elders::export))
        .route("/elders/{id}", get(elders::show).post(elders::update))
        .route("/elders/{id}/categories", post(elders::add_category))
        .route(
            "/elders/{id}/categories/{cid}/end",
            post(elders::end_category),
        )
        .route("/elders/{id}/edit", get(elders::edit_form))
        .route("/elders/{id}/life-event", post(elders::life_event))
        .route(
            "/elders/{id}/reassessment-request",
            post(elders::request_reassessment),
        )
        .route("/elders/{id}/reveal", post(elders::reveal))
        .route("/elders/{id}/notify-by", post(elders::set_notify_by))
}
