//! What people read: the languages and their texts ([`i18n`]), and the audit's actions,
//! outcomes and reasons with their words ([`audit_text`]). Depends on nothing else here.

pub mod activity;
pub mod audit_text;
pub mod i18n;
