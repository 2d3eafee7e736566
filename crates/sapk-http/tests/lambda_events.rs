//! The handler called directly, as the Lambda runtime calls it, with API Gateway HTTP API
//! (payload v2) events.

use sapk_core::config::RateLimit;
use sapk_core::password::HashParams;
use sapk_core::ports::SystemClock;
use sapk_core::staff::{EmployeeRow, Operator};
use sapk_core::{Config, Service, TokenKey};
use sapk_embedded::{FileOutbox, SqliteStore};
use sapk_http::{Api, Route};
use serde_json::{json, Value};
use std::sync::Arc;

const NIP: &str = "198609262015051001";

fn config() -> Config {
    let mut c = Config {
        hash: HashParams {
            m_cost_kib: 1024,
            t_cost: 1,
            p_cost: 1,
        },
        forgot_min_ms: 0,
        // Tests and benches ask for several codes in a row; the cooldown has its own test.
        forgot_cooldown_secs: 0,
        ..Config::default()
    };
    c.limits.forgot_ip = RateLimit {
        max: 2,
        window_secs: 900,
    };
    c
}

async fn service(dir: &std::path::Path) -> Arc<Service> {
    let svc = Service::new(
        Arc::new(SqliteStore::in_memory().unwrap()),
        Arc::new(FileOutbox::new(dir.join("outbox"), "a@b.id").unwrap()),
        Arc::new(SystemClock),
        config(),
        TokenKey::generate().unwrap(),
    )
    .unwrap();
    svc.import_employee(
        &EmployeeRow {
            nip: NIP.into(),
            name: "Budi".into(),
            email: "budi@example.go.id".into(),
            instansi: None,
        },
        &Operator {
            id: "t".into(),
            office: "T".into(),
        },
    )
    .await
    .unwrap();
    Arc::new(svc)
}

/// An event as API Gateway sends it (trimmed to what the v2 format requires).
fn event(
    method: &str,
    path: &str,
    ip: &str,
    body: Option<&str>,
    b64: bool,
    headers: Value,
) -> lambda_http::Request {
    let mut e = json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.ap-southeast-3.amazonaws.com",
            "domainPrefix": "abc123",
            "http": { "method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": ip, "userAgent": "okhttp/4.12" },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": format!("{method} {path}"),
            "stage": "$default",
            "time": "27/Nov/2026:08:00:00 +0000",
            "timeEpoch": 1795766400000u64
        },
        "isBase64Encoded": b64
    });
    if let Some(b) = body {
        e["body"] = Value::String(b.to_owned());
    }
    lambda_http::request::from_str(&e.to_string()).expect("a valid API Gateway v2 event")
}

fn body_json(r: &lambda_http::Response<lambda_http::Body>) -> Value {
    serde_json::from_slice(r.body().as_ref()).unwrap_or(Value::Null)
}

#[tokio::test]
async fn forgot_function_limits_by_the_events_source_ip() {
    let dir = tempfile::tempdir().unwrap();
    let api = Api::new(service(dir.path()).await, &[Route::Forgot]);
    let body = format!("{{\"nip\":\"{NIP}\"}}");
    for _ in 0..2 {
        let r = api
            .handle(event(
                "POST",
                "/v1/password/forgot",
                "203.0.113.7",
                Some(&body),
                false,
                json!({}),
            ))
            .await;
        assert_eq!(r.status(), 202);
    }
    let r = api
        .handle(event(
            "POST",
            "/v1/password/forgot",
            "203.0.113.7",
            Some(&body),
            false,
            json!({}),
        ))
        .await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_some());
    let r = api
        .handle(event(
            "POST",
            "/v1/password/forgot",
            "198.51.100.1",
            Some(&body),
            false,
            json!({}),
        ))
        .await;
    assert_eq!(r.status(), 202, "another address is not limited");
}

#[tokio::test]
async fn each_function_serves_only_its_routes() {
    let dir = tempfile::tempdir().unwrap();
    let api = Api::new(service(dir.path()).await, &[Route::Forgot]);
    let r = api
        .handle(event(
            "POST",
            "/v1/login",
            "203.0.113.7",
            Some("{}"),
            false,
            json!({}),
        ))
        .await;
    assert_eq!(r.status(), 404);
    assert_eq!(body_json(&r)["code"], "not_found");
}

