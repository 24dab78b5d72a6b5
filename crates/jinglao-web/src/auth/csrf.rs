//! The CSRF layer: every state-changing page request must carry the `_csrf` field of its form,
//! equal to the session's token (or, before sign-in, to the `jl_csrf` cookie). A request whose
//! `Origin` names another site is refused as well.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::header::{CONTENT_TYPE, HOST, ORIGIN};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::secrets::same;
use super::session::CsrfToken;
use crate::error::{AppError, PageError};

/// Largest form body read while checking the token.
const MAX_FORM_BYTES: usize = 1024 * 1024;

/// The name of the hidden form field.
pub const FIELD: &str = "_csrf";

/// The CSRF layer for page routes (runs inside the session layer).
pub async fn layer(req: Request, next: Next) -> Response {
    if matches!(
        *req.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    ) {
        return next.run(req).await;
    }
    if !same_origin(req.headers()) {
        return PageError(AppError::Csrf).into_response();
    }
    let expected = req.extensions().get::<CsrfToken>().map(|t| t.0.clone());
    // File uploads (multipart) carry the token in the query string: their bodies are large and
    // are read by the handler, not here.
    let is_multipart = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if is_multipart {
        let submitted = req.uri().query().and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == FIELD)
                .map(|(_, v)| v.into_owned())
        });
        return match (expected, submitted) {
            (Some(e), Some(s)) if !e.is_empty() && same(&e, &s) => next.run(req).await,
            _ => PageError(AppError::Csrf).into_response(),
        };
    }
    let is_form = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, MAX_FORM_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return PageError(AppError::BadRequest {
                message: "提交的内容过大".into(),
                field: None,
            })
            .into_response();
        }
    };
    let submitted = if is_form {
        form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == FIELD)
            .map(|(_, v)| v.into_owned())
    } else {
        None
    };
    match (expected, submitted) {
        (Some(e), Some(s)) if !e.is_empty() && same(&e, &s) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        _ => PageError(AppError::Csrf).into_response(),
    }
}

/// True unless an `Origin` header names a different host than the request's `Host`.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    if origin == "null" {
        return false;
    }
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
    origin_host.eq_ignore_ascii_case(host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(HOST, HeaderValue::from_str(host).unwrap());
        if let Some(o) = origin {
            h.insert(ORIGIN, HeaderValue::from_str(o).unwrap());
        }
        h
    }

    #[test]
    fn a_foreign_origin_is_refused_and_a_missing_one_is_left_to_the_token() {
        assert!(same_origin(&headers(None, "127.0.0.1:8080")));
        assert!(same_origin(&headers(
            Some("http://127.0.0.1:8080"),
            "127.0.0.1:8080"
        )));
        assert!(!same_origin(&headers(
            Some("https://evil.example"),
            "127.0.0.1:8080"
        )));
        assert!(!same_origin(&headers(Some("null"), "127.0.0.1:8080")));
    }
}
