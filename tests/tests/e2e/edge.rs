//! Behind CloudFront: a request without the origin-verify secret is refused (the API's own
//! domain is no way around the WAF), and `CloudFront-Viewer-Address` is believed only on a
//! request with it. Without CloudFront, the request context's address counts (for limits,
//! lock-outs and the audit).

use sapk_core::ports::stores::*;
use sapk_e2e::*;
use sapk_http::{Api, ApiGatewayV2, EdgeTrust};
use serde_json::json;

const SECRET: &str = "origin-verify-3f9c2a7d1b";
const PEER: &str = "203.0.113.10";

/// A wrong-password login through `api` with `headers`, as API Gateway delivers it from PEER;
/// returns the answer's status and the source address the audit recorded for it.
async fn wrong_login(app: &TestApp, api: &Api, headers: &[(&str, &str)]) -> (u16, Option<String>) {
    let event = headers.iter().fold(
        ApiGatewayV2::new("POST", "/v1/login").source_ip(PEER),
        |e, (k, v)| e.header(k, v),
    );
    let req = event
        .json(&json!({ "nip": NIP, "password": "Wrong-Password-123" }))
        .request()
        .unwrap();
    let status = api.handle(req).await.status().as_u16();
    // Wrong, or locked out by the failures before (from that address): audited either way.
    assert!([401, 429].contains(&status));
    let nip = sapk_core::Nip::from_stored(NIP).unwrap();
    let seen = app.store.list_audit(&nip, 1).await.unwrap()[0]
        .source_ip
        .clone();
    (status, seen)
}

/// The source address the audit recorded for a wrong login (see [`wrong_login`]).
async fn source_seen(app: &TestApp, api: &Api, headers: &[(&str, &str)]) -> Option<String> {
    wrong_login(app, api, headers).await.1
}

#[tokio::test]
async fn the_viewer_address_counts_only_with_the_origin_secret() {
    let app = spawn_app().await;
    app.seed_default().await;
    let edge = Api::all(app.service.clone()).with_edge(EdgeTrust::cloudfront(SECRET));
    let direct = Api::all(app.service.clone());
    let viewer = ("cloudfront-viewer-address", "198.51.100.7:46532");
    let verified = ("x-origin-verify", SECRET);
    // Through CloudFront: the viewer's address, IPv4 or IPv6.
    assert_eq!(
        source_seen(&app, &edge, &[viewer, verified])
            .await
            .as_deref(),
        Some("198.51.100.7")
    );
    assert_eq!(
        source_seen(
            &app,
            &edge,
            &[
                ("cloudfront-viewer-address", "2001:db8:0:0:0:0:0:7:443"),
                verified
            ]
        )
        .await
        .as_deref(),
        Some("2001:db8::7")
    );
    // A forged viewer address without the secret, or with a wrong one: see
    // `behind_cloudfront_a_request_without_the_origin_header_is_refused`.
    // A verified request with an unreadable viewer address: the peer's.
    for bad in ["garbage", "198.51.100.7", "198.51.100.7:port", ":443"] {
        assert_eq!(
            source_seen(&app, &edge, &[("cloudfront-viewer-address", bad), verified])
                .await
                .as_deref(),
            Some(PEER),
            "{bad}"
        );
    }
    // Without CloudFront configured, the header is never believed.
    assert_eq!(
        source_seen(&app, &direct, &[viewer, verified])
            .await
            .as_deref(),
        Some(PEER)
    );
}

#[tokio::test]
async fn behind_cloudfront_one_viewer_cannot_lock_out_another() {
    let app = spawn_app().await;
    app.seed_default().await;
    app.activate(NIP, EMAIL, STRONG).await;
    let edge = Api::all(app.service.clone()).with_edge(EdgeTrust::cloudfront(SECRET));
    let attacker = [
        ("cloudfront-viewer-address", "198.51.100.66:50000"),
        ("x-origin-verify", SECRET),
    ];
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(wrong_login(&app, &edge, &attacker).await.0);
    }
    // The attacker's address is locked out: five wrong answers, then 429.
    assert_eq!(
        statuses,
        [401, 401, 401, 401, 401, 429],
        "the attacker is locked"
    );
    // The owner reaches the API through the same CloudFront address, from elsewhere.
    let event = ApiGatewayV2::new("POST", "/v1/login")
        .source_ip(PEER)
        .header("cloudfront-viewer-address", "192.0.2.20:40000")
        .header("x-origin-verify", SECRET)
        .json(&json!({ "nip": NIP, "password": STRONG }));
    let resp = edge.handle(event.request().unwrap()).await;
    assert_eq!(resp.status(), 200, "the owner is not locked out");
}

/// An attacker who finds the API's own domain and calls it directly (no origin header, a
/// guessed one, one of the wrong length) is refused on every public route before anything
/// runs: no code is sent, no failure counted, no audit record written. Through CloudFront
/// the same requests are served.
#[tokio::test]
async fn behind_cloudfront_a_request_without_the_origin_header_is_refused() {
    let app = spawn_app().await;
    app.seed_default().await;
    app.activate(NIP, EMAIL, STRONG).await;
    let edge = Api::all(app.service.clone()).with_edge(EdgeTrust::cloudfront(SECRET));
    let nip = sapk_core::Nip::from_stored(NIP).unwrap();
    let audit_before = app.store.list_audit(&nip, 1000).await.unwrap().len();
    assert!(app.store.get_reset_code(&nip).await.unwrap().is_none());
    let calls = [
        ("POST", "/v1/password/forgot", json!({ "nip": NIP })),
        (
            "POST",
            "/v1/password/reset",
            json!({ "nip": NIP, "token": "AAAA-AAAA", "new_password": STRONG }),
        ),
        (
            "POST",
            "/v1/login",
            json!({ "nip": NIP, "password": "Wrong-Password-123" }),
        ),
        ("GET", "/v1/password/policy", json!(null)),
    ];
    let forged = [
        vec![],
        vec![("x-origin-verify", "guess")],
        vec![("x-origin-verify", "")],
        vec![("x-origin-verify", &SECRET[..SECRET.len() - 1])],
        vec![("cloudfront-viewer-address", "198.51.100.7:46532")],
    ];
    for (method, path, body) in &calls {
        for headers in &forged {
            let event = headers.iter().fold(
                ApiGatewayV2::new(method, path).source_ip(PEER),
                |e, (k, v)| e.header(k, v),
            );
            let event = if body.is_null() {
                event
            } else {
                event.json(body)
            };
            let resp = edge.handle(event.request().unwrap()).await;
            assert_eq!(resp.status(), 403, "{method} {path} {headers:?}");
            let problem: serde_json::Value = serde_json::from_slice(resp.body().as_ref()).unwrap();
            assert_eq!(problem["code"], "forbidden");
        }
    }
    assert_eq!(
        app.store.list_audit(&nip, 1000).await.unwrap().len(),
        audit_before
    );
    assert!(
        app.store.get_reset_code(&nip).await.unwrap().is_none(),
        "no code was made"
    );
    // Through CloudFront: served, and the owner is not locked out by the refused tries.
    let through = ApiGatewayV2::new("POST", "/v1/login")
        .source_ip(PEER)
        .header("x-origin-verify", SECRET)
        .json(&json!({ "nip": NIP, "password": STRONG }));
    assert_eq!(edge.handle(through.request().unwrap()).await.status(), 200);
}
