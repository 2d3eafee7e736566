//! One module per command group, each with its clap types and its `run`.

pub mod account;
pub mod audit;
pub mod email;
pub mod employee;
pub mod identity;
pub mod init;
pub mod mail;
pub mod session;
pub mod staff;
pub mod tables;

/// Every command's Indonesian help, group by group.
pub const HELP: &[&[crate::help::Page]] = &[
    init::HELP,
    employee::HELP,
    email::HELP,
    mail::HELP,
    account::HELP,
    session::HELP,
    audit::HELP,
    tables::HELP,
    staff::HELP,
];
