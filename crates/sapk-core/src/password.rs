//! Passwords: NFKC normalisation, the policy (MySAPK's rule plus NIST SP 800-63B's floor and a
//! strength estimate) and argon2id hashing.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::sync::{Arc, OnceLock};
use unicode_normalization::UnicodeNormalization;

/// A password after Unicode NFKC normalisation. Never shown by `Debug`.
pub struct Password(SecretString);

impl Password {
    pub fn new(raw: &str) -> Password {
        Password(SecretString::from(raw.nfkc().collect::<String>()))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([REDACTED])")
    }
}

pub use crate::policy::{PasswordPolicy, PolicyContext, Violation};

/// argon2id parameters; OWASP's (m=19456 KiB, t=2, p=1) by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    pub m_cost_kib: u32,
    pub t_cost: u32,
    pub p_cost: u32,
}

impl Default for HashParams {
    fn default() -> Self {
        HashParams {
            m_cost_kib: 19456,
            t_cost: 2,
            p_cost: 1,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("invalid argon2 parameters: {0}")]
    Params(String),
    #[error("hashing failed: {0}")]
    Hash(String),
    #[error("the hashing worker stopped: {0}")]
    Worker(String),
}

/// argon2id of a password nobody has, made with the default parameters: unknown NIPs are
/// verified against it so that they cost one verification like real accounts, without
/// hashing at start-up.
const DEFAULT_DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$BGmel+KxV+LHy6pPegImYw$bfRphWMBD8KxBc08ESybDceCm9oN3jbYcf0cq4aLqdI";

/// Hashes and verifies passwords with argon2id, off the async executor.
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<HasherInner>,
}

struct HasherInner {
    params: HashParams,
    argon: Argon2<'static>,
    dummy: OnceLock<String>,
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.inner.params)
            .finish()
    }
}

impl PasswordHasher {
    pub fn new(params: HashParams) -> Result<PasswordHasher, HashError> {
        let p = Params::new(params.m_cost_kib, params.t_cost, params.p_cost, None)
            .map_err(|e| HashError::Params(e.to_string()))?;
        Ok(PasswordHasher {
            inner: Arc::new(HasherInner {
                params,
                argon: Argon2::new(Algorithm::Argon2id, Version::V0x13, p),
                dummy: OnceLock::new(),
            }),
        })
    }

    pub fn params(&self) -> HashParams {
        self.inner.params
    }

    /// PHC string of `pw` with a fresh salt (blocking; see `hash`).
    pub fn hash_blocking(&self, pw: &str) -> Result<String, HashError> {
        let salt_bytes =
            crate::keys::random_bytes::<16>().map_err(|e| HashError::Hash(e.to_string()))?;
        let salt =
            SaltString::encode_b64(&salt_bytes).map_err(|e| HashError::Hash(e.to_string()))?;
        self.inner
            .argon
            .hash_password(pw.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| HashError::Hash(e.to_string()))
    }

    /// Verifies against a PHC string; a malformed stored hash verifies as false.
    pub fn verify_blocking(&self, pw: &str, phc: &str) -> bool {
        match PasswordHash::new(phc) {
            Ok(parsed) => self
                .inner
                .argon
                .verify_password(pw.as_bytes(), &parsed)
                .is_ok(),
            Err(_) => false,
        }
    }

    /// A fixed hash with the current parameters, for unknown accounts to cost the same.
    /// With the default parameters it is a constant; otherwise it is made once.
    pub fn dummy_hash(&self) -> &str {
        self.inner.dummy.get_or_init(|| {
            if self.inner.params == HashParams::default() {
                return DEFAULT_DUMMY_HASH.to_owned();
            }
            self.hash_blocking("sapk-dummy-password-never-valid")
                .unwrap_or_default()
        })
    }

