//! Home services (居家社区养老服务): prices, orders, plans, dispatch, visits and their verification, statements, satisfaction, regular patrols (巡访) and family care beds.

pub mod family_beds;
pub mod my_visits;
pub mod order_new;
pub mod orders;
pub mod patrols;
pub mod prices;
pub mod public_services;
pub mod satisfaction;
pub mod statements;
pub mod visit_review;
pub mod visit_signals;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

/// Home-service pages, by URL.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/elders/{id}/family-bed",
            get(family_beds::show).post(family_beds::create),
        )
        .route("/elders/{id}/orders", post(order_new::place))
        .route("/elders/{id}/orders/new", get(order_new::new_form))
        .route(
            "/elders/{id}/patrols",
            get(patrols::show).post(patrols::record),
        )
        .route(
            "/elders/{id}/patrols/visitor",
            post(patrols::assign_visitor),
        )
        .route("/patrols/visitor", post(patrols::assign_many))
        .route("/elders/{id}/plans", post(order_new::create_plan))
        .route("/family-beds", get(family_beds::index))
        .route("/family-beds/{id}/adaptations", post(family_beds::adapt))
        .route("/family-beds/{id}/devices", post(family_beds::install))
        .route("/family-beds/{id}/end", post(family_beds::end))
        .route("/my/visits", get(my_visits::index))
        .route("/my/visits/{order}/check-in", post(my_visits::check_in))
        .route("/my/visits/{visit}/check-out", post(my_visits::check_out))
        .route("/my/visits/{visit}/rating", post(my_visits::rate))
        .route("/orders", get(orders::index))
        .route(
            "/orders/caregivers/{staff}/day",
            post(orders::caregiver_day),
        )
        .route("/orders/dispatch", post(orders::auto_dispatch))
        .route("/orders/{id}/assign", post(orders::assign))
        .route("/orders/{id}/end", post(orders::end))
        .route("/patrols", get(patrols::index))
        .route("/patrols/export", get(patrols::export))
        .route("/patrols/refresh", post(patrols::refresh))
        .route("/plans/{id}/end", post(order_new::end_plan))
        .route(
            "/providers/{id}/prices",
            get(prices::index).post(prices::add),
        )
        .route("/satisfaction", get(satisfaction::index))
        .route(
            "/services",
            get(public_services::show).post(public_services::lookup),
        )
        .route("/services/book", post(public_services::book))
        .route("/services/cancel", post(public_services::cancel))
        .route("/services/rate", post(public_services::rate))
        .route("/services/notify-by", post(public_services::notify_by))
        .route("/statements", get(statements::index).post(statements::run))
        .route("/statements/{id}", get(statements::show))
        .route(
            "/statements/{id}/print",
            get(crate::pages::print::statement),
        )
        .route("/statements/{id}/step", post(statements::step))
        .route("/visits/exceptions", get(visit_review::index))
        .route("/visits/signals", get(visit_signals::index))
        .route("/visits/{id}/correction", post(visit_review::correct))
        .route("/visits/{id}/rating", post(orders::rate_by_phone))
        .route("/visits/{id}/review", post(visit_review::review))
        .route("/visits/reviews", post(visit_review::review_batch))
        .route("/visits/{id}/revoke", post(visit_signals::revoke))
        .route("/visits/{id}/signature.png", get(visit_review::signature))
}
