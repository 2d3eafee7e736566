//! The public flow over HTTP through the local server.

use chrono::Duration;
use sapk_core::ports::stores::*;
use sapk_e2e::*;
use serde_json::json;

#[tokio::test]
async fn forgot_reset_login_session_and_second_reset_ends_the_session() {
    let app = spawn_app().await;
    app.seed_default().await;

    let f = app.forgot("19860926 201505 1 001").await;
    assert_eq!(f.status, 202);
    let mails = app.outbox().await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, EMAIL);
    assert_eq!(mails[0].subject, "Kode reset password SAPK");
    assert!(
        mails[0].text.contains(
            "berlaku 15 menit, sampai 27 November 2026 pukul 09.15 WIB / 10.15 WITA / 11.15 WIT"
        ),
        "{}",
        mails[0].text
    );
    assert!(mails[0]
        .html
        .contains("Jika Anda tidak meminta reset password"));
    let code = app.last_code(EMAIL).await;

    // Case, spaces and hyphens do not matter.
    let typed = format!(" {} ", code.to_lowercase().replace('-', " "));
    let r = app.reset(NIP, &typed, STRONG).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["status"], "password_changed");
    let changed = app.outbox().await;
    assert_eq!(changed.len(), 2);
    assert!(changed[1].file.ends_with("password-changed.eml"));
    assert!(
        !changed[1].text.contains(STRONG),
        "the password is never mailed"
    );

    let l = app.login(NIP, STRONG).await;
    assert_eq!(l.status, 200);
    let body = l.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 8 * 3600);
    let token = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 43, "256-bit token, base64url");

    let s = app.session(&token).await;
    assert_eq!(s.status, 200);
    assert_eq!(
        s.json(),
        json!({
            "nip": NIP,
            "expires_at": "2026-11-27T10:00:00Z",
            "second_factor": false,
            "second_factor_required": false,
            "name": "Budi Santoso",
            "email_masked": "bu***@example.go.id",
            "recovery_codes_left": null,
        })
    );

    // A second reset ends every earlier session.
    assert_eq!(app.forgot(NIP).await.status, 202);
    let code2 = app.last_code(EMAIL).await;
    assert_ne!(code, code2);
    assert_eq!(app.reset(NIP, &code2, STRONG2).await.status, 200);
    let gone = app.session(&token).await;
    assert_eq!(gone.status, 401);
    assert_eq!(gone.code(), "unauthorized");
    assert_eq!(
        app.login(NIP, STRONG).await.status,
        401,
        "old password no longer works"
    );
    let fresh = app.token(NIP, STRONG2).await;
    assert_eq!(app.session(&fresh).await.status, 200);

    // The code is single-use.
    let again = app.reset(NIP, &code2, "Another-Strong-Pass-7").await;
    assert_eq!(
        (again.status, again.code().as_str()),
        (400, "invalid_token")
    );
}

#[tokio::test]
async fn logout_ends_only_that_session() {
    let app = spawn_app().await;
    app.seed_default().await;
    let t1 = app.activate(NIP, EMAIL, STRONG).await;
    let t2 = app.token(NIP, STRONG).await;
    let out = app.logout(&t1).await;
    assert_eq!(out.status, 204);
    assert!(out.body.is_empty());
    assert_eq!(app.session(&t1).await.status, 401);
    assert_eq!(app.logout(&t1).await.status, 401);
    assert_eq!(app.session(&t2).await.status, 200);
}

#[tokio::test]
async fn sessions_expire() {
    let app = spawn_app().await;
    app.seed_default().await;
    let t = app.activate(NIP, EMAIL, STRONG).await;
    app.clock.advance(Duration::hours(8) - Duration::seconds(1));
    assert_eq!(app.session(&t).await.status, 200);
    app.clock.advance(Duration::seconds(1));
    assert_eq!(app.session(&t).await.status, 401);
}

