//! Basic auth against `basic_auth_users` (bcrypt hashes), as exporter-toolkit does it: every
//! path, `WWW-Authenticate: Basic` on a 401, an unknown user checked against a dummy hash so
//! that timing does not tell which users exist, one bcrypt at a time (it is slow by design,
//! ~70 ms at cost 10), and a cache of successful checks so a scrape every 15 s does not pay
//! it each time.
//!
//! Invariants: the cache holds a SHA-256 of the password, never the password, keyed by (user,
//! hash), so a changed hash in the web config invalidates it; failures are not cached;
//! nothing here logs a credential.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, OnceLock};

use axum::http::HeaderValue;
use base64::Engine;
use ring::digest;

use super::web_config::PasswordHash;

/// The bcrypt cost of the dummy hash unknown users are checked against (htpasswd's usual).
const DUMMY_COST: u32 = 10;

/// Checks credentials; shared by every connection.
#[derive(Debug)]
pub struct Authenticator {
    /// (user, bcrypt hash) → SHA-256 of the password last verified against it.
    verified: Mutex<HashMap<(String, PasswordHash), [u8; 32]>>,
    /// One bcrypt at a time: a flood of wrong passwords takes one core, not all.
    bcrypt: tokio::sync::Semaphore,
}

impl Authenticator {
    pub fn new() -> Self {
        Self {
            verified: Mutex::default(),
            bcrypt: tokio::sync::Semaphore::new(1),
        }
    }

    /// Whether `authorization` (the request's header) names a user of `users` with the right
    /// password. With no users, everyone is allowed.
    pub async fn allows(
        &self,
        users: &BTreeMap<String, PasswordHash>,
        authorization: Option<&HeaderValue>,
    ) -> bool {
        if users.is_empty() {
            return true;
        }
        let Some((user, password)) = authorization.and_then(basic_credentials) else {
            return false;
        };
        let known = users.get(&user);
        let hash = match known {
            Some(hash) => hash.clone(),
            None => PasswordHash(dummy_hash().to_owned()),
        };
        let fingerprint = sha256(&password);
        let key = (user, hash);
        if known.is_some() && self.lock().get(&key) == Some(&fingerprint) {
            return true;
        }
        let Ok(_permit) = self.bcrypt.acquire().await else {
            return false;
        };
        let hash_text = key.1.0.clone();
        let matches = tokio::task::spawn_blocking(move || {
            bcrypt::verify(password.as_bytes(), &hash_text).unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        if matches && known.is_some() {
            let mut verified = self.lock();
            // Entries of hashes no longer configured go: the cache stays one per user.
            verified.retain(|(user, hash), _| users.get(user) == Some(hash));
            verified.insert(key, fingerprint);
        }
        matches && known.is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, PasswordHash), [u8; 32]>> {
        self.verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A bcrypt hash of no one's password, made once.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        bcrypt::hash("socmetrics: no such user", DUMMY_COST).unwrap_or_else(|_| {
            // Never used: bcrypt::hash fails only on a cost outside 4..=31.
            "$2y$10$0000000000000000000000000000000000000000000000000000.".to_owned()
        })
    })
}

fn sha256(text: &str) -> [u8; 32] {
    let mut out = [0; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, text.as_bytes()).as_ref());
    out
}

/// `Basic base64(user:password)` → (user, password), as Go's `Request.BasicAuth` reads it.
fn basic_credentials(header: &HeaderValue) -> Option<(String, String)> {
    let text = header.to_str().ok()?;
    let (scheme, encoded) = text.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(user: &str, password: &str) -> HeaderValue {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        HeaderValue::from_str(&format!("Basic {encoded}")).unwrap()
    }

    fn users(password: &str) -> BTreeMap<String, PasswordHash> {
        let hash = bcrypt::hash(password, 4).unwrap();
        [("prometheus".to_owned(), PasswordHash(hash))].into()
    }

    #[test]
    fn credentials_are_read_as_go_reads_them() {
        assert_eq!(
            basic_credentials(&header("u", "p:w")),
            Some(("u".into(), "p:w".into()))
        );
        let lower = HeaderValue::from_static("basic dTpw");
        assert_eq!(basic_credentials(&lower), Some(("u".into(), "p".into())));
        for bad in ["Bearer dTpw", "Basic !!!", "Basic dXNlcg==", "Basic"] {
            assert_eq!(
                basic_credentials(&HeaderValue::from_static(bad)),
                None,
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn right_password_passes_and_is_cached_wrong_ones_and_strangers_do_not() {
        let auth = Authenticator::new();
        let users = users("s3cret");
        assert!(!auth.allows(&users, None).await);
        assert!(
            !auth
                .allows(&users, Some(&header("prometheus", "wrong")))
                .await
        );
        assert!(!auth.allows(&users, Some(&header("nobody", "s3cret"))).await);
        assert!(auth.lock().is_empty(), "failures are not cached");
        assert!(
            auth.allows(&users, Some(&header("prometheus", "s3cret")))
                .await
        );
        assert_eq!(auth.lock().len(), 1);
        let cached = auth.lock().values().next().copied().unwrap();
        assert_eq!(cached, sha256("s3cret"), "a digest, not the password");
        assert!(
            auth.allows(&users, Some(&header("prometheus", "s3cret")))
                .await
        );
        // Same user, same hash, other password: checked again, and refused.
        assert!(
            !auth
                .allows(&users, Some(&header("prometheus", "s3cret2")))
                .await
        );
    }

    #[tokio::test]
    async fn a_new_hash_invalidates_the_cached_password() {
        let auth = Authenticator::new();
        assert!(
            auth.allows(&users("old"), Some(&header("prometheus", "old")))
                .await
        );
        let rotated = users("new");
        assert!(
            !auth
                .allows(&rotated, Some(&header("prometheus", "old")))
                .await
        );
        assert!(
            auth.allows(&rotated, Some(&header("prometheus", "new")))
                .await
        );
        assert_eq!(auth.lock().len(), 1, "the old hash's entry is gone");
    }

    #[tokio::test]
    async fn no_users_means_no_authentication() {
        assert!(Authenticator::new().allows(&BTreeMap::new(), None).await);
    }

    #[test]
    fn the_dummy_hash_is_a_bcrypt_hash_of_the_usual_cost() {
        let parts: bcrypt::HashParts = dummy_hash().parse().unwrap();
        assert_eq!(parts.get_cost(), DUMMY_COST);
    }
}
