//! Tamper evidence on the DynamoDB stand-in, against someone who can write the tables but
//! does not hold the audit key: the newest records deleted, an unsealed record added, and a
//! whole chain deleted with its kept head (seen against the newest checkpoint in the
//! archive bucket, on moto's S3).

use sapk_aws::aws_sdk_dynamodb::types::AttributeValue;
use sapk_e2e::aws::*;
use serde_json::json;

const NIP: &str = "198609262015051001";

/// The functions over fresh tables, with an archive bucket for checkpoints.
async fn functions_with_archive() -> (
    Functions,
    sapk_aws::TableNames,
    sapk_aws::aws_sdk_dynamodb::Client,
) {
    let tables = fresh_tables(&dynamodb_url()).await;
    let sdk = sapk_aws::local_sdk_config(&dynamodb_url()).await;
    let s3 = sapk_aws::s3_client(&sdk);
    let bucket = format!("{}-archive", tables.audit.to_lowercase());
    let region = sdk.region().map(|r| r.to_string()).unwrap_or_default();
    s3.create_bucket()
        .bucket(&bucket)
        .create_bucket_configuration(
            sapk_aws::aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(region.as_str().into())
                .build(),
        )
        .send()
        .await
        .expect("bucket");
    let mut env = function_env(&tables);
    env.insert("SAPK_AUDIT_ARCHIVE_BUCKET".into(), bucket);
    let f = functions_counted(&dynamodb_url(), &env, None).await;
    (f, tables, sapk_aws::dynamodb_client(&sdk))
}

/// An account with a chain of records.
async fn chain(f: &Functions) {
    seed(
        &f.service,
        NIP,
        &format!("budi.tamper.{}@example.go.id", std::process::id()),
    )
    .await;
    for _ in 0..4 {
        f.post_login(NIP, "Wrong-Password-1").await;
    }
}

async fn verify(f: &Functions) -> serde_json::Value {
    serde_json::to_value(sapk_e2e::verify_chain(&f.service, NIP).await).unwrap()
}

fn has(report: &serde_json::Value, problem: &str) -> bool {
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["problem"] == problem)
}

/// The chain's items, by their sort key.
async fn chain_keys(db: &sapk_aws::aws_sdk_dynamodb::Client, table: &str) -> Vec<String> {
    let out = db
        .query()
        .table_name(table)
        .key_condition_expression("nip = :n")
        .expression_attribute_values(":n", AttributeValue::S(NIP.into()))
        .send()
        .await
        .unwrap();
    out.items()
        .iter()
        .map(|i| i["sk"].as_s().unwrap().clone())
        .collect()
}

async fn delete_item(db: &sapk_aws::aws_sdk_dynamodb::Client, table: &str, sk: &str) {
    db.delete_item()
        .table_name(table)
        .key("nip", AttributeValue::S(NIP.into()))
        .key("sk", AttributeValue::S(sk.into()))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn the_newest_records_deleted_on_dynamodb() {
    let (f, tables, db) = functions_with_archive().await;
    chain(&f).await;
    assert!(verify(&f).await["problems"] == json!([]));
    let keys = chain_keys(&db, &tables.audit).await;
    for sk in keys.iter().rev().take(2) {
        delete_item(&db, &tables.audit, sk).await;
    }
    let r = verify(&f).await;
    assert!(has(&r, "tail_missing"), "{r}");
    // Later records go after the kept head: the gap stays.
    for _ in 0..3 {
        f.post_login(NIP, "Wrong-Password-1").await;
    }
    let r = verify(&f).await;
    assert!(has(&r, "missing"), "{r}");
}

#[tokio::test]
async fn an_unsealed_record_added_on_dynamodb() {
    let (f, tables, db) = functions_with_archive().await;
    chain(&f).await;
    let now = chrono::Utc::now().timestamp_micros();
    db.put_item()
        .table_name(&tables.audit)
        .item("nip", AttributeValue::S(NIP.into()))
        .item(
            "sk",
            AttributeValue::S(format!("{now:020}#0000000000000000")),
        )
        .item("at", AttributeValue::N(now.to_string()))
        .item("actor", AttributeValue::S("self".into()))
        .item("action", AttributeValue::S("login".into()))
        .item("outcome", AttributeValue::S("succeeded".into()))
        .item("details", AttributeValue::S("null".into()))
        .send()
        .await
        .unwrap();
    let r = verify(&f).await;
    assert!(has(&r, "unchained_after_chain"), "{r}");
}

#[tokio::test]
async fn a_whole_chain_deleted_with_its_head_on_dynamodb() {
    let (f, tables, db) = functions_with_archive().await;
    chain(&f).await;
    // The hourly checkpoint (as the audit-checkpoint function writes it).
    let cp = f
        .service
        .write_audit_checkpoint(&sapk_functions::checkpoint_operator())
        .await
        .expect("checkpoint");
    let held = cp.heads[NIP].seq;
    for sk in chain_keys(&db, &tables.audit).await {
        delete_item(&db, &tables.audit, &sk).await;
    }
    db.delete_item()
        .table_name(&tables.ephemeral)
        .key("pk", AttributeValue::S(format!("audithead#{NIP}")))
        .send()
        .await
        .unwrap();
    let r = verify(&f).await;
    assert!(
        r["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["problem"] == "behind_checkpoint" && p["checkpoint"] == held),
        "{r}"
    );
}
