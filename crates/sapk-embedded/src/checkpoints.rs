//! Audit checkpoints beside the embedded store: `audit-checkpoints/` in the data directory,
//! one JSON file per checkpoint (`checkpoint-<microseconds>.json`), created new and made
//! read-only, never replaced. A copy of this folder kept elsewhere (a backup, a USB disk at
//! the office) is what holds against someone who rewrites the whole data directory.

use async_trait::async_trait;
use sapk_core::audit_chain::Checkpoint;
use sapk_core::ports::{AuditArchive, StoreError};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The folder of checkpoints inside a data directory.
pub const CHECKPOINT_DIR: &str = "audit-checkpoints";

#[derive(Debug, Clone)]
pub struct CheckpointDir {
    dir: PathBuf,
}

fn io(e: std::io::Error) -> StoreError {
    StoreError::Unavailable(format!("audit checkpoints: {e}"))
}

impl CheckpointDir {
    /// The checkpoint folder of the data directory `data_dir` (created on the first write).
    pub fn in_data_dir(data_dir: &Path) -> CheckpointDir {
        CheckpointDir {
            dir: data_dir.join(CHECKPOINT_DIR),
        }
    }

    /// The checkpoint files by the time in their names, newest first.
    fn files_newest_first(&self) -> std::io::Result<Vec<(u64, PathBuf)>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut files = Vec::new();
        for entry in entries {
            let path = entry?.path();
            let stamp = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix("checkpoint-"))
                .and_then(|n| n.strip_suffix(".json"))
                .and_then(|n| n.parse::<u64>().ok());
            if let Some(stamp) = stamp {
                files.push((stamp, path));
            }
        }
        files.sort_by_key(|f| std::cmp::Reverse(f.0));
        Ok(files)
    }
}

#[async_trait]
impl AuditArchive for CheckpointDir {
    async fn put_checkpoint(&self, cp: &Checkpoint) -> Result<(), StoreError> {
        let body = serde_json::to_vec_pretty(cp).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let file = self.dir.join(format!(
            "checkpoint-{:020}.json",
            cp.at.timestamp_micros().max(0)
        ));
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || {
            crate::datadir::private_dir(&dir)?;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&file)?;
            f.write_all(&body)?;
            f.sync_all()?;
            let mut perms = f.metadata()?.permissions();
            perms.set_readonly(true);
            std::fs::set_permissions(&file, perms)
        })
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?
        .map_err(io)
    }

    /// The newest checkpoint whose file name is its own time: a checkpoint copied under a
    /// newer name (to hide the ones after it) is passed over.
    async fn latest_checkpoint(&self) -> Result<Option<Checkpoint>, StoreError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            for (stamp, file) in this.files_newest_first().map_err(io)? {
                let body = std::fs::read(&file).map_err(io)?;
                let cp: Checkpoint = serde_json::from_slice(&body)
                    .map_err(|e| StoreError::Corrupt(format!("{}: {e}", file.display())))?;
                if u64::try_from(cp.at.timestamp_micros()).ok() == Some(stamp) {
                    return Ok(Some(cp));
                }
                tracing::warn!(file = %file.display(), "audit checkpoint under another time's name: passed over");
            }
            Ok(None)
        })
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?
    }
}
