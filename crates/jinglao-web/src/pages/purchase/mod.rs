//! Government purchase pages: the public open contracting data (OCDS 1.1 release and record
//! packages, paged); the projects of the annual plan with finance's review (`projects`); and
//! treasury payment batches (`payments`). Every step also has its JSON endpoint
//! (`api::v1::purchase`, `api::v1::payments`).

use axum::Router;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

pub mod catalogue;
pub mod contracts;
pub mod drafting;
pub mod evaluations;
pub mod notices;
pub mod payments;
pub mod projects;

use crate::error::PageError;
use crate::state::AppState;
use crate::usecase::purchase as usecase;

/// The purchase routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/open-data/ocds/releases.json", get(releases))
        .route("/open-data/ocds/records.json", get(records))
        .route("/open-data/ocds/bulk/records.json", get(bulk))
        .route(
            "/open-data/ocds/projects/{id}/releases.json",
            get(project_releases),
        )
        .route(
            "/payment-batches",
            get(payments::index).post(payments::create),
        )
        .route("/payment-batches/{id}", get(payments::show))
        .route(
            "/payment-batches/{id}/confirmation",
            axum::routing::post(payments::confirm),
        )
        .route("/open-data/purchase", get(notices::index))
        .route("/open-data/purchase/{id}", get(notices::show))
        .route("/open-data/evaluations", get(evaluations::public))
        .route("/open-data/evaluations.json", get(evaluations::public_json))
        .route("/purchase/contracts/{id}", get(contracts::show))
        .route(
            "/purchase/contracts/{id}/acceptances",
            axum::routing::post(contracts::accept).layer(axum::extract::DefaultBodyLimit::max(
                jinglao_db::purchase::acceptances::MAX_REPORT_BYTES + 1024 * 1024,
            )),
        )
        .route(
            "/purchase/contracts/{id}/acceptances/{acceptance}/report",
            get(contracts::report),
        )
        .route(
            "/purchase/contracts/{id}/terminate",
            axum::routing::post(contracts::terminate),
        )
        .route(
            "/purchase/contracts/{id}/evaluations",
            axum::routing::post(contracts::open_evaluation),
        )
        .route("/purchase/evaluations", get(evaluations::index))
        .route("/purchase/evaluations/{id}", get(evaluations::show))
        .route(
            "/purchase/evaluations/{id}/score",
            axum::routing::post(evaluations::score),
        )
        .route(
            "/purchase/evaluations/{id}/calls",
            axum::routing::post(evaluations::call),
        )
        .route(
            "/purchase/evaluations/{id}/evaluators",
            axum::routing::post(evaluations::name_evaluator),
        )
        .route(
            "/purchase/evaluations/{id}/publish",
            axum::routing::post(evaluations::publish),
        )
        .route(
            "/purchase/catalogue",
            get(catalogue::show).post(catalogue::publish),
        )
        .route("/purchase/projects", get(projects::index))
        .route(
            "/purchase/projects/new",
            get(drafting::new).post(drafting::create),
        )
        .route("/purchase/projects/{id}", get(projects::show))
        .route(
            "/purchase/projects/{id}/edit",
            get(drafting::edit).post(drafting::save_edit),
        )
        .route(
            "/purchase/projects/{id}/step",
            axum::routing::post(projects::step),
        )
        .route(
            "/purchase/projects/{id}/bids",
            axum::routing::post(projects::bid),
        )
        .route(
            "/purchase/projects/{id}/scores",
            axum::routing::post(projects::score),
        )
        .route(
            "/purchase/projects/{id}/bid-documents",
            axum::routing::post(projects::attach_document).layer(
                axum::extract::DefaultBodyLimit::max(
                    jinglao_domain::evidence::MAX_EVIDENCE_BYTES + 1024 * 1024,
                ),
            ),
        )
        .route("/purchase/bid-documents/{id}", get(projects::document))
        .route(
            "/purchase/projects/{id}/award",
            axum::routing::post(projects::award),
        )
        .route(
            "/purchase/projects/{id}/awards/{award}/contract",
            axum::routing::post(projects::sign),
        )
        .route(
            "/purchase/contracts/{id}/filing",
            axum::routing::post(contracts::file),
        )
}

/// Which page.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    /// From 1.
    #[serde(default)]
    pub page: Option<String>,
}

fn page_of(q: &PageQuery) -> i64 {
    q.page
        .as_deref()
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(1)
}

fn json(body: serde_json::Value, more: bool, next: String) -> Response {
    let mut resp = (
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response();
    if more && let Ok(v) = format!("<{next}>; rel=\"next\"").parse() {
        resp.headers_mut().insert(header::LINK, v);
    }
    resp
}

/// The release package of one page of announced projects (100 projects a page; a `Link:
/// rel="next"` header names the next page).
pub async fn releases(
    State(state): State<AppState>,
    Query(q): Query<PageQuery>,
) -> Result<Response, PageError> {
    let page = page_of(&q);
    let (body, more) = usecase::ocds_page(&state, page, false).await?;
    Ok(json(
        body,
        more,
        format!("/open-data/ocds/releases.json?page={}", page + 1),
    ))
}

/// The record package of one page of announced projects: each project's releases and its
/// compiled release.
pub async fn records(
    State(state): State<AppState>,
    Query(q): Query<PageQuery>,
) -> Result<Response, PageError> {
    let page = page_of(&q);
    let (body, more) = usecase::ocds_page(&state, page, true).await?;
    Ok(json(
        body,
        more,
        format!("/open-data/ocds/records.json?page={}", page + 1),
    ))
}

/// Every announced project's record in one record package, for download (rebuilt at most every
/// ten minutes).
pub async fn bulk(State(state): State<AppState>) -> Result<Response, PageError> {
    let body = usecase::ocds_bulk(&state).await?;
    Ok(crate::download::attachment(
        "application/json; charset=utf-8",
        "ocds-records.json",
        "政府购买养老服务-开放合同数据.json",
        body,
    ))
}

/// One announced project's releases (the bulk download's records link here).
pub async fn project_releases(
    State(state): State<AppState>,
    crate::pages::IdPath(id): crate::pages::IdPath,
) -> Result<Response, PageError> {
    let package = usecase::ocds_project_releases(&state, id)
        .await?
        .ok_or(crate::error::AppError::NotFound)?;
    Ok(json(package, false, String::new()))
}
