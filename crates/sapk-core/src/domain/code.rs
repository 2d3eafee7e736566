//! Reset codes: 8 symbols of Crockford base32 (40 bits), shown as `XXXX-XXXX`.

use crate::domain::keys::{random_bytes, KeyError, TokenKey};
use crate::domain::nip::Nip;
use secrecy::{ExposeSecret, SecretString};
use std::fmt;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A reset code as typed or as generated. Never printed by `Debug`.
pub struct ResetCode(SecretString);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a reset code")]
pub struct CodeFormatError;

impl ResetCode {
    pub fn generate() -> Result<ResetCode, KeyError> {
        let bytes = random_bytes::<5>()?;
        let bits = bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        let s: String = (0..8)
            .rev()
            .map(|i| ALPHABET[((bits >> (i * 5)) & 31) as usize] as char)
            .collect();
        Ok(ResetCode(SecretString::from(s)))
    }

    /// Case-insensitive; spaces and hyphens ignored; `O` reads as `0`, `I` and `L` as `1`.
    pub fn parse(input: &str) -> Result<ResetCode, CodeFormatError> {
        let mut out = String::with_capacity(8);
        for c in input.chars() {
            if c == '-' || c.is_whitespace() {
                continue;
            }
            let c = match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            };
            if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) || out.len() == 8 {
                return Err(CodeFormatError);
            }
            out.push(c);
        }
        if out.len() != 8 {
            return Err(CodeFormatError);
        }
        Ok(ResetCode(SecretString::from(out)))
    }

    /// `XXXX-XXXX`, for the e-mail only.
    pub fn display(&self) -> String {
        let s = self.0.expose_secret();
        format!("{}-{}", &s[..4], &s[4..])
    }

    /// Keyed hash bound to the NIP: the only form that is stored.
    pub fn hash(&self, key: &TokenKey, nip: &Nip) -> String {
        key.mac_hex(
            "sapk/reset-code/v1",
            &[nip.as_str().as_bytes(), self.0.expose_secret().as_bytes()],
        )
    }
}

impl fmt::Debug for ResetCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResetCode([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn generated_codes_have_the_shape_and_vary() {
        let a = ResetCode::generate().unwrap().display();
        let b = ResetCode::generate().unwrap().display();
        assert_eq!(a.len(), 9);
        assert_eq!(&a[4..5], "-");
        assert!(a
            .chars()
            .filter(|c| *c != '-')
            .all(|c| ALPHABET.contains(&(c as u8))));
        assert_ne!(a, b, "two 40-bit codes collided");
    }

    #[test]
    fn input_is_normalised() {
        let nip = Nip::parse(
            "198609262015051001",
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        )
        .unwrap();
        let key = TokenKey::from_bytes(vec![7; 32]).unwrap();
        let canonical = ResetCode::parse("AB12-CD34").unwrap().hash(&key, &nip);
        for typed in ["ab12cd34", " ab12 - cd34 ", "AB12CD34", "ab12-cd34"] {
            assert_eq!(ResetCode::parse(typed).unwrap().hash(&key, &nip), canonical);
        }
        assert_eq!(
            ResetCode::parse("0I1L-0000").unwrap().display(),
            ResetCode::parse("o111-OOOO").unwrap().display()
        );
    }

    #[test]
    fn malformed_codes() {
        for bad in [
            "",
            "ABC",
            "AB12-CD3",
            "AB12-CD345",
            "AB12-CDU4",
            "AB12_CD34",
            "AB12-CD3é",
            "ＡＢ１２ＣＤ３４",
        ] {
            assert!(ResetCode::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn debug_hides_the_code() {
        let c = ResetCode::parse("AB12CD34").unwrap();
        assert!(!format!("{c:?}").contains("AB12"));
    }
}
