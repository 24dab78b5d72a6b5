//! Text messages to older people and their families (短信). A message is queued inside the
//! transaction of what it reports — only for a person whose family chose SMS
//! (`elders.notify_by`) and who has a phone on record — and sent afterwards by the web layer's
//! gateway, which reads the number from `elder_phones` (encrypted) at that moment.

use chrono::{DateTime, Utc};
use jinglao_domain::{Invalid, Scope};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, Event};
use crate::crypto::{Field, FieldCipher};
use crate::{Conn, DbError, WriteCtx, on_conn};

/// The ways a family may choose to be told things: (stable name, words).
pub const CHANNELS: [(&str, &str); 2] = [
    ("phone", "电话（由村、社区或服务机构打电话告知）"),
    ("sms", "短信"),
];

/// The most characters one message may carry (two SMS segments).
pub const MAX_CHARS: usize = 134;

/// Queues `body` for the person if they chose SMS and have a phone; returns the message id,
/// or `None` when nothing is to be sent.
pub async fn queue(
    conn: &mut Conn<'_>,
    elder_id: Uuid,
    purpose: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, DbError> {
    let to: Option<(String, String)> = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT e.notify_by, p.phone_masked FROM elders e \
             JOIN elder_phones p ON p.elder_id = e.id AND p.position = 0 WHERE e.id = $1",
        )
        .bind(elder_id)
        .fetch_optional(&mut *c)
        .await
    })?;
    let Some((_, masked)) = to.filter(|(by, _)| by == "sms") else {
        return Ok(None);
    };
    let text: String = body.chars().take(MAX_CHARS).collect();
    let id = Uuid::now_v7();
    on_conn!(conn, |c| {
        sqlx::query(
            "INSERT INTO sms_messages (id, elder_id, phone_masked, purpose, body, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, 'pending', $6)",
        )
        .bind(id)
        .bind(elder_id)
        .bind(&masked)
        .bind(purpose)
        .bind(&text)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|_| ())
    })?;
    Ok(Some(id))
}

/// A message waiting to be sent, with its number decrypted.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The message.
    pub id: Uuid,
    /// The full number (only for the gateway; never shown or logged).
    pub phone: String,
    /// The masked number, for logs.
    pub phone_masked: String,
    /// The text.
    pub body: String,
}

/// A pending message as stored: id, person, masked number, text, the encrypted number.
type PendingRow = (Uuid, Uuid, String, String, Option<Vec<u8>>);

/// Up to `limit` pending messages, oldest first, with their numbers.
pub async fn pending(
    conn: &mut Conn<'_>,
    cipher: &FieldCipher,
    limit: i64,
) -> Result<Vec<Outgoing>, DbError> {
    let rows: Vec<PendingRow> = on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT m.id, m.elder_id, m.phone_masked, m.body, p.phone_cipher FROM sms_messages m \
             LEFT JOIN elder_phones p ON p.elder_id = m.elder_id AND p.position = 0 \
             WHERE m.status = 'pending' ORDER BY m.created_at, m.id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&mut *c)
        .await
    })?;
    rows.into_iter()
        .map(|(id, elder, masked, body, blob)| {
            let phone = match blob {
                Some(b) => cipher.decrypt(Field::Phone, elder, &b)?,
                None => String::new(),
            };
            Ok(Outgoing {
                id,
                phone,
                phone_masked: masked,
                body,
            })
        })
        .collect()
}

/// Records what the gateway answered.
pub async fn mark(
    conn: &mut Conn<'_>,
    id: Uuid,
    result: Result<(), String>,
    gateway: &str,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let (status, error) = match result {
        Ok(()) => ("sent", String::new()),
        Err(e) => ("failed", e.chars().take(200).collect()),
    };
    on_conn!(conn, |c| {
        sqlx::query(
            "UPDATE sms_messages SET status = $2, gateway = $3, error = $4, sent_at = $5 WHERE id = $1",
        )
        .bind(id)
        .bind(status)
        .bind(gateway)
        .bind(error)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|_| ())
    })?;
    Ok(())
}

/// A message as the person's record lists it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Sent {
    /// The masked number.
    pub phone_masked: String,
    /// Why it was sent.
    pub purpose: String,
    /// The text.
    pub body: String,
    /// pending | sent | failed.
    pub status: String,
    /// When queued.
    pub created_at: DateTime<Utc>,
}

/// The person's latest messages (newest first).
pub async fn of_elder(
    conn: &mut Conn<'_>,
    elder_id: Uuid,
    limit: i64,
) -> Result<Vec<Sent>, DbError> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT phone_masked, purpose, body, status, created_at FROM sms_messages \
             WHERE elder_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(elder_id)
        .bind(limit)
        .fetch_all(&mut *c)
        .await
    })?)
}

/// The person's choice (`phone` or `sms`).
pub async fn preference(conn: &mut Conn<'_>, elder_id: Uuid) -> Result<String, DbError> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_scalar("SELECT notify_by FROM elders WHERE id = $1")
            .bind(elder_id)
            .fetch_optional(&mut *c)
            .await
    })?
    .unwrap_or_else(|| "phone".into()))
}

/// Sets how the person's family wants to be told things, for a record in `scope` (a public
/// caller passes the scope of the person it has verified); audited.
pub async fn set_preference(
    w: &WriteCtx<'_>,
    scope: &Scope,
    elder_id: Uuid,
    by: &str,
) -> Result<(), DbError> {
    if !CHANNELS.iter().any(|(c, _)| *c == by) {
        return Err(Invalid::one("notify_by", "请选择电话或短信").into());
    }
    let mut tx = w.db.begin().await?;
    let mut conn = tx.conn();
    let e = crate::elders::get(&mut conn, scope, elder_id)
        .await?
        .ok_or(DbError::NotFound)?;
    if by == "sms" && e.phones_masked.is_empty() {
        return Err(Invalid::one(
            "notify_by",
            "档案里没有这位老人的电话，不能选短信；请先在村（社区）登记电话",
        )
        .into());
    }
    let before = preference(&mut conn, elder_id).await?;
    if before == by {
        return Ok(());
    }
    on_conn!(&mut conn, |c| {
        sqlx::query("UPDATE elders SET notify_by = $2, updated_at = $3 WHERE id = $1")
            .bind(elder_id)
            .bind(by)
            .bind(w.now)
            .execute(&mut *c)
            .await
            .map(|_| ())
    })?;
    let event = Event::new("elder.notify_by", "elder", elder_id)
        .region(Some(e.residence_region))
        .detail(json!({ "from": before, "to": by }));
    audit::append(&mut conn, w.chain, w.actor, event, w.now).await?;
    tx.commit().await?;
    Ok(())
}
