//! The shared store conformance suite against DynamoDB, through the AWS SDK, on moto.
//! `scripts/test` starts moto and sets `SAPK_TEST_DYNAMODB_URL`.

use sapk_aws::{create_tables, dynamodb_client, local_sdk_config, DynamoStore, TableNames};
use sapk_store_conformance::DynStore;
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

sapk_store_conformance::store_conformance_tests!(store());

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
