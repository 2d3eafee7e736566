//! Passwords: NFKC normalisation, the policy (MySAPK's rule plus NIST SP 800-63B's floor and a
//! strength estimate) and argon2id hashing.

use argon2::password_hash::{Output, ParamsString, PasswordHash, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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

pub use crate::domain::policy::{GuessHint, PasswordPolicy, PolicyContext, Violation};

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

/// Hashes and verifies passwords with argon2id, off the async executor: at most one
/// hash per core at a time (more in flight only thrash caches and page tables), each in
/// memory blocks a finished hash left behind (no 19 MiB allocation and page faults per
/// request).
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<HasherInner>,
}

struct HasherInner {
    params: HashParams,
    argon: Argon2<'static>,
    dummy: OnceLock<String>,
    /// One permit per core: a hash waits for one before it goes to the blocking pool.
    permits: Arc<tokio::sync::Semaphore>,
    /// The cores, read once (`available_parallelism` reads cgroup files).
    cores: usize,
    /// Memory of finished hashes, for the next (at most one set per permit stays).
    blocks: std::sync::Mutex<Vec<Vec<Block>>>,
}

impl HasherInner {
    /// argon2 of `pwd` with `argon`'s parameters into `out`, in reused memory blocks.
    fn run(
        &self,
        argon: &Argon2<'_>,
        pwd: &[u8],
        salt: &[u8],
        out: &mut [u8],
    ) -> Result<(), argon2::Error> {
        let need = argon.params().block_count();
        let mut blocks = self
            .blocks
            .lock()
            .map(|mut pool| pool.pop())
            .unwrap_or_default()
            .unwrap_or_default();
        if blocks.len() < need {
            blocks.resize(need, Block::default());
        }
        let result = argon.hash_password_into_with_memory(pwd, salt, out, &mut blocks[..need]);
        if let Ok(mut pool) = self.blocks.lock() {
            if pool.len() < self.cores {
                pool.push(blocks);
            }
        }
        result
    }
}

