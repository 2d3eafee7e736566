//! The server key that turns reset codes, session tokens and document numbers into keyed
//! hashes (HMAC-SHA-256). The key never goes to the database.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretSlice};
use sha2::Sha256;
use std::fmt;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the token key must be at least 32 bytes, got {0}")]
    TooShort(usize),
    #[error("the token key is not valid base64")]
    Encoding,
    #[error("the operating system's random source failed: {0}")]
    Random(String),
}

/// HMAC-SHA-256 key. `Debug` never shows it.
#[derive(Clone)]
pub struct TokenKey(SecretSlice<u8>);

impl TokenKey {
    pub fn from_bytes(bytes: Vec<u8>) -> Result<TokenKey, KeyError> {
        if bytes.len() < 32 {
            return Err(KeyError::TooShort(bytes.len()));
        }
        Ok(TokenKey(SecretSlice::from(bytes)))
    }

    /// Standard base64 (as AWS Secrets Manager or `openssl rand -base64 32` give it).
    pub fn from_base64(text: &str) -> Result<TokenKey, KeyError> {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| KeyError::Encoding)?;
        TokenKey::from_bytes(bytes)
    }

    /// Key material from a secret's text: base64 when it decodes to at least 32 bytes (e.g.
    /// `openssl rand -base64 32`), else the text's own bytes when there are at least 32
    /// (e.g. the 64 random alphanumerics Secrets Manager generates).
    pub fn from_secret_text(text: &str) -> Result<TokenKey, KeyError> {
        let text = text.trim();
        match TokenKey::from_base64(text) {
            Ok(k) => Ok(k),
            Err(_) => TokenKey::from_bytes(text.as_bytes().to_vec()),
        }
    }

    pub fn generate() -> Result<TokenKey, KeyError> {
        TokenKey::from_bytes(random_bytes::<32>()?.to_vec())
    }

    /// Base64 of the key, to persist it (local data dir only).
    pub fn to_base64(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(self.0.expose_secret())
    }

    /// HMAC over a domain-separation label and length-prefixed parts.
    pub fn mac(&self, label: &str, parts: &[&[u8]]) -> [u8; 32] {
        // `new_from_slice` accepts keys of any length for HMAC.
        let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(self.0.expose_secret()) {
            Ok(m) => m,
            Err(_) => unreachable_hmac(),
        };
        mac.update(label.as_bytes());
        for p in parts {
            mac.update(&(p.len() as u64).to_be_bytes());
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }

    /// A key of its own for another purpose, derived from this one under `label` (HMAC as a
    /// key-derivation step): knowing the derived key tells nothing of this one.
    pub fn derive(&self, label: &str) -> TokenKey {
        TokenKey(SecretSlice::from(self.mac(label, &[]).to_vec()))
    }

    /// Hex of `mac`, the form stored in databases.
    pub fn mac_hex(&self, label: &str, parts: &[&[u8]]) -> String {
        hex(&self.mac(label, parts))
    }
}

#[cold]
fn unreachable_hmac() -> ! {
    // HMAC has no invalid key length; this is kept for the type system only.
    std::process::abort()
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenKey([REDACTED])")
    }
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xf) as usize] as char);
    }
    s
}

/// Constant-time comparison of two stored hashes.
pub fn ct_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

pub fn random_bytes<const N: usize>() -> Result<[u8; N], KeyError> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_depends_on_key_label_and_parts() {
        let k1 = TokenKey::from_bytes(vec![1; 32]).unwrap();
        let k2 = TokenKey::from_bytes(vec![2; 32]).unwrap();
        let a = k1.mac_hex("x", &[b"ab", b"c"]);
        assert_eq!(a.len(), 64);
        assert_ne!(a, k2.mac_hex("x", &[b"ab", b"c"]));
        assert_ne!(a, k1.mac_hex("y", &[b"ab", b"c"]));
        assert_ne!(a, k1.mac_hex("x", &[b"a", b"bc"]));
        assert!(ct_eq(&a, &k1.mac_hex("x", &[b"ab", b"c"])));
    }

    #[test]
    fn secret_text_is_base64_or_raw() {
        let b64 = TokenKey::from_bytes(vec![9; 32]).unwrap().to_base64();
        assert_eq!(
            TokenKey::from_secret_text(&b64).unwrap().mac(".", &[]),
            TokenKey::from_bytes(vec![9; 32]).unwrap().mac(".", &[])
        );
        let raw = "A".repeat(40) + "-_!";
        assert!(TokenKey::from_secret_text(&raw).is_ok());
        assert!(TokenKey::from_secret_text("short").is_err());
    }

    #[test]
    fn short_keys_are_refused_and_debug_is_redacted() {
        assert!(TokenKey::from_bytes(vec![0; 16]).is_err());
        let k = TokenKey::generate().unwrap();
        assert_eq!(format!("{k:?}"), "TokenKey([REDACTED])");
        let again = TokenKey::from_base64(&k.to_base64()).unwrap();
        assert_eq!(k.mac(".", &[]), again.mac(".", &[]));
    }
}
