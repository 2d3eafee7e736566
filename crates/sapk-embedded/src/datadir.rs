//! The local data directory shared by `sapk-local` and `sapk-admin`: `sapk.db` (SQLite),
//! `outbox/` (e-mails), `token.key` (the HMAC key of codes and sessions), `pii.key` (the
//! HMAC key of NIK and document numbers) and `factor.key` (the key that seals TOTP secrets
//! and keys recovery codes), the keys created on first use.

use crate::{FileOutbox, SqliteStore};
use sapk_core::keys::TokenKey;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The SQLite file inside a data directory.
pub const DB_FILE: &str = "sapk.db";

pub use sapk_core::mail::DEFAULT_MAIL_FROM;

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
    /// Keys reset codes and session tokens.
    pub key: TokenKey,
    /// Keys the NIK and document numbers recorded at the counter (a key of their own).
    pub pii_key: TokenKey,
    /// Seals two-step login secrets (a key of its own).
    pub factor_key: TokenKey,
    /// Keys the audit chain (a key of its own: `audit.key`).
    pub audit_key: TokenKey,
}

/// Creates `dir` (and its parents) if needed and makes it readable by its owner only.
pub(crate) fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Writes `bytes` to a new file readable by its owner only.
pub(crate) fn write_private(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(file)?.write_all(bytes)
}

impl DataDir {
    /// Opens (creating) the directory (mode 0700; database and key files 0600). A given
    /// key (e.g. from `SAPK_TOKEN_KEY`, `SAPK_PII_KEY`) wins over its key file.
    pub fn open(
        path: &Path,
        mail_from: &str,
        key_override: Option<TokenKey>,
    ) -> Result<DataDir, DataDirError> {
        DataDir::open_with_keys(path, mail_from, key_override, None)
    }

    pub fn open_with_keys(
        path: &Path,
        mail_from: &str,
        key_override: Option<TokenKey>,
        pii_key_override: Option<TokenKey>,
    ) -> Result<DataDir, DataDirError> {
        private_dir(path).map_err(|e| DataDirError::Io(path.to_owned(), e))?;
        let db = path.join(DB_FILE);
        // The database file exists with mode 0600 before SQLite opens it: SQLite gives its
        // -wal and -shm files the database file's mode. Files of an older data directory
        // are narrowed too.
        #[cfg(unix)]
        {
            use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(&db)
                .map_err(|e| DataDirError::Io(db.clone(), e))?;
            for suffix in ["", "-wal", "-shm"] {
                let f = path.join(format!("sapk.db{suffix}"));
                if f.exists() {
                    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600))
                        .map_err(|e| DataDirError::Io(f.clone(), e))?;
                }
            }
        }
        let store = SqliteStore::open(&db)?;
        let outbox = FileOutbox::new(path.join("outbox"), mail_from)?;
        let key = match key_override {
            Some(k) => k,
            None => load_or_create_key(&path.join("token.key"))?,
        };
        let pii_key = match pii_key_override {
            Some(k) => k,
            None => load_or_create_key(&path.join("pii.key"))?,
        };
        let factor_key = load_or_create_key(&path.join("factor.key"))?;
        let audit_key = load_or_create_key(&path.join("audit.key"))?;
        Ok(DataDir {
            path: path.to_owned(),
            store,
            outbox,
            key,
            pii_key,
            factor_key,
            audit_key,
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

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use sapk_core::ports::{EmailKind, Mailer, OutgoingEmail};
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[tokio::test]
    async fn the_data_directory_is_readable_by_its_owner_only() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join(".sapk");
        let data = DataDir::open(&dir, DEFAULT_MAIL_FROM, None).unwrap();
        data.outbox
            .send(&OutgoingEmail {
                kind: EmailKind::ResetCode,
                to: sapk_core::Email::parse("budi@example.go.id").unwrap(),
                subject: "s".into(),
                text: "ABCD-EFGH".into(),
                html: "<p>ABCD-EFGH</p>".into(),
                lang: sapk_core::Lang::Id,
                guard: None,
            })
            .await
            .unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("outbox")), 0o700);
        for f in [
            "sapk.db",
            "sapk.db-wal",
            "sapk.db-shm",
            "token.key",
            "pii.key",
            "factor.key",
        ] {
            assert_eq!(mode(&dir.join(f)), 0o600, "{f}");
        }
        for e in std::fs::read_dir(dir.join("outbox")).unwrap() {
            assert_eq!(mode(&e.unwrap().path()), 0o600);
        }
    }
}
