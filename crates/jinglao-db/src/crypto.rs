//! Field encryption for personal numbers (ID and phone numbers), signatures and uploaded files:
//! AES-256-GCM with a random 96-bit nonce per value, and as associated data the field's name
//! *and the record it belongs to* (the person, the staff member, the visit, the upload), so a
//! ciphertext moved to another field or copied onto another person's row does not decrypt —
//! someone with write access to the database cannot make one person's record show another's
//! number. A keyed HMAC-SHA-256 gives exact lookup and de-duplication without decrypting.
//!
//! Stored form: `0x02 || nonce || ciphertext+tag`. The first release bound only the field
//! (`nonce || ciphertext+tag`, no version byte); [`reseal_legacy`] rewrites such values once,
//! from `jinglao migrate`, after which they are refused.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use uuid::Uuid;

use crate::{Db, DbError, on_conn};

/// How many trailing characters [`FieldCipher::tail_hash`] keeps.
pub const TAIL_CHARS: usize = 4;

/// What a value is, bound into its ciphertext and its lookup hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// A resident ID number.
    IdNumber,
    /// A phone number.
    Phone,
    /// An uploaded import file waiting for its commit (it holds ID and phone numbers).
    ImportFile,
    /// A person's signature drawn at the end of a visit (a PNG).
    Signature,
}

impl Field {
    fn tag(self) -> &'static [u8] {
        match self {
            Field::IdNumber => b"jinglao:id_number:v1",
            Field::Phone => b"jinglao:phone:v1",
            Field::ImportFile => b"jinglao:import_file:v1",
            Field::Signature => b"jinglao:signature:v1",
        }
    }
}

/// The version byte of values bound to their record.
const V2: u8 = 2;

/// Encrypts, decrypts and hashes personal fields with keys derived from the deployment secret.
#[derive(Clone)]
pub struct FieldCipher {
    aead: Aes256Gcm,
    lookup_key: [u8; 32],
}

impl std::fmt::Debug for FieldCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FieldCipher(***)")
    }
}

fn associated(field: Field, row: Uuid) -> Vec<u8> {
    let mut aad = field.tag().to_vec();
    aad.push(0);
    aad.extend_from_slice(row.as_bytes());
    aad
}

impl FieldCipher {
    /// A cipher from the encryption key and the lookup-hash key.
    pub fn new(encryption_key: &[u8; 32], lookup_key: &[u8; 32]) -> Self {
        FieldCipher {
            aead: Aes256Gcm::new(encryption_key.into()),
            lookup_key: *lookup_key,
        }
    }

    /// `0x02 || nonce || ciphertext+tag` of `plaintext` as `field` of the record `row`.
    pub fn encrypt(&self, field: Field, row: Uuid, plaintext: &str) -> Vec<u8> {
        self.encrypt_bytes(field, row, plaintext.as_bytes())
    }

