//! Field encryption for personal numbers (ID and phone numbers): AES-256-GCM with a random
//! 96-bit nonce per value, the field's name as associated data (so a ciphertext cannot be
//! moved to another field), and a keyed HMAC-SHA-256 for exact lookup and de-duplication
//! without decrypting.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::DbError;

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

impl FieldCipher {
    /// A cipher from the encryption key and the lookup-hash key.
    pub fn new(encryption_key: &[u8; 32], lookup_key: &[u8; 32]) -> Self {
        FieldCipher {
            aead: Aes256Gcm::new(encryption_key.into()),
            lookup_key: *lookup_key,
        }
    }

    /// `nonce || ciphertext+tag`.
    pub fn encrypt(&self, field: Field, plaintext: &str) -> Vec<u8> {
        self.encrypt_bytes(field, plaintext.as_bytes())
    }

    /// Encrypts bytes: `nonce || ciphertext+tag`.
    pub fn encrypt_bytes(&self, field: Field, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).expect("the operating system provides randomness");
        let ct = self
            .aead
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: field.tag(),
                },
            )
            .expect("AES-GCM encryption of an in-memory value cannot fail");
        let mut out = Vec::with_capacity(12 + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// Decrypts a value written by [`FieldCipher::encrypt`] for the same field.
    pub fn decrypt(&self, field: Field, blob: &[u8]) -> Result<String, DbError> {
        String::from_utf8(self.decrypt_bytes(field, blob)?)
            .map_err(|_| DbError::Corrupt("解密结果不是文本".into()))
    }

    /// Decrypts bytes written by [`FieldCipher::encrypt_bytes`] for the same field.
    pub fn decrypt_bytes(&self, field: Field, blob: &[u8]) -> Result<Vec<u8>, DbError> {
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

    /// A keyed digest of arbitrary content (for change detection).
    pub fn digest(&self, content: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&self.lookup_key)
            .expect("any key length");
        mac.update(b"jinglao:content:v1\0");
        mac.update(content);
        hex::encode(mac.finalize().into_bytes())
    }
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
        let a = c.encrypt(Field::IdNumber, "440524188001010014");
        let b = c.encrypt(Field::IdNumber, "440524188001010014");
        assert_ne!(a, b, "fresh nonce each time");
        assert_eq!(
            c.decrypt(Field::IdNumber, &a).unwrap(),
            "440524188001010014"
        );
        assert!(!String::from_utf8_lossy(&a).contains("44052418800101"));
    }

    #[test]
    fn a_ciphertext_moved_to_another_field_or_altered_does_not_decrypt() {
        let c = cipher();
        let a = c.encrypt(Field::IdNumber, "440524188001010014");
        assert!(c.decrypt(Field::Phone, &a).is_err());
        let mut bad = a.clone();
        bad[20] ^= 1;
        assert!(c.decrypt(Field::IdNumber, &bad).is_err());
        let other_key = FieldCipher::new(&[9; 32], &[2; 32]);
        assert!(other_key.decrypt(Field::IdNumber, &a).is_err());
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
