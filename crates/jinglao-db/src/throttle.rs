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

/// The key for a client address. An IPv6 client is counted by its /64 network: one home or
/// office is given a whole /64 and can pick any address in it, so counting single addresses
/// would give an attacker 2^64 fresh counters.
pub fn ip_key(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("ip:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(std::net::IpAddr::V6(v6)) => format!("ip:{}", v6.to_ipv4_mapped().expect("mapped")),
        _ => format!("ip:{ip}"),
    }
}

/// If `key` is locked at `now`, until when.
pub async fn locked_until(
    conn: &mut Conn<'_>,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, DbError> {
    let until: Option<Option<DateTime<Utc>>> = on_conn!(conn, |c| {
        sqlx::query_scalar("SELECT locked_until FROM login_throttle WHERE throttle_key = $1")
            .bind(key)
            .fetch_optional(&mut *c)
            .await
    })?;
    Ok(until.flatten().filter(|t| *t > now))
}

/// Reserves one attempt on each key *before* the secret is checked, so that attempts made in
/// parallel cannot all be checked before the first failure is counted: each attempt is
/// counted as a failure in advance, in one atomic upsert per key, and an attempt beyond the
/// limit is refused and locks the key. Returns the lock end if any key is locked (then the
/// secret must not be checked). After the check, call [`succeeded`] or [`failed`] with the
/// same keys. Run it in a transaction of its own and commit before checking the secret.
pub async fn reserve(
    conn: &mut Conn<'_>,
    keys: &[(&str, ThrottlePolicy)],
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, DbError> {
    let mut locked = None;
    for (key, _) in keys {
        locked = locked.max(locked_until(conn, key, now).await?);
    }
    if locked.is_some() {
        return Ok(locked);
    }
    for (key, policy) in keys {
        let window_start = now - policy.lockout;
        // A locked key is not counted (its count restarts when the lock is set), and the lock
        // is read in the same statement: an attempt that checked the lock just before another
        // attempt set it still sees it here.
        let (attempts, until): (i32, Option<DateTime<Utc>>) = on_conn!(conn, |c| {
            sqlx::query_as(
                "INSERT INTO login_throttle (throttle_key, failures, window_started_at, locked_until) \
                 VALUES ($1, 1, $2, NULL) \
                 ON CONFLICT (throttle_key) DO UPDATE SET \
                   failures = CASE WHEN login_throttle.locked_until > $2 THEN login_throttle.failures \
                                   WHEN login_throttle.window_started_at <= $3 THEN 1 \
                                   ELSE login_throttle.failures + 1 END, \
                   window_started_at = CASE WHEN login_throttle.locked_until > $2 \
                                              THEN login_throttle.window_started_at \
                                            WHEN login_throttle.window_started_at <= $3 THEN $2 \
                                            ELSE login_throttle.window_started_at END \
                 RETURNING failures, locked_until",
            )
            .bind(key)
            .bind(now)
            .bind(window_start)
            .fetch_one(&mut *c)
            .await
        })?;
        if let Some(until) = until.filter(|t| *t > now) {
            locked = locked.max(Some(until));
        } else if attempts > policy.max_failures {
            locked = locked.max(Some(lock(conn, key, *policy, now).await?));
        }
    }
    Ok(locked)
}

/// Locks `key` for the lockout period from `now` and starts a fresh window after it.
async fn lock(
    conn: &mut Conn<'_>,
    key: &str,
    policy: ThrottlePolicy,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, DbError> {
    let until = now + policy.lockout;
    on_conn!(conn, |c| {
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
    Ok(until)
}

/// The reserved attempt failed: it is already counted; the attempt that reached the limit
/// locks the key. Returns the lock end if a key is locked.
pub async fn failed(
    conn: &mut Conn<'_>,
    keys: &[(&str, ThrottlePolicy)],
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, DbError> {
    let mut locked = None;
    for (key, policy) in keys {
        let failures: Option<i32> = on_conn!(conn, |c| {
            sqlx::query_scalar("SELECT failures FROM login_throttle WHERE throttle_key = $1")
                .bind(key)
                .fetch_optional(&mut *c)
                .await
        })?;
        let until = if failures.is_some_and(|n| n >= policy.max_failures) {
            Some(lock(conn, key, *policy, now).await?)
        } else {
            locked_until(conn, key, now).await?
        };
        locked = locked.max(until);
    }
    Ok(locked)
}

/// The reserved attempt succeeded: its advance count is given back (a shared address keeps
/// the failures of others; an account's own failures are forgotten with [`clear`]).
pub async fn succeeded(conn: &mut Conn<'_>, keys: &[&str]) -> Result<(), DbError> {
    for key in keys {
        on_conn!(conn, |c| {
            sqlx::query(
                "UPDATE login_throttle SET failures = failures - 1 \
                 WHERE throttle_key = $1 AND failures > 0",
            )
            .bind(key)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// Forgets the failures of `key` (after a successful sign-in, or an administrator's unlock).
pub async fn clear(conn: &mut Conn<'_>, key: &str) -> Result<bool, DbError> {
    let n = on_conn!(conn, |c| {
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
    Ok(on_conn!(conn, |c| {
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

    async fn attempt(db: &crate::Db, key: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut tx = db.begin().await.unwrap();
        let locked = reserve(&mut tx.conn(), &[(key, POLICY)], now)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        locked
    }

    async fn fail(db: &crate::Db, key: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut tx = db.begin().await.unwrap();
        let locked = failed(&mut tx.conn(), &[(key, POLICY)], now).await.unwrap();
        tx.commit().await.unwrap();
        locked
    }

    crate::test_on_both! {
        async fn the_fifth_failure_locks_for_fifteen_minutes(t: TestDb) {
            let now = Utc::now();
            for _ in 0..4 {
                assert_eq!(attempt(&t.db, "user:a", now).await, None);
                assert_eq!(fail(&t.db, "user:a", now).await, None);
            }
            assert_eq!(attempt(&t.db, "user:a", now).await, None);
            let until = fail(&t.db, "user:a", now).await;
            assert_eq!(until, Some(now + Duration::minutes(15)));
            let mut c = t.db.acquire().await.unwrap();
            let mut conn = c.conn();
            assert!(locked_until(&mut conn, "user:a", now + Duration::minutes(14)).await.unwrap().is_some());
            assert!(locked_until(&mut conn, "user:a", now + Duration::minutes(15)).await.unwrap().is_none());
            assert!(locked_until(&mut conn, "user:b", now).await.unwrap().is_none());
        }
    }

    crate::test_on_both! {
        async fn twenty_attempts_reserved_before_any_is_checked_let_only_five_through(t: TestDb) {
            // Parallel guesses: all reserve before the first one's hash is checked.
            let now = Utc::now();
            let mut through = 0;
            for _ in 0..20 {
                if attempt(&t.db, "user:a", now).await.is_none() {
                    through += 1;
                }
            }
            assert_eq!(through, 5);
            let mut c = t.db.acquire().await.unwrap();
            assert!(locked_until(&mut c.conn(), "user:a", now).await.unwrap().is_some());
        }
    }

    crate::test_on_both! {
        async fn a_success_gives_its_reserved_attempt_back_and_old_failures_do_not_add_up(t: TestDb) {
            let now = Utc::now();
            for _ in 0..4 {
                attempt(&t.db, "ip:10.0.0.1", now).await;
                fail(&t.db, "ip:10.0.0.1", now).await;
            }
            // A colleague behind the same address signs in: not a fifth failure.
            assert_eq!(attempt(&t.db, "ip:10.0.0.1", now).await, None);
            let mut tx = t.db.begin().await.unwrap();
            succeeded(&mut tx.conn(), &["ip:10.0.0.1"]).await.unwrap();
            tx.commit().await.unwrap();
            assert_eq!(attempt(&t.db, "ip:10.0.0.1", now).await, None);
            assert_eq!(fail(&t.db, "ip:10.0.0.1", now).await.map(|_| "locked"), Some("locked"));
            // After the window, failures start again from one.
            let later = now + Duration::minutes(31);
            for _ in 0..4 {
                assert_eq!(attempt(&t.db, "ip:10.0.0.1", later).await, None);
                assert_eq!(fail(&t.db, "ip:10.0.0.1", later).await, None);
            }
            let mut c = t.db.acquire().await.unwrap();
            assert!(clear(&mut c.conn(), "ip:10.0.0.1").await.unwrap());
        }
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_slash_64_and_ipv4_by_address() {
        assert_eq!(ip_key("2001:db8:1:2:aaaa::1"), "ip:2001:db8:1:2::/64");
        assert_eq!(ip_key("2001:db8:1:2:ffff:1:2:3"), ip_key("2001:db8:1:2::9"));
        assert_ne!(ip_key("2001:db8:1:3::1"), ip_key("2001:db8:1:2::1"));
        assert_eq!(ip_key("10.1.2.3"), "ip:10.1.2.3");
        assert_eq!(ip_key("::ffff:10.1.2.3"), "ip:10.1.2.3");
    }
}
