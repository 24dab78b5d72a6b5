//! Staff notifications (通知中心): a line for each account concerned, written in the same
//! transaction as the change it reports, read and marked read by its owner only.

use chrono::{DateTime, Utc};
use jinglao_domain::{RegionCode, Role};
use uuid::Uuid;

use crate::{Conn, DbError, on_conn};

/// One notification.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Notification {
    /// Its id.
    pub id: Uuid,
    /// What it is about (`application_returned`, …).
    pub kind: String,
    /// One line.
    pub title: String,
    /// A sentence or two.
    pub body: String,
    /// Where to act on it.
    pub link: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// When its owner read it.
    pub read_at: Option<DateTime<Utc>>,
}

/// A notification to write.
#[derive(Debug, Clone, Copy)]
pub struct New<'a> {
    /// Kind.
    pub kind: &'a str,
    /// Title.
    pub title: &'a str,
    /// Body.
    pub body: &'a str,
    /// Link.
    pub link: &'a str,
}

/// The active accounts of `roles` whose area holds `region` (their region is `region` or above
/// it): who is concerned by something that happened there.
pub async fn staff_covering(
    conn: &mut Conn<'_>,
    region: &RegionCode,
    roles: &[Role],
) -> Result<Vec<Uuid>, DbError> {
    let mut areas: Vec<String> = region.ancestors().iter().map(|r| r.to_string()).collect();
    areas.push(region.to_string());
    Ok(on_conn!(conn, |c| {
        let mut q =
            sqlx::QueryBuilder::new("SELECT id FROM users WHERE active AND region_code IN (");
        let mut sep = q.separated(", ");
        for a in &areas {
            sep.push_bind(a.clone());
        }
        q.push(") AND role IN (");
        let mut sep = q.separated(", ");
        for r in roles {
            sep.push_bind(r.as_str());
        }
        q.push(") ORDER BY id");
        q.build_query_scalar().fetch_all(&mut *c).await
    })?)
}

/// Writes `n` for each of `accounts`; returns how many were written.
pub async fn add(
    conn: &mut Conn<'_>,
    accounts: &[Uuid],
    n: New<'_>,
    now: DateTime<Utc>,
) -> Result<usize, DbError> {
    for account in accounts {
        on_conn!(conn, |c| {
            sqlx::query(
                "INSERT INTO notifications (id, account_id, kind, title, body, link, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(Uuid::now_v7())
            .bind(account)
            .bind(n.kind)
            .bind(n.title)
            .bind(n.body)
            .bind(n.link)
            .bind(now)
            .execute(&mut *c)
            .await
            .map(|_| ())
        })?;
    }
    Ok(accounts.len())
}

/// Writes `n` for each of `accounts` that has not had a notification keyed `key` yet (what the
/// server writes on its own, however often its check runs); returns how many were written.
pub async fn add_once(
    conn: &mut Conn<'_>,
    accounts: &[Uuid],
    n: New<'_>,
    key: &str,
    now: DateTime<Utc>,
) -> Result<usize, DbError> {
    let mut written = 0;
    for account in accounts {
        written += on_conn!(conn, |c| {
            sqlx::query(
                "INSERT INTO notifications (id, account_id, kind, title, body, link, created_at, dedup_key) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            )
            .bind(Uuid::now_v7())
            .bind(account)
            .bind(n.kind)
            .bind(n.title)
            .bind(n.body)
            .bind(n.link)
            .bind(now)
            .bind(key)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected() as usize)
        })?;
    }
    Ok(written)
}

/// The account's latest notifications (newest first, at most `limit`) and how many are unread.
pub async fn list(
    conn: &mut Conn<'_>,
    account: Uuid,
    limit: i64,
) -> Result<(Vec<Notification>, i64), DbError> {
    let rows = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT id, kind, title, body, link, created_at, read_at FROM notifications \
             WHERE account_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(account)
        .bind(limit)
        .fetch_all(&mut *c)
        .await
    })?;
    Ok((rows, unread(conn, account).await?))
}

/// One of the account's notifications (another account's reads as none).
pub async fn get(
    conn: &mut Conn<'_>,
    account: Uuid,
    id: Uuid,
) -> Result<Option<Notification>, DbError> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT id, kind, title, body, link, created_at, read_at FROM notifications \
             WHERE id = $1 AND account_id = $2",
        )
        .bind(id)
        .bind(account)
        .fetch_optional(&mut *c)
        .await
    })?)
}

/// How many of the account's notifications are unread.
pub async fn unread(conn: &mut Conn<'_>, account: Uuid) -> Result<i64, DbError> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM notifications WHERE account_id = $1 AND read_at IS NULL",
        )
        .bind(account)
        .fetch_one(&mut *c)
        .await
    })?)
}

/// Marks one (or, with `None`, every) notification of the account read; another account's
/// notification is left alone. Returns how many changed.
pub async fn mark_read(
    conn: &mut Conn<'_>,
    account: Uuid,
    id: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<u64, DbError> {
    Ok(on_conn!(conn, |c| {
        let mut q = sqlx::QueryBuilder::new("UPDATE notifications SET read_at = ");
        q.push_bind(now)
            .push(" WHERE account_id = ")
            .push_bind(account)
            .push(" AND read_at IS NULL");
        if let Some(id) = id {
            q.push(" AND id = ").push_bind(id);
        }
        q.build().execute(&mut *c).await.map(|r| r.rows_affected())
    })?)
}
