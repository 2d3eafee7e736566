//! The shared store conformance suite against DynamoDB, through the AWS SDK, on moto.
//! `scripts/test` starts moto and sets `SAPK_TEST_DYNAMODB_URL`.

use sapk_aws::{create_tables, dynamodb_client, local_sdk_config, DynamoStore, TableNames};
use sapk_testkit::DynStore;
use std::sync::Arc;
use tokio::sync::OnceCell;

static TABLES: OnceCell<TableNames> = OnceCell::const_new();

fn endpoint() -> String {
    std::env::var("SAPK_TEST_DYNAMODB_URL")
        .expect("SAPK_TEST_DYNAMODB_URL is not set: run scripts/test, which starts moto")
}

async fn store() -> DynStore {
    let cfg = local_sdk_config(&endpoint()).await;
    let client = dynamodb_client(&cfg);
    let names = TABLES
        .get_or_init(|| async {
            let names = TableNames::with_prefix(&format!("conformance-{}", std::process::id()));
            create_tables(
                &dynamodb_client(&local_sdk_config(&endpoint()).await),
                &names,
            )
            .await
            .expect("create tables on moto");
            names
        })
        .await;
    Arc::new(DynamoStore::new(client, names.clone()))
}

sapk_testkit::store_conformance_tests!(store());

#[tokio::test]
async fn create_tables_is_idempotent_and_sets_ttl() {
    let cfg = local_sdk_config(&endpoint()).await;
    let client = dynamodb_client(&cfg);
    let names = TableNames::with_prefix(&format!("idem-{}", std::process::id()));
    let first = create_tables(&client, &names).await.unwrap();
    assert_eq!(first.len(), sapk_aws::TABLES.len());
    assert!(create_tables(&client, &names).await.unwrap().is_empty());
    let ttl = client
        .describe_time_to_live()
        .table_name(&names.ephemeral)
        .send()
        .await
        .unwrap();
    let d = ttl.time_to_live_description().unwrap();
    assert_eq!(d.attribute_name(), Some("ttl"));
}

#[tokio::test]
async fn audit_records_carry_their_retention_as_ttl() {
    let cfg = local_sdk_config(&endpoint()).await;
    let client = dynamodb_client(&cfg);
    let names = TableNames::with_prefix(&format!("retention-{}", std::process::id()));
    create_tables(&client, &names).await.unwrap();
    let ttl = client
        .describe_time_to_live()
        .table_name(&names.audit)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ttl.time_to_live_description().unwrap().attribute_name(),
        Some("ttl")
    );
    let store = DynamoStore::new(client.clone(), names.clone()).with_audit_retention(30);
    let at = chrono::DateTime::from_timestamp(1_795_000_000, 0).unwrap();
    let nip = sapk_core::Nip::from_stored("198609262015051001").unwrap();
    use sapk_core::ports::stores::*;
    store
        .append_audit(&sapk_core::ports::AuditEvent {
            at,
            actor: "self".into(),
            office: None,
            nip: Some(nip.clone()),
            source_ip: None,
            action: "login".into(),
            outcome: "failed".into(),
            details: serde_json::Value::Null,
            link: None,
        })
        .await
        .unwrap();
    let items = client
        .query()
        .table_name(&names.audit)
        .key_condition_expression("nip = :n")
        .expression_attribute_values(
            ":n",
            sapk_aws::aws_sdk_dynamodb::types::AttributeValue::S(nip.as_str().into()),
        )
        .send()
        .await
        .unwrap();
    let item = &items.items()[0];
    let expires = item["ttl"].as_n().unwrap().parse::<i64>().unwrap();
    assert_eq!(expires, at.timestamp() + 30 * 86_400);
    // Read back, the record is whole (the ttl is the store's, not part of the event).
    assert_eq!(store.list_audit(&nip, 5).await.unwrap().len(), 1);
}
