//! The registry's derived search columns for records written before migration 0047: each
//! name's pinyin sort key, and the keyed hashes of the last four characters of each ID and
//! phone number. New and changed records get them when they are written; this fills the rest.
//! `jinglao migrate`, `serve --migrate` and the demo run it after the schema migrations (and
//! after resealing legacy ciphertexts, which it needs to decrypt); when every row is current it
//! reads two index entries and returns.

use uuid::Uuid;

use crate::crypto::{Field, FieldCipher};
use crate::{Db, DbError, on_conn};

/// Rows filled per transaction: a long backfill never holds the write lock for long.
const BATCH: i64 = 2_000;

/// Fills the missing sort keys and tail hashes; returns how many rows it wrote.
pub async fn backfill(db: &Db, cipher: &FieldCipher) -> Result<usize, DbError> {
    let mut written = 0;
    loop {
        let mut tx = db.begin().await?;
        let mut conn = tx.conn();
        let rows: Vec<(Uuid, String, Vec<u8>)> = on_conn!(&mut conn, |c| {
            sqlx::query_as("SELECT id, name, id_cipher FROM elders WHERE name_key = '' LIMIT $1")
                .bind(BATCH)
                .fetch_all(&mut *c)
                .await
        })?;
        let phones: Vec<(Uuid, i32, Vec<u8>)> = on_conn!(&mut conn, |c| {
            sqlx::query_as(
                "SELECT elder_id, position, phone_cipher FROM elder_phones WHERE tail_hash = '' LIMIT $1",
            )
            .bind(BATCH)
            .fetch_all(&mut *c)
            .await
        })?;
        if rows.is_empty() && phones.is_empty() {
            return Ok(written);
        }
        for (id, name, blob) in &rows {
            let number = cipher.decrypt(Field::IdNumber, *id, blob)?;
            // A name is never empty; were one, "~" (after every letter) keeps it from being read
            // again on every start.
            let key = Some(jinglao_domain::collation::pinyin_key(name))
                .filter(|k| !k.is_empty())
                .unwrap_or_else(|| "~".into());
            let tail = cipher
                .tail_hash(Field::IdNumber, &number)
                .unwrap_or_default();
            on_conn!(&mut conn, |c| {
                sqlx::query("UPDATE elders SET name_key = $2, id_tail_hash = $3 WHERE id = $1")
                    .bind(id)
                    .bind(&key)
                    .bind(&tail)
                    .execute(&mut *c)
                    .await
                    .map(|r| r.rows_affected())
            })?;
        }
        for (id, position, blob) in &phones {
            let number = cipher.decrypt(Field::Phone, *id, blob)?;
            // A number too short for a tail still gets a value, so it is not read again.
            let tail = cipher
                .tail_hash(Field::Phone, &number)
                .unwrap_or_else(|| "-".into());
            on_conn!(&mut conn, |c| {
                sqlx::query(
                    "UPDATE elder_phones SET tail_hash = $3 WHERE elder_id = $1 AND position = $2",
                )
                .bind(id)
                .bind(position)
                .bind(&tail)
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected())
            })?;
        }
        tx.commit().await?;
        written += rows.len() + phones.len();
    }
}
