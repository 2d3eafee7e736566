//! Domain and use cases of the SAPK account-recovery and login service, in levels that only
//! import downwards:
//!
//! - [`text`]: languages and the words people read (the audit's texts among them);
//! - [`domain`]: value types that parse, the password policy, keys, settings, the records the
//!   stores keep, the audit chain's arithmetic;
//! - [`ports`]: the traits the adapters implement (storage, mail, time);
//! - [`service`]: the `Service` and what every use case shares (the audit append, rate
//!   windows, lock-out reservations, refusal codes);
//! - the use cases: the public ones in [`public`], the counter's in [`staff`] (the e-mail
//!   exception, the removal of a lost authenticator and the mail-status recorder among
//!   them), the mail pipeline's in [`mail`] (templates and delivery).
//!
//! No AWS here: adapter crates implement the ports.

#![cfg_attr(test, allow(clippy::too_many_lines))]

pub mod domain;
pub mod mail;
pub mod ports;
pub mod public;
pub mod service;
pub mod staff;
pub mod text;

// The domain's and the texts' modules under their old names, for the adapters and binaries.
pub use domain::{
    audit_chain, breached, code, config, email, factor, keys, mail_status, name, nik, nip,
    password, policy,
};
pub use service::{error, throttle};
pub use text::{audit_text, i18n};

pub use code::ResetCode;
pub use config::Config;
pub use email::Email;
pub use error::AuthError;
pub use i18n::Lang;
pub use keys::TokenKey;
pub use name::EmployeeName;
pub use nik::Nik;
pub use nip::{Gender, Nip};
pub use password::{Password, PasswordHasher};
pub use public::ActivityItem;
pub use service::{Delivery, LoginStep, Mail, Public, RequestMeta, Service, Staff};