    /// Encrypts bytes as `field` of the record `row`.
    pub fn encrypt_bytes(&self, field: Field, row: Uuid, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).expect("the operating system provides randomness");
        let ct = self
            .aead
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: &associated(field, row),
                },
            )
            .expect("AES-GCM encryption of an in-memory value cannot fail");
        let mut out = Vec::with_capacity(1 + 12 + ct.len());
        out.push(V2);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// Decrypts a value written by [`FieldCipher::encrypt`] for the same field and record.
    pub fn decrypt(&self, field: Field, row: Uuid, blob: &[u8]) -> Result<String, DbError> {
        String::from_utf8(self.decrypt_bytes(field, row, blob)?)
            .map_err(|_| DbError::Corrupt("解密结果不是文本".into()))
    }

    /// Decrypts bytes written by [`FieldCipher::encrypt_bytes`] for the same field and record.
    pub fn decrypt_bytes(&self, field: Field, row: Uuid, blob: &[u8]) -> Result<Vec<u8>, DbError> {
        if blob.len() >= 1 + 12 + 16 && blob[0] == V2 {
            let (nonce, ct) = blob[1..].split_at(12);
            let nonce: [u8; 12] = nonce.try_into().expect("12 bytes");
            let aad = associated(field, row);
            if let Ok(plain) = self
                .aead
                .decrypt(&Nonce::from(nonce), Payload { msg: ct, aad: &aad })
            {
                return Ok(plain);
            }
        }
        Err(DbError::Corrupt(
            "加密字段无法解密（密钥不对、数据被改动或被移到了别的记录）".into(),
        ))
    }

    /// A value as the first release wrote it (for tests of [`reseal_legacy`]).
    #[cfg(any(test, feature = "testing"))]
    pub fn encrypt_first_release(&self, field: Field, plaintext: &str) -> Vec<u8> {
        let nonce = [7u8; 12];
        let ct = self
            .aead
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: field.tag(),
                },
            )
            .expect("in-memory encryption");
        [nonce.as_slice(), &ct].concat()
    }

    /// A value of the first release: `nonce || ciphertext+tag`, bound to the field only (read
    /// by [`reseal_legacy`] alone, to rewrite it).
    fn decrypt_legacy(&self, field: Field, blob: &[u8]) -> Result<Vec<u8>, DbError> {
        if blob.len() < 12 + 16 {
            return Err(DbError::Corrupt("加密字段长度不对".into()));
        }
        let (nonce, ct) = blob.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().expect("12 bytes");
        self.aead
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ct,
                    aad: field.tag(),
                },
            )
            .map_err(|_| DbError::Corrupt("加密字段无法解密（密钥不对或数据被改动）".into()))
    }

    /// The keyed hash used to find a value without decrypting (hex).
    pub fn lookup_hash(&self, field: Field, normalised: &str) -> String {
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&self.lookup_key)
            .expect("any key length");
        mac.update(field.tag());
        mac.update(&[0]);
        mac.update(normalised.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// The keyed hash of the last four characters of a normalised number ("尾号"), to find
    /// a person by the end of an ID or phone number without decrypting anything. Kept apart
    /// from [`Self::lookup_hash`] of the same field by its separator byte. `None` for a value
    /// shorter than four characters.
    pub fn tail_hash(&self, field: Field, normalised: &str) -> Option<String> {
        let chars: Vec<char> = normalised.chars().collect();
        let tail: String = chars
            .get(chars.len().checked_sub(TAIL_CHARS)?..)?
            .iter()
            .collect();
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&self.lookup_key)
            .expect("any key length");
        mac.update(field.tag());
        mac.update(&[1]);
        mac.update(tail.to_uppercase().as_bytes());
        // 64 bits: a tail has 10⁴ (11 × 10³ with X) values, so a collision between two of them
        // is out of reach, and the registry's two tail indexes stay a quarter of the size of
        // full-length hashes (a million people load seconds faster).
        Some(hex::encode(&mac.finalize().into_bytes()[..8]))
    }

    /// A keyed digest of arbitrary content (for change detection).
    pub fn digest(&self, content: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&self.lookup_key)
            .expect("any key length");
        mac.update(b"jinglao:content:v1\0");
        mac.update(content);
        hex::encode(mac.finalize().into_bytes())
    }
}

