//! The public use cases, a file each, as methods of [`crate::service::Service`]:
//!
//! - [`forgot`]: `POST /v1/password/forgot`;
//! - [`reset`]: `POST /v1/password/reset`;
//! - [`login`]: `POST /v1/login`;
//! - [`second_step`]: `POST /v1/login/second-factor`, and setting up an authenticator and its
//!   recovery codes;
//! - [`password_change`]: `POST /v1/password/change`;
//! - [`session`]: `GET /v1/session`, `POST /v1/logout`, `GET /v1/account/activity`.

pub mod forgot;
pub mod login;
pub mod passkey;
pub mod password_change;
pub mod reset;
pub mod second_step;
pub mod session;

pub use crate::domain::passkey::PasskeyView;
pub use second_step::{RecoveryCodes, TotpEnrolment};
pub use session::ActivityItem;
