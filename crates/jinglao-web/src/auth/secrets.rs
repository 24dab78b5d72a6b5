//! Random secrets and their stored digests.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A fresh 256-bit random secret, URL-safe base64 (43 characters).
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new API token: `jl_` + a random secret (the prefix lets secret scanners spot leaks).
pub fn new_api_token() -> String {
    format!("jl_{}", random_secret())
}

/// What is stored for a session id or token: SHA-256, hex. The secrets are 256-bit random
/// values, so a fast hash is enough; a stolen table yields nothing usable.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Compares two secrets in constant time.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A readable random password that satisfies the policy (for demo accounts and resets):
/// three groups of four characters from an alphabet without look-alikes, plus a digit group.
pub fn readable_password() -> String {
    const LETTERS: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGITS: &[u8] = b"23456789";
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    let mut out = String::new();
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        let set = if i >= 12 { DIGITS } else { LETTERS };
        out.push(set[*b as usize % set.len()] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jinglao_domain::PasswordPolicy;

    #[test]
    fn secrets_are_long_random_and_distinct() {
        let a = random_secret();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_secret());
        assert!(new_api_token().starts_with("jl_"));
    }

    #[test]
    fn generated_passwords_pass_the_policy() {
        for _ in 0..200 {
            let p = readable_password();
            assert_eq!(
                PasswordPolicy::default().check("demo_admin", &p),
                Ok(()),
                "{p}"
            );
        }
    }

    #[test]
    fn comparison_needs_equal_content() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "abcd"));
    }
}