#[tokio::test]
async fn login_function_full_cycle_with_base64_bodies_and_english() {
    use base64::Engine;
    let dir = tempfile::tempdir().unwrap();
    let svc = service(dir.path()).await;
    let reset = Api::new(svc.clone(), &[Route::Forgot, Route::Reset]);
    let login = Api::new(svc, &[Route::Login, Route::Session, Route::Logout]);
    let r = reset
        .handle(event(
            "POST",
            "/v1/password/forgot",
            "203.0.113.7",
            Some(&format!("{{\"nip\":\"{NIP}\"}}")),
            false,
            json!({}),
        ))
        .await;
    assert_eq!(r.status(), 202);
    let mail = std::fs::read_dir(dir.path().join("outbox"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let raw = String::from_utf8(std::fs::read(mail).unwrap()).unwrap();
    let code = raw
        .split_whitespace()
        .find(|w| {
            w.len() == 9
                && w.as_bytes()[4] == b'-'
                && w.chars().all(|c| c == '-' || c.is_ascii_alphanumeric())
        })
        .unwrap()
        .to_owned();
    let pw = "Kuda-Laut-Terbang-9";
    let body = json!({ "nip": NIP, "token": code, "new_password": pw }).to_string();
    let b64 = base64::engine::general_purpose::STANDARD.encode(body);
    let r = reset
        .handle(event(
            "POST",
            "/v1/password/reset",
            "203.0.113.7",
            Some(&b64),
            true,
            json!({}),
        ))
        .await;
    assert_eq!(r.status(), 200, "{:?}", body_json(&r));

    let r = login
        .handle(event(
            "POST",
            "/v1/login",
            "203.0.113.7",
            Some(&json!({ "nip": NIP, "password": "wrong-Password-1" }).to_string()),
            false,
            json!({ "accept-language": "en-GB,en;q=0.8" }),
        ))
        .await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["content-language"], "en");
    assert_eq!(body_json(&r)["title"], "Wrong NIP or password");

    let r = login
        .handle(event(
            "POST",
            "/v1/login",
            "203.0.113.7",
            Some(&json!({ "nip": NIP, "password": pw }).to_string()),
            false,
            json!({}),
        ))
        .await;
    assert_eq!(r.status(), 200);
    let token = body_json(&r)["access_token"].as_str().unwrap().to_owned();
    let auth = json!({ "authorization": format!("Bearer {token}") });
    let r = login
        .handle(event(
            "GET",
            "/v1/session",
            "203.0.113.7",
            None,
            false,
            auth.clone(),
        ))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(body_json(&r)["nip"], NIP);
    let r = login
        .handle(event(
            "POST",
            "/v1/logout",
            "203.0.113.7",
            None,
            false,
            auth.clone(),
        ))
        .await;
    assert_eq!(r.status(), 204);
    let r = login
        .handle(event(
            "GET",
            "/v1/session",
            "203.0.113.7",
            None,
            false,
            auth,
        ))
        .await;
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn an_oversized_event_body_is_413_on_the_lambda_path_too() {
    let dir = tempfile::tempdir().unwrap();
    let api = Api::new(service(dir.path()).await, &[Route::Forgot]);
    let big = format!(
        "{{\"nip\":\"{NIP}\",\"pad\":\"{}\"}}",
        "a".repeat(64 * 1024)
    );
    let r = api
        .handle(event(
            "POST",
            "/v1/password/forgot",
            "203.0.113.5",
            Some(&big),
            false,
            json!({ "content-type": "application/json" }),
        ))
        .await;
    assert_eq!(r.status(), 413);
    assert_eq!(body_json(&r)["code"], "payload_too_large");
    // The same in base64, as API Gateway sends binary bodies.
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(big.as_bytes());
    let r = api
        .handle(event(
            "POST",
            "/v1/password/forgot",
            "203.0.113.5",
            Some(&b64),
            true,
            json!({ "content-type": "application/json" }),
        ))
        .await;
    assert_eq!(r.status(), 413);
}

#[tokio::test]
async fn a_body_not_declared_as_json_is_415_and_401s_name_the_scheme() {
    let dir = tempfile::tempdir().unwrap();
    let api = Api::new(
        service(dir.path()).await,
        &[Route::Forgot, Route::Login, Route::Session],
    );
    let body = format!("{{\"nip\":\"{NIP}\"}}");
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let r = api
            .handle(event(
                "POST",
                "/v1/password/forgot",
                "203.0.113.6",
                Some(&body),
                false,
                json!({ "content-type": ct }),
            ))
            .await;
        assert_eq!(r.status(), 415, "{ct}");
        assert_eq!(body_json(&r)["code"], "unsupported_media_type");
    }
    let accepted = [
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "application/problem+json",
    ];
    for (i, ct) in accepted.into_iter().enumerate() {
        let r = api
            .handle(event(
                "POST",
                "/v1/password/forgot",
                &format!("198.51.100.{}", i + 1),
                Some(&body),
                false,
                json!({ "content-type": ct }),
            ))
            .await;
        assert_eq!(r.status(), 202, "{ct}");
    }
    let r = api
        .handle(event(
            "GET",
            "/v1/session",
            "203.0.113.6",
            None,
            false,
            json!({ "authorization": "Bearer nope" }),
        ))
        .await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.headers()["www-authenticate"],
        "Bearer realm=\"sapk\", error=\"invalid_token\""
    );
    let r = api
        .handle(event(
            "POST",
            "/v1/login",
            "203.0.113.6",
            Some(&format!(
                "{{\"nip\":\"{NIP}\",\"password\":\"Salah-Sekali-1\"}}"
            )),
            false,
            json!({ "content-type": "application/json" }),
        ))
        .await;
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
}
