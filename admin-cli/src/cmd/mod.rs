//! One module per command group, each with its clap types and its `run`.

pub mod account;
pub mod audit;
pub mod email;
pub mod employee;
pub mod init;
pub mod mail;
pub mod session;
pub mod staff;
pub mod tables;
