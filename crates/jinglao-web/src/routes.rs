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
    account, admin_users, agencies, applications, assessments, audit, calendar, credit,
    elder_import, elders, eligibility, facilities, facility_actions, family_beds, finder, home,
    login, my_visits, order_new, orders, patrols, policy, preferences, prices, providers,
    public_apply, public_services, ratings, regions, satisfaction, service_lists, staff,
    statements, visit_review, visit_signals,
};
use crate::request::{REQUEST_ID, acceptable_request_id};
use crate::state::AppState;

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const APP_CSS: &str = include_str!("../static/app.css");
const PRINT_CSS: &str = include_str!("../static/print.css");
const VISIT_JS: &str = include_str!("../static/visit.js");
const SW_JS: &str = include_str!("../static/sw.js");
const FORGET_JS: &str = include_str!("../static/forget.js");
/// Largest request body in general (forms, JSON).
pub(crate) const BODY_LIMIT: usize = 2 * 1024 * 1024;

const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The page routes (behind the session and CSRF layers).
fn pages(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(home::show_home))
        .route("/login", get(login::show_login).post(login::submit_login))
        .route("/logout", post(login::logout))
        .route("/regions", get(regions::index))
        .route("/regions/{code}", get(regions::show))
        .route("/regions/{code}/area-type", post(regions::update_area_type))
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
        .route("/admin/users/{id}/unlock", post(admin_users::unlock))
        .route(
            "/admin/users/{id}/tokens/{token_id}/revoke",
            post(admin_users::revoke_token),
        )
        .route("/admin/locks/unlock", post(admin_users::unlock_key))
        .route(
            "/admin/calendar",
            get(calendar::show).post(calendar::upload),
        )
        .route("/elders", get(elders::index).post(elders::create))
        .route("/elders/new", get(elders::new_form))
        .route("/elders/search", post(elders::search_posted))
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
        .route("/elders/{id}", get(elders::show).post(elders::update))
        .route("/elders/{id}/edit", get(elders::edit_form))
        .route("/elders/{id}/reveal", post(elders::reveal))
        .route("/elders/{id}/categories", post(elders::add_category))
        .route(
            "/elders/{id}/categories/{cid}/end",
            post(elders::end_category),
        )
        .route("/elders/{id}/life-event", post(elders::life_event))
        .route(
            "/elders/{id}/reassessment-request",
            post(elders::request_reassessment),
        )
        .route("/elders/{id}/assessments", post(assessments::open))
        .route("/elders/{id}/applications", post(applications::apply))
        .route("/applications", get(applications::index))
        .route("/applications/{id}", get(applications::show))
        .route("/applications/{id}/decisions", post(applications::decide))
        .route("/applications/{id}/resubmit", post(applications::resubmit))
        .route("/applications/{id}/appeal", post(applications::appeal))
        .route("/applications/{id}/withdraw", post(applications::withdraw))
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
        .route("/notices", get(applications::notices))
        .route("/institutions", get(finder::search))
        .route("/institutions/{id}", get(finder::show))
        .route("/institutions/{id}/photos/{photo}", get(finder::photo))
        .route("/apply", get(public_apply::show).post(public_apply::submit))
        .route(
            "/services",
            get(public_services::show).post(public_services::lookup),
        )
        .route("/services/book", post(public_services::book))
        .route("/services/rate", post(public_services::rate))
        .route("/services/cancel", post(public_services::cancel))
        .route(
            "/apply/status",
            get(public_apply::status_form).post(public_apply::status),
        )
        .route(
            "/service-lists",
            get(service_lists::index).post(service_lists::publish),
        )
        .route("/service-lists/new", get(service_lists::new_form))
        .route("/eligibility", get(eligibility::index))
        .route("/eligibility/sweeps", post(eligibility::sweep))
        .route("/assessments", get(assessments::index))
        .route("/assessments/due", get(assessments::due))
        .route("/assessments/{id}", get(assessments::show))
        .route(
            "/assessments/{id}/edit",
            get(assessments::edit_form).post(assessments::save),
        )
        .route("/assessments/{id}/review", post(assessments::review))
        .route(
            "/assessments/{id}/effective",
            post(assessments::make_effective),
        )
        .route("/assessments/{id}/correct", post(assessments::correct))
        .route("/assessments/{id}/cancel", post(assessments::cancel))
        .route("/assessments/{id}/report", get(assessments::report))
        .route("/agencies", get(agencies::index).post(agencies::create))
        .route("/agencies/{id}", get(agencies::show))
        .route("/agencies/{id}/assessors", post(agencies::set_certificate))
        .route("/providers", get(providers::index).post(providers::create))
        .route("/providers/{id}", get(providers::show))
        .route("/providers/{id}/findings", post(providers::record_finding))
        .route("/providers/{id}/credit-records", post(credit::record))
        .route(
            "/providers/{id}/credit-records/{record}/revoke",
            post(credit::revoke),
        )
        .route(
            "/providers/{id}/prices",
            get(prices::index).post(prices::add),
        )
        .route("/my/visits", get(my_visits::index))
        .route("/my/visits/{visit}/rating", post(my_visits::rate))
        .route("/orders", get(orders::index))
        .route("/orders/dispatch", post(orders::auto_dispatch))
        .route("/orders/{id}/assign", post(orders::assign))
        .route("/orders/{id}/end", post(orders::end))
        .route(
            "/orders/caregivers/{staff}/day",
            post(orders::caregiver_day),
        )
        .route("/visits/{id}/rating", post(orders::rate_by_phone))
        .route("/visits/signals", get(visit_signals::index))
        .route("/visits/{id}/revoke", post(visit_signals::revoke))
        .route("/satisfaction", get(satisfaction::index))
        .route("/elders/{id}/orders/new", get(order_new::new_form))
        .route("/elders/{id}/orders", post(order_new::place))
        .route("/elders/{id}/plans", post(order_new::create_plan))
        .route("/plans/{id}/end", post(order_new::end_plan))
        .route("/patrols", get(patrols::index))
        .route("/family-beds", get(family_beds::index))
        .route(
            "/elders/{id}/family-bed",
            get(family_beds::show).post(family_beds::create),
        )
        .route("/family-beds/{id}/adaptations", post(family_beds::adapt))
        .route("/family-beds/{id}/devices", post(family_beds::install))
        .route("/family-beds/{id}/end", post(family_beds::end))
        .route("/patrols/refresh", post(patrols::refresh))
        .route(
            "/elders/{id}/patrols",
            get(patrols::show).post(patrols::record),
        )
        .route(
            "/elders/{id}/patrols/visitor",
            post(patrols::assign_visitor),
        )
        .route("/visits/exceptions", get(visit_review::index))
        .route("/visits/{id}/signature.png", get(visit_review::signature))
        .route("/statements", get(statements::index).post(statements::run))
        .route("/statements/{id}", get(statements::show))
        .route("/statements/{id}/step", post(statements::step))
        .route("/visits/{id}/review", post(visit_review::review))
        .route("/visits/{id}/correction", post(visit_review::correct))
        .route("/my/visits/{order}/check-in", post(my_visits::check_in))
        .route("/my/visits/{visit}/check-out", post(my_visits::check_out))
        .route("/providers/{id}/staff", get(staff::index).post(staff::hire))
        .route(
            "/providers/{id}/staff/insurance",
            post(staff::record_insurance),
        )
        .route("/providers/{id}/staff/records", post(staff::add_record))
        .route(
            "/providers/{id}/staff/{staff}/skills",
            post(staff::set_skills),
        )
        .route(
            "/facilities",
            get(facilities::index).post(facilities::create),
        )
        .route("/facilities/new", get(facilities::new_form))
        .route("/facilities/{id}", get(facilities::show))
        .route("/facilities/{id}/beds", post(facility_actions::add_beds))
        .route(
            "/facilities/{id}/bed-status",
            post(facility_actions::set_bed_status),
        )
        .route("/facilities/{id}/admissions", post(facility_actions::admit))
        .route(
            "/facilities/{id}/discharges",
            post(facility_actions::discharge),
        )
        .route(
            "/facilities/{id}/waiting-list",
            post(facility_actions::join_waiting_list),
        )
        .route("/facilities/{id}/ratings", post(ratings::apply))
        .route(
            "/facilities/{id}/photos",
            post(facility_actions::add_photo).layer(DefaultBodyLimit::max(
                jinglao_domain::evidence::MAX_EVIDENCE_BYTES + 64 * 1024,
            )),
        )
        .route("/ratings/{id}", get(ratings::show))
        .route("/ratings/{id}/sheets/{sheet}", post(ratings::save_sheet))
        .route("/ratings/{id}/decision", post(ratings::decide))
        .route("/policy", get(policy::index).post(policy::set))
        .route("/audit", get(audit::index))
        .route("/audit/verify", post(audit::verify))
        .route("/account", get(account::show))
        .route("/account/password", post(account::change_password))
        .route(
            "/preferences/large-print",
            post(preferences::set_large_print),
        )
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
