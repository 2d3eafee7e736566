//! What real DynamoDB does and the emulator never does: answer `TransactionConflictException`
//! (or cancel a transaction with `TransactionConflict`) while another transaction holds an
//! item. A stub on 127.0.0.1 replies as DynamoDB would, from a script; the client must retry
//! these with back-off, and must not retry a failed condition.

use chrono::{TimeZone, Utc};
use sapk_aws::{dynamodb_client, local_sdk_config, DynamoStore, TableNames};
use sapk_core::ports::stores::*;
use sapk_core::ports::{Account, LoginThrottle, StoreError};
use sapk_core::Nip;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One scripted answer: status and JSON body.
type Reply = (u16, &'static str);

const CONFLICT_CANCELLED: Reply = (
    400,
    r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [None, TransactionConflict, None]","CancellationReasons":[{"Code":"None"},{"Code":"TransactionConflict","Message":"Transaction is ongoing for the item"},{"Code":"None"}]}"#,
);
const CONDITION_CANCELLED: Reply = (
    400,
    r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed, None, None]","CancellationReasons":[{"Code":"ConditionalCheckFailed","Message":"The conditional request failed"},{"Code":"None"},{"Code":"None"}]}"#,
);
const CONFLICT: Reply = (
    400,
    r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionConflictException","message":"Transaction is ongoing for the item"}"#,
);
const OK_EMPTY: Reply = (200, "{}");
const OK_ATTEMPTS: Reply = (200, r#"{"Attributes":{"attempts_left":{"N":"4"}}}"#);

/// Serves the script in order (then 500s), counting requests.
async fn stub(script: Vec<Reply>) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let script = Arc::new(Mutex::new(script.into_iter()));
    let count = Arc::new(AtomicUsize::new(0));
    let c2 = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let (script, count) = (script.clone(), c2.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    // Headers, then Content-Length bytes of body.
                    let head_end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        let mut chunk = [0u8; 4096];
                        match s.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    while buf.len() < head_end + len {
                        let mut chunk = [0u8; 4096];
                        match s.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    buf.drain(..head_end + len);
                    count.fetch_add(1, Ordering::SeqCst);
                    let (status, body) = script
                        .lock()
                        .unwrap()
                        .next()
                        .unwrap_or((500, r#"{"__type":"InternalServerError"}"#));
                    let reply = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\nx-amzn-requestid: stub\r\n\r\n{body}",
                        body.len()
                    );
                    if s.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (format!("http://{addr}"), count)
}

async fn store_at(url: &str) -> DynamoStore {
    DynamoStore::new(
        dynamodb_client(&local_sdk_config(url).await),
        TableNames::with_prefix("stub"),
    )
}

fn account() -> Account {
    let t = Utc
        .with_ymd_and_hms(2026, 11, 27, 8, 0, 0)
        .single()
        .unwrap();
    Account {
        nip: Nip::from_stored("198609262015051001").unwrap(),
        name: sapk_testkit::conformance::name("Budi"),
        email: None,
        email_verified_at: None,
        instansi: None,
        password_hash: Some("h".into()),
        credential_version: 1,
        password_changed_at: Some(t),
        second_factor: None,
        created_at: t,
        updated_at: t,
        version: 0,
    }
}

fn cleared(a: &Account) -> LoginThrottle {
    LoginThrottle {
        key: a.nip.as_str().to_owned(),
        nip: a.nip.clone(),
        failures: 0,
        locked_until: None,
        since: a.created_at,
        expires_at: a.created_at,
        rev: 1,
    }
}

fn record(a: &Account) -> sapk_core::ports::AuditEvent {
    sapk_core::ports::AuditEvent {
        at: a.created_at,
        actor: "self".into(),
        office: None,
        nip: Some(a.nip.clone()),
        source_ip: None,
        action: "reset".into(),
        outcome: "succeeded".into(),
        details: serde_json::Value::Null,
        link: None,
    }
}

#[tokio::test]
async fn a_reset_transaction_meeting_another_transaction_is_retried() {
    let (url, count) = stub(vec![CONFLICT_CANCELLED, CONFLICT_CANCELLED, OK_EMPTY]).await;
    let s = store_at(&url).await;
    let a = account();
    s.complete_reset("h", &a, 0, &cleared(&a), &record(&a))
        .await
        .expect("retried until it went through");
    assert_eq!(count.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_failed_condition_is_a_conflict_at_once() {
    let (url, count) = stub(vec![CONDITION_CANCELLED, OK_EMPTY]).await;
    let s = store_at(&url).await;
    let a = account();
    let r = s
        .complete_reset("h", &a, 0, &cleared(&a), &record(&a))
        .await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
    assert_eq!(count.load(Ordering::SeqCst), 1, "not retried");
}

#[tokio::test]
async fn a_write_meeting_a_transaction_is_retried_and_a_lasting_one_is_unavailable() {
    let (url, count) = stub(vec![CONFLICT, OK_ATTEMPTS]).await;
    let s = store_at(&url).await;
    let nip = Nip::from_stored("198609262015051001").unwrap();
    assert_eq!(s.take_code_attempt(&nip, "h").await.unwrap(), Some(4));
    assert_eq!(count.load(Ordering::SeqCst), 2);

    let (url, count) = stub(vec![CONFLICT, CONFLICT, CONFLICT, CONFLICT]).await;
    let s = store_at(&url).await;
    let r = s.take_code_attempt(&nip, "h").await;
    assert!(matches!(r, Err(StoreError::Unavailable(_))), "{r:?}");
    assert_eq!(count.load(Ordering::SeqCst), 3, "three attempts in all");
}