/// Rewrites every value of the first release (bound to its field only) bound to its record,
/// in one transaction, and returns how many it rewrote. `jinglao migrate`, `serve --migrate`
/// and the demo run it after the schema migrations; it reads nothing when all is current.
pub async fn reseal_legacy(db: &Db, cipher: &FieldCipher) -> Result<usize, DbError> {
    // (table, key column whose UUID is the record, blob column, field, other key column).
    const COLUMNS: [(&str, &str, &str, Field, Option<&str>); 7] = [
        ("elders", "id", "id_cipher", Field::IdNumber, None),
        (
            "elder_phones",
            "elder_id",
            "phone_cipher",
            Field::Phone,
            Some("position"),
        ),
        (
            "elder_contacts",
            "elder_id",
            "phone_cipher",
            Field::Phone,
            Some("position"),
        ),
        ("staff", "id", "id_cipher", Field::IdNumber, None),
        ("staff", "id", "phone_cipher", Field::Phone, None),
        ("import_batches", "id", "content", Field::ImportFile, None),
        (
            "visit_signatures",
            "visit_id",
            "image_cipher",
            Field::Signature,
            None,
        ),
    ];
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    // Done once: the marker says every value is bound to its record.
    let done: Option<i64> = on_conn!(&mut conn, |c| {
        sqlx::query_scalar("SELECT version FROM data_versions WHERE name = 'field_cipher'")
            .fetch_optional(&mut *c)
            .await
    })?;
    if done.is_some_and(|v| v >= i64::from(V2)) {
        return Ok(0);
    }
    let mut rewritten = 0;
    for (table, key, blob, field, extra) in COLUMNS {
        let extra_col = extra.unwrap_or("0");
        // Values of the first release have no version byte (or, one in 256, a first nonce
        // byte equal to it, which fails the record-bound check below and is rewritten too).
        let sql =
            format!("SELECT {key}, {extra_col}, {blob} FROM {table} WHERE {blob} IS NOT NULL");
        let rows: Vec<(Uuid, i32, Vec<u8>)> = on_conn!(&mut conn, |c| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .fetch_all(&mut *c)
                .await
        })?;
        for (id, position, value) in rows {
            if cipher.decrypt_bytes(field, id, &value).is_ok() {
                continue;
            }
            let plain = cipher.decrypt_legacy(field, &value)?;
            let sealed = cipher.encrypt_bytes(field, id, &plain);
            let update = match extra {
                Some(col) => {
                    format!("UPDATE {table} SET {blob} = $1 WHERE {key} = $2 AND {col} = $3")
                }
                None => format!("UPDATE {table} SET {blob} = $1 WHERE {key} = $2"),
            };
            on_conn!(&mut conn, |c| {
                let q = sqlx::query(sqlx::AssertSqlSafe(update.clone()))
                    .bind(&sealed)
                    .bind(id);
                let q = if extra.is_some() { q.bind(position) } else { q };
                q.execute(&mut *c).await.map(|r| r.rows_affected())
            })?;
            rewritten += 1;
        }
    }
    on_conn!(&mut conn, |c| {
        sqlx::query(
            "INSERT INTO data_versions (name, version) VALUES ('field_cipher', $1) \
             ON CONFLICT (name) DO UPDATE SET version = $1",
        )
        .bind(i64::from(V2))
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    tx.commit().await?;
    Ok(rewritten)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher() -> FieldCipher {
        FieldCipher::new(&[1; 32], &[2; 32])
    }

    #[test]
    fn values_round_trip_and_never_encrypt_the_same_way_twice() {
        let c = cipher();
        let row = Uuid::now_v7();
        let a = c.encrypt(Field::IdNumber, row, "440524188001010014");
        let b = c.encrypt(Field::IdNumber, row, "440524188001010014");
        assert_ne!(a, b, "fresh nonce each time");
        assert_eq!(
            c.decrypt(Field::IdNumber, row, &a).unwrap(),
            "440524188001010014"
        );
        assert!(!String::from_utf8_lossy(&a).contains("44052418800101"));
    }

    #[test]
    fn a_ciphertext_moved_to_another_field_or_record_or_altered_does_not_decrypt() {
        let c = cipher();
        let (row, other_row) = (Uuid::now_v7(), Uuid::now_v7());
        let a = c.encrypt(Field::IdNumber, row, "440524188001010014");
        assert!(c.decrypt(Field::Phone, row, &a).is_err());
        assert!(
            c.decrypt(Field::IdNumber, other_row, &a).is_err(),
            "copied onto another person's row"
        );
        let mut bad = a.clone();
        bad[20] ^= 1;
        assert!(c.decrypt(Field::IdNumber, row, &bad).is_err());
        let other_key = FieldCipher::new(&[9; 32], &[2; 32]);
        assert!(other_key.decrypt(Field::IdNumber, row, &a).is_err());
    }

    #[test]
    fn a_value_of_the_first_release_is_read_only_while_resealing() {
        let c = cipher();
        let row = Uuid::now_v7();
        // The first release: `nonce || ciphertext` with the field's tag as associated data.
        let old = c.encrypt_first_release(Field::Phone, "13807315678");
        assert!(c.decrypt(Field::Phone, row, &old).is_err());
        assert_eq!(
            c.decrypt_legacy(Field::Phone, &old).unwrap(),
            b"13807315678".to_vec()
        );
    }

    #[test]
    fn lookup_hashes_are_stable_keyed_and_field_specific() {
        let c = cipher();
        let h = c.lookup_hash(Field::IdNumber, "440524188001010014");
        assert_eq!(h, c.lookup_hash(Field::IdNumber, "440524188001010014"));
        assert_ne!(h, c.lookup_hash(Field::Phone, "440524188001010014"));
        assert_ne!(
            h,
            FieldCipher::new(&[1; 32], &[3; 32]).lookup_hash(Field::IdNumber, "440524188001010014")
        );
    }
}
