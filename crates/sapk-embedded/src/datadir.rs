//! The local data directory shared by `sapk-local` and `sapk-admin`: `sapk.db` (SQLite),
//! `outbox/` (e-mails) and `token.key` (the HMAC key, created on first use).

use crate::{FileOutbox, SqliteStore};
use sapk_core::keys::TokenKey;
use std::io::Write;
use std::path::{Path, PathBuf};

pub const DEFAULT_MAIL_FROM: &str = "SAPK BKN <no-reply@sapk.localhost>";

#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("data directory {0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("{0}")]
    Store(#[from] sapk_core::ports::StoreError),
    #[error("{0}")]
    Mail(#[from] sapk_core::ports::MailError),
    #[error("token key {0}: {1}")]
    Key(PathBuf, sapk_core::keys::KeyError),
}

#[derive(Debug)]
pub struct DataDir {
    pub path: PathBuf,
    pub store: SqliteStore,
    pub outbox: FileOutbox,
    pub key: TokenKey,
}

impl DataDir {
    /// Opens (creating) the directory. `key_override` (e.g. from `SAPK_TOKEN_KEY`) wins over
    /// the key file.
    pub fn open(
        path: &Path,
        mail_from: &str,
        key_override: Option<TokenKey>,
    ) -> Result<DataDir, DataDirError> {
        std::fs::create_dir_all(path).map_err(|e| DataDirError::Io(path.to_owned(), e))?;
        let store = SqliteStore::open(&path.join("sapk.db"))?;
        let outbox = FileOutbox::new(path.join("outbox"), mail_from)?;
        let key = match key_override {
            Some(k) => k,
            None => load_or_create_key(&path.join("token.key"))?,
        };
        Ok(DataDir {
            path: path.to_owned(),
            store,
            outbox,
            key,
        })
    }
}

fn load_or_create_key(file: &Path) -> Result<TokenKey, DataDirError> {
    let io = |e| DataDirError::Io(file.to_owned(), e);
    match std::fs::read_to_string(file) {
        Ok(text) => TokenKey::from_base64(&text).map_err(|e| DataDirError::Key(file.to_owned(), e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = TokenKey::generate().map_err(|e| DataDirError::Key(file.to_owned(), e))?;
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            match opts.open(file) {
                Ok(mut f) => {
                    f.write_all(key.to_base64().as_bytes()).map_err(io)?;
                    Ok(key)
                }
                // Another process created it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let text = std::fs::read_to_string(file).map_err(io)?;
                    TokenKey::from_base64(&text).map_err(|e| DataDirError::Key(file.to_owned(), e))
                }
                Err(e) => Err(io(e)),
            }
        }
        Err(e) => Err(io(e)),
    }
}
