//! Embedded adapters for running on one machine: an SQLite `Store` and a `Mailer` that
//! writes each e-mail to a folder as an RFC 5322 `.eml` file.

mod datadir;
mod outbox;
mod sqlite;

pub use datadir::{DataDir, DataDirError, DB_FILE, DEFAULT_MAIL_FROM};
pub use outbox::FileOutbox;
pub use sqlite::SqliteStore;
