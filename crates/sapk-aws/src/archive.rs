//! The audit archive: every change DynamoDB Streams reports on the audit table, kept as JSON
//! lines in an S3 bucket with Object Lock in compliance mode (no one, the account's root
//! included, can delete or overwrite an object before its retention ends). An append is the
//! normal change; a modification or a removal by anyone but DynamoDB's TTL is tampering, kept
//! with its old image as evidence and reported.

use aws_lambda_events::event::dynamodb::EventRecord;
use aws_sdk_s3::primitives::ByteStream;

/// What a stream record says happened to an audit record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditChange {
    /// A new record (the only change the service makes).
    Appended,
    /// A record was overwritten (a `PutItem` on an existing key: nothing in the service does
    /// that).
    Modified,
    /// A record was deleted by a principal (the table's policy denies it; only someone who
    /// changed the policy could).
    Removed,
    /// A record reached its retention period and DynamoDB's TTL removed it.
    Expired,
}

impl AuditChange {
    pub fn of(record: &EventRecord) -> AuditChange {
        match record.event_name.as_str() {
            "INSERT" => AuditChange::Appended,
            "REMOVE" => {
                let by_ttl = record.user_identity.as_ref().is_some_and(|u| {
                    u.type_ == "Service" && u.principal_id == "dynamodb.amazonaws.com"
                });
                if by_ttl {
                    AuditChange::Expired
                } else {
                    AuditChange::Removed
                }
            }
            // MODIFY, and anything DynamoDB may add later: not an append.
            _ => AuditChange::Modified,
        }
    }

    /// Whether someone changed the trail.
    pub fn is_tampering(self) -> bool {
        matches!(self, AuditChange::Modified | AuditChange::Removed)
    }
}

/// How many records of a batch were of each kind.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveCounts {
    pub appended: usize,
    pub modified: usize,
    pub removed: usize,
    pub expired: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("stream record not serialisable: {0}")]
    Encode(String),
    #[error("archive bucket unavailable: {0}")]
    Unavailable(String),
}

/// Writes batches of stream records to the archive bucket.
#[derive(Debug, Clone)]
pub struct AuditArchive {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl AuditArchive {
    pub fn new(client: aws_sdk_s3::Client, bucket: String) -> AuditArchive {
        AuditArchive { client, bucket }
    }

    /// Where a batch goes: by the day of its first record, named after that record's event
    /// ID (a retried batch writes the same key: a new version, the old one locked too).
    pub fn object_key(records: &[EventRecord]) -> String {
        match records.first() {
            Some(r) => format!(
                "audit/{}/{}.jsonl",
                r.change.approximate_creation_date_time.format("%Y/%m/%d"),
                r.event_id
            ),
            None => "audit/empty.jsonl".to_owned(),
        }
    }

