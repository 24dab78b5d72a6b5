//! Sign-in and sign-out pages.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::header::{RETRY_AFTER, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{FormErrors, PageCtx, safe_return_path};
use crate::auth::session::{CSRF_COOKIE, SESSION_COOKIE, cookie_value, set_cookie};
use crate::auth::{PageUser, login};
use crate::error::{AppError, PageError, render, render_with_status};
use crate::request::RequestMeta;
use crate::state::AppState;

/// The sign-in page.
#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    ctx: PageCtx,
    errors: FormErrors,
    username: String,
    next: String,
}

/// Query of the sign-in page.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// Where staff go after signing in: `next` when it is a safe local path, else (and instead of
/// the public front page) their work page.
fn staff_return_path(next: Option<&str>) -> String {
    match safe_return_path(next) {
        p if p == "/" => "/home".into(),
        p => p,
    }
}

/// `GET /login`
pub async fn show_login(ctx: PageCtx, Query(q): Query<LoginQuery>) -> Result<Response, PageError> {
    if ctx.user.is_some() {
        return Ok(Redirect::to(&staff_return_path(q.next.as_deref())).into_response());
    }
    render(&LoginPage {
        ctx,
        errors: FormErrors::new(),
        username: String::new(),
        next: staff_return_path(q.next.as_deref()),
    })
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

/// `POST /login`: checks the credentials, starts a new session (a new id every time) and
/// returns to `next`.
pub async fn submit_login(
    State(state): State<AppState>,
    ctx: PageCtx,
    meta: RequestMeta,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let next = staff_return_path(form.next.as_deref());
    match login::authenticate(&state, &meta, &form.username, &form.password).await {
        Ok(account) => {
            let previous = cookie_value(&headers, SESSION_COOKIE);
            let secret = login::start_session(&state, &meta, &account, previous.as_deref()).await?;
            let secure = state.settings.cookies_secure() || meta.forwarded_https;
            let target = if account.must_change_password {
                "/account?notice=must_change".to_string()
            } else {
                next
            };
            let mut resp = Redirect::to(&target).into_response();
            let h = resp.headers_mut();
            h.append(
                SET_COOKIE,
                set_cookie(SESSION_COOKIE, &secret, None, secure),
            );
            h.append(SET_COOKIE, set_cookie(CSRF_COOKIE, "", Some(0), secure));
            Ok(resp)
        }
        Err(AppError::Invalid(errors)) => {
            form_again(ctx, errors, &form, next, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e @ AppError::RateLimited { .. }) => {
            let retry_after = match &e {
                AppError::RateLimited {
                    retry_after_secs, ..
                } => (*retry_after_secs).max(1),
                _ => 1,
            };
            let errors = FormErrors::one("username", e.to_string());
            let mut resp = form_again(ctx, errors, &form, next, StatusCode::TOO_MANY_REQUESTS)?;
            resp.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(retry_after));
            Ok(resp)
        }
        Err(other) => Err(other.into()),
    }
}

/// The sign-in form again, with its errors and the name as typed (never the password).
fn form_again(
    ctx: PageCtx,
    errors: FormErrors,
    form: &LoginForm,
    next: String,
    status: StatusCode,
) -> Result<Response, PageError> {
    let page = LoginPage {
        ctx: ctx.with_errors(&errors),
        errors,
        username: form.username.trim().to_string(),
        next,
    };
    render_with_status(&page, status)
}

/// `POST /logout`
pub async fn logout(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    meta: RequestMeta,
) -> Result<Response, PageError> {
    if let Some(s) = &user.session {
        login::end_session(&state, &user.actor(&meta), &user.account, &s.id_hash).await?;
    }
    let secure = state.settings.cookies_secure() || meta.forwarded_https;
    let mut resp = Redirect::to("/login?notice=logged_out").into_response();
    resp.headers_mut()
        .append(SET_COOKIE, set_cookie(SESSION_COOKIE, "", Some(0), secure));
    Ok(resp)
}
