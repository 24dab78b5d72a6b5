//! Password hashing with argon2id (OWASP parameters: 19 MiB, 2 passes, 1 lane), always off the
//! async runtime because one hash takes tens of milliseconds of CPU.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::error::AppError;

/// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub async fn hash(password: &str) -> Result<String, AppError> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
}

/// The blocking version, for the command line.
pub fn hash_blocking(password: &str) -> Result<String, AppError> {
    hasher()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("argon2: {e}")))
}

/// Checks a password against a stored hash. `None` (no such account) still spends the same
/// time on a dummy hash, so timing does not reveal which user names exist.
pub async fn verify(password: &str, stored: Option<String>) -> Result<bool, AppError> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        let (phc, real) = match stored {
            Some(s) => (s, true),
            None => (dummy_hash().to_string(), false),
        };
        let Ok(parsed) = PasswordHash::new(&phc) else {
            return false;
        };
        // Verification takes its cost from the stored hash, not from `hasher()`.
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        ok && real
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))
}

/// The hasher: OWASP's parameters, or in a debug build whose tests asked for it
/// ([`use_test_cost`]) the cheapest argon2id parameters.
fn hasher() -> Argon2<'static> {
    #[cfg(debug_assertions)]
    if TEST_COST.load(std::sync::atomic::Ordering::Relaxed) {
        let params = argon2::Params::new(argon2::Params::MIN_M_COST, 1, 1, None)
            .expect("the minimum parameters are valid");
        return Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    }
    Argon2::default()
}

#[cfg(debug_assertions)]
static TEST_COST: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Makes new hashes cheap (8 KiB, one pass) for the rest of the process: for test harnesses
/// only, which hash and check hundreds of passwords that protect nothing. Compiled only into
/// debug builds, so a release binary cannot be switched to weak hashes.
#[cfg(debug_assertions)]
pub fn use_test_cost() {
    TEST_COST.store(true, std::sync::atomic::Ordering::Relaxed);
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_blocking(&super::secrets::random_secret()).unwrap_or_else(|_| {
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG".into()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_nothing_else() {
        let h = hash("湘潭养老2026年服务").await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("湘潭养老2026年服务", Some(h.clone())).await.unwrap());
        assert!(!verify("湘潭养老2026年服務", Some(h)).await.unwrap());
        assert!(!verify("anything", None).await.unwrap());
        assert!(!verify("anything", Some("garbage".into())).await.unwrap());
    }
}