    /// True when `phc` is weaker than the current parameters would make it: never argon2id,
    /// or made with less memory, fewer iterations or less parallelism (and none more).
    /// Only upwards: lowering the parameters never re-hashes (and so never downgrades)
    /// stored hashes.
    pub fn needs_rehash(&self, phc: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(phc) else {
            return true;
        };
        if parsed.algorithm.as_str() != "argon2id" {
            return true;
        }
        match Params::try_from(&parsed) {
            Ok(p) => {
                let cur = self.inner.params;
                let stored = [p.m_cost(), p.t_cost(), p.p_cost()];
                let wanted = [cur.m_cost_kib, cur.t_cost, cur.p_cost];
                let none_above = stored.iter().zip(wanted).all(|(s, w)| *s <= w);
                let some_below = stored.iter().zip(wanted).any(|(s, w)| *s < w);
                none_above && some_below
            }
            Err(_) => true,
        }
    }

    /// Hashes on the blocking pool.
    pub async fn hash(&self, pw: &Password) -> Result<String, HashError> {
        let this = self.clone();
        let pw = SecretString::from(pw.expose().to_owned());
        tokio::task::spawn_blocking(move || this.hash_blocking(pw.expose_secret()))
            .await
            .map_err(|e| HashError::Worker(e.to_string()))?
    }

    /// Verifies on the blocking pool; `None` verifies against the dummy hash and is false.
    pub async fn verify(&self, pw: &Password, phc: Option<&str>) -> Result<bool, HashError> {
        let this = self.clone();
        let pw = SecretString::from(pw.expose().to_owned());
        let phc = phc.map(str::to_owned);
        tokio::task::spawn_blocking(move || match phc {
            Some(h) => this.verify_blocking(pw.expose_secret(), &h),
            None => {
                let dummy = this.dummy_hash().to_owned();
                let _ = this.verify_blocking(pw.expose_secret(), &dummy);
                false
            }
        })
        .await
        .map_err(|e| HashError::Worker(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nfkc_is_applied() {
        // Full-width letters and digits normalise to ASCII.
        let a = Password::new("Ｋｕｄａ１");
        assert_eq!(a.expose(), "Kuda1");
        let b = Password::new("e\u{301}"); // e + combining acute
        assert_eq!(b.expose(), "\u{e9}");
    }

    #[test]
    fn argon2id_with_owasp_defaults_and_rehash() {
        let h = PasswordHasher::new(HashParams::default()).unwrap();
        let phc = h.hash_blocking("Kuda-Laut-9").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(h.verify_blocking("Kuda-Laut-9", &phc));
        assert!(!h.verify_blocking("Kuda-Laut-8", &phc));
        assert!(!h.needs_rehash(&phc));
        let cheaper = PasswordHasher::new(HashParams {
            m_cost_kib: 1024,
            t_cost: 1,
            p_cost: 1,
        })
        .unwrap();
        // A stronger hash still verifies under cheaper parameters and is never downgraded.
        assert!(cheaper.verify_blocking("Kuda-Laut-9", &phc));
        assert!(!cheaper.needs_rehash(&phc));
        // A weaker one is redone with the current parameters.
        let weak = cheaper.hash_blocking("Kuda-Laut-9").unwrap();
        assert!(h.needs_rehash(&weak));
        assert!(h.needs_rehash("not a phc string"));
        assert!(!h.verify_blocking("x", "not a phc string"));
    }

    #[test]
    fn the_default_dummy_hash_is_a_real_hash_with_the_default_parameters() {
        let h = PasswordHasher::new(HashParams::default()).unwrap();
        assert!(!h.needs_rehash(h.dummy_hash()));
        assert!(h.verify_blocking("sapk-dummy-password-never-valid", h.dummy_hash()));
        let other = PasswordHasher::new(HashParams {
            m_cost_kib: 1024,
            t_cost: 1,
            p_cost: 1,
        })
        .unwrap();
        assert!(other.dummy_hash().contains("m=1024,t=1,p=1"));
    }

    #[test]
    fn debug_hides_the_password() {
        assert_eq!(
            format!("{:?}", Password::new("Rahasia123")),
            "Password([REDACTED])"
        );
    }
}
