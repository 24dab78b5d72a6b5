//! Display preferences: large-print mode (适老化), saved on the account when signed in and in
//! a cookie otherwise.

use axum::Form;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::safe_return_path;
use crate::auth::CurrentUser;
use crate::auth::session::{LARGE_PRINT_COOKIE, set_cookie};
use crate::error::PageError;
use crate::request::RequestMeta;
use crate::state::AppState;

/// The large-print form.
#[derive(Debug, Deserialize)]
pub struct LargePrintForm {
    #[serde(default)]
    large_print: String,
    return_to: Option<String>,
}

/// `POST /preferences/large-print`
pub async fn set_large_print(
    State(state): State<AppState>,
    user: Option<axum::Extension<CurrentUser>>,
    meta: RequestMeta,
    Form(form): Form<LargePrintForm>,
) -> Result<Response, PageError> {
    let on = form.large_print == "on";
    let back = safe_return_path(form.return_to.as_deref());
    let mut resp = Redirect::to(&back).into_response();
    match user {
        Some(axum::Extension(u)) => {
            jinglao_db::users::set_large_print(
                &state.db,
                &state.keys.audit_chain,
                &u.actor(&meta),
                on,
                state.clock.now(),
            )
            .await?;
        }
        None => {
            let secure = state.settings.cookies_secure() || meta.forwarded_https;
            let value = if on { "1" } else { "0" };
            resp.headers_mut().append(
                SET_COOKIE,
                set_cookie(LARGE_PRINT_COOKIE, value, Some(365 * 24 * 3600), secure),
            );
        }
    }
    Ok(resp)
}
