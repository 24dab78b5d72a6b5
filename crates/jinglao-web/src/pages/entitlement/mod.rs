//! Entitlement (基本养老服务清单与申请): the service list and its rules, who is entitled to what (服务找人), enrolment, and applications through review, decision and public notice.

pub mod applications;
pub mod eligibility;
pub mod public_apply;
pub mod rule_builder;
pub mod service_lists;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::state::AppState;

/// Eligibility, service-list and application pages, by URL.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/applications", get(applications::index))
        .route("/applications/export", get(applications::export))
        .route("/applications/decisions", post(applications::decide_batch))
        .route("/applications/{id}", get(applications::show))
        .route("/applications/{id}/appeal", post(applications::appeal))
        .route("/applications/{id}/decisions", post(applications::decide))
        .route(
            "/applications/{id}/files",
            post(applications::attach).layer(DefaultBodyLimit::max(
                jinglao_domain::evidence::MAX_EVIDENCE_BYTES + 64 * 1024,
            )),
        )
        .route(
            "/applications/{id}/files/{file}",
            get(applications::download),
        )
        .route("/applications/{id}/resubmit", post(applications::resubmit))
        .route("/applications/{id}/withdraw", post(applications::withdraw))
        .route("/apply", get(public_apply::show).post(public_apply::submit))
        .route(
            "/apply/status",
            get(public_apply::status_form).post(public_apply::status),
        )
        .route("/elders/{id}/applications", post(applications::apply))
        .route("/eligibility", get(eligibility::index))
        .route("/eligibility/sweeps", post(eligibility::sweep))
        .route("/notices", get(applications::notices))
        .route("/notices/print", get(crate::pages::print::notice_sheet))
        .route(
            "/applications/{id}/print/receipt",
            get(crate::pages::print::receipt),
        )
        .route(
            "/applications/{id}/print/decision",
            get(crate::pages::print::decision),
        )
        .route(
            "/service-lists",
            get(service_lists::index).post(service_lists::publish),
        )
        .route("/service-lists/new", get(service_lists::new_form))
}
