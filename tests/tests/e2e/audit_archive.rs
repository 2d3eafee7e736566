//! The audit archive on moto's S3 (through the SDK): a batch of the audit table's stream
//! (captured in DynamoDB Streams' documented format) becomes one locked object of JSON lines;
//! appends and TTL expiries are normal, a modification or a removal by a person is counted
//! as tampering.

use sapk_aws::archive::{ArchiveCounts, AuditArchive, AuditChange};
use sapk_aws::aws_sdk_s3::types::{
    DefaultRetention, ObjectLockConfiguration, ObjectLockEnabled, ObjectLockRetentionMode,
    ObjectLockRule,
};

fn endpoint() -> String {
    std::env::var("SAPK_TEST_DYNAMODB_URL")
        .expect("SAPK_TEST_DYNAMODB_URL is not set: run scripts/test, which starts moto")
}

fn stream_event() -> aws_lambda_events::event::dynamodb::Event {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crates/sapk-aws/tests/data/audit_stream.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn stream_records_are_told_apart() {
    let e = stream_event();
    let kinds: Vec<AuditChange> = e.records.iter().map(AuditChange::of).collect();
    assert_eq!(
        kinds,
        [
            AuditChange::Appended,
            AuditChange::Modified,
            AuditChange::Removed,
            AuditChange::Expired
        ]
    );
    assert_eq!(
        kinds.iter().filter(|k| k.is_tampering()).count(),
        2,
        "a TTL expiry is not tampering"
    );
}

#[tokio::test]
async fn a_batch_becomes_one_locked_object() {
    let sdk = sapk_aws::local_sdk_config(&endpoint()).await;
    let s3 = sapk_aws::s3_client(&sdk);
    let bucket = format!("sapk-audit-archive-{}", std::process::id());
    let region = sdk.region().map(|r| r.to_string()).unwrap_or_default();
    // The bucket exactly as the template declares it: Object Lock on at creation (it cannot be
    // turned on later), and the template's own default retention (mode and days).
    let declared = TemplateArchiveLock::read();
    s3.create_bucket()
        .bucket(&bucket)
        .create_bucket_configuration(
            sapk_aws::aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(region.as_str().into())
                .build(),
        )
        .object_lock_enabled_for_bucket(declared.enabled_at_creation)
        .send()
        .await
        .unwrap();
    if let Some((mode, days)) = &declared.default_retention {
        s3.put_object_lock_configuration()
            .bucket(&bucket)
            .object_lock_configuration(
                ObjectLockConfiguration::builder()
                    .object_lock_enabled(ObjectLockEnabled::Enabled)
                    .rule(
                        ObjectLockRule::builder()
                            .default_retention(
                                DefaultRetention::builder()
                                    .mode(ObjectLockRetentionMode::from(mode.as_str()))
                                    .days(*days)
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    let archive = AuditArchive::new(s3.clone(), bucket.clone());
    let event = stream_event();
    let key = AuditArchive::object_key(&event.records);
    assert_eq!(
        key,
        "audit/2026/11/18/c4ca4238a0b923820dcc509a6f75849b.jsonl"
    );
    let counts = sapk_functions::archive_audit_batch(&archive, event)
        .await
        .unwrap();
    assert_eq!(
        counts,
        ArchiveCounts {
            appended: 1,
            modified: 1,
            removed: 1,
            expired: 1
        }
    );
    let got = s3
        .get_object()
        .bucket(&bucket)
        .key(&key)
        .send()
        .await
        .unwrap();
    let version = got.version_id().map(str::to_owned);
    let body = got.body.collect().await.unwrap().into_bytes();
    let lines: Vec<serde_json::Value> = body
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    // The modification is kept with what it overwrote.
    assert_eq!(lines[1]["eventName"], "MODIFY");
    assert_eq!(lines[1]["dynamodb"]["OldImage"]["outcome"]["S"], "failed");
    // A removal by a person is evidence: kept with the record it removed. A removal by the
    // TTL, at the end of the retention, is kept by its keys alone: the record's content has
    // been in the archive since its append, and a second copy would start a new retention.
    let removals: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["eventName"] == "REMOVE")
        .collect();
    assert_eq!(removals.len(), 2);
    for r in removals {
        let by_ttl = r["userIdentity"]["principalId"] == "dynamodb.amazonaws.com";
        let old = &r["dynamodb"]["OldImage"];
        let kept = old.as_object().is_some_and(|o| !o.is_empty());
        assert_eq!(kept, !by_ttl, "{r}");
        assert!(
            r["dynamodb"]["Keys"]["nip"].is_object(),
            "the keys stay: {r}"
        );
    }
    // The object is locked: its version cannot be deleted before the retention ends.
    let head = s3
        .head_object()
        .bucket(&bucket)
        .key(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.object_lock_mode(),
        Some(&sapk_aws::aws_sdk_s3::types::ObjectLockMode::Compliance)
    );
    // Kept at least as long as the audit table keeps its records (the template's
    // AuditRetentionDays), counted from the write.
    let until = head
        .object_lock_retain_until_date()
        .expect("a locked object has a retain-until date")
        .secs();
    let days_left = (until - chrono::Utc::now().timestamp()) / 86_400;
    assert!(
        days_left >= declared.table_retention_days - 1,
        "the archive keeps {days_left} days, the table {}",
        declared.table_retention_days
    );
    let delete = s3
        .delete_object()
        .bucket(&bucket)
        .key(&key)
        .set_version_id(version)
        .send()
        .await;
    assert!(delete.is_err(), "a locked version was deleted");
    // An empty batch writes nothing.
    let none = archive.archive(&[]).await.unwrap();
    assert_eq!(none, ArchiveCounts::default());
}

/// The archive bucket's lock as `infra/template.yaml` declares it (`!Ref` to a parameter read as
/// the parameter's default), and how long the audit table keeps its records.
struct TemplateArchiveLock {
    enabled_at_creation: bool,
    /// (mode, days) of the default retention, if the template sets one.
    default_retention: Option<(String, i32)>,
    table_retention_days: i64,
}

impl TemplateArchiveLock {
    fn read() -> TemplateArchiveLock {
        use serde_norway::Value as Y;
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/template.yaml");
        let t: Y = serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let number = |v: &Y| -> i64 {
            match v {
                Y::Tagged(tag) if tag.tag == "!Ref" => {
                    let name = tag.value.as_str().unwrap();
                    t["Parameters"][name]["Default"].as_i64().unwrap()
                }
                v => v.as_i64().unwrap(),
            }
        };
        let props = &t["Resources"]["AuditArchiveBucket"]["Properties"];
        let rule = &props["ObjectLockConfiguration"]["Rule"]["DefaultRetention"];
        let default_retention = rule["Mode"].as_str().map(|mode| {
            (
                mode.to_owned(),
                i32::try_from(number(&rule["Days"])).unwrap(),
            )
        });
        TemplateArchiveLock {
            enabled_at_creation: props["ObjectLockEnabled"].as_bool() == Some(true),
            default_retention,
            table_retention_days: t["Parameters"]["AuditRetentionDays"]["Default"]
                .as_i64()
                .unwrap(),
        }
    }
}