#[tokio::test]
async fn session_needs_a_well_formed_bearer_token() {
    let app = spawn_app().await;
    for header in [
        None,
        Some("Bearer"),
        Some("Basic abc"),
        Some("Bearer not-a-token"),
        Some("Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    ] {
        let mut req = app.client.get(format!("{}/v1/session", app.base));
        if let Some(h) = header {
            req = req.header("authorization", h);
        }
        let a = app.send(req).await;
        assert_eq!(
            (a.status, a.code().as_str()),
            (401, "unauthorized"),
            "{header:?}"
        );
        assert_eq!(
            a.header("content-type").as_deref(),
            Some("application/problem+json; charset=utf-8")
        );
    }
}

#[tokio::test]
async fn weak_password_costs_no_try() {
    let app = spawn_app().await;
    app.seed_default().await;
    app.forgot(NIP).await;
    let code = app.last_code(EMAIL).await;
    for weak in [
        "budi1986",
        "Password1",
        "Budi19860926",
        "short1A",
        "semuahurufkecil99",
        "NOLOWERCASE-BUT-NO-DIGIT",
    ] {
        let r = app.reset(NIP, &code, weak).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (422, "weak_password"),
            "{weak}"
        );
        assert!(r.json()["violations"]
            .as_array()
            .is_some_and(|v| !v.is_empty()));
    }
    // Even with a wrong code, a weak password is reported first and costs nothing.
    let r = app.reset(NIP, "ZZZZ-ZZZZ", "weak").await;
    assert_eq!(r.code(), "weak_password");
    let rec = app
        .store
        .get_reset_code(&sapk_core::Nip::from_stored(NIP).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rec.attempts_left, 5);
    assert_eq!(app.reset(NIP, &code, STRONG).await.status, 200);
}

#[tokio::test]
async fn weak_password_lists_each_rule() {
    let app = spawn_app().await;
    let r = app.reset(NIP, "AAAA-AAAA", "abc").await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json()["violations"],
        json!([
            "too_short",
            "no_uppercase",
            "no_digit",
            "too_guessable",
            "breached"
        ])
    );
    let long = format!("Aa1-{}", "x".repeat(130));
    let r = app.reset(NIP, "AAAA-AAAA", &long).await;
    assert_eq!(r.json()["violations"], json!(["too_long"]));
}

/// A password from a breach corpus is refused at reset and at a change, whatever its score,
/// and so are the examples this project ever showed; the refusal says so, and the code is
/// not used up.
#[tokio::test]
async fn a_breached_password_is_refused_and_said() {
    let app = spawn_app().await;
    app.seed_default().await;
    let (code, _) = app.code_and_a_wrong_one().await;
    // In the corpus (it meets the length, uppercase and digit rules), and the README's and the
    // page's old examples.
    for pw in [
        "Hd764nW5d7E1vb1",
        "Kuda-Laut-Terbang-9",
        "Lumbung-Padi-Kertas-48",
    ] {
        let r = app.reset(NIP, &code, pw).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (422, "weak_password"),
            "{pw}"
        );
        let v = r.json();
        assert!(
            v["violations"]
                .as_array()
                .unwrap()
                .contains(&json!("breached")),
            "{pw}: {v}"
        );
        assert!(
            v["detail"]
                .as_str()
                .unwrap()
                .contains("pernah muncul dalam kebocoran data"),
            "{v}"
        );
    }
    // The code was not used up: a password of one's own works with it.
    assert_eq!(app.reset(NIP, &code, STRONG).await.status, 200);
    let token = app.login(NIP, STRONG).await.json()["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let r = app
        .post_bearer(
            "/v1/password/change",
            &token,
            json!({ "current_password": STRONG, "new_password": "Hd764nW5d7E1vb1" }),
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (422, "weak_password"));
    assert!(r.json()["violations"]
        .as_array()
        .unwrap()
        .contains(&json!("breached")));
}

/// The app, its range API `range` (a short wait), with the default employee seeded.
async fn app_with_range(url: &str) -> TestApp {
    let mut config = test_config();
    config.breach_range = Some(sapk_core::config::BreachRange {
        url: url.to_owned(),
        timeout_ms: 300,
    });
    let app = spawn_app_with(AppOptions {
        config,
        ..AppOptions::default()
    })
    .await;
    app.seed_default().await;
    app
}

