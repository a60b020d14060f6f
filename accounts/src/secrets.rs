//! Secrets: random tokens, and Argon2id hashes of tokens and passwords.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::Error;

/// Random bytes from the operating system, as lowercase hex.
pub fn random_hex(bytes: usize) -> Result<String, Error> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| Error::Internal(format!("no randomness from the system: {e}")))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// A new credential: its public id and the whole secret `ktn_<id>_<secret>`.
pub fn new_token() -> Result<(String, String), Error> {
    let id = random_hex(6)?;
    let secret = random_hex(20)?;
    Ok((id.clone(), format!("ktn_{id}_{secret}")))
}

/// The credential id inside a token of ours, if it is one.
pub fn token_id(token: &str) -> Option<&str> {
    let rest = token.strip_prefix("ktn_")?;
    let (id, secret) = rest.split_once('_')?;
    (id.len() == 12 && !secret.is_empty()).then_some(id)
}

/// An Argon2id PHC string of `secret`, with a fresh salt.
pub fn hash(secret: &str) -> Result<String, Error> {
    Argon2::default()
        .hash_password(secret.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("Argon2: {e}")))
}

/// [`hash`] on a blocking thread: Argon2 takes tens of milliseconds.
pub async fn hash_blocking(secret: String) -> Result<String, Error> {
    tokio::task::spawn_blocking(move || hash(&secret)).await.map_err(Error::joined)?
}

/// Whether `secret` matches the PHC string `hash`.
pub fn verify(secret: &str, hash: &str) -> bool {
    Argon2::default().verify_password(secret.as_bytes(), hash).is_ok()
}

/// A hash that no secret matches, made once, to check against when there is
/// no real one (an unknown token id, a name without a password), so that the
/// time taken does not tell which exist.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| random_hex(32).and_then(|p| hash(&p)).unwrap_or_default())
}

/// A fast digest of an already-verified secret, so that repeat requests need
/// not pay for Argon2 again. Only digests are kept, never the secrets.
pub fn fingerprint(secret: &str) -> Vec<u8> {
    use blake2::{Blake2b512, Digest};
    Blake2b512::digest(secret.as_bytes()).to_vec()
}

/// Compares without stopping at the first difference.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_hash_and_verify() {
        let (id, token) = new_token().unwrap();
        assert_eq!(token_id(&token), Some(id.as_str()));
        assert_eq!(token.len(), 4 + 12 + 1 + 40);
        let h = hash(&token).unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify(&token, &h));
        assert!(!verify("ktn_000000000000_x", &h));
        assert_eq!(token_id("bootstrap-secret"), None);
        assert!(constant_time_eq(&fingerprint(&token), &fingerprint(&token)));
    }
}
