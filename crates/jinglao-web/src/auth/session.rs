//! The page-session layer: resolves the session cookie once per request, applies the idle and
//! absolute time-outs, hands out the CSRF token and the large-print preference, and keeps
//! accounts that must change their password on the password page.

use axum::extract::{Request, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Duration, Utc};

use super::secrets::{digest, random_secret};
use super::{CurrentUser, SessionRef};
use crate::error::{AppError, PageError};
use crate::request::meta_from_parts;
use crate::state::AppState;

/// Cookie holding the session secret.
pub const SESSION_COOKIE: &str = "jl_session";
/// Cookie holding the CSRF token of visitors who are not signed in (double-submit).
pub const CSRF_COOKIE: &str = "jl_csrf";
/// Cookie holding the large-print preference of visitors who are not signed in.
pub const LARGE_PRINT_COOKIE: &str = "jl_large_print";

/// The CSRF token every form of this request's page must carry.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

/// Whether the page should render in large print (适老化).
#[derive(Debug, Clone, Copy)]
pub struct LargePrint(pub bool);

/// Set when the request carried a session cookie that is no longer valid (timed out, signed
/// out elsewhere, account disabled), so the sign-in page can say why.
#[derive(Debug, Clone, Copy)]
pub struct SessionEnded;

/// Reads a cookie from the request head.
pub fn cookie_value(req_headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    req_headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"').to_string())
}

/// Builds a `Set-Cookie` value with the house attributes: `Path=/`, `HttpOnly`,
/// `SameSite=Lax`, and `Secure` when served over TLS. `max_age` of `None` makes a
/// browser-session cookie; `Some(0)` deletes it.
pub fn set_cookie(name: &str, value: &str, max_age: Option<i64>, secure: bool) -> HeaderValue {
    // Names and values are ours: ASCII letters, digits, `-` and `_` only.
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if secure {
        c.push_str("; Secure");
    }
    if let Some(secs) = max_age {
        c.push_str(&format!("; Max-Age={secs}"));
    }
    HeaderValue::from_str(&c).expect("cookie values are ASCII")
}

/// Whether cookies of this request must be `Secure`.
pub fn secure(state: &AppState, parts: &axum::http::request::Parts) -> bool {
    state.settings.cookies_secure()
        || meta_from_parts(parts, state.settings.trust_proxy_headers).forwarded_https
}

/// Paths an account that must change its password may still use.
fn allowed_before_password_change(path: &str) -> bool {
    path == "/account"
        || path == "/account/password"
        || path == "/logout"
        || path.starts_with("/preferences/")
        || path.starts_with("/static/")
}

/// The session layer for page routes.
pub async fn layer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let now = state.clock.now();
    let (mut parts, body) = req.into_parts();
    let secure = secure(&state, &parts);
    let mut clear_session = false;
    let mut user: Option<CurrentUser> = None;

    if let Some(secret) = cookie_value(&parts.headers, SESSION_COOKIE) {
        match resolve(&state, &digest(&secret), now).await {
            Ok(Some(u)) => user = Some(u),
            Ok(None) => {
                clear_session = true;
                parts.extensions.insert(SessionEnded);
            }
            Err(e) => return PageError(e).into_response(),
        }
    }

    let mut new_anon_csrf = None;
    let csrf = match &user {
        Some(u) => u
            .session
            .as_ref()
            .map(|s| s.csrf_token.clone())
            .unwrap_or_default(),
        None => match cookie_value(&parts.headers, CSRF_COOKIE) {
            Some(v) if v.len() >= 32 => v,
            _ => {
                let t = random_secret();
                new_anon_csrf = Some(t.clone());
                t
            }
        },
    };
    let large_print = match &user {
        Some(u) => u.account.large_print,
        None => cookie_value(&parts.headers, LARGE_PRINT_COOKIE).as_deref() == Some("1"),
    };

    if let Some(u) = &user
        && u.account.must_change_password
        && !allowed_before_password_change(parts.uri.path())
    {
        if parts.method == Method::GET || parts.method == Method::HEAD {
            return Redirect::to("/account?notice=must_change").into_response();
        }
        return PageError(AppError::PasswordChangeRequired).into_response();
    }

    parts.extensions.insert(CsrfToken(csrf));
    parts.extensions.insert(LargePrint(large_print));
    if let Some(u) = user {
        parts.extensions.insert(u);
    }
    req = Request::from_parts(parts, body);
    let mut resp = next.run(req).await;
    let headers = resp.headers_mut();
    if clear_session {
        headers.append(SET_COOKIE, set_cookie(SESSION_COOKIE, "", Some(0), secure));
    }
    if let Some(t) = new_anon_csrf {
        headers.append(SET_COOKIE, set_cookie(CSRF_COOKIE, &t, None, secure));
    }
    resp
}

/// Looks a session up and applies the rules: the account is active, the absolute lifetime has
/// not passed, and the last request was within the idle time-out. A dead session is deleted.
/// Activity is written at most once a minute.
async fn resolve(
    state: &AppState,
    id_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<CurrentUser>, AppError> {
    let mut c = state.db.acquire().await?;
    let mut conn = c.conn();
    let Some((session, account)) = jinglao_db::sessions::find(&mut conn, id_hash).await? else {
        return Ok(None);
    };
    let alive = account.active
        && now < session.expires_at
        && now - session.last_seen_at < state.idle_timeout_for(account.role);
    drop(c);
    // Writes go through a transaction: on SQLite they then queue for the process's write
    // permit instead of polling in SQLite's busy handler.
    if !alive {
        let mut tx = state.db.begin().await?;
        jinglao_db::sessions::delete(&mut tx.conn(), id_hash).await?;
        tx.commit().await?;
        return Ok(None);
    }
    if now - session.last_seen_at > Duration::seconds(60) {
        let mut tx = state.db.begin().await?;
        jinglao_db::sessions::touch(&mut tx.conn(), id_hash, now).await?;
        tx.commit().await?;
    }
    let session_ref = SessionRef {
        id_hash: session.id_hash,
        csrf_token: session.csrf_token,
    };
    CurrentUser::new(account, Some(session_ref), None).map(Some)
}
