//! Malformed, mistyped, missing, huge and odd input: each gets its documented problem and
//! changes nothing.

use sapk_core::ports::stores::*;
use sapk_e2e::*;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn nip() -> sapk_core::Nip {
    sapk_core::Nip::from_stored(NIP).unwrap()
}

async fn assert_problem(a: &Answer, status: u16, code: &str, what: &str) {
    assert_eq!(
        (a.status, a.code().as_str()),
        (status, code),
        "{what}: {}",
        String::from_utf8_lossy(&a.body)
    );
    assert_eq!(
        a.header("content-type").as_deref(),
        Some("application/problem+json; charset=utf-8"),
        "{what}"
    );
    let p = a.json();
    assert_eq!(p["status"], status, "{what}");
    assert_eq!(p["type"], format!("urn:sapk:problem:{code}"), "{what}");
    assert!(p["title"].as_str().is_some_and(|t| !t.is_empty()), "{what}");
    assert!(
        p["detail"].as_str().is_some_and(|t| !t.is_empty()),
        "{what}"
    );
}

#[tokio::test]
async fn bad_bodies_get_clear_problems_and_change_nothing() {
    let app = spawn_app().await;
    app.seed_default().await;
    app.activate(NIP, EMAIL, STRONG).await;
    let before = app.store.get_account(&nip()).await.unwrap().unwrap();
    let mails_before = app.outbox().await.len();

    let routes = ["/v1/password/forgot", "/v1/password/reset", "/v1/login"];
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("malformed JSON", b"{\"nip\": ".to_vec()),
        ("empty body", Vec::new()),
        ("array", b"[1,2]".to_vec()),
        ("string", b"\"198609262015051001\"".to_vec()),
        ("not UTF-8", vec![0xff, 0xfe, 0x7b, 0x00]),
        (
            "trailing garbage",
            format!("{{\"nip\":\"{NIP}\"}} x").into_bytes(),
        ),
    ];
    for route in routes {
        for (what, body) in &bodies {
            let a = app.post_raw(route, body.clone(), None).await;
            assert_problem(&a, 400, "invalid_request", &format!("{route} {what}")).await;
        }
    }

    let typed = [
        (
            "/v1/password/forgot",
            json!({ "nip": 198609262015051001u64 }),
            "Field \"nip\" harus berupa teks.",
        ),
        (
            "/v1/password/forgot",
            json!({ "nip": ["x"] }),
            "Field \"nip\" harus berupa teks.",
        ),
        (
            "/v1/password/forgot",
            json!({ "nip": null }),
            "Field \"nip\" wajib diisi.",
        ),
        (
            "/v1/password/forgot",
            json!({}),
            "Field \"nip\" wajib diisi.",
        ),
        (
            "/v1/password/reset",
            json!({ "nip": NIP, "token": 12345678, "new_password": STRONG }),
            "Field \"token\" harus berupa teks.",
        ),
        (
            "/v1/password/reset",
            json!({ "nip": NIP, "token": "AAAA-AAAA", "new_password": { "x": 1 } }),
            "Field \"new_password\" harus berupa teks.",
        ),
        (
            "/v1/password/reset",
            json!({ "nip": NIP, "new_password": STRONG }),
            "Field \"token\" wajib diisi.",
        ),
        (
            "/v1/login",
            json!({ "nip": NIP, "password": true }),
            "Field \"password\" harus berupa teks.",
        ),
        (
            "/v1/login",
            json!({ "password": STRONG }),
            "Field \"nip\" wajib diisi.",
        ),
    ];
    for (route, body, detail) in typed {
        let a = app.post(route, body.clone()).await;
        assert_problem(&a, 400, "invalid_request", &format!("{route} {body}")).await;
        assert_eq!(a.json()["detail"], detail);
    }

    let bad_nips = [
        "19860926201505100",                    // 17 digits
        "１９８６０９２６２０１５０５１００１", // full-width digits
        "198609262015051001\u{0}",              // NUL
        "\u{202e}198609262015051001",           // right-to-left override
        "1986092620150510🇮🇩",
        "198602302015051001", // 30 February
        "198609262015131001", // month 13
        "198609262015053001", // gender 3
    ];
    for bad in bad_nips {
        for route in routes {
            let body = json!({ "nip": bad, "token": "AAAA-AAAA", "new_password": STRONG, "password": STRONG });
            let a = app.post(route, body).await;
            assert_problem(&a, 400, "invalid_nip", &format!("{route} {bad:?}")).await;
        }
    }

    // Odd but valid Unicode in passwords and codes is handled, not crashed on.
    let a = app.login(NIP, "Пароль-🇮🇩-\u{202e}-9").await;
    assert_problem(&a, 401, "invalid_credentials", "odd password").await;
    let a = app.reset(NIP, "ＡＡＡＡ-ＡＡＡＡ", STRONG2).await;
    assert_problem(&a, 400, "invalid_token", "full-width code").await;

    // Nothing changed: same account, no code, no mail, old password works.
    let after = app.store.get_account(&nip()).await.unwrap().unwrap();
    assert_eq!(after, before);
    assert_eq!(app.store.get_reset_code(&nip()).await.unwrap(), None);
    assert_eq!(app.outbox().await.len(), mails_before);
    assert_eq!(app.login(NIP, STRONG).await.status, 200);
}

