//! The CPU each route adds beyond hashing and storage: the full handler (API Gateway v2 event
//! parsing, validation, rate limiting, codes, templates, audit records, response) over an
//! in-memory store and a mailer that only keeps the last message, with argon2id at its
//! cheapest so that hashing is left out.

#![allow(clippy::too_many_lines)]

use async_trait::async_trait;
use criterion::{criterion_group, criterion_main, Criterion};
use sapk_core::config::RateLimit;
use sapk_core::ports::{MailError, Mailer, OutgoingEmail, SystemClock};
use sapk_core::staff::{EmployeeRow, Operator};
use sapk_core::{Config, Service, TokenKey};
use sapk_http::{Api, ApiGatewayV2};
use sapk_testkit::memory::MemoryStore;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
struct LastMail(Mutex<HashMap<String, String>>);

#[async_trait]
impl Mailer for LastMail {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(email.to.as_str().to_owned(), email.text.clone());
        Ok(())
    }
}

fn code_in(text: &str) -> String {
    text.split_whitespace()
        .find(|w| w.len() == 9 && w.as_bytes()[4] == b'-')
        .unwrap_or_default()
        .to_owned()
}

const NIP: &str = "198609262015051001";
const EMAIL: &str = "budi@example.go.id";
const PW: &str = "Sungai-Kapuas-Senja-58";

fn event(method: &str, path: &str, body: Option<Value>, bearer: Option<&str>) -> String {
    let mut e = ApiGatewayV2::new(method, path).header("content-type", "application/json");
    if let Some(t) = bearer {
        e = e.bearer(t);
    }
    if let Some(b) = body {
        e = e.body(b.to_string());
    }
    e.to_json().to_string()
}

async fn call(api: &Api, ev: &str) -> u16 {
    let req = lambda_http::request::from_str(ev).expect("event");
    api.handle(req).await.status().as_u16()
}

fn setup(rt: &tokio::runtime::Runtime) -> (Api, Arc<LastMail>) {
    let big = RateLimit {
        max: u64::MAX / 2,
        window_secs: 900,
    };
    let mut config = Config {
        hash: sapk_testkit::config::NO_COST_HASH,
        ..sapk_testkit::config::test_config()
    };
    config.limits = sapk_core::config::RateLimits {
        forgot_nip: big,
        forgot_nip_ip: big,
        forgot_ip: big,
        reset_nip: big,
        reset_nip_ip: big,
        reset_ip: big,
        login_nip: big,
        login_nip_ip: big,
        login_ip: big,
    };
    let mail = Arc::new(LastMail::default());
    let svc = Service::new(
        Arc::new(MemoryStore::new()),
        mail.clone(),
        Arc::new(SystemClock),
        config,
        TokenKey::generate().expect("key"),
    )
    .expect("service");
    rt.block_on(async {
        svc.staff()
            .import_employee(
                &EmployeeRow {
                    nip: NIP.into(),
                    name: "Budi Santoso".into(),
                    email: EMAIL.into(),
                    instansi: None,
                },
                &Operator {
                    id: "bench".into(),
                    office: "B".into(),
                    officer_id: None,
                    scope: None,
                    office_name: None,
                },
            )
            .await
            .expect("seed");
    });
    (Api::all(Arc::new(svc)), mail)
}

fn routes(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let (api, mail) = setup(&rt);
    let forgot = event(
        "POST",
        "/v1/password/forgot",
        Some(json!({ "nip": NIP })),
        None,
    );
    let forgot_unknown = event(
        "POST",
        "/v1/password/forgot",
        Some(json!({ "nip": "197512312000121009" })),
        None,
    );
    let forgot_unknown_pppk = event(
        "POST",
        "/v1/password/forgot",
        Some(json!({ "nip": "199009132025242014" })),
        None,
    );
    let login = event(
        "POST",
        "/v1/login",
        Some(json!({ "nip": NIP, "password": PW })),
        None,
    );

    // Activate once so that login succeeds.
    rt.block_on(async {
        assert_eq!(call(&api, &forgot).await, 202);
        let code = code_in(&mail.0.lock().unwrap()[EMAIL]);
        let r = event(
            "POST",
            "/v1/password/reset",
            Some(json!({ "nip": NIP, "token": code, "new_password": PW })),
            None,
        );
        assert_eq!(call(&api, &r).await, 200);
    });

    let mut g = c.benchmark_group("route CPU beyond hashing and storage");
    g.bench_function("forgot (account with e-mail)", |b| {
        b.to_async(&rt)
            .iter(|| async { assert_eq!(call(&api, &forgot).await, 202) })
    });
    g.bench_function("forgot (unknown NIP)", |b| {
        b.to_async(&rt)
            .iter(|| async { assert_eq!(call(&api, &forgot_unknown).await, 202) })
    });
    g.bench_function("forgot (unknown NI PPPK)", |b| {
        b.to_async(&rt)
            .iter(|| async { assert_eq!(call(&api, &forgot_unknown_pppk).await, 202) })
    });
    g.bench_function("reset (valid code)", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let (api, mail, forgot) = (api.clone(), mail.clone(), forgot.clone());
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    assert_eq!(call(&api, &forgot).await, 202);
                    let code = code_in(&mail.0.lock().unwrap()[EMAIL]);
                    let r = event(
                        "POST",
                        "/v1/password/reset",
                        Some(json!({ "nip": NIP, "token": code, "new_password": PW })),
                        None,
                    );
                    let t = Instant::now();
                    assert_eq!(call(&api, &r).await, 200);
                    total += t.elapsed();
                }
                total
            }
        })
    });
    g.bench_function("login (argon2 at minimum cost)", |b| {
        b.to_async(&rt)
            .iter(|| async { assert_eq!(call(&api, &login).await, 200) })
    });
    let token = rt.block_on(async {
        let req = lambda_http::request::from_str(&login).expect("event");
        let resp = api.handle(req).await;
        let v: Value = serde_json::from_slice(resp.body().as_ref()).expect("json");
        v["access_token"].as_str().expect("token").to_owned()
    });
    let session = event("GET", "/v1/session", None, Some(&token));
    g.bench_function("session", |b| {
        b.to_async(&rt)
            .iter(|| async { assert_eq!(call(&api, &session).await, 200) })
    });
    g.finish();
}

/// What the range API client adds to a password check beyond the network: one `GET` to a
/// stand-in on 127.0.0.1 answering 800 padded lines, as the real API does, parsed.
fn breach_range(c: &mut Criterion) {
    use sapk_core::ports::BreachRange;
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let body: String = (0..800)
        .map(|i| format!("{i:035X}:{}\r\n", i % 3))
        .collect();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let url = format!("http://{}/range/", listener.local_addr().expect("addr"));
    rt.spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |_req| {
                    let body = body.clone();
                    async move {
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(
                            http_body_util::Full::new(bytes::Bytes::from(body)),
                        ))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    let client = sapk_http::breach_range::RangeClient::new(&url).expect("client");
    c.bench_function("breach range client: one lookup, loopback stand-in", |b| {
        b.to_async(&rt)
            .iter(|| async { client.suffixes("5BAA6").await.expect("an answer").len() });
    });
}

criterion_group!(benches, routes, breach_range);
criterion_main!(benches);
