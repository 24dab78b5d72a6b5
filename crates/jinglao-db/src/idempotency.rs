//! Stored answers of API writes sent with an `Idempotency-Key` header: storage only. The
//! rules (what a replay, a mismatch or a request still running answers) are in the web
//! crate's `api::v1::idempotency`.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{Conn, DbError, on_conn};

/// What is kept of a key's first request.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Stored {
    /// `POST /api/v1/orders`.
    pub route: String,
    /// SHA-256 (hex) of the request body.
    pub request_hash: String,
    /// The answer's HTTP status; 0 while the first request is still running.
    pub status: i32,
    /// The answer's body (JSON).
    pub body: String,
    /// When the first request arrived.
    pub created_at: DateTime<Utc>,
}

/// One request claiming an idempotency key.
#[derive(Debug, Clone, Copy)]
pub struct Claim<'a> {
    /// The account sending it (keys are per account).
    pub account_id: Uuid,
    /// The key.
    pub key: &'a str,
    /// The endpoint, with its path ids.
    pub route: &'a str,
    /// A keyed digest of the parsed body.
    pub request_hash: &'a str,
}

/// Claims the key for the account: `None` when this request is the first (a pending row now
/// holds the key), otherwise what the first request left. A row older than `stale_before`, or
/// still pending since before `abandoned_before`, is replaced as if the key were new.
pub async fn claim(
    conn: &mut Conn<'_>,
    claim: &Claim<'_>,
    now: DateTime<Utc>,
    stale_before: DateTime<Utc>,
    abandoned_before: DateTime<Utc>,
) -> Result<Option<Stored>, DbError> {
    let Claim {
        account_id,
        key,
        route,
        request_hash,
    } = *claim;
    on_conn!(conn, |c| {
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE account_id = $1 AND idem_key = $2 \
             AND (created_at < $3 OR (status = 0 AND created_at < $4))",
        )
        .bind(account_id)
        .bind(key)
        .bind(stale_before)
        .bind(abandoned_before)
        .execute(&mut *c)
        .await
        .map(|_| ())
    })?;
    // The row found on conflict can vanish (released, purged) before it is read: try again.
    for _ in 0..3 {
        let inserted = on_conn!(conn, |c| {
            sqlx::query(
                "INSERT INTO idempotency_keys (account_id, idem_key, route, request_hash, status, body, created_at) \
                 VALUES ($1, $2, $3, $4, 0, '', $5) ON CONFLICT (account_id, idem_key) DO NOTHING",
            )
            .bind(account_id).bind(key).bind(route).bind(request_hash).bind(now)
            .execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
        if inserted == 1 {
            return Ok(None);
        }
        let first: Option<Stored> = on_conn!(conn, |c| {
            sqlx::query_as(
                "SELECT route, request_hash, status, body, created_at FROM idempotency_keys \
                 WHERE account_id = $1 AND idem_key = $2",
            )
            .bind(account_id)
            .bind(key)
            .fetch_optional(&mut *c)
            .await
        })?;
        if first.is_some() {
            return Ok(first);
        }
    }
    Err(DbError::Conflict {
        constraint: "idempotency_keys.idem_key".into(),
    })
}

/// Records the first request's answer.
pub async fn complete(
    conn: &mut Conn<'_>,
    account_id: Uuid,
    key: &str,
    status: u16,
    body: &str,
) -> Result<(), DbError> {
    on_conn!(conn, |c| {
        sqlx::query("UPDATE idempotency_keys SET status = $1, body = $2 WHERE account_id = $3 AND idem_key = $4")
            .bind(i32::from(status)).bind(body).bind(account_id).bind(key)
            .execute(&mut *c).await.map(|_| ())
    })?;
    Ok(())
}

/// Frees a key whose first request failed on the server's side, so a retry runs again.
pub async fn release(conn: &mut Conn<'_>, account_id: Uuid, key: &str) -> Result<(), DbError> {
    on_conn!(conn, |c| {
        sqlx::query("DELETE FROM idempotency_keys WHERE account_id = $1 AND idem_key = $2")
            .bind(account_id)
            .bind(key)
            .execute(&mut *c)
            .await
            .map(|_| ())
    })?;
    Ok(())
}

/// Deletes keys older than `before`; returns how many.
pub async fn purge(conn: &mut Conn<'_>, before: DateTime<Utc>) -> Result<u64, DbError> {
    Ok(on_conn!(conn, |c| {
        sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(before)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?)
}