/// With the range API configured, a password it lists (and the shipped filter does not) is
/// refused at reset and at a change; the API is sent only five hex digits of the SHA-1, with
/// padding asked for.
#[tokio::test]
async fn the_range_api_refuses_what_it_lists_and_sees_only_a_prefix() {
    let range = sapk_e2e::range_api::RangeApi::start(&[STRONG2]).await;
    let app = app_with_range(&range.url).await;
    let (code, _) = app.code_and_a_wrong_one().await;
    let r = app.reset(NIP, &code, STRONG2).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (422, "weak_password"),
        "{:?}",
        r.json()
    );
    assert_eq!(r.json()["violations"], json!(["breached"]));
    let (prefix, suffix) = sapk_core::breached::range_key(STRONG2);
    let seen = range.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].path, format!("/range/{prefix}"));
    assert!(seen[0].padding, "padding was not asked for");
    assert!(!seen[0].path.contains(&suffix));
    // The code is not used up; a password the API does not list is taken.
    assert_eq!(app.reset(NIP, &code, STRONG).await.status, 200);
    let token = app.login(NIP, STRONG).await.json()["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let r = app
        .post_bearer(
            "/v1/password/change",
            &token,
            json!({ "current_password": STRONG, "new_password": STRONG2 }),
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (422, "weak_password"));
    assert_eq!(r.json()["violations"], json!(["breached"]));
}

/// A range API that never answers, or is not there at all, delays a reset by at most its
/// wait: the shipped filter decides alone (its passwords still refused, others taken).
#[tokio::test]
async fn a_range_api_that_is_down_leaves_the_filter_to_decide() {
    let hanging = sapk_e2e::range_api::RangeApi::start(&[STRONG]).await;
    hanging.hang();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}/range/", l.local_addr().expect("addr"))
    };
    for url in [hanging.url.clone(), closed] {
        let app = app_with_range(&url).await;
        let (code, _) = app.code_and_a_wrong_one().await;
        let bounded = |f| tokio::time::timeout(std::time::Duration::from_secs(20), f);
        let r = bounded(app.reset(NIP, &code, "Hd764nW5d7E1vb1"))
            .await
            .expect("an answer while the range API is down");
        assert!(
            r.json()["violations"]
                .as_array()
                .is_some_and(|v| v.contains(&json!("breached"))),
            "{url}: {:?}",
            r.json()
        );
        let r = bounded(app.reset(NIP, &code, STRONG))
            .await
            .expect("an answer while the range API is down");
        assert_eq!(r.status, 200, "{url}: {:?}", r.json());
    }
    assert!(
        !hanging.requests().is_empty(),
        "the hanging API was never asked"
    );
}

