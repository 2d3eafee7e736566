//! The handler called directly, as the Lambda runtime calls it, with API Gateway HTTP API
//! (payload v2) events.

use base64::Engine;
use sapk_core::config::RateLimit;
use sapk_core::ports::SystemClock;
use sapk_core::staff::{EmployeeRow, Operator};
use sapk_core::{Config, Service, TokenKey};
use sapk_embedded::{FileOutbox, SqliteStore};
use sapk_http::{routes, Api, ApiGatewayV2};
use sapk_testkit::config::test_config;
use sapk_testkit::events::body_json;
use serde_json::{json, Value};
use std::sync::Arc;

const NIP: &str = "198609262015051001";

fn config() -> Config {
    let mut c = test_config();
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
    svc.staff()
        .import_employee(
            &EmployeeRow {
                nip: NIP.into(),
                name: "Budi".into(),
                email: "budi@example.go.id".into(),
                instansi: None,
            },
            &Operator {
                id: "t".into(),
                office: "T".into(),
                officer_id: None,
                scope: None,
                office_name: None,
            },
        )
        .await
        .unwrap();
    Arc::new(svc)
}

/// An event as API Gateway sends it; `b64`: `body` is base64 text, sent as such.
fn event(
    method: &str,
    path: &str,
    ip: &str,
    body: Option<&str>,
    b64: bool,
    headers: Value,
) -> lambda_http::Request {
    let mut e = ApiGatewayV2::new(method, path)
        .source_ip(ip)
        .header("user-agent", "okhttp/4.12");
    for (name, value) in headers.as_object().into_iter().flatten() {
        e = e.header(name, value.as_str().unwrap_or_default());
    }
    e = match (body, b64) {
        (None, _) => e,
        (Some(b), false) => e.body(b),
        (Some(b), true) => e.base64_body(
            base64::engine::general_purpose::STANDARD
                .decode(b)
                .expect("base64 body"),
        ),
    };
    e.request().expect("a valid API Gateway v2 event")
}

#[tokio::test]
async fn forgot_function_limits_by_the_events_source_ip() {
    let dir = tempfile::tempdir().unwrap();
    let api = Api::new(service(dir.path()).await, &[&routes::FORGOT]);
    let body = format!("{{\"nip\":\"{NIP}\"}}");
    let forgot_from = |ip: &'static str| {
        let e = event(
            "POST",
            "/v1/password/forgot",
            ip,
            Some(&body),
            false,
            json!({}),
        );
        api.handle(e)
    };
    for _ in 0..2 {
        assert_eq!(forgot_from("203.0.113.7").await.status(), 202);
    }
    let r = forgot_from("203.0.113.7").await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_some());
    let r = forgot_from("198.51.100.1").await;
    assert_eq!(r.status(), 202, "another address is not limited");
}

#[tokio::test]
async fn each_function_serves_only_its_routes() {
    let dir = tempfile::tempdir().unwrap();
    let api = Api::new(service(dir.path()).await, &[&routes::FORGOT]);
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
    let reset = Api::new(svc.clone(), &[&routes::FORGOT, &routes::RESET]);
    let login = Api::new(svc, &[&routes::LOGIN, &routes::SESSION, &routes::LOGOUT]);
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
    let pw = "Sungai-Kapuas-Senja-58";
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
    let api = Api::new(service(dir.path()).await, &[&routes::FORGOT]);
    let big = format!(
        "{{\"nip\":\"{NIP}\",\"pad\":\"{}\"}}",
        "a".repeat(64 * 1024)
    );
    // As text, and the same in base64, as API Gateway sends binary bodies.
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(big.as_bytes());
    for (body, base64) in [(&big, false), (&b64, true)] {
        let e = event(
            "POST",
            "/v1/password/forgot",
            "203.0.113.5",
            Some(body),
            base64,
            json!({ "content-type": "application/json" }),
        );
        let r = api.handle(e).await;
        assert_eq!(r.status(), 413, "base64: {base64}");
        if !base64 {
            assert_eq!(body_json(&r)["code"], "payload_too_large");
        }
    }
}

