//! The end-to-end tests, in one binary: one test binary links once
//! (thirteen did, each on its own, slow on two cores). A module a subject; what they share
//! is the `sapk_e2e` library (`tests/src`).

#![allow(clippy::too_many_lines)]

mod abuse;
mod architecture;
mod audit_archive;
mod audit_tamper_aws;
mod aws_calls;
mod aws_flow;
mod bad_input;
mod browser;
mod browser_passkeys;
mod counter;
mod edge;
mod failures;
mod flow;
mod local_binary;
mod mail_queue;
mod passkeys;
mod security_aws;
mod staff_cli;
mod two_step;
mod windows;