#[tokio::test]
async fn five_wrong_codes_kill_the_code() {
    let app = spawn_app().await;
    app.seed_default().await;
    let (code, wrong) = app.code_and_a_wrong_one().await;
    for _ in 0..5 {
        let r = app.reset(NIP, wrong, STRONG).await;
        assert_eq!((r.status, r.code().as_str()), (400, "invalid_token"));
    }
    let r = app.reset(NIP, &code, STRONG).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "invalid_token"),
        "the right code is dead now"
    );
    // Nor does the dead code tell that it was the right one: a password with the account's
    // name (checked only for a right code) gets the same answer as with a wrong code.
    for c in [code.as_str(), wrong] {
        let r = app.reset(NIP, c, "Budi-Santoso#Kx7q").await;
        assert_eq!((r.status, r.code().as_str()), (400, "invalid_token"), "{c}");
    }
    // A fresh code works.
    app.forgot(NIP).await;
    assert_eq!(
        app.reset(NIP, &app.last_code(EMAIL).await, STRONG)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn four_wrong_codes_then_the_right_one_works() {
    let app = spawn_app().await;
    app.seed_default().await;
    let (code, wrong) = app.code_and_a_wrong_one().await;
    for _ in 0..4 {
        assert_eq!(app.reset(NIP, wrong, STRONG).await.status, 400);
    }
    assert_eq!(app.reset(NIP, &code, STRONG).await.status, 200);
}

#[tokio::test]
async fn code_expires_after_fifteen_minutes() {
    let app = spawn_app().await;
    app.seed_default().await;
    app.forgot(NIP).await;
    let code = app.last_code(EMAIL).await;
    app.clock.advance(Duration::minutes(15));
    let r = app.reset(NIP, &code, STRONG).await;
    assert_eq!((r.status, r.code().as_str()), (400, "invalid_token"));

    app.forgot(NIP).await;
    let code = app.last_code(EMAIL).await;
    app.clock
        .advance(Duration::minutes(15) - Duration::seconds(1));
    assert_eq!(
        app.reset(NIP, &code, STRONG).await.status,
        200,
        "valid until the last second"
    );
}

#[tokio::test]
async fn newer_code_replaces_the_older() {
    let app = spawn_app().await;
    app.seed_default().await;
    app.forgot(NIP).await;
    let first = app.last_code(EMAIL).await;
    app.forgot(NIP).await;
    let second = app.last_code(EMAIL).await;
    assert_ne!(first, second);
    let r = app.reset(NIP, &first, STRONG).await;
    assert_eq!((r.status, r.code().as_str()), (400, "invalid_token"));
    assert_eq!(app.reset(NIP, &second, STRONG).await.status, 200);
}

#[tokio::test]
async fn errors_and_messages_in_english_on_request() {
    let app = spawn_app().await;
    app.seed_default().await;
    let a = app
        .post_raw(
            "/v1/password/forgot",
            br#"{"nip":"123"}"#.to_vec(),
            Some("en-US,en;q=0.9"),
        )
        .await;
    assert_eq!((a.status, a.code().as_str()), (400, "invalid_nip"));
    assert_eq!(a.json()["detail"], "A NIP has 18 digits (you entered 3).");
    assert_eq!(a.header("content-language").as_deref(), Some("en"));
    let a = app
        .post_raw("/v1/password/forgot", br#"{"nip":"123"}"#.to_vec(), None)
        .await;
    assert_eq!(
        a.json()["detail"],
        "NIP harus 18 digit (yang dimasukkan 3 digit)."
    );
    assert_eq!(a.json()["title"], "NIP tidak valid");
    assert_eq!(a.header("content-language").as_deref(), Some("id"));

    let f = app
        .post_raw(
            "/v1/password/forgot",
            format!(r#"{{"nip":"{NIP}"}}"#).into_bytes(),
            Some("en"),
        )
        .await;
    assert_eq!(f.status, 202);
    let mail = &app.outbox().await[0];
    assert_eq!(mail.subject, "SAPK password reset code");
    assert!(mail.text.contains("If you did not ask for this"));
    assert!(
        mail.text.contains("WIB / ") && mail.text.contains("WIT (UTC+7/+8/+9)"),
        "{}",
        mail.text
    );
}

#[tokio::test]
async fn a_changed_hash_cost_rehashes_on_next_login() {
    let app = spawn_app().await;
    app.seed_default().await;
    app.activate(NIP, EMAIL, STRONG).await;
    let nip = sapk_core::Nip::from_stored(NIP).unwrap();
    let before = app.store.get_account(&nip).await.unwrap().unwrap();
    assert!(before
        .password_hash
        .as_deref()
        .unwrap()
        .contains("m=1024,t=1,p=1"));

    // A second service over the same store with stronger parameters.
    let mut cfg = test_config();
    cfg.hash.t_cost = 2;
    let stronger = sapk_core::Service::new(
        std::sync::Arc::new(app.store.clone()),
        std::sync::Arc::new(sapk_embedded::FileOutbox::new(&app.outbox_dir, "a@b.id").unwrap()),
        app.clock.clone(),
        cfg,
        sapk_core::TokenKey::generate().unwrap(),
    )
    .unwrap();
    stronger
        .public()
        .login(NIP, STRONG, &Default::default())
        .await
        .expect("login with the old hash still works");
    let after = app.store.get_account(&nip).await.unwrap().unwrap();
    assert!(
        after
            .password_hash
            .as_deref()
            .unwrap()
            .contains("m=1024,t=2,p=1"),
        "re-hashed"
    );
    assert_eq!(
        after.credential_version, before.credential_version,
        "sessions survive a re-hash"
    );
    assert_eq!(app.login(NIP, STRONG).await.status, 200);
}

#[tokio::test]
async fn unknown_routes_and_methods() {
    let app = spawn_app().await;
    let a = app.post("/v1/nothing", json!({})).await;
    assert_eq!((a.status, a.code().as_str()), (404, "not_found"));
    let req = app.client.get(format!("{}/v1/login", app.base));
    let a = app.send(req).await;
    assert_eq!((a.status, a.code().as_str()), (405, "method_not_allowed"));
    assert_eq!(a.header("allow").as_deref(), Some("POST"));
}

/// A signed-in civil servant changes the password: the current one is checked as a login
/// attempt, the new one against the same policy as a reset; other sessions end, a new token
/// replaces this one, the e-mail is told, and it is audited.
#[tokio::test]
async fn a_signed_in_user_changes_the_password() {
    let app = spawn_app().await;
    app.seed_default().await;
    let token = app.activate(NIP, EMAIL, STRONG).await;
    let other = app.token(NIP, STRONG).await;
    let change = |bearer: &str, current: &str, new: &str| {
        app.client
            .post(format!("{}/v1/password/change", app.base))
            .bearer_auth(bearer)
            .json(&serde_json::json!({ "current_password": current, "new_password": new }))
    };
    // No session, a wrong current password, a weak new one: refused, nothing changes.
    let a = app
        .send(
            app.client
                .post(format!("{}/v1/password/change", app.base))
                .json(&serde_json::json!({ "current_password": STRONG, "new_password": STRONG2 })),
        )
        .await;
    assert_eq!((a.status, a.code().as_str()), (401, "unauthorized"));
    let a = app.send(change(&token, "Wrong-Password-1", STRONG2)).await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (403, "wrong_current_password")
    );
    assert!(a.json()["detail"]
        .as_str()
        .unwrap()
        .contains("Password saat ini"));
    let a = app.send(change(&token, STRONG, "Budi-Santoso-1986")).await;
    assert_eq!((a.status, a.code().as_str()), (422, "weak_password"));
    // The current password again is no change: said with every other rule, at once.
    let a = app.send(change(&token, STRONG, STRONG)).await;
    assert_eq!((a.status, a.code().as_str()), (422, "weak_password"));
    assert_eq!(a.json()["violations"], json!(["same_as_current"]));
    assert!(a.json()["detail"]
        .as_str()
        .unwrap()
        .contains("sama dengan password saat ini"));
    let a = app
        .send(change(&token, "budisantoso1986", "budisantoso1986"))
        .await;
    assert_eq!(
        a.json()["violations"],
        json!(["no_uppercase", "too_guessable", "same_as_current"]),
        "{:?}",
        a.json()
    );
    assert_eq!(
        a.json()["guessable"],
        json!(["name", "birth_date", "common_word"])
    );
    assert!(a.json()["detail"]
        .as_str()
        .unwrap()
        .contains("nama Anda, tanggal lahir Anda"));
    assert_eq!(app.session(&other).await.status, 200, "nothing changed yet");
    let notices_before = app
        .outbox()
        .await
        .iter()
        .filter(|m| m.file.ends_with("password-changed.eml"))
        .count();

    let a = app.send(change(&token, STRONG, STRONG2)).await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let new_token = a.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.session(&new_token).await.status, 200);
    assert_eq!(
        app.session(&token).await.status,
        401,
        "this session was replaced"
    );
    assert_eq!(
        app.session(&other).await.status,
        401,
        "other sessions ended"
    );
    assert_eq!(app.login(NIP, STRONG).await.status, 401);
    assert_eq!(app.login(NIP, STRONG2).await.status, 200);
    let mails = app.outbox().await;
    assert_eq!(
        mails
            .iter()
            .filter(|m| m.file.ends_with("password-changed.eml"))
            .count(),
        notices_before + 1,
        "one notice for one change"
    );
    let notice = mails
        .iter()
        .rfind(|m| m.file.ends_with("password-changed.eml"))
        .unwrap();
    assert!(notice.text.contains("SAPK Akun ASN"), "{}", notice.text);
    assert!(!notice.text.contains("MySAPK"), "{}", notice.text);
    let nip = sapk_core::Nip::from_stored(NIP).unwrap();
    let trail = app.store.list_audit(&nip, 20).await.unwrap();
    let changes: Vec<&str> = trail
        .iter()
        .filter(|e| e.action == "password_change")
        .map(|e| e.outcome.as_str())
        .collect();
    assert_eq!(changes, ["succeeded", "failed"]);
}

/// A signed-in civil servant reads their own security activity: sign-ins with the source
/// network (not the address), failures, the reset, and what an office did (the office, not
/// the officer), newest first; without a session, nothing.
#[tokio::test]
async fn a_signed_in_user_reads_their_own_activity() {
    let app = spawn_app().await;
    app.seed_default().await;
    let token = app.activate(NIP, EMAIL, STRONG).await;
    app.login(NIP, "Wrong-Password-1").await;
    let op = sapk_core::staff::Operator {
        id: "arn:aws:sts::1:assumed-role/CounterStaff/rina@bkn.go.id".into(),
        office: "KANREG-I".into(),
        officer_id: None,
        scope: None,
        office_name: None,
    };
    app.service.staff().unlock_account(NIP, &op).await.unwrap();
    let read = |q: &str| {
        app.client
            .get(format!("{}/v1/account/activity{q}", app.base))
            .bearer_auth(&token)
    };
    let a = app.send(read("?limit=10")).await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let events = a.json()["events"].as_array().unwrap().clone();
    assert!(events.len() <= 10);
    let first = &events[0];
    assert_eq!(
        (first["action"].as_str(), first["office"].as_str()),
        (Some("account_unlock"), Some("KANREG-I"))
    );
    assert_eq!(first["what"], "buka kunci login");
    assert_eq!(first["office_name"], "Kantor Regional I BKN Yogyakarta");
    let body = String::from_utf8_lossy(&a.body).into_owned();
    assert!(
        !body.contains("rina@bkn.go.id"),
        "no officer identity: {body}"
    );
    let failed = events
        .iter()
        .find(|e| e["action"] == "login" && e["result"] == "failed")
        .expect("the failed login");
    assert_eq!(failed["source"], "127.0.0.x");
    assert!(!body.contains("127.0.0.1"), "no full address: {body}");
    assert!(events.iter().any(|e| e["action"] == "reset"));
    let a = app
        .send(app.client.get(format!("{}/v1/account/activity", app.base)))
        .await;
    assert_eq!((a.status, a.code().as_str()), (401, "unauthorized"));
    // In English on request.
    let a = app.send(read("").header("accept-language", "en")).await;
    assert_eq!(a.json()["events"][0]["what"], "login unlock");
    // An office the registry names: by that name, as the record kept it.
    let named = sapk_core::staff::Operator {
        office: "BKPSDM-KOTA-BDG".into(),
        office_name: Some("BKPSDM Kota Bandung, loket Balai Kota".into()),
        ..op
    };
    app.service
        .staff()
        .unlock_account(NIP, &named)
        .await
        .unwrap();
    let a = app.send(read("?limit=1")).await;
    let first = &a.json()["events"][0];
    assert_eq!(
        first["office_name"],
        "BKPSDM Kota Bandung, loket Balai Kota"
    );
    assert!(
        first["text"]
            .as_str()
            .is_some_and(|t| t.ends_with("di BKPSDM Kota Bandung, loket Balai Kota")),
        "{first}"
    );
}

/// An address several accounts have from before one e-mail per ASN (no claim, or another's):
/// the reset code's e-mail says it is shared and how to get one's own; an address of one's own
/// gets no such words. The answer is the same either way.
#[tokio::test]
async fn a_reset_code_to_a_shared_address_says_it_is_shared() {
    let app = spawn_app().await;
    app.seed_default().await;
    let own = "199009132025242014";
    app.seed(own, "Ayu Lestari", "ayu.lestari@example.go.id")
        .await;
    let other = "198501052010121003";
    app.seed(other, "Citra Dewi", "citra.dewi@example.go.id")
        .await;
    // An old database: the second account has the first one's address, and no claims exist.
    let db = rusqlite::Connection::open(app.outbox_dir.parent().unwrap().join("sapk.db")).unwrap();
    db.execute(
        "UPDATE accounts SET email = ?1 WHERE nip = ?2",
        rusqlite::params![EMAIL, other],
    )
    .unwrap();
    db.execute("DELETE FROM email_claims WHERE nip <> ?1", [own])
        .unwrap();
    drop(db);
    let shared_words = "juga tercatat untuk akun pegawai lain";
    for (nip, to, shared) in [
        (NIP, EMAIL, true),
        (own, "ayu.lestari@example.go.id", false),
    ] {
        let a = app.forgot(nip).await;
        assert_eq!(a.status, 202);
        let mail = app
            .outbox()
            .await
            .into_iter()
            .rfind(|m| m.to == to && m.file.ends_with("reset-code.eml"))
            .expect("the code's e-mail");
        assert_eq!(
            mail.text.contains(shared_words),
            shared,
            "{nip}: {}",
            mail.text
        );
    }
}