    /// Archives a batch: one object of JSON lines, each the whole stream record (keys, new
    /// and old images, who and when). The bucket's default retention locks it. Returns what
    /// the batch held; an S3 failure is an error (the stream delivers the batch again).
    pub async fn archive(&self, records: &[EventRecord]) -> Result<ArchiveCounts, ArchiveError> {
        let mut counts = ArchiveCounts::default();
        let mut body = Vec::new();
        for r in records {
            let change = AuditChange::of(r);
            match change {
                AuditChange::Appended => counts.appended += 1,
                AuditChange::Modified => counts.modified += 1,
                AuditChange::Removed => counts.removed += 1,
                AuditChange::Expired => counts.expired += 1,
            }
            // A record the TTL removed at the end of its retention is archived by its keys
            // alone: its content is in the archive since its append, and a second copy here
            // would be locked for another full retention period.
            let line = match change {
                AuditChange::Expired => {
                    let mut keys_only = r.clone();
                    keys_only.change.old_image = Default::default();
                    keys_only.change.new_image = Default::default();
                    serde_json::to_writer(&mut body, &keys_only)
                }
                _ => serde_json::to_writer(&mut body, r),
            };
            line.map_err(|e| ArchiveError::Encode(e.to_string()))?;
            body.push(b'\n');
        }
        if records.is_empty() {
            return Ok(counts);
        }
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(Self::object_key(records))
            .content_type("application/x-ndjson")
            .body(ByteStream::from(body))
            // Object Lock refuses a write without an integrity checksum.
            .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
            .send()
            .await
            .map_err(|e| {
                ArchiveError::Unavailable(aws_sdk_s3::error::DisplayErrorContext(e).to_string())
            })?;
        Ok(counts)
    }
}

/// Audit checkpoints ([`sapk_core::audit_chain::Checkpoint`]) in the archive bucket, under
/// `checkpoints/<microseconds>.json`: each a new object the bucket's Object Lock keeps from
/// being deleted or overwritten. Only the audit-checkpoint function writes them (it holds the
/// audit key); the staff function reads the newest for `audit --verify`.
#[derive(Debug, Clone)]
pub struct S3Checkpoints {
    client: aws_sdk_s3::Client,
    bucket: String,
}

/// Where checkpoints are kept in the archive bucket.
pub const CHECKPOINT_PREFIX: &str = "checkpoints/";

fn s3_down<E: std::error::Error + Send + Sync + 'static, R: std::fmt::Debug>(
    e: aws_sdk_s3::error::SdkError<E, R>,
) -> sapk_core::ports::StoreError {
    sapk_core::ports::StoreError::Unavailable(format!(
        "archive bucket: {}",
        aws_sdk_s3::error::DisplayErrorContext(e)
    ))
}

impl S3Checkpoints {
    pub fn new(client: aws_sdk_s3::Client, bucket: String) -> S3Checkpoints {
        S3Checkpoints { client, bucket }
    }

    /// The key of a checkpoint written at `at` (zero-padded: S3 lists keys in order).
    pub fn key_of(at: chrono::DateTime<chrono::Utc>) -> String {
        format!(
            "{CHECKPOINT_PREFIX}{:020}.json",
            at.timestamp_micros().max(0)
        )
    }
}

#[async_trait::async_trait]
impl sapk_core::ports::AuditArchive for S3Checkpoints {
    async fn put_checkpoint(
        &self,
        cp: &sapk_core::audit_chain::Checkpoint,
    ) -> Result<(), sapk_core::ports::StoreError> {
        let body = serde_json::to_vec(cp)
            .map_err(|e| sapk_core::ports::StoreError::Corrupt(e.to_string()))?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(Self::key_of(cp.at))
            .content_type("application/json")
            .body(ByteStream::from(body))
            // Never replaces one: a second checkpoint at the same microsecond is refused.
            .if_none_match("*")
            .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
            .send()
            .await
            .map_err(s3_down)?;
        Ok(())
    }

    async fn latest_checkpoint(
        &self,
    ) -> Result<Option<sapk_core::audit_chain::Checkpoint>, sapk_core::ports::StoreError> {
        let mut newest: Option<String> = None;
        let mut token = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(CHECKPOINT_PREFIX)
                .set_continuation_token(token)
                .send()
                .await
                .map_err(s3_down)?;
            for o in page.contents() {
                if let Some(k) = o.key() {
                    if newest.as_deref().is_none_or(|n| k > n) {
                        newest = Some(k.to_owned());
                    }
                }
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated().unwrap_or(false) => token = Some(t.to_owned()),
                _ => break,
            }
        }
        let Some(key) = newest else {
            return Ok(None);
        };
        let obj = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
            .map_err(s3_down)?;
        let bytes = obj
            .body
            .collect()
            .await
            .map_err(|e| sapk_core::ports::StoreError::Unavailable(e.to_string()))?
            .into_bytes();
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| sapk_core::ports::StoreError::Corrupt(format!("{key}: {e}")))
    }
}
