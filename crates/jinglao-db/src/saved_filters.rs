//! Saved filters: an account's named filters of a list, kept as the list's address query.
//! Each account sees and changes only its own.

use chrono::{DateTime, Utc};
use jinglao_domain::Invalid;
use uuid::Uuid;

use crate::{Conn, DbError, on_conn};

/// The most filters one account keeps per list.
pub const MAX_PER_LIST: i64 = 20;

/// A saved filter.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SavedFilter {
    /// Its id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// The list's address query.
    pub query: String,
}

/// The account's filters of `list`, by name.
pub async fn of(
    conn: &mut Conn<'_>,
    account: Uuid,
    list: &str,
) -> Result<Vec<SavedFilter>, DbError> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT id, name, query FROM saved_filters WHERE account_id = $1 AND list = $2 \
             ORDER BY name",
        )
        .bind(account)
        .bind(list)
        .fetch_all(&mut *c)
        .await
    })?)
}

/// Saves `query` under `name` (replacing a filter of the same name). The name must be 1–30
/// characters, the query at most 500; at most [`MAX_PER_LIST`] per list.
pub async fn save(
    conn: &mut Conn<'_>,
    account: Uuid,
    list: &str,
    name: &str,
    query: &str,
    now: DateTime<Utc>,
) -> Result<Uuid, DbError> {
    let name = name.trim();
    let mut inv = Invalid::new();
    match name.chars().count() {
        0 => inv.add("filter_name", "请给这个筛选起个名字"),
        n if n > 30 => inv.add("filter_name", "名字不超过 30 字"),
        _ => {}
    }
    if query.len() > 500 {
        inv.add("filter_name", "筛选条件太长，无法保存");
    }
    inv.into_result(())?;
    let count: i64 = on_conn!(conn, |c| {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM saved_filters WHERE account_id = $1 AND list = $2 AND name <> $3",
        )
        .bind(account)
        .bind(list)
        .bind(name)
        .fetch_one(&mut *c)
        .await
    })?;
    if count >= MAX_PER_LIST {
        return Err(Invalid::one(
            "filter_name",
            format!("每个列表最多保存 {MAX_PER_LIST} 个筛选，请先删除不用的"),
        )
        .into());
    }
    let id = Uuid::now_v7();
    on_conn!(conn, |c| {
        sqlx::query("DELETE FROM saved_filters WHERE account_id = $1 AND list = $2 AND name = $3")
            .bind(account)
            .bind(list)
            .bind(name)
            .execute(&mut *c)
            .await?;
        sqlx::query(
            "INSERT INTO saved_filters (id, account_id, list, name, query, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(account)
        .bind(list)
        .bind(name)
        .bind(query)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|_| ())
    })?;
    Ok(id)
}

/// Deletes one of the account's filters; another account's is left alone (and reads as not
/// found).
pub async fn delete(conn: &mut Conn<'_>, account: Uuid, id: Uuid) -> Result<(), DbError> {
    let n = on_conn!(conn, |c| {
        sqlx::query("DELETE FROM saved_filters WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    if n == 0 {
        return Err(DbError::NotFound);
    }
    Ok(())
}
