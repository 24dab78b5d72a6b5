//! `Idempotency-Key` on API writes: a client that retries a write after a dropped connection,
//! with the same key and the same body, gets the first answer again (marked
//! `Idempotent-Replayed: true`) instead of a second order or a second statement step.
//!
//! Keys belong to the account that sent them and are kept for a day. The same key on another
//! endpoint or with another body is refused (422, naming `Idempotency-Key`); a retry that
//! arrives while the first request is still being answered gets 409. A first request that
//! failed on the server's side (5xx) frees its key, so the retry runs again.

use axum::Json;
use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::auth::CurrentUser;
use crate::error::{ApiError, AppError};
use crate::state::AppState;
use crate::usecase::Acting;

/// How long a key's answer is replayed.
pub const KEPT_FOR: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// The header's name.
pub const HEADER: &str = "Idempotency-Key";

/// Longest key accepted.
const MAX_LEN: usize = 128;

/// Largest answer kept for replay (answers of these endpoints are far smaller).
const MAX_BODY: usize = 1024 * 1024;

/// How long a first request may be "still running" before a retry takes the key over: only a
/// server that stopped mid-write leaves a key pending (the write runs in its own task).
pub const PENDING_FOR: chrono::TimeDelta = chrono::TimeDelta::minutes(2);

/// The request's `Idempotency-Key`, if it sent one: 1–128 visible ASCII characters (a UUID
/// is the usual choice).
#[derive(Debug, Clone, Default)]
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(HEADER) else {
            return Ok(IdempotencyKey(None));
        };
        let bad = || {
            ApiError(AppError::BadRequest {
                message: format!("{HEADER} 应为 1 至 {MAX_LEN} 个可见 ASCII 字符（建议使用 UUID）"),
                field: Some(HEADER.into()),
            })
        };
        let text = value.to_str().map_err(|_| bad())?.trim();
        if text.is_empty() || text.len() > MAX_LEN || !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(bad());
        }
        Ok(IdempotencyKey(Some(text.to_string())))
    }
}

/// Runs a write once per key: without a key, simply runs it; with one, answers a retry with
/// the stored answer. `route` names the endpoint (`POST /api/v1/orders/{id}/cancel`, with the
/// path's ids) and `request` is the parsed body, whose hash tells a true retry from a reused
/// key. With a key the write runs in a task of its own, so a client that hangs up does not
/// cancel it half-way: it finishes, and its answer is kept for the retry.
pub async fn once<B, T, Fut>(
    state: AppState,
    acting: Acting,
    key: IdempotencyKey,
    route: String,
    request: B,
    run: impl FnOnce(AppState, Acting, B) -> Fut + Send + 'static,
) -> Response
where
    B: Serialize + Send + 'static,
    T: Serialize,
    Fut: Future<Output = Result<(StatusCode, T), ApiError>> + Send + 'static,
{
    let Some(key) = key.0 else {
        return answer(run(state, acting, request).await);
    };
    match claimed(&state, &acting.user, &key, &route, &request).await {
        Ok(None) => {}
        Ok(Some(replay)) => return replay,
        Err(e) => return e.into_response(),
    }
    let task = tokio::spawn(async move {
        let account = acting.user.account.id;
        let response = answer(run(state.clone(), acting, request).await);
        keep(&state, account, &key, response).await
    });
    match task.await {
        Ok(response) => response,
        Err(e) => {
            ApiError(AppError::Internal(anyhow::anyhow!("idempotent write: {e}"))).into_response()
        }
    }
}

/// Keeps a first answer for replay (or frees the key after a server-side failure) and gives
/// the answer back.
async fn keep(state: &AppState, account: uuid::Uuid, key: &str, response: Response) -> Response {
    let free = async || {
        if let Ok(mut c) = state.db.acquire().await {
            let _ = jinglao_db::idempotency::release(&mut c.conn(), account, key).await;
        }
    };
    if response.status().is_server_error() {
        free().await;
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        free().await;
        return ApiError(AppError::Internal(anyhow::anyhow!(
            "answer too large to keep"
        )))
        .into_response();
    };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let stored = async {
        let mut c = state.db.acquire().await?;
        jinglao_db::idempotency::complete(&mut c.conn(), account, key, parts.status.as_u16(), &text)
            .await
    }
    .await;
    if let Err(e) = stored {
        // The write happened; only its replay is lost (a retry after the pending time runs
        // again). Say so in the log, answer as usual.
        tracing::warn!(error = %e, "an idempotent answer could not be kept");
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The unkeyed body hash of keys claimed before the keyed digest (kept for one day's keys).
fn legacy_hash(body: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(body))
}

fn answer<T: Serialize>(result: Result<(StatusCode, T), ApiError>) -> Response {
    match result {
        Ok((status, body)) => (status, Json(body)).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `Ok(None)`: this request holds the key now; `Ok(Some(answer))`: the stored answer (or the
/// refusal) to send instead of running.
async fn claimed(
    state: &AppState,
    user: &CurrentUser,
    key: &str,
    route: &str,
    request: &impl Serialize,
) -> Result<Option<Response>, ApiError> {
    let body = serde_json::to_vec(request).map_err(|e| AppError::Internal(e.into()))?;
    // Keyed: a body may hold an ID number, which an unkeyed hash would let a reader of the
    // table confirm by guessing.
    let hash = state.keys.cipher.digest(&body);
    let now = state.clock.now();
    let mut c = state.db.acquire().await.map_err(AppError::from)?;
    let Some(first) = jinglao_db::idempotency::claim(
        &mut c.conn(),
        &jinglao_db::idempotency::Claim {
            account_id: user.account.id,
            key,
            route,
            request_hash: &hash,
        },
        now,
        now - KEPT_FOR,
        now - PENDING_FOR,
    )
    .await
    .map_err(AppError::from)?
    else {
        return Ok(None);
    };
    // Keys claimed before the digest was keyed hold the plain SHA-256 of the body; they are
    // honoured until they age out (KEPT_FOR), so a retry across the upgrade is still a retry.
    let same_body = first.request_hash == hash || first.request_hash == legacy_hash(&body);
    if first.route != route || !same_body {
        return Err(AppError::Invalid(jinglao_domain::Invalid::one(
            HEADER,
            "这个幂等键已用于另一个请求；新的请求请换一个新的键",
        ))
        .into());
    }
    if first.status == 0 {
        return Err(AppError::Conflict("使用同一幂等键的请求正在处理，请稍后重试".into()).into());
    }
    let status = u16::try_from(first.status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let mut response = Response::new(Body::from(first.body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert("Idempotent-Replayed", HeaderValue::from_static("true"));
    Ok(Some(response))
}
