//! What the tests share, in one place:
//!
//! - [`conformance`]: one suite every `Store` passes (`store_conformance_tests!`);
//! - [`memory`]: an in-memory `Store` for unit tests and the route bench;
//! - [`config`]: the tests' configuration (cheap argon2, no padding, no cooldown);
//! - [`events`]: calling an API with an [`sapk_http::ApiGatewayV2`] event as the Lambda
//!   runtime does, and reading the answer;
//! - [`ses`]: reading what `aws-ses-v2-local` holds, and the reset code in an e-mail;
//! - [`clock`]: a clock moved by hand.

#![allow(clippy::too_many_lines)]

pub mod clock;
pub mod config;
pub mod conformance;
pub mod events;
pub mod memory;
pub mod ses;

pub use conformance::DynStore;
