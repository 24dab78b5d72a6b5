//! The deployment's secret key and the purpose-bound keys derived from it (HKDF-SHA-256).
//!
//! One 32-byte secret in a file (`secret_key_file`, 64 hex characters). Each use gets its own
//! derived key, so a key leaked from one use does not open another: the audit chain's HMAC key
//! now; field encryption and lookup hashes for ID and phone numbers later.

use std::io::Write;
use std::path::Path;

use hkdf::Hkdf;
use jinglao_db::audit::ChainKey;
use jinglao_db::crypto::FieldCipher;
use jinglao_db::elders::Secrets;
use sha2::Sha256;

use crate::config::{Mode, Settings};

/// Keys derived from the secret key.
#[derive(Clone)]
pub struct Keys {
    /// HMAC key of the audit chain.
    pub audit_chain: ChainKey,
    /// Key for AES-256-GCM encryption of personal fields (ID and phone numbers).
    pub field_encryption: [u8; 32],
    /// Key for keyed hashes used to look up and de-duplicate encrypted fields.
    pub lookup_hash: [u8; 32],
    /// Encrypts and hashes personal fields with the two keys above.
    pub cipher: FieldCipher,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(***)")
    }
}

/// Why the key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Production mode without a key file.
    #[error("生产模式必须提供密钥文件（secret_key_file / JINGLAO_SECRET_KEY_FILE）：{0} 不存在")]
    Missing(String),
    /// The file exists but is not 64 hex characters.
    #[error("密钥文件 {0} 格式错误：应为 64 个十六进制字符（32 字节）")]
    Malformed(String),
    /// Reading or writing the file failed.
    #[error("读写密钥文件 {path} 失败：{source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

impl Keys {
    /// Derives every key from a 32-byte secret.
    pub fn derive(secret: &[u8; 32]) -> Keys {
        let hk = Hkdf::<Sha256>::new(Some(b"jinglao"), secret);
        let take = |info: &[u8]| {
            let mut out = [0u8; 32];
            hk.expand(info, &mut out)
                .expect("32 bytes is a valid length");
            out
        };
        let field_encryption = take(b"field-encryption-v1");
        let lookup_hash = take(b"lookup-hash-v1");
        Keys {
            audit_chain: ChainKey(take(b"audit-chain-v1")),
            cipher: FieldCipher::new(&field_encryption, &lookup_hash),
            field_encryption,
            lookup_hash,
        }
    }

    /// The keys registry writes need.
    pub fn secrets(&self) -> Secrets<'_> {
        Secrets {
            chain: &self.audit_chain,
            cipher: &self.cipher,
        }
    }

    /// Loads the secret key named in `settings`. In development mode a missing file is created
    /// with a fresh random key (and a warning); in production it is an error.
    pub fn load(settings: &Settings) -> Result<Keys, KeyError> {
        let Some(path) = settings.secret_key_file.as_deref() else {
            return Err(KeyError::Missing("（未设置）".into()));
        };
        if !path.exists() {
            if settings.mode == Mode::Production {
                return Err(KeyError::Missing(path.display().to_string()));
            }
            tracing::warn!(path = %path.display(), "secret key file missing; generating a new key (development mode)");
            generate_key_file(path)?;
        }
        let secret = read_key_file(path)?;
        Ok(Keys::derive(&secret))
    }
}

/// Reads a key file of 64 hex characters (surrounding whitespace ignored).
pub fn read_key_file(path: &Path) -> Result<[u8; 32], KeyError> {
    let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let bytes =
        hex::decode(text.trim()).map_err(|_| KeyError::Malformed(path.display().to_string()))?;
    bytes
        .try_into()
        .map_err(|_| KeyError::Malformed(path.display().to_string()))
}

/// Writes a new random key file readable only by its owner. Never overwrites.
pub fn generate_key_file(path: &Path) -> Result<(), KeyError> {
    let io = |source| KeyError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| io(std::io::Error::other(e.to_string())))?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io)?;
    writeln!(f, "{}", hex::encode(secret)).map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn each_purpose_gets_a_different_key() {
        let k = Keys::derive(&[5; 32]);
        assert_ne!(k.audit_chain.0, k.field_encryption);
        assert_ne!(k.field_encryption, k.lookup_hash);
        assert_eq!(Keys::derive(&[5; 32]).lookup_hash, k.lookup_hash);
    }

    #[test]
    fn development_mode_creates_a_missing_key_and_reuses_it() {
        let dir = tempfile::tempdir().unwrap();
        let path: PathBuf = dir.path().join("k.key");
        let s = Settings {
            secret_key_file: Some(path.clone()),
            ..Settings::default()
        };
        let a = Keys::load(&s).unwrap();
        let b = Keys::load(&s).unwrap();
        assert_eq!(a.lookup_hash, b.lookup_hash);
        assert_eq!(std::fs::read_to_string(&path).unwrap().trim().len(), 64);
    }

    #[test]
    fn production_mode_refuses_a_missing_or_malformed_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("none.key");
        let s = Settings {
            mode: Mode::Production,
            secret_key_file: Some(path.clone()),
            ..Settings::default()
        };
        assert!(matches!(Keys::load(&s), Err(KeyError::Missing(_))));
        std::fs::write(&path, "not hex").unwrap();
        assert!(matches!(Keys::load(&s), Err(KeyError::Malformed(_))));
    }
}