/// The cores this process may use (1 when unknown).
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
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
                permits: Arc::new(tokio::sync::Semaphore::new(cores())),
                cores: cores(),
                blocks: std::sync::Mutex::new(Vec::new()),
            }),
        })
    }

    pub fn params(&self) -> HashParams {
        self.inner.params
    }

    /// PHC string of `pw` with a fresh salt (blocking; see `hash`).
    pub fn hash_blocking(&self, pw: &str) -> Result<String, HashError> {
        let fail = |e: &dyn fmt::Display| HashError::Hash(e.to_string());
        let salt_bytes = crate::domain::keys::random_bytes::<16>().map_err(|e| fail(&e))?;
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        self.inner
            .run(&self.inner.argon, pw.as_bytes(), &salt_bytes, &mut out)
            .map_err(|e| fail(&e))?;
        let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| fail(&e))?;
        let phc = PasswordHash {
            algorithm: argon2::ARGON2ID_IDENT,
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(self.inner.argon.params()).map_err(|e| fail(&e))?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out).map_err(|e| fail(&e))?),
        };
        Ok(phc.to_string())
    }

    /// Verifies against a PHC string; a malformed stored hash verifies as false.
    pub fn verify_blocking(&self, pw: &str, phc: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(phc) else {
            return false;
        };
        if parsed.algorithm != argon2::ARGON2ID_IDENT {
            // Another argon2 variant (none is stored today): the crate's own path.
            return self
                .inner
                .argon
                .verify_password(pw.as_bytes(), &parsed)
                .is_ok();
        }
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return false;
        };
        let version = match parsed.version.map(Version::try_from) {
            None => Version::V0x13,
            Some(Ok(v)) => v,
            Some(Err(_)) => return false,
        };
        let Ok(params) = Params::try_from(&parsed) else {
            return false;
        };
        let mut salt_buf = [0u8; 64];
        let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
            return false;
        };
        // The stored hash's own parameters (an older hash may have weaker ones).
        let argon = Argon2::new(Algorithm::Argon2id, version, params);
        let mut out = vec![0u8; expected.len()];
        if self
            .inner
            .run(&argon, pw.as_bytes(), salt, &mut out)
            .is_err()
        {
            return false;
        }
        // `Output`'s comparison is constant-time.
        Output::new(&out).is_ok_and(|got| got == expected)
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

    /// A permit for one hash (one per core); it goes with the work to the blocking pool and
    /// is given back when the hash is done, even if the request stopped waiting for it.
    async fn permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, HashError> {
        self.inner
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| HashError::Worker(e.to_string()))
    }

    /// Hashes on the blocking pool.
    pub async fn hash(&self, pw: &Password) -> Result<String, HashError> {
        let this = self.clone();
        let pw = SecretString::from(pw.expose().to_owned());
        let permit = self.permit().await?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            this.hash_blocking(pw.expose_secret())
        })
        .await
        .map_err(|e| HashError::Worker(e.to_string()))?
    }

    /// Verifies on the blocking pool; `None` verifies against the dummy hash and is false.
    pub async fn verify(&self, pw: &Password, phc: Option<&str>) -> Result<bool, HashError> {
        let this = self.clone();
        let pw = SecretString::from(pw.expose().to_owned());
        let phc = phc.map(str::to_owned);
        let permit = self.permit().await?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            match phc {
                Some(h) => this.verify_blocking(pw.expose_secret(), &h),
                None => {
                    let dummy = this.dummy_hash().to_owned();
                    let _ = this.verify_blocking(pw.expose_secret(), &dummy);
                    false
                }
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

    fn cheap() -> PasswordHasher {
        PasswordHasher::new(HashParams {
            m_cost_kib: 1024,
            t_cost: 1,
            p_cost: 1,
        })
        .unwrap()
    }

    #[test]
    fn hashes_in_reused_memory_agree_with_the_argon2_crate_both_ways() {
        use argon2::password_hash::PasswordHasher as _;
        let h = cheap();
        let ours = h.hash_blocking("Kuda-Laut-9").unwrap();
        assert!(ours.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{ours}");
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(h
            .inner
            .argon
            .verify_password(b"Kuda-Laut-9", &parsed)
            .is_ok());
        assert!(h
            .inner
            .argon
            .verify_password(b"Kuda-Laut-8", &parsed)
            .is_err());
        // Hashes the crate made (other parameters, the older version 0x10) verify here.
        let salt = SaltString::encode_b64(&[7u8; 16]).unwrap();
        for (version, m) in [(Version::V0x13, 2048), (Version::V0x10, 512)] {
            let argon = Argon2::new(
                Algorithm::Argon2id,
                version,
                Params::new(m, 2, 1, None).unwrap(),
            );
            let theirs = argon
                .hash_password(b"Perahu-Layar-42", &salt)
                .unwrap()
                .to_string();
            assert!(h.verify_blocking("Perahu-Layar-42", &theirs), "{theirs}");
            assert!(!h.verify_blocking("Perahu-Layar-43", &theirs), "{theirs}");
        }
        // The memory of a bigger hash serves a smaller one, and the other way round.
        assert!(h.verify_blocking("Kuda-Laut-9", &ours));
        let big = PasswordHasher::new(HashParams::default()).unwrap();
        assert!(big.verify_blocking("sapk-dummy-password-never-valid", big.dummy_hash()));
        assert!(!h.verify_blocking("Kuda-Laut-9", &ours.replace("$v=19$", "$v=99$")));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn many_at_once_wait_for_a_core_and_keep_one_memory_set_per_core() {
        let h = cheap();
        let phc = h.hash(&Password::new("Kuda-Laut-9")).await.unwrap();
        let answers = futures_util::future::join_all((0..16).map(|i| {
            let (h, phc) = (h.clone(), phc.clone());
            async move {
                let pw = if i % 2 == 0 { "Kuda-Laut-9" } else { "salah" };
                h.verify(&Password::new(pw), Some(&phc)).await.unwrap()
            }
        }))
        .await;
        for (i, ok) in answers.iter().enumerate() {
            assert_eq!(*ok, i % 2 == 0, "answer {i}");
        }
        assert_eq!(
            h.inner.permits.available_permits(),
            cores(),
            "every permit back"
        );
        let kept = h.inner.blocks.lock().unwrap().len();
        assert!((1..=cores()).contains(&kept), "{kept} memory sets kept");
    }
}
