//! Embedded adapters for running on one machine: an SQLite `Store`, a mail queue in the same
//! file with its sender, and a `Mailer` that writes each e-mail to a folder as an RFC 5322
//! `.eml` file.

#![cfg_attr(test, allow(clippy::too_many_lines))]

mod checkpoints;
mod datadir;
mod outbox;
mod queue;
mod settings;
mod sqlite;

pub use checkpoints::{CheckpointDir, CHECKPOINT_DIR};
pub use datadir::{DataDir, DataDirError, DB_FILE, DEFAULT_MAIL_FROM};
pub use outbox::FileOutbox;
pub use queue::{MailQueue, Sender, MAX_ATTEMPTS};
pub use settings::{EmbeddedSettings, SettingsError};
pub use sqlite::SqliteStore;
