//! The domain: value types that parse (NIP, NIK, names, e-mail addresses, reset codes,
//! passwords), the password policy, keys and the authenticator's secrets, the settings of the
//! use cases, the records the stores keep, and the audit chain's arithmetic. Depends only on
//! [`crate::text`].

pub mod audit_chain;
pub mod breached;
pub mod code;
pub mod config;
pub mod email;
pub mod factor;
pub mod keys;
pub mod mail_status;
pub mod name;
pub mod nik;
pub mod nip;
pub mod passkey;
pub mod password;
pub mod policy;
pub mod records;
