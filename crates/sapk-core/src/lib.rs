//! Domain and use cases of the SAPK account-recovery and login service.
//!
//! No AWS here: storage, mail and time are ports (`ports`), implemented by adapter crates.

pub mod audit_chain;
pub mod audit_text;
pub mod code;
pub mod config;
pub mod email;
pub mod error;
pub mod exception;
pub mod factor;
pub mod i18n;
pub mod keys;
pub mod mail;
pub mod mail_status;
pub mod name;
pub mod nik;
pub mod nip;
pub mod password;
pub mod policy;
pub mod ports;
pub mod service;
pub mod staff;
pub mod throttle;
pub mod two_step;

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
pub use service::{ActivityItem, Delivery, LoginStep, RequestMeta, Service};
