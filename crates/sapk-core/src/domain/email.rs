//! E-mail addresses as this service accepts them.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("an e-mail address is at most 254 characters")]
    TooLong,
    #[error("not a valid e-mail address")]
    Invalid,
}

/// A syntactically valid address, trimmed, with its domain in lower case.
impl EmailError {
    /// What an officer or a civil servant reads.
    pub fn text(&self, lang: crate::text::i18n::Lang) -> String {
        match self {
            EmailError::TooLong => lang
                .pick(
                    "email lebih dari 254 karakter",
                    "the e-mail is longer than 254 characters",
                )
                .into(),
            EmailError::Invalid => lang
                .pick("alamat email tidak valid", "not a valid e-mail address")
                .into(),
        }
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// An address a person typed: also plain ASCII, without a quoted local part, a comment
    /// or an IP-literal domain. Each of those is another spelling of some mailbox (`"budi"@x`
    /// is `budi@x`, `bücher.id` is `xn--bcher-kva.id`), which would make one mailbox two
    /// claims; mail services do not deliver to a non-ASCII local part anyway.
    pub fn parse(input: &str) -> Result<Email, EmailError> {
        let s = input.trim();
        if s.len() > 254 {
            return Err(EmailError::TooLong);
        }
        if !s.is_ascii() || s.contains(['"', '(', ')', '[', ']', '\\']) {
            return Err(EmailError::Invalid);
        }
        Email::parse_stored(s)
    }

    /// An address as a store holds it, perhaps written before [`Email::parse`] refused some
    /// spellings: read as it is, so that no account becomes unreadable.
    pub fn parse_stored(input: &str) -> Result<Email, EmailError> {
        let s = input.trim();
        if s.len() > 254 {
            return Err(EmailError::TooLong);
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(EmailError::Invalid);
        }
        let (local, domain) = s.rsplit_once('@').ok_or(EmailError::Invalid)?;
        let domain = domain.to_lowercase();
        // A deliverable address needs a dotted domain; `email_address` checks the rest.
        if local.is_empty() || !domain.contains('.') || domain.starts_with('.') {
            return Err(EmailError::Invalid);
        }
        let candidate = format!("{local}@{domain}");
        if !email_address::EmailAddress::is_valid(&candidate) {
            return Err(EmailError::Invalid);
        }
        Ok(Email(candidate))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// An address no account can have (`.invalid` is reserved, RFC 2606): what a read that
    /// must look like every other one reads when there is no address.
    pub(crate) fn nobody() -> Email {
        Email("tidak-ada@sapk.invalid".to_owned())
    }

    /// The address as one claim (one address, one ASN): trimmed (parsing did), the whole
    /// address in lower case (mail providers treat the local part without regard to case;
    /// dots and `+tags` are kept, as BKN's data has them), hashed so that the claim's key is
    /// of fixed length. Not keyed: the account beside it holds the address itself.
    pub fn claim_key(&self) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(format!("sapk-email-claim:{}", self.0.to_lowercase()));
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// `bu***@example.go.id`: enough for the holder to recognise, little for anyone else.
    pub fn masked(&self) -> String {
        let (local, domain) = self.0.rsplit_once('@').unwrap_or((&self.0, ""));
        let shown: String = local
            .chars()
            .take(if local.chars().count() > 3 { 2 } else { 1 })
            .collect();
        format!("{shown}***@{domain}")
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.masked())
    }
}

impl Serialize for Email {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Email, D::Error> {
        let s = String::deserialize(d)?;
        Email::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_spellings_of_one_mailbox_are_refused_as_input_but_read_when_stored() {
        for other in [
            "\"budi\"@example.go.id",
            "budi@[192.0.2.1]",
            "budi@bücher.id",
            "budi@ｇｍａｉｌ.com",
            "ᴮudi@example.go.id",
            "budi(kantor)@example.go.id",
        ] {
            assert!(Email::parse(other).is_err(), "{other}");
        }
        assert!(Email::parse_stored("budi@bücher.id").is_ok());
        assert_eq!(
            Email::parse("Budi@Example.go.id").unwrap().claim_key(),
            Email::parse("budi@example.GO.ID").unwrap().claim_key()
        );
    }

    #[test]
    fn accepts_and_normalises() {
        let e = Email::parse("  Budi.Santoso@Example.GO.ID ").unwrap();
        assert_eq!(e.as_str(), "Budi.Santoso@example.go.id");
        assert_eq!(e.masked(), "Bu***@example.go.id");
        assert_eq!(Email::parse("ab@x.id").unwrap().masked(), "a***@x.id");
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "budi",
            "budi@",
            "@x.id",
            "budi@localhost",
            "bu di@x.id",
            "a@b@c",
            "budi@.id",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}@example.go.id", "a".repeat(250));
        assert_eq!(Email::parse(&long), Err(EmailError::TooLong));
    }
}
