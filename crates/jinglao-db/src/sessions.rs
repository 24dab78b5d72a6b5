//! Server-side browser sessions. The cookie carries a random secret; the table is keyed by its
//! SHA-256, so a copy of the database does not hand out live sessions.

use chrono::{DateTime, Duration, Utc};
use jinglao_domain::Account;
use uuid::Uuid;

use crate::users::{COLUMNS, account_from_row};
use crate::{Conn, DbError, on_conn};

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 (hex) of the cookie secret.
    pub id_hash: String,
    /// Its account.
    pub user_id: Uuid,
    /// The token every form of this session must carry.
    pub csrf_token: String,
    /// Sign-in time.
    pub created_at: DateTime<Utc>,
    /// Last request (updated at most once a minute).
    pub last_seen_at: DateTime<Utc>,
    /// Absolute end, however active the session is.
    pub expires_at: DateTime<Utc>,
    /// Address at sign-in.
    pub client_ip: Option<String>,
}

/// A session about to start.
#[derive(Debug, Clone, Copy)]
pub struct NewSession<'a> {
    /// The account signing in.
    pub user_id: Uuid,
    /// A digest of the session secret (the cookie holds the secret).
    pub id_hash: &'a str,
    /// The session's CSRF token.
    pub csrf_token: &'a str,
    /// Address at sign-in.
    pub client_ip: Option<&'a str>,
    /// Browser at sign-in.
    pub user_agent: Option<&'a str>,
}

/// A new session, valid for `absolute` from `now`.
pub async fn insert(
    conn: &mut Conn<'_>,
    new: &NewSession<'_>,
    now: DateTime<Utc>,
    absolute: Duration,
) -> Result<Session, DbError> {
    let NewSession {
        user_id,
        id_hash,
        csrf_token,
        client_ip,
        user_agent,
    } = *new;
    let expires_at = now + absolute;
    let ua: Option<String> = user_agent.map(|u| u.chars().take(300).collect());
    on_conn!(conn, |c| {
        sqlx::query(
            "INSERT INTO sessions (id, user_id, csrf_token, created_at, last_seen_at, expires_at, \
             client_ip, user_agent) VALUES ($1, $2, $3, $4, $4, $5, $6, $7)",
        )
        .bind(id_hash)
        .bind(user_id)
        .bind(csrf_token)
        .bind(now)
        .bind(expires_at)
        .bind(client_ip)
        .bind(ua)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(Session {
        id_hash: id_hash.to_string(),
        user_id,
        csrf_token: csrf_token.to_string(),
        created_at: now,
        last_seen_at: now,
        expires_at,
        client_ip: client_ip.map(str::to_string),
    })
}

/// The session and its account, whatever their state (the caller applies the time-outs).
pub async fn find(
    conn: &mut Conn<'_>,
    id_hash: &str,
) -> Result<Option<(Session, Account)>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS}, s.id AS s_id, s.csrf_token AS s_csrf, s.created_at AS s_created, \
         s.last_seen_at AS s_seen, s.expires_at AS s_expires, s.client_ip AS s_ip \
         FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1"
    );
    let found = on_conn!(conn, |c| {
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id_hash)
            .fetch_optional(&mut *c)
            .await?;
        match row {
            None => None,
            Some(row) => {
                use sqlx::Row;
                let account = account_from_row(&row)?;
                let session = Session {
                    id_hash: row.try_get("s_id")?,
                    user_id: account.id,
                    csrf_token: row.try_get("s_csrf")?,
                    created_at: row.try_get("s_created")?,
                    last_seen_at: row.try_get("s_seen")?,
                    expires_at: row.try_get("s_expires")?,
                    client_ip: row.try_get("s_ip")?,
                };
                Some((session, account))
            }
        }
    });
    Ok(found)
}

/// Records activity on a session.
pub async fn touch(conn: &mut Conn<'_>, id_hash: &str, now: DateTime<Utc>) -> Result<(), DbError> {
    on_conn!(conn, |c| {
        sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id = $1")
            .bind(id_hash)
            .bind(now)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Ends a session. Returns whether it existed.
pub async fn delete(conn: &mut Conn<'_>, id_hash: &str) -> Result<bool, DbError> {
    let r = on_conn!(conn, |c| {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id_hash)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(r > 0)
}

/// Deletes sessions past their absolute end or idle for longer than `idle`.
pub async fn delete_stale(
    conn: &mut Conn<'_>,
    now: DateTime<Utc>,
    idle: Duration,
) -> Result<u64, DbError> {
    let n = on_conn!(conn, |c| {
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
            .bind(now)
            .bind(now - idle)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(n)
}

/// Number of live sessions of an account.
pub async fn count_for_user(conn: &mut Conn<'_>, user_id: Uuid) -> Result<i64, DbError> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(&mut *c)
            .await
    })?)
}
