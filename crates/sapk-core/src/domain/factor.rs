//! The second factor of a login: an authenticator app's codes (TOTP, RFC 6238: HMAC-SHA-1,
//! six digits, 30-second steps, as Google Authenticator, Microsoft Authenticator and every
//! other app read an `otpauth://` URI) and ten single-use recovery codes.
//!
//! The TOTP secret is kept sealed with AES-256-GCM under the factor key, a key of its own
//! (neither the token key nor the PII key); recovery codes are kept as keyed hashes only.
//! Both are bound to their account's NIP (the seal's associated data, the hash's input), so
//! a store writer who copies them onto another account gets nothing that works there.
//! Records from before that binding (`v1`: no account in the seal or the hash) are not
//! accepted: copied from an old backup they would work on any account. (No store holding
//! them was ever deployed; an account with one sets up its authenticator again after a
//! counter removes the old one.)

use crate::domain::keys::{ct_eq, random_bytes, KeyError, TokenKey};
use crate::domain::nip::Nip;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The length of a TOTP step.
pub const STEP_SECS: i64 = 30;
/// How many recovery codes an enrolment (or a regeneration) gives.
pub const RECOVERY_CODES: usize = 10;
/// How long a started enrolment waits for its first code.
pub const ENROL_WINDOW_SECS: i64 = 10 * 60;
/// The name an authenticator app shows above the code.
pub const ISSUER: &str = "SAPK BKN";
/// The prefix of a secret sealed bound to its account.
const SEALED_V2: &str = "v2.";
/// Recovery codes are read in Crockford's base32 (no I, L, O or U: nothing to misread).
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// An account's authenticator, as stored with the account.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondFactor {
    /// The TOTP secret, sealed: base64 of the 12-byte nonce and the AES-256-GCM ciphertext.
    pub sealed_secret: String,
    pub started_at: DateTime<Utc>,
    /// When the first valid code confirmed it; `None` while the enrolment waits for it (a
    /// login does not ask for a factor that was never confirmed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrolled_at: Option<DateTime<Utc>>,
    /// The last time step whose code was accepted: no code is accepted twice, nor one older.
    #[serde(default)]
    pub last_step: i64,
    /// Keyed hashes of the recovery codes not yet used.
    #[serde(default)]
    pub recovery: Vec<String>,
}

impl SecondFactor {
    pub fn is_active(&self) -> bool {
        self.enrolled_at.is_some()
    }

    /// How many recovery codes are still unused.
    pub fn recovery_codes_left(&self) -> usize {
        self.recovery.len()
    }
}

impl fmt::Debug for SecondFactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecondFactor")
            .field("started_at", &self.started_at)
            .field("enrolled_at", &self.enrolled_at)
            .field("last_step", &self.last_step)
            .field("recovery_left", &self.recovery.len())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FactorError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("the sealed TOTP secret cannot be opened with this key")]
    Sealed,
    #[error("TOTP parameters refused: {0}")]
    Totp(String),
}

/// The key that seals TOTP secrets and keys the recovery-code hashes.
#[derive(Clone, Debug)]
pub struct FactorKey(TokenKey);

impl FactorKey {
    pub fn new(key: TokenKey) -> FactorKey {
        FactorKey(key)
    }

    fn cipher(&self) -> Aes256Gcm {
        // A key derived for this use alone, so the same secret text never keys two things.
        let k = self.0.mac("sapk/totp-seal-key/v1", &[]);
        Aes256Gcm::new(&k.into())
    }

    /// What binds a sealed secret to its purpose and its account (GCM's associated data).
    fn aad(nip: &Nip) -> Vec<u8> {
        format!("sapk/totp-secret/v2|{nip}").into_bytes()
    }

    /// Seals `nip`'s TOTP secret for storage.
    pub fn seal(&self, nip: &Nip, secret: &TotpSecret) -> Result<String, FactorError> {
        let nonce = random_bytes::<12>()?;
        let ct = self
            .cipher()
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: secret.0.expose_secret(),
                    aad: &Self::aad(nip),
                },
            )
            .map_err(|_| FactorError::Sealed)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(format!(
            "{SEALED_V2}{}",
            base64::engine::general_purpose::STANDARD.encode(out)
        ))
    }

    /// Opens `nip`'s sealed secret; fails on another key, another account's secret, a secret
    /// sealed before the binding to its account, or a stored value that was altered.
    pub fn open(&self, nip: &Nip, sealed: &str) -> Result<TotpSecret, FactorError> {
        let body = sealed.strip_prefix(SEALED_V2).ok_or(FactorError::Sealed)?;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|_| FactorError::Sealed)?;
        if raw.len() < 12 + 16 {
            return Err(FactorError::Sealed);
        }
        let (nonce, ct) = raw.split_at(12);
        let secret = self
            .cipher()
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: &Self::aad(nip),
                },
            )
            .map_err(|_| FactorError::Sealed)?;
        Ok(TotpSecret(SecretSlice::from(secret)))
    }

    /// The stored form of `nip`'s recovery code.
    pub fn recovery_hash(&self, nip: &Nip, code: &RecoveryCode) -> String {
        self.0.mac_hex(
            "sapk/recovery-code/v2",
            &[nip.as_str().as_bytes(), code.0.expose_secret().as_bytes()],
        )
    }

    /// Ten new recovery codes for `nip`, and their stored hashes.
    pub fn new_recovery_codes(
        &self,
        nip: &Nip,
    ) -> Result<(Vec<RecoveryCode>, Vec<String>), FactorError> {
        let codes = (0..RECOVERY_CODES)
            .map(|_| RecoveryCode::generate())
            .collect::<Result<Vec<_>, _>>()?;
        let hashes = codes.iter().map(|c| self.recovery_hash(nip, c)).collect();
        Ok((codes, hashes))
    }
}