#[tokio::test]
async fn bodies_over_16_kib_are_refused() {
    let app = spawn_app().await;
    app.seed_default().await;
    let mib = format!(
        "{{\"nip\":\"{NIP}\",\"pad\":\"{}\"}}",
        "a".repeat(1024 * 1024)
    );
    for route in ["/v1/password/forgot", "/v1/password/reset", "/v1/login"] {
        let a = app
            .post_raw(route, mib.clone().into_bytes(), Some("en"))
            .await;
        assert_problem(&a, 413, "payload_too_large", route).await;
        assert_eq!(a.json()["detail"], "The request body exceeds 16 KiB.");
    }
    // The limit itself is read normally; one byte more is refused.
    let at_limit = |extra: usize| {
        let frame = format!("{{\"nip\":\"{NIP}\",\"pad\":\"\"}}").len();
        let body = format!(
            "{{\"nip\":\"{NIP}\",\"pad\":\"{}\"}}",
            "a".repeat(16 * 1024 - frame + extra)
        );
        assert_eq!(body.len(), 16 * 1024 + extra);
        body.into_bytes()
    };
    for route in ["/v1/password/forgot", "/v1/password/reset", "/v1/login"] {
        let a = app.post_raw(route, at_limit(1), Some("en")).await;
        assert_problem(&a, 413, "payload_too_large", route).await;
    }
    let ok = String::from_utf8(at_limit(0)).unwrap();
    assert_eq!(
        app.post_raw("/v1/password/forgot", ok.into_bytes(), None)
            .await
            .status,
        202
    );
}

#[tokio::test]
async fn a_chunked_body_without_length_is_cut_at_16_kib() {
    let app = spawn_app().await;
    let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = "POST /v1/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";
    s.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b'a'; 4096];
    for _ in 0..8 {
        let frame = [
            format!("{:x}\r\n", chunk.len()).into_bytes(),
            chunk.clone(),
            b"\r\n".to_vec(),
        ]
        .concat();
        if s.write_all(&frame).await.is_err() {
            break;
        }
    }
    let _ = s.write_all(b"0\r\n\r\n").await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), s.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("payload_too_large"));
}

/// Sends `head` and then all of `body` the way a simple client does (every byte written
/// before anything is read), then reads the whole answer.
async fn write_all_then_read(app: &TestApp, head: String, body: &[u8]) -> Result<String, String> {
    let mut s = tokio::net::TcpStream::connect(app.addr)
        .await
        .map_err(|e| e.to_string())?;
    s.write_all(head.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    s.write_all(body)
        .await
        .map_err(|e| format!("writing the body: {e}"))?;
    let mut out = Vec::new();
    tokio::time::timeout(std::time::Duration::from_secs(10), s.read_to_end(&mut out))
        .await
        .map_err(|_| "no answer in 10 s".to_owned())?
        .map_err(|e| format!("reading the answer: {e}"))?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[tokio::test]
async fn a_client_that_keeps_writing_a_huge_body_still_reads_the_413() {
    let app = spawn_app().await;
    // Larger than the socket buffers on loopback, so the client is still writing when the
    // server has decided.
    let body = vec![b'a'; 4 * 1024 * 1024];
    for i in 0..12 {
        let head = format!(
            "POST /v1/password/forgot HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        let text = write_all_then_read(&app, head, &body)
            .await
            .unwrap_or_else(|e| panic!("try {i}: {e}"));
        assert!(text.starts_with("HTTP/1.1 413"), "try {i}: {text}");
        assert!(text.contains("payload_too_large"), "try {i}");
    }
}

#[tokio::test]
async fn slow_clients_are_cut_off() {
    let app = spawn_app_with(AppOptions {
        timeouts: sapk_local::Timeouts {
            header_read: std::time::Duration::from_millis(500),
            body_read: std::time::Duration::from_millis(500),
        },
        ..AppOptions::default()
    })
    .await;
    // Headers that never end: the connection is closed.
    let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    s.write_all(b"POST /v1/login HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut out = Vec::new();
    let r = tokio::time::timeout(std::time::Duration::from_secs(5), s.read_to_end(&mut out)).await;
    assert!(
        r.is_ok(),
        "the server kept a header-less connection open for 5 s"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
    // A body that never comes: 408.
    let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    s.write_all(b"POST /v1/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"nip\"")
        .await
        .unwrap();
    let mut out = Vec::new();
    let r = tokio::time::timeout(std::time::Duration::from_secs(5), s.read_to_end(&mut out)).await;
    assert!(r.is_ok(), "the server waited 5 s for a body");
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    // The server still answers others.
    assert_eq!(app.forgot(NIP).await.status, 202);
}