#[tokio::test]
async fn a_body_not_declared_as_json_is_415_and_401s_name_the_scheme() {
    let dir = tempfile::tempdir().unwrap();
    let api = Api::new(
        service(dir.path()).await,
        &[&routes::FORGOT, &routes::LOGIN, &routes::SESSION],
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

/// `docs/openapi.yaml` as JSON.
fn openapi() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.yaml");
    let text = std::fs::read_to_string(path).expect("docs/openapi.yaml");
    serde_norway::from_str(&text).expect("docs/openapi.yaml is YAML")
}

/// Follows a local `$ref` (`#/components/...`) once.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => doc
            .pointer(r.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("{r} does not resolve")),
        None => v,
    }
}

#[test]
fn the_openapi_document_describes_every_route_and_only_those() {
    let doc = openapi();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented = std::collections::BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        for (method, op) in ops.as_object().expect("operations") {
            documented.insert((path.clone(), method.to_uppercase()));
            let responses = op["responses"].as_object().expect("responses");
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{method} {path} documents no success"
            );
            for r in responses.values() {
                let r = resolve(&doc, r);
                assert!(r["description"].is_string(), "{method} {path}: {r}");
                for h in r["headers"].as_object().into_iter().flatten() {
                    resolve(&doc, h.1);
                }
            }
            for p in op["parameters"].as_array().into_iter().flatten() {
                resolve(&doc, p);
            }
            if let Some(b) = op.get("requestBody") {
                assert!(resolve(&doc, b)["content"]["application/json"].is_object());
            }
        }
    }
    let served: std::collections::BTreeSet<_> = routes::ALL
        .iter()
        .map(|r| (r.path.to_owned(), r.method.as_str().to_owned()))
        .collect();
    assert_eq!(documented, served);
}

#[test]
fn the_openapi_document_names_every_problem_code_and_violation() {
    use sapk_core::password::Violation;
    use sapk_core::AuthError;
    use sapk_http::Problem;
    let doc = openapi();
    let listed = |name: &str| -> std::collections::BTreeSet<String> {
        doc["components"]["schemas"][name]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}"))
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    let nip_error =
        sapk_core::Nip::parse("1", chrono::Utc::now().date_naive()).expect_err("too short");
    // Every answer the API gives besides success (a new variant belongs here and in the
    // document).
    let problems = [
        Problem::Auth(AuthError::InvalidNip(nip_error)),
        Problem::Auth(AuthError::InvalidToken),
        Problem::Auth(AuthError::WeakPassword(vec![Violation::TooShort], vec![])),
        Problem::Auth(AuthError::InvalidCredentials),
        Problem::Auth(AuthError::WrongCurrentPassword),
        Problem::Auth(AuthError::WrongSetupCode),
        Problem::Auth(AuthError::Unauthorized),
        Problem::Auth(AuthError::RateLimited {
            retry_after_secs: 1,
        }),
        Problem::Auth(AuthError::Unavailable {
            retry_after_secs: 1,
        }),
        Problem::Auth(AuthError::InvalidSecondFactor),
        Problem::Auth(AuthError::ClockOff { offset_secs: 300 }),
        Problem::Auth(AuthError::InvalidChallenge),
        Problem::Auth(AuthError::SecondFactorLocked),
        Problem::Auth(AuthError::AlreadyEnrolled),
        Problem::Auth(AuthError::NotEnrolled),
        Problem::Auth(AuthError::PasskeysOff),
        Problem::Auth(AuthError::InvalidPasskey),
        Problem::Auth(AuthError::PasskeyRefused),
        Problem::Auth(AuthError::TooManyPasskeys),
        Problem::Auth(AuthError::UnknownPasskey),
        Problem::InvalidRequest {
            id: String::new(),
            en: String::new(),
        },
        Problem::PayloadTooLarge,
        Problem::UnsupportedMediaType,
        Problem::NotFound,
        Problem::MethodNotAllowed("GET"),
        Problem::NotThroughEdge,
    ];
    let codes: std::collections::BTreeSet<String> =
        problems.iter().map(|p| p.code().to_owned()).collect();
    assert_eq!(listed("ProblemCode"), codes);
    let violations: std::collections::BTreeSet<String> = [
        Violation::TooShort,
        Violation::TooLong,
        Violation::NoUppercase,
        Violation::NoDigit,
        Violation::TooGuessable,
        Violation::Breached,
        Violation::SameAsCurrent,
    ]
    .iter()
    .map(|v| v.code().to_owned())
    .collect();
    assert_eq!(listed("Violation"), violations);
}