/// A TOTP secret in the clear (160 bits, RFC 4226's recommendation). `Debug` hides it.
pub struct TotpSecret(SecretSlice<u8>);

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret([REDACTED])")
    }
}

impl TotpSecret {
    pub fn generate() -> Result<TotpSecret, FactorError> {
        Ok(TotpSecret(SecretSlice::from(
            random_bytes::<20>()?.to_vec(),
        )))
    }

    #[cfg(test)]
    fn from_bytes(b: &[u8]) -> TotpSecret {
        TotpSecret(SecretSlice::from(b.to_vec()))
    }

    fn totp(&self, account: &str) -> Result<totp_rs::TOTP, FactorError> {
        totp_rs::TOTP::new(
            totp_rs::Algorithm::SHA1,
            6,
            1,
            STEP_SECS as u64,
            self.0.expose_secret().to_vec(),
            Some(ISSUER.to_owned()),
            account.to_owned(),
        )
        .map_err(|e| FactorError::Totp(e.to_string()))
    }

    /// The `otpauth://totp/…` URI an authenticator app reads (from a QR code or a link), and
    /// the secret in base32 for typing by hand.
    pub fn provisioning(&self, account: &str) -> Result<(String, String), FactorError> {
        let t = self.totp(account)?;
        Ok((t.get_url(), t.get_secret_base32()))
    }

    /// The code of time step `step`.
    pub fn code_at(&self, step: i64) -> Result<String, FactorError> {
        Ok(self
            .totp("-")?
            .generate(u64::try_from(step.max(0) * STEP_SECS).unwrap_or(0)))
    }

    /// The step (now, one before or one after: a clock off by up to 30 s either way) whose
    /// code `code` is, if it is later than `after`. Every candidate is compared in constant
    /// time.
    pub fn matching_step(
        &self,
        code: &TotpCode,
        now: DateTime<Utc>,
        after: i64,
    ) -> Result<Option<i64>, FactorError> {
        let t = now.timestamp().div_euclid(STEP_SECS);
        let mut found = None;
        for step in [t - 1, t, t + 1] {
            let same = ct_eq(&self.code_at(step)?, code.0.expose_secret());
            if same && step > after && found.is_none() {
                found = Some(step);
            }
        }
        Ok(found)
    }
}

/// How far a phone's clock may be off for [`TotpSecret::clock_offset`] to say so: 10 minutes
/// either way (20 steps).
pub const DRIFT_STEPS: i64 = 20;

impl TotpSecret {
    /// A wrong code that is the code of a step 2 to [`DRIFT_STEPS`] steps *ago*: the phone's
    /// clock is slow by about that much. The offset in seconds (negative), the nearest first.
    /// The code is still refused: only ±1 step counts. A code of a step ahead is never said:
    /// it will be the right code at that time, and saying so would tell a guesser which of
    /// their guesses to try again then (22 chances in a million a guess instead of 3).
    pub fn clock_offset(
        &self,
        code: &TotpCode,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, FactorError> {
        let t = now.timestamp().div_euclid(STEP_SECS);
        for k in 2..=DRIFT_STEPS {
            if ct_eq(&self.code_at(t - k)?, code.0.expose_secret()) {
                return Ok(Some(-k * STEP_SECS));
            }
        }
        Ok(None)
    }
}

/// The time step of `now`.
pub fn step_of(now: DateTime<Utc>) -> i64 {
    now.timestamp().div_euclid(STEP_SECS)
}

/// Six digits from an authenticator app.
pub struct TotpCode(SecretString);

impl fmt::Debug for TotpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpCode([REDACTED])")
    }
}

/// A single-use recovery code: ten characters of Crockford's base32 (50 bits), shown as
/// `abcde-fghij`.
pub struct RecoveryCode(SecretString);

impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode([REDACTED])")
    }
}

impl RecoveryCode {
    fn generate() -> Result<RecoveryCode, KeyError> {
        // 256 is a multiple of 32: every character is equally likely.
        let bytes = random_bytes::<10>()?;
        let s: String = bytes
            .iter()
            .map(|b| ALPHABET[(*b % 32) as usize] as char)
            .collect();
        Ok(RecoveryCode(SecretString::from(s)))
    }

    /// As shown to the user once: lower case, in two groups of five.
    pub fn display(&self) -> String {
        let s = self.0.expose_secret().to_lowercase();
        format!("{}-{}", &s[..5], &s[5..])
    }
}

/// What a user types at the second step: an authenticator code or a recovery code.
#[derive(Debug)]
pub enum FactorInput {
    Totp(TotpCode),
    Recovery(RecoveryCode),
}

impl FactorInput {
    /// Reads either kind, forgiving spaces, hyphens, case and the letters Crockford's base32
    /// reads as digits (`O` as 0, `I` and `L` as 1). `None` for anything else.
    pub fn parse(raw: &str) -> Option<FactorInput> {
        let compact: String = raw
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if compact.len() == 6 && compact.bytes().all(|b| b.is_ascii_digit()) {
            return Some(FactorInput::Totp(TotpCode(SecretString::from(compact))));
        }
        if compact.chars().count() != 10 {
            return None;
        }
        let normal: Option<String> = compact
            .chars()
            .map(|c| match c.to_ascii_uppercase() {
                'O' => Some('0'),
                'I' | 'L' => Some('1'),
                u if u.is_ascii() && ALPHABET.contains(&(u as u8)) => Some(u),
                _ => None,
            })
            .collect();
        normal.map(|s| FactorInput::Recovery(RecoveryCode(SecretString::from(s))))
    }

    pub fn kind(&self) -> &'static str {
        match self {
            FactorInput::Totp(_) => "totp",
            FactorInput::Recovery(_) => "recovery_code",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn key(b: u8) -> FactorKey {
        FactorKey::new(TokenKey::from_bytes(vec![b; 32]).unwrap())
    }

    #[test]
    fn rfc_6238_sha1_vectors() {
        // RFC 6238 appendix B, SHA-1, the last six of the eight digits.
        let s = TotpSecret::from_bytes(b"12345678901234567890");
        for (t, full) in [
            (59_i64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
        ] {
            assert_eq!(s.code_at(t / STEP_SECS).unwrap(), full[2..], "T={t}");
        }
    }

    #[test]
    fn a_code_matches_its_step_with_one_step_of_drift_and_never_twice() {
        let s = TotpSecret::generate().unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 28, 3, 0, 10).unwrap();
        let t = step_of(now);
        let code = |step| match FactorInput::parse(&s.code_at(step).unwrap()) {
            Some(FactorInput::Totp(c)) => c,
            other => panic!("{other:?}"),
        };
        for d in [-1, 0, 1] {
            assert_eq!(s.matching_step(&code(t + d), now, 0).unwrap(), Some(t + d));
        }
        for d in [-2, 2] {
            assert_eq!(s.matching_step(&code(t + d), now, 0).unwrap(), None);
        }
        // Once step t was accepted, neither it nor an earlier one is.
        assert_eq!(s.matching_step(&code(t), now, t).unwrap(), None);
        assert_eq!(s.matching_step(&code(t - 1), now, t).unwrap(), None);
        assert_eq!(s.matching_step(&code(t + 1), now, t).unwrap(), Some(t + 1));
    }

    #[test]
    fn a_code_of_a_time_minutes_away_tells_how_far_the_clock_is_off() {
        let s = TotpSecret::generate().unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 28, 3, 0, 10).unwrap();
        let t = step_of(now);
        let code = |step| match FactorInput::parse(&s.code_at(step).unwrap()) {
            Some(FactorInput::Totp(c)) => c,
            other => panic!("{other:?}"),
        };
        // A code of a time ahead is never confirmed: it would be a guess to try again later.
        for d in [2, 10, 20] {
            assert_eq!(
                s.clock_offset(&code(t + d), now)
                    .unwrap()
                    .filter(|o| *o > 0),
                None
            );
        }
        for (d, want) in [(-4, Some(-120)), (-10, Some(-300)), (-20, Some(-600))] {
            let got = s.clock_offset(&code(t + d), now).unwrap();
            // Another step's code may be the same six digits (one chance in a million each).
            assert!(
                got == want || got.is_some_and(|g| g.abs() < want.unwrap_or(0).abs()),
                "{d}: {got:?}"
            );
        }
        // Within a step it counts (matching_step), so it says nothing; beyond ten minutes neither.
        for d in [-1, 0, 1] {
            assert_eq!(
                s.clock_offset(&code(t + d), now)
                    .unwrap()
                    .filter(|o| o.abs() > 600),
                None
            );
        }
        assert!(s
            .clock_offset(&code(t + 21), now)
            .unwrap()
            .is_none_or(|o| o.abs() <= 600));
    }

