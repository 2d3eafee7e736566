//! Embedded adapters for running on one machine: an SQLite `Store` and a `Mailer` that
//! writes each e-mail to a folder as an RFC 5322 `.eml` file.

mod outbox;
mod sqlite;

pub use outbox::FileOutbox;
pub use sqlite::SqliteStore;
