//! Failed sign-in counters and lockout, shared by every server process through the database.
//!
//! A key is `user:<name>` or `ip:<address>`. Failures count within a window; reaching the limit
//! locks the key until the window's lockout ends. Unknown user names are counted like known
//! ones, so the response never reveals whether an account exists.

use chrono::{DateTime, Duration, Utc};

use crate::{Conn, DbError, on_conn};

/// Limits, from configuration.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    /// Failures that lock a key.
    pub max_failures: i32,
    /// Window in which failures add up, and also how long a lock lasts.
    pub lockout: Duration,
}

/// The key for an account name.
pub fn user_key(username: &str) -> String {
    format!("user:{}", username.trim().to_lowercase())
}

/// The key for a client address.
pub fn ip_key(ip: &str) -> String {
    format!("ip:{ip}")
}

/// If `key` is locked at `now`, until when.
pub async fn locked_until(
    conn: &mut Conn<'_>,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, DbError> {
    let until: Option<Option<DateTime<Utc>>> = on_conn!(conn, c => {
        sqlx::query_scalar("SELECT locked_until FROM login_throttle WHERE throttle_key = $1")
            .bind(key)
            .fetch_optional(&mut *c)
            .await
    })?;
    Ok(until.flatten().filter(|t| *t > now))
}

/// Counts one failure for `key` and returns the lock end if this failure (or an earlier one)
/// locked it. One atomic upsert, so concurrent attempts from several processes all count.
pub async fn record_failure(
    conn: &mut Conn<'_>,
    key: &str,
    policy: ThrottlePolicy,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, DbError> {
    let window_start = now - policy.lockout;
    let failures: i32 = on_conn!(conn, c => {
        sqlx::query_scalar(
            "INSERT INTO login_throttle (throttle_key, failures, window_started_at, locked_until) \
             VALUES ($1, 1, $2, NULL) \
             ON CONFLICT (throttle_key) DO UPDATE SET \
               failures = CASE WHEN login_throttle.window_started_at <= $3 THEN 1 \
                               ELSE login_throttle.failures + 1 END, \
               window_started_at = CASE WHEN login_throttle.window_started_at <= $3 THEN $2 \
                                        ELSE login_throttle.window_started_at END \
             RETURNING failures",
        )
        .bind(key)
        .bind(now)
        .bind(window_start)
        .fetch_one(&mut *c)
        .await
    })?;
    if failures >= policy.max_failures {
        let until = now + policy.lockout;
        on_conn!(conn, c => {
            sqlx::query(
                "UPDATE login_throttle SET locked_until = $2, failures = 0, window_started_at = $3 \
                 WHERE throttle_key = $1",
            )
            .bind(key)
            .bind(until)
            .bind(now)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
        })?;
        return Ok(Some(until));
    }
    locked_until(conn, key, now).await
}

/// Forgets the failures of `key` (after a successful sign-in, or an administrator's unlock).
pub async fn clear(conn: &mut Conn<'_>, key: &str) -> Result<bool, DbError> {
    let n = on_conn!(conn, c => {
        sqlx::query("DELETE FROM login_throttle WHERE throttle_key = $1")
            .bind(key)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(n > 0)
}

/// Keys locked at `now`, with their lock end (for the administrators' unlock list).
pub async fn locked(
    conn: &mut Conn<'_>,
    now: DateTime<Utc>,
) -> Result<Vec<(String, DateTime<Utc>)>, DbError> {
    Ok(on_conn!(conn, c => {
        sqlx::query_as(
            "SELECT throttle_key, locked_until FROM login_throttle \
             WHERE locked_until > $1 ORDER BY throttle_key",
        )
        .bind(now)
        .fetch_all(&mut *c)
        .await
    })?)
}

/// Lifts a lock (and forgets the failures) on an account name or address, audited.
pub async fn unlock(
    db: &crate::Db,
    key: &crate::audit::ChainKey,
    actor: &crate::Actor,
    throttle_key: &str,
    region: Option<jinglao_domain::RegionCode>,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let existed = clear(&mut conn, throttle_key).await?;
    if existed {
        let event =
            crate::audit::Event::new("auth.unlock", "login_throttle", throttle_key).region(region);
        crate::audit::append(&mut conn, key, actor, event, now).await?;
    }
    tx.commit().await?;
    Ok(existed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDb;

    const POLICY: ThrottlePolicy = ThrottlePolicy {
        max_failures: 5,
        lockout: Duration::minutes(15),
    };

    crate::test_on_both! {
        async fn the_fifth_failure_locks_for_fifteen_minutes(t: TestDb) {
            let now = Utc::now();
            let mut c = t.db.acquire().await.unwrap();
            let mut conn = c.conn();
            for _ in 0..4 {
                assert_eq!(record_failure(&mut conn, "user:a", POLICY, now).await.unwrap(), None);
            }
            let until = record_failure(&mut conn, "user:a", POLICY, now).await.unwrap();
            assert_eq!(until, Some(now + Duration::minutes(15)));
            assert!(locked_until(&mut conn, "user:a", now + Duration::minutes(14)).await.unwrap().is_some());
            assert!(locked_until(&mut conn, "user:a", now + Duration::minutes(15)).await.unwrap().is_none());
            assert!(locked_until(&mut conn, "user:b", now).await.unwrap().is_none());
        }
    }

    crate::test_on_both! {
        async fn failures_older_than_the_window_do_not_add_up(t: TestDb) {
            let now = Utc::now();
            let mut c = t.db.acquire().await.unwrap();
            let mut conn = c.conn();
            for _ in 0..4 {
                record_failure(&mut conn, "ip:10.0.0.1", POLICY, now).await.unwrap();
            }
            let later = now + Duration::minutes(16);
            for _ in 0..4 {
                assert_eq!(record_failure(&mut conn, "ip:10.0.0.1", POLICY, later).await.unwrap(), None);
            }
            assert!(clear(&mut conn, "ip:10.0.0.1").await.unwrap());
        }
    }
}
