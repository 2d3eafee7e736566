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
        .staff()
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

/// On AWS no person holds the service's audit key: a supervisor's `sapk-admin` seals with
/// the supervisors' own key (`SAPK_AUDIT_SEALER=supervisor`). The staff function, which holds
/// the writers' keys too, verifies and names who sealed what; a record the supervisor's key
/// may not write (a login in an employee's chain) is reported.
#[tokio::test]
async fn a_supervisor_seals_with_a_key_of_its_own_and_may_not_forge_service_records() {
    let tables = fresh_tables(&dynamodb_url()).await;
    let service_env = function_env(&tables);
    let supervisor_key = sapk_core::TokenKey::generate().unwrap().to_base64();
    let audit_key = sapk_core::TokenKey::generate().unwrap().to_base64();
    // The staff function: the service's key, and the writers' to verify.
    let mut staff_env = service_env.clone();
    staff_env.insert("SAPK_AUDIT_KEY".into(), audit_key.clone());
    staff_env.insert("SAPK_AUDIT_KEY_SUPERVISOR".into(), supervisor_key.clone());
    let f = functions_counted(&dynamodb_url(), &staff_env, None).await;
    // The supervisor's sapk-admin: the supervisors' key only.
    let mut sup_env = service_env.clone();
    sup_env.insert("SAPK_AUDIT_KEY".into(), supervisor_key.clone());
    sup_env.insert("SAPK_AUDIT_SEALER".into(), "supervisor".into());
    let get = |k: &str| sup_env.get(k).cloned();
    let settings = sapk_aws::Settings::read(sapk_aws::Entry::Tool, &get).unwrap();
    let sdk = sapk_aws::local_sdk_config(&dynamodb_url()).await;
    let store = std::sync::Arc::new(settings.store(sapk_aws::dynamodb_client(&sdk)));
    let mailer = std::sync::Arc::new(settings.ses(sapk_aws::sesv2_client(&sdk)));
    let supervisor = settings.service(store, mailer).unwrap();
    let op = sapk_core::staff::Operator {
        id: "arn:aws:sts::1:assumed-role/AWSReservedSSO_Supervisor_1/sri@bkn.go.id".into(),
        office: "KANREG-III".into(),
        officer_id: None,
        scope: None,
        office_name: None,
    };
    supervisor
        .staff()
        .register_officer(
            sapk_core::ports::Officer {
                principal:
                    "arn:aws:sts::1:assumed-role/AWSReservedSSO_CounterStaff_1/andi@bkn.go.id"
                        .into(),
                officer_id: "198807122019032001".into(),
                name: "Andi".into(),
                office: "KANREG-III".into(),
                scope: sapk_core::ports::StaffScope::Bkn,
                active: true,
                updated_at: chrono::Utc::now(),
                office_name: None,
            },
            &op,
            false,
        )
        .await
        .unwrap();
    let report = f.service.staff().verify_system_audit(&op).await.unwrap();
    assert!(report.intact(), "{report:?}");
    assert_eq!(report.sealed_by.get("supervisor"), Some(&1), "{report:?}");
    // The supervisor's key cannot make a login record that verifies in an employee's chain.
    seed(
        &f.service,
        NIP,
        &format!("budi.writer.{}@example.go.id", std::process::id()),
    )
    .await;
    let nip = sapk_core::Nip::from_stored(NIP).unwrap();
    let forged = sapk_core::ports::AuditEvent {
        at: chrono::Utc::now(),
        actor: "self".into(),
        office: None,
        nip: Some(nip.clone()),
        source_ip: Some("203.0.113.9".into()),
        action: "login".into(),
        outcome: "succeeded".into(),
        details: serde_json::Value::Null,
        link: None,
    };
    let ring = sapk_core::audit_chain::AuditKey::for_writer(
        sapk_core::TokenKey::from_secret_text(&supervisor_key).unwrap(),
        "supervisor",
    );
    let head = f.service.store().audit_head(NIP).await.unwrap();
    let mut sealed = forged.clone();
    sealed.link = Some(ring.seal(&forged, head.as_ref()));
    f.service.store().append_audit(&sealed).await.unwrap();
    let r = verify(&f).await;
    assert!(has(&r, "sealed_by_writer"), "{r}");
}
