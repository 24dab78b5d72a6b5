//! Every URL of the application, in one place.
//!
//! - Pages under `/` (session cookie, CSRF-checked forms), with an HTML 404 fallback.
//! - JSON under `/api/v1/` (bearer tokens), with a JSON 404/405 fallback; the OpenAPI
//!   document at `/api/v1/openapi.json`.
//! - `/static/…`, `/healthz` (process alive), `/readyz` (database reachable).

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::api;
use crate::auth::{csrf, session};
use crate::error::{ApiError, AppError, PageError};
use crate::pages::{
    account, admin_users, audit, calendar, capability, entitlement, home, home_services, login,
    policy, preferences, public_home, regions, registry, supply,
};
use crate::request::{REQUEST_ID, acceptable_request_id};
use crate::state::AppState;

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const APP_CSS: &str = include_str!("../static/app.css");
const PRINT_CSS: &str = include_str!("../static/print.css");
const VISIT_JS: &str = include_str!("../static/visit.js");
const SW_JS: &str = include_str!("../static/sw.js");
const FORGET_JS: &str = include_str!("../static/forget.js");
const REGION_PICKER_JS: &str = include_str!("../static/region-picker.js");
const ASSESSMENT_JS: &str = include_str!("../static/assessment.js");
/// Largest request body in general (forms, JSON).
pub(crate) const BODY_LIMIT: usize = 2 * 1024 * 1024;

const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The page routes (behind the session and CSRF layers): the platform's own here, each area's
/// from its `routes()`, every list ordered by URL.
fn pages(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(public_home::show))
        .route("/account", get(account::show))
        .route("/account/password", post(account::change_password))
        .route(
            "/admin/calendar",
            get(calendar::show).post(calendar::upload),
        )
        .route("/admin/locks/unlock", post(admin_users::unlock_key))
        .route(
            "/admin/users",
            get(admin_users::list).post(admin_users::create),
        )
        .route("/admin/users/new", get(admin_users::new_form))
        .route(
            "/admin/users/{id}",
            get(admin_users::show).post(admin_users::update),
        )
        .route(
            "/admin/users/{id}/reset-password",
            post(admin_users::reset_password),
        )
        .route(
            "/admin/users/{id}/tokens/{token_id}/revoke",
            post(admin_users::revoke_token),
        )
        .route("/admin/users/{id}/unlock", post(admin_users::unlock))
        .route("/audit", get(audit::index))
        .route("/audit/verify", post(audit::verify))
        .route("/home", get(home::show_home))
        .route("/notifications", get(crate::pages::notifications::index))
        .route("/saved-filters", post(crate::pages::saved_filters::save))
        .route(
            "/saved-filters/{id}/delete",
            post(crate::pages::saved_filters::delete),
        )
        .route(
            "/notifications/read",
            post(crate::pages::notifications::read_all),
        )
        .route(
            "/notifications/{id}/open",
            post(crate::pages::notifications::open),
        )
        .route("/login", get(login::show_login).post(login::submit_login))
        .route("/logout", post(login::logout))
        .route("/policy", get(policy::index).post(policy::set))
        .route(
            "/preferences/large-print",
            post(preferences::set_large_print),
        )
        .route("/regions", get(regions::index))
        .route("/regions/{code}", get(regions::show))
        .route("/regions/{code}/area-type", post(regions::update_area_type))
        .merge(registry::routes())
        .merge(capability::routes())
        .merge(entitlement::routes())
        .merge(supply::routes())
        .merge(home_services::routes())
        .merge(crate::pages::purchase::routes())
        .fallback(page_not_found)
        .layer(from_fn(csrf::layer))
        .layer(from_fn_with_state(state.clone(), session::layer))
        .layer(CatchPanicLayer::custom(|_| {
            PageError(AppError::Internal(anyhow::anyhow!("handler panicked"))).into_response()
        }))
}

/// The API routes.
fn api_routes() -> Router<AppState> {
    let (v1, _) = api::v1::router().split_for_parts();
    let v1 = v1
        .route("/openapi.json", get(openapi_json))
        .fallback(api::v1::not_found)
        .method_not_allowed_fallback(api::v1::method_not_allowed)
        .layer(CatchPanicLayer::custom(|_| {
            ApiError(AppError::Internal(anyhow::anyhow!("handler panicked"))).into_response()
        }));
    Router::new().nest("/api/v1", v1)
}

/// The whole application.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/static/app.css", get(app_css))
        .route("/static/print.css", get(print_css))
        .route("/static/visit.js", get(|| async { script(VISIT_JS) }))
        .route("/static/forget.js", get(|| async { script(FORGET_JS) }))
        .route(
            "/static/region-picker.js",
            get(|| async { script(REGION_PICKER_JS) }),
        )
        .route(
            "/static/assessment.js",
            get(|| async { script(ASSESSMENT_JS) }),
        )
        .route("/my/sw.js", get(service_worker))
        .merge(api_routes())
        .merge(pages(&state))
        .layer(SetResponseHeaderLayer::if_not_present(
            CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("x-frame-options"),
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("referrer-policy"),
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("content-security-policy"),
            HeaderValue::from_static(CSP),
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(from_fn(request_scope))
        .layer(PropagateRequestIdLayer::new(X_REQUEST_ID))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<Body>| {
                let id = req
                    .headers()
                    .get(X_REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                tracing::info_span!(
                    "request",
                    method = %req.method(),
                    path = %req.uri().path(),
                    request_id = %id
                )
            }),
        )
        .layer(SetRequestIdLayer::new(X_REQUEST_ID, MakeRequestUuid))
        .layer(from_fn(drop_unacceptable_request_id))
        .with_state(state)
}

/// Removes an incoming `x-request-id` that is too long or has odd characters, so a fresh one
/// is generated instead (ids end up in logs and the audit trail).
async fn drop_unacceptable_request_id(mut req: Request, next: Next) -> Response {
    let bad = req
        .headers()
        .get(X_REQUEST_ID)
        .is_some_and(|v| !v.to_str().is_ok_and(acceptable_request_id));
    if bad {
        req.headers_mut().remove(X_REQUEST_ID);
    }
    next.run(req).await
}

/// Makes the request id readable by error pages and audit entries for the whole request.
async fn request_scope(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    REQUEST_ID.scope(id, next.run(req)).await
}

async fn page_not_found() -> PageError {
    PageError(AppError::NotFound)
}

/// `GET /healthz`: the process is alive.
async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: the database answers.
async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state.db.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check failed");
        AppError::Unavailable
    })?;
    Ok("ready")
}

/// The phone pages' one script (position and clock for check-in and check-out).
/// A script that browsers may keep for an hour.
fn script(body: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// The phone page's service worker: always checked for a new version (browsers also look at
/// least daily), served from `/my/` so that its scope is the caregiver's pages.
async fn service_worker() -> Response {
    (
        [
            (CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (CACHE_CONTROL, "no-cache"),
        ],
        SW_JS,
    )
        .into_response()
}

async fn app_css() -> Response {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        APP_CSS,
    )
        .into_response()
}

async fn print_css() -> Response {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        PRINT_CSS,
    )
        .into_response()
}

async fn openapi_json(State(state): State<AppState>) -> Response {
    (
        [(CONTENT_TYPE, "application/json")],
        state.openapi_json.clone(),
    )
        .into_response()
}