    fn nip(s: &str) -> Nip {
        Nip::from_stored(s).unwrap()
    }

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_account_and_unaltered() {
        let s = TotpSecret::generate().unwrap();
        let budi = nip("198609262015051001");
        let ayu = nip("199009132025242014");
        let sealed = key(1).seal(&budi, &s).unwrap();
        let opened = key(1).open(&budi, &sealed).unwrap();
        assert_eq!(opened.code_at(1000).unwrap(), s.code_at(1000).unwrap());
        assert!(matches!(
            key(2).open(&budi, &sealed),
            Err(FactorError::Sealed)
        ));
        // Copied onto another account, it does not open.
        assert!(matches!(
            key(1).open(&ayu, &sealed),
            Err(FactorError::Sealed)
        ));
        let body = sealed.strip_prefix(SEALED_V2).unwrap();
        let mut raw = base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap();
        raw[20] ^= 1;
        let altered = format!(
            "{SEALED_V2}{}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        );
        assert!(matches!(
            key(1).open(&budi, &altered),
            Err(FactorError::Sealed)
        ));
        // A v2 seal read as a legacy one (the prefix stripped) does not open either.
        assert!(matches!(key(1).open(&budi, body), Err(FactorError::Sealed)));
        // Two seals of one secret differ (fresh nonces).
        assert_ne!(key(1).seal(&budi, &s).unwrap(), sealed);
        assert!(!format!("{s:?}").contains(&s.code_at(1).unwrap()));
    }

    #[test]
    fn a_seal_not_bound_to_an_account_does_not_open() {
        let s = TotpSecret::generate().unwrap();
        let nonce = [7u8; 12];
        let ct = key(1)
            .cipher()
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: s.0.expose_secret(),
                    aad: b"sapk/totp-secret/v1",
                },
            )
            .unwrap();
        let unbound = base64::engine::general_purpose::STANDARD.encode([&nonce[..], &ct].concat());
        let budi = nip("198609262015051001");
        assert!(matches!(
            key(1).open(&budi, &unbound),
            Err(FactorError::Sealed)
        ));
        let relabelled = format!("{SEALED_V2}{unbound}");
        assert!(matches!(
            key(1).open(&budi, &relabelled),
            Err(FactorError::Sealed)
        ));
    }

    #[test]
    fn provisioning_uri_names_the_issuer_and_account() {
        let s = TotpSecret::generate().unwrap();
        let (uri, b32) = s.provisioning("198609262015051001").unwrap();
        assert!(
            uri.starts_with("otpauth://totp/SAPK%20BKN:198609262015051001?"),
            "{uri}"
        );
        assert!(uri.contains(&format!("secret={b32}")));
        assert!(uri.contains("issuer=SAPK%20BKN"));
        assert_eq!(b32.len(), 32);
    }

    #[test]
    fn recovery_codes_read_forgivingly_and_hash_by_key() {
        let budi = nip("198609262015051001");
        let (codes, hashes) = key(1).new_recovery_codes(&budi).unwrap();
        assert_eq!(
            (codes.len(), hashes.len()),
            (RECOVERY_CODES, RECOVERY_CODES)
        );
        let shown = codes[0].display();
        assert_eq!(shown.len(), 11);
        for typed in [shown.clone(), shown.to_uppercase(), shown.replace('-', " ")] {
            let Some(FactorInput::Recovery(c)) = FactorInput::parse(&typed) else {
                panic!("{typed}");
            };
            assert_eq!(key(1).recovery_hash(&budi, &c), hashes[0]);
            assert_ne!(key(2).recovery_hash(&budi, &c), hashes[0]);
            // Bound to the account: another NIP's hash of the same code differs.
            let ayu = nip("199009132025242014");
            assert_ne!(key(1).recovery_hash(&ayu, &c), hashes[0]);
        }
        let Some(FactorInput::Recovery(a)) = FactorInput::parse("oil00-11111") else {
            panic!()
        };
        let Some(FactorInput::Recovery(b)) = FactorInput::parse("01100-11111") else {
            panic!()
        };
        assert_eq!(
            key(1).recovery_hash(&budi, &a),
            key(1).recovery_hash(&budi, &b)
        );
        for bad in [
            "",
            "12345",
            "1234567",
            "abcde-fghiu",
            "abcdé-fghij",
            "12 34 5",
        ] {
            assert!(
                !matches!(FactorInput::parse(bad), Some(FactorInput::Recovery(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            FactorInput::parse(" 123 456 "),
            Some(FactorInput::Totp(_))
        ));
    }
}
