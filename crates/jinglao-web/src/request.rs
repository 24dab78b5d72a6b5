//! Per-request facts: the request id and the client's address, for logs and audit entries.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;

use crate::state::AppState;

tokio::task_local! {
    /// The current request's id, readable while the handler runs (error pages show it).
    pub static REQUEST_ID: String;
}

/// The current request's id, if inside a request.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(|id| id.clone()).ok()
}

/// Request id and client address of the current request.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    /// The `x-request-id` (set by the server when the client sent none).
    pub request_id: Option<String>,
    /// The client's address (the proxy's, unless `trust_proxy_headers` is on).
    pub client_ip: Option<String>,
    /// The `User-Agent`, shortened.
    pub user_agent: Option<String>,
    /// Whether the client reached us over TLS (per `X-Forwarded-Proto` from a trusted proxy).
    pub forwarded_https: bool,
}

impl<S> FromRequestParts<S> for RequestMeta
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        Ok(meta_from_parts(parts, state.settings.trust_proxy_headers))
    }
}

/// Reads the request facts from the request head.
pub fn meta_from_parts(parts: &Parts, trust_proxy: bool) -> RequestMeta {
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    // The trusted proxy appends the address it saw to the end of X-Forwarded-For; anything
    // before it came from the client and could be forged (to dodge the per-address lockout).
    let forwarded = if trust_proxy {
        header("x-forwarded-for").and_then(|v| {
            v.rsplit(',')
                .next()
                .and_then(|s| s.trim().parse::<IpAddr>().ok())
        })
    } else {
        None
    };
    RequestMeta {
        request_id: header("x-request-id"),
        client_ip: forwarded.or(peer).map(|ip| ip.to_string()),
        user_agent: header("user-agent").map(|u| u.chars().take(300).collect()),
        forwarded_https: trust_proxy
            && header("x-forwarded-proto").is_some_and(|p| p.eq_ignore_ascii_case("https")),
    }
}

/// Whether a request id sent by a client or proxy is safe to adopt (logs and audit entries
/// carry it): at most 64 characters of letters, digits, `-` and `_`.
pub fn acceptable_request_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(xff: &str) -> Parts {
        Request::builder()
            .header("x-forwarded-for", xff)
            .body(())
            .unwrap()
            .into_parts()
            .0
    }

    #[test]
    fn behind_a_trusted_proxy_the_address_it_appended_counts_not_what_the_client_claimed() {
        let p = parts("6.6.6.6, 10.1.2.3");
        assert_eq!(
            meta_from_parts(&p, true).client_ip.as_deref(),
            Some("10.1.2.3")
        );
        assert_eq!(
            meta_from_parts(&p, false).client_ip,
            None,
            "ignored unless trusted"
        );
    }

    #[test]
    fn only_plain_request_ids_are_adopted() {
        assert!(acceptable_request_id(
            "0193a5b2-77c1-7d3e-9a4f-1b2c3d4e5f60"
        ));
        assert!(!acceptable_request_id(""));
        assert!(!acceptable_request_id("a b"));
        assert!(!acceptable_request_id(&"x".repeat(65)));
    }
}
