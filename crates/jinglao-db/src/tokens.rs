//! API bearer tokens: short-lived ones issued at `POST /api/v1/auth/token` and long-lived
//! integration tokens created at the command line. Only a SHA-256 of each token is stored.

use chrono::{DateTime, Utc};
use jinglao_domain::{Account, Scope};
use serde_json::json;
use uuid::Uuid;

use crate::WriteCtx;
use crate::audit::{self, ChainKey, Event};
use crate::users::{COLUMNS, account_from_row};
use crate::{Actor, Conn, Db, DbError, on_conn};

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Issued at sign-in through the API; expires with the session lifetime.
    Login,
    /// Created by an operator for another system; lives for days, revocable.
    Integration,
}

impl TokenKind {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Login => "login",
            TokenKind::Integration => "integration",
        }
    }
}

/// A token's record (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// Id.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// Kind name.
    pub kind: String,
    /// Label given at creation.
    pub name: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Expires.
    pub expires_at: DateTime<Utc>,
    /// Last use (recorded at most once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// Revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: Uuid,
    user_id: Uuid,
    kind: String,
    name: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<TokenRow> for TokenRecord {
    fn from(r: TokenRow) -> Self {
        TokenRecord {
            id: r.id,
            user_id: r.user_id,
            kind: r.kind,
            name: r.name,
            created_at: r.created_at,
            expires_at: r.expires_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        }
    }
}

/// Stores a new token's hash.
pub async fn insert(
    conn: &mut Conn<'_>,
    user_id: Uuid,
    token_hash: &str,
    kind: TokenKind,
    name: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<TokenRecord, DbError> {
    let id = Uuid::now_v7();
    on_conn!(conn, |c| {
        sqlx::query(
            "INSERT INTO api_tokens (id, user_id, token_hash, kind, name, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(user_id)
        .bind(token_hash)
        .bind(kind.as_str())
        .bind(name)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(TokenRecord {
        id,
        user_id,
        kind: kind.as_str().into(),
        name: name.into(),
        created_at: now,
        expires_at,
        last_used_at: None,
        revoked_at: None,
    })
}

/// The live token with this hash and its active account: not revoked, not expired.
pub async fn find_live(
    conn: &mut Conn<'_>,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<(TokenRecord, Account)>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS}, t.id AS t_id, t.kind AS t_kind, t.name AS t_name, \
         t.created_at AS t_created, t.expires_at AS t_expires, t.last_used_at AS t_used \
         FROM api_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2 AND u.active = TRUE"
    );
    let found = on_conn!(conn, |c| {
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&mut *c)
            .await?;
        match row {
            None => None,
            Some(row) => {
                use sqlx::Row;
                let account = account_from_row(&row)?;
                let token = TokenRecord {
                    id: row.try_get("t_id")?,
                    user_id: account.id,
                    kind: row.try_get("t_kind")?,
                    name: row.try_get("t_name")?,
                    created_at: row.try_get("t_created")?,
                    expires_at: row.try_get("t_expires")?,
                    last_used_at: row.try_get("t_used")?,
                    revoked_at: None,
                };
                Some((token, account))
            }
        }
    });
    Ok(found)
}

/// Records a use of a token.
pub async fn touch(conn: &mut Conn<'_>, id: Uuid, now: DateTime<Utc>) -> Result<(), DbError> {
    on_conn!(conn, |c| {
        sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Tokens of an account, newest first.
pub async fn list_for_user(
    conn: &mut Conn<'_>,
    user_id: Uuid,
) -> Result<Vec<TokenRecord>, DbError> {
    let rows: Vec<TokenRow> = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT id, user_id, kind, name, created_at, expires_at, last_used_at, revoked_at \
             FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC",
        )
        .bind(user_id)
        .fetch_all(&mut *c)
        .await
    })?;
    Ok(rows.into_iter().map(TokenRecord::from).collect())
}

/// Creates an integration token for an account within the actor's scope, audited.
pub async fn create_integration(
    w: &WriteCtx<'_>,
    user_id: Uuid,
    name: &str,
    token_hash: &str,
    expires_at: DateTime<Utc>,
) -> Result<TokenRecord, DbError> {
    let (db, key, actor, now) = (w.db, w.chain, w.actor, w.now);
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let account = crate::users::get(&mut conn, &actor.scope, user_id)
        .await?
        .ok_or(DbError::NotFound)?;
    let rec = insert(
        &mut conn,
        user_id,
        token_hash,
        TokenKind::Integration,
        name,
        now,
        expires_at,
    )
    .await?;
    let event = Event::new("auth.token_create", "api_token", rec.id)
        .region(Some(account.region_code))
        .detail(json!({
            "username": account.username.as_str(),
            "name": name,
            "expires_at": expires_at,
        }));
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(rec)
}

/// Revokes a token. An account may revoke its own tokens; otherwise the token's owner must be
/// within the actor's scope. Revoking twice is not an error (idempotent).
pub async fn revoke(
    db: &Db,
    key: &ChainKey,
    actor: &Actor,
    token_id: Uuid,
    now: DateTime<Utc>,
) -> Result<TokenRecord, DbError> {
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let row: Option<TokenRow> = on_conn!(&mut conn, |c| {
        sqlx::query_as(
            "SELECT id, user_id, kind, name, created_at, expires_at, last_used_at, revoked_at \
             FROM api_tokens WHERE id = $1",
        )
        .bind(token_id)
        .fetch_optional(&mut *c)
        .await
    })?;
    let rec = TokenRecord::from(row.ok_or(DbError::NotFound)?);
    let owner_scope = if actor.user_id == Some(rec.user_id) {
        Scope::All
    } else {
        actor.scope.clone()
    };
    let owner = crate::users::get(&mut conn, &owner_scope, rec.user_id)
        .await?
        .ok_or(DbError::NotFound)?;
    if rec.revoked_at.is_some() {
        return Ok(rec);
    }
    on_conn!(&mut conn, |c| {
        sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE id = $1")
            .bind(token_id)
            .bind(now)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    let event = Event::new("auth.token_revoke", "api_token", token_id)
        .region(Some(owner.region_code))
        .detail(json!({ "username": owner.username.as_str(), "name": rec.name, "kind": rec.kind }));
    audit::append(&mut conn, key, actor, event, now).await?;
    tx.commit().await?;
    Ok(TokenRecord {
        revoked_at: Some(now),
        ..rec
    })
}