#[tokio::test]
async fn the_policy_route_gives_the_rules_the_server_checks_in_the_asked_language() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service(dir.path()).await;
    let api = Api::new(svc.clone(), &[&routes::PASSWORD_POLICY, &routes::RESET]);
    let get = |lang: &'static str| {
        event(
            "GET",
            "/v1/password/policy",
            "203.0.113.7",
            None,
            false,
            json!({ "accept-language": lang }),
        )
    };
    let r = api.handle(get("id")).await;
    assert_eq!(r.status(), 200);
    let id = body_json(&r);
    let min = svc.config().password.min_len;
    assert_eq!(id["min_length"], min);
    let codes: Vec<&str> = id["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["code"].as_str())
        .collect();
    assert_eq!(
        codes,
        [
            "too_short",
            "too_long",
            "no_uppercase",
            "no_digit",
            "too_guessable",
            "breached"
        ]
    );
    assert_eq!(id["rules"][0]["text"], format!("minimal {min} karakter"));
    let en = body_json(&api.handle(get("en")).await);
    assert_eq!(en["rules"][0]["text"], format!("at least {min} characters"));
    // A refusal names the same rules in the same words.
    let body = json!({ "nip": NIP, "token": "AAAA-AAAA", "new_password": "pendek" }).to_string();
    let r = api
        .handle(event(
            "POST",
            "/v1/password/reset",
            "203.0.113.7",
            Some(&body),
            false,
            json!({ "accept-language": "en" }),
        ))
        .await;
    assert_eq!(r.status(), 422);
    let refused = body_json(&r);
    // Too guessable is said with what made it so (here a common word), not as the general rule.
    assert_eq!(refused["guessable"], json!(["common_word"]), "{refused}");
    assert!(refused["detail"]
        .as_str()
        .unwrap()
        .contains("this one contains a common word or password"));
    for v in refused["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| *v != "too_guessable")
    {
        let rule = en["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["code"] == *v)
            .unwrap_or_else(|| panic!("{v} not in the policy"));
        let text = rule["text"].as_str().unwrap();
        assert!(
            refused["detail"].as_str().unwrap().contains(text),
            "{refused}"
        );
    }
    // Spaces are allowed, as the page says.
    assert!(svc
        .config()
        .password
        .check(
            &sapk_core::Password::new("Lumbung padi kertas 48"),
            &sapk_core::policy::PolicyContext::default()
        )
        .is_ok());
}

#[tokio::test]
async fn a_nip_is_checked_as_typed_by_the_servers_rules() {
    let dir = tempfile::tempdir().unwrap();
    let api = Api::new(service(dir.path()).await, &[&routes::NIP_CHECK]);
    let check = |nip: &str| {
        event(
            "POST",
            "/v1/nip/check",
            "203.0.113.7",
            Some(&json!({ "nip": nip }).to_string()),
            false,
            json!({ "accept-language": "en" }),
        )
    };
    let r = api.handle(check("19860926 201505 1 001")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        body_json(&r),
        json!({ "valid": true, "nip": NIP, "kind": "PNS" })
    );
    let r = api.handle(check("199009132025242014")).await;
    assert_eq!(body_json(&r)["kind"], "PPPK");
    for (typed, says) in [
        ("1986092620150510", "18 digits (you entered 16)"),
        ("198602302015051001", "birth date"),
        ("198609262015053001", "gender digit"),
    ] {
        let r = api.handle(check(typed)).await;
        assert_eq!(r.status(), 400, "{typed}");
        let p = body_json(&r);
        assert_eq!(p["code"], "invalid_nip");
        assert!(p["detail"].as_str().unwrap().contains(says), "{p}");
    }
}
