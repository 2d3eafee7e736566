//! What an attacker (or a busy office) meets: identical forgot answers, lock-out, rate
//! limits, races on one code.

use chrono::Duration;
use sapk_core::config::RateLimit;
use sapk_core::ports::stores::*;
use sapk_e2e::*;
use std::net::IpAddr;

const NO_EMAIL_NIP: &str = "199001012020122003";
const LOCKED_NIP: &str = "198001012005011002";
const UNKNOWN_NIP: &str = "197512312000121009";

#[tokio::test]
async fn forgot_is_byte_identical_whatever_the_account() {
    let app = spawn_app().await;
    app.seed_default().await;
    app.seed(NO_EMAIL_NIP, "Siti Aminah", "").await;
    app.seed(LOCKED_NIP, "Andi Wijaya", "andi@example.go.id")
        .await;
    app.activate(LOCKED_NIP, "andi@example.go.id", STRONG).await;
    for _ in 0..5 {
        assert_eq!(app.login(LOCKED_NIP, "Wrong-Password-1").await.status, 401);
    }
    assert_eq!(
        app.login(LOCKED_NIP, STRONG).await.status,
        429,
        "locked out of login"
    );

    let mut answers = Vec::new();
    for nip in [NIP, UNKNOWN_NIP, NO_EMAIL_NIP, LOCKED_NIP] {
        let a = app.forgot(nip).await;
        let mut headers: Vec<(String, String)> = a
            .headers
            .iter()
            .filter(|(k, _)| k.as_str() != "date")
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        headers.sort();
        answers.push((nip, a.status, headers, a.body));
    }
    for (nip, status, headers, body) in &answers[1..] {
        assert_eq!(*status, answers[0].1, "status for {nip}");
        assert_eq!(headers, &answers[0].2, "headers for {nip}");
        assert_eq!(body, &answers[0].3, "body for {nip}");
    }
    assert_eq!(answers[0].1, 202);
    // Mail went only where there is an address: the existing and the locked account.
    let to: Vec<String> = app
        .outbox()
        .await
        .iter()
        .filter(|m| m.file.ends_with("reset-code.eml"))
        .map(|m| m.to.clone())
        .collect();
    assert_eq!(to.iter().filter(|t| t.as_str() == EMAIL).count(), 1);
    assert_eq!(
        to.iter()
            .filter(|t| t.as_str() == "andi@example.go.id")
            .count(),
        2
    );
}

#[tokio::test]
async fn forgot_takes_the_same_minimum_time() {
    let mut opts = AppOptions::default();
    opts.config.forgot_min_ms = 150;
    let app = spawn_app_with(opts).await;
    app.seed_default().await;
    for nip in [NIP, UNKNOWN_NIP] {
        let t = std::time::Instant::now();
        assert_eq!(app.forgot(nip).await.status, 202);
        assert!(
            t.elapsed() >= std::time::Duration::from_millis(150),
            "{nip}: {:?}",
            t.elapsed()
        );
    }
}

#[tokio::test]
async fn login_lockout_backs_off_and_a_reset_clears_it() {
    let app = spawn_app().await;
    app.seed_default().await;
    app.activate(NIP, EMAIL, STRONG).await;
    for i in 1..=5 {
        let a = app.login(NIP, "Wrong-Password-1").await;
        assert_eq!(
            (a.status, a.code().as_str()),
            (401, "invalid_credentials"),
            "failure {i}"
        );
    }
    let locked = app.login(NIP, STRONG).await;
    assert_eq!(
        (locked.status, locked.code().as_str()),
        (429, "rate_limited")
    );
    assert_eq!(locked.header("retry-after").as_deref(), Some("60"));

    // Never permanent: after the back-off, the right password works.
    app.clock.advance(Duration::seconds(60));
    // A further failure doubles the lock.
    assert_eq!(app.login(NIP, "Wrong-Password-1").await.status, 401);
    assert_eq!(
        app.login(NIP, STRONG)
            .await
            .header("retry-after")
            .as_deref(),
        Some("120")
    );
    app.clock.advance(Duration::seconds(120));
    assert_eq!(app.login(NIP, STRONG).await.status, 200);

    // Lock again, then a reset clears it at once.
    for _ in 0..5 {
        app.login(NIP, "Wrong-Password-1").await;
    }
    assert_eq!(app.login(NIP, STRONG).await.status, 429);
    app.forgot(NIP).await;
    assert_eq!(
        app.reset(NIP, &app.last_code(EMAIL).await, STRONG2)
            .await
            .status,
        200
    );
    assert_eq!(app.login(NIP, STRONG2).await.status, 200);
}

#[tokio::test]
async fn lockout_caps_at_fifteen_minutes() {
    let app = spawn_app().await;
    app.seed_default().await;
    app.activate(NIP, EMAIL, STRONG).await;
    let mut locks = Vec::new();
    for _ in 0..24 {
        let a = app.login(NIP, "Wrong-Password-1").await;
        if a.status == 429 {
            let secs: i64 = a.header("retry-after").unwrap().parse().unwrap();
            locks.push(secs);
            app.clock.advance(Duration::seconds(secs));
        }
    }
    assert_eq!(locks[..7], [60, 120, 240, 480, 900, 900, 900]);
    assert_eq!(app.login(NIP, STRONG).await.status, 200, "never permanent");
}

#[tokio::test]
async fn unknown_nips_lock_out_alike() {
    let app = spawn_app().await;
    for _ in 0..5 {
        let a = app.login(UNKNOWN_NIP, "Wrong-Password-1").await;
        assert_eq!((a.status, a.code().as_str()), (401, "invalid_credentials"));
    }
    let a = app.login(UNKNOWN_NIP, "Wrong-Password-1").await;
    assert_eq!(
        (a.status, a.header("retry-after").as_deref()),
        (429, Some("60"))
    );
}

#[tokio::test]
async fn per_nip_limits_count_unknown_nips_too() {
    let mut opts = AppOptions::default();
    opts.config.limits.forgot_nip = RateLimit {
        max: 3,
        window_secs: 900,
    };
    let app = spawn_app_with(opts).await;
    app.seed_default().await;
    for nip in [NIP, UNKNOWN_NIP] {
        for _ in 0..3 {
            assert_eq!(app.forgot(nip).await.status, 202);
        }
        let a = app.forgot(nip).await;
        assert_eq!(
            (a.status, a.code().as_str()),
            (429, "rate_limited"),
            "{nip}"
        );
        assert_eq!(a.header("retry-after").as_deref(), Some("900"));
    }
    // Three codes were queued for NIP and none beyond the limit: counted where they are
    // queued (the mail queue), before the sender drops the two that were replaced.
    let db = rusqlite::Connection::open(app.data_dir().join("sapk.db")).unwrap();
    let queued: i64 = db
        .query_row("SELECT count(*) FROM mail_queue", [], |r| r.get(0))
        .unwrap();
    assert_eq!(queued, 3, "no mail queued beyond the limit");
    let nip = sapk_core::Nip::from_stored(NIP).unwrap();
    let trail = app.store.list_audit(&nip, 50).await.unwrap();
    let count = |action: &str| trail.iter().filter(|e| e.action == action).count();
    assert_eq!(
        (count("code_requested"), count("forgot_rate_limited")),
        (3, 1),
        "three codes asked for, the fourth refused"
    );
    // Delivered together, the two replaced ones are dropped (their codes no longer work).
    assert_eq!(app.outbox().await.len(), 1);
    // The window ends.
    app.clock.advance(Duration::seconds(900));
    assert_eq!(app.forgot(NIP).await.status, 202);
}

#[tokio::test]
async fn per_ip_limits_use_the_source_address() {
    let mut opts = AppOptions::default();
    opts.config.limits.login_ip = RateLimit {
        max: 4,
        window_secs: 60,
    };
    let app = spawn_app_with(opts).await;
    let office: IpAddr = "127.0.0.2".parse().unwrap();
    let other: IpAddr = "127.0.0.3".parse().unwrap();
    let from_office = client_from(Some(office));
    let body =
        |i: u32| serde_json::json!({ "nip": format!("19800101200501100{i}"), "password": "x" });
    for i in 0..4 {
        let req = from_office
            .post(format!("{}/v1/login", app.base))
            .json(&body(i));
        assert_eq!(app.send(req).await.status, 401);
    }
    let req = from_office
        .post(format!("{}/v1/login", app.base))
        .json(&body(5));
    let a = app.send(req).await;
    assert_eq!((a.status, a.code().as_str()), (429, "rate_limited"));
    assert_eq!(a.header("retry-after").as_deref(), Some("60"));
    let elsewhere = client_from(Some(other));
    let req = elsewhere
        .post(format!("{}/v1/login", app.base))
        .json(&body(5));
    assert_eq!(
        app.send(req).await.status,
        401,
        "another address is not limited"
    );
}

#[tokio::test]
async fn reset_limits_apply() {
    let mut opts = AppOptions::default();
    opts.config.limits.reset_nip = RateLimit {
        max: 2,
        window_secs: 900,
    };
    let app = spawn_app_with(opts).await;
    for _ in 0..2 {
        assert_eq!(
            app.reset(UNKNOWN_NIP, "AAAA-AAAA", STRONG).await.status,
            400
        );
    }
    assert_eq!(
        app.reset(UNKNOWN_NIP, "AAAA-AAAA", STRONG).await.status,
        429
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_resets_with_one_code_give_one_success() {
    let mut opts = AppOptions::default();
    opts.config.limits.reset_nip = RateLimit {
        max: 1000,
        window_secs: 900,
    };
    opts.config.limits.reset_nip_ip = opts.config.limits.reset_nip;
    // Every try is taken before any reset goes on (only resets take tries).
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(20));
    opts.store_wrapper = Some(Box::new(move |inner| {
        let mut s = sapk_e2e::faults::FailingStore::new(
            inner,
            sapk_e2e::faults::Switch::default(),
            sapk_e2e::faults::FailMode::Everything,
        );
        s.attempt_barrier = Some(barrier);
        std::sync::Arc::new(s) as std::sync::Arc<dyn Store>
    }));
    let app = std::sync::Arc::new(spawn_app_with(opts).await);
    app.seed_default().await;
    app.forgot(NIP).await;
    let code = app.last_code(EMAIL).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (app, code) = (app.clone(), code.clone());
        tasks.push(tokio::spawn(async move {
            app.reset(NIP, &code, &format!("Perahu-Layar-Biru-{i}"))
                .await
        }));
    }
    let mut ok = Vec::new();
    let mut codes = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        let a = t.await.unwrap();
        if a.status == 200 {
            ok.push(i);
        } else {
            codes.push((a.status, a.code()));
        }
    }
    assert_eq!(ok.len(), 1, "exactly one success; others: {codes:?}");
    assert!(
        codes.iter().all(|(s, c)| *s == 400 && c == "invalid_token"),
        "{codes:?}"
    );
    let winner = format!("Perahu-Layar-Biru-{}", ok[0]);
    assert_eq!(app.login(NIP, &winner).await.status, 200);
    // The race happened: five requests held a try; one won the atomic step and four lost
    // it; the other fifteen found no try left.
    let reasons = reset_failure_reasons(&app.store, NIP).await;
    let count = |what: &str| reasons.iter().filter(|r| *r == what).count();
    assert_eq!(count("code_already_used"), 4, "{reasons:?}");
    assert_eq!(count("no_tries_left"), 15, "{reasons:?}");
    // Twenty appends raced for the NIP's audit chain: every record landed, sealed in order.
    let report = verify_chain(&app.service, NIP).await;
    assert!(report.intact(), "{report:?}");
    let all = app
        .store
        .list_audit(&sapk_core::Nip::from_stored(NIP).unwrap(), 1000)
        .await
        .unwrap();
    // (The check's own record comes after what it read.)
    assert_eq!(report.records + 1, all.len());
    assert_eq!(report.last_seq, Some(report.records as u64));
    assert!(all.iter().filter(|e| e.action == "reset").count() >= 20);
}

#[tokio::test]
async fn concurrent_logins_and_forgots_on_one_account() {
    let app = std::sync::Arc::new(spawn_app().await);
    app.seed_default().await;
    app.activate(NIP, EMAIL, STRONG).await;
    let mut tasks = Vec::new();
    // Four forgots: with the one in `activate`, the per-NIP limit (5) is not reached.
    for i in 0..8 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                app.login(NIP, STRONG).await.status
            } else {
                app.forgot(NIP).await.status
            }
        }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        let s = t.await.unwrap();
        assert_eq!(s, if i % 2 == 0 { 200 } else { 202 });
    }
    // Only the newest of the codes works.
    let code = app.last_code(EMAIL).await;
    assert_eq!(app.reset(NIP, &code, STRONG2).await.status, 200);
}

#[tokio::test]
async fn a_password_built_from_the_name_reveals_nothing_without_the_code() {
    let app = spawn_app().await;
    app.seed_default().await;
    let (code, wrong) = app.code_and_a_wrong_one().await;
    let named = "Budi.Santoso7";
    // Without the right code, an existing and an unknown NIP answer alike.
    let known = app.reset(NIP, wrong, named).await;
    let unknown = app.reset(UNKNOWN_NIP, wrong, named).await;
    assert_eq!(
        (known.status, known.code().as_str()),
        (400, "invalid_token")
    );
    assert_eq!((unknown.status, &unknown.body), (known.status, &known.body));
    // With the right code, the name makes it too guessable, and costs no try.
    let before = app
        .store
        .get_reset_code(&sapk_core::Nip::from_stored(NIP).unwrap())
        .await
        .unwrap()
        .unwrap();
    let r = app.reset(NIP, &code, named).await;
    assert_eq!((r.status, r.code().as_str()), (422, "weak_password"));
    assert_eq!(r.json()["violations"], serde_json::json!(["too_guessable"]));
    let after = app
        .store
        .get_reset_code(&sapk_core::Nip::from_stored(NIP).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.attempts_left, before.attempts_left);
    assert_eq!(app.reset(NIP, &code, STRONG).await.status, 200);
}

/// POST /v1/login from a given source address.
async fn login_from(app: &TestApp, from: &reqwest::Client, nip: &str, pw: &str) -> Answer {
    let req = from
        .post(format!("{}/v1/login", app.base))
        .json(&serde_json::json!({ "nip": nip, "password": pw }));
    app.send(req).await
}

fn addr(s: &str) -> reqwest::Client {
    client_from(Some(s.parse::<IpAddr>().expect("address")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_logins_cannot_exceed_the_failure_budget() {
    let mut opts = AppOptions::default();
    opts.config.limits.login_nip_ip = RateLimit {
        max: 1000,
        window_secs: 900,
    };
    opts.config.limits.login_nip = opts.config.limits.login_nip_ip;
    let app = std::sync::Arc::new(spawn_app_with(opts).await);
    app.seed_default().await;
    app.activate(NIP, EMAIL, STRONG).await;
    // 40 at once, the right password at position 17: a barrier releases them together.
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(40));
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (app, barrier) = (app.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let pw = if i == 17 { STRONG } else { "Wrong-Password-1" };
            barrier.wait().await;
            app.login(NIP, pw).await.status
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let count = |s: u16| statuses.iter().filter(|&&x| x == s).count();
    let (ok, wrong, locked) = (count(200), count(401), count(429));
    assert_eq!(ok + wrong + locked, 40, "{statuses:?}");
    // Every judged wrong password was reserved first: at most the threshold per window,
    // and a success starts a new window.
    assert!(
        wrong <= 5 * (1 + ok),
        "{wrong} wrong passwords judged: {statuses:?}"
    );
    assert!(locked >= 40 - 5 * (1 + ok) - ok, "{statuses:?}");
    let failed = app
        .store
        .list_audit(&sapk_core::Nip::from_stored(NIP).unwrap(), 200)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "login" && e.outcome == "failed")
        .collect::<Vec<_>>();
    assert_eq!(failed.len(), wrong);
    assert!(
        failed
            .iter()
            .all(|e| e.details["failures"].as_u64().is_some_and(|f| f <= 5)),
        "no reservation beyond the threshold"
    );
}

#[tokio::test]
async fn an_attacker_at_one_address_cannot_lock_the_owner_out_at_another() {
    let app = spawn_app().await;
    app.seed_default().await;
    app.activate(NIP, EMAIL, STRONG).await;
    let (attacker, owner) = (addr("127.0.0.2"), addr("127.0.0.3"));
    let mut locks = 0;
    for _ in 0..12 {
        let a = login_from(&app, &attacker, NIP, "Wrong-Password-1").await;
        if a.status == 429 {
            locks += 1;
            // One failure after each lock would re-lock: keep the lock in force.
            app.clock.advance(Duration::seconds(61));
        }
    }
    assert!(locks >= 3, "the attacker's address is locked out");
    assert_eq!(login_from(&app, &owner, NIP, STRONG).await.status, 200);
    // The owner's success does not lift the attacker's lock-out.
    let a = login_from(&app, &attacker, NIP, STRONG).await;
    assert_eq!(a.status, 429, "{}", String::from_utf8_lossy(&a.body));
    // Nor can strangers use up the owner's forgot requests or codes.
    for _ in 0..8 {
        let req = attacker
            .post(format!("{}/v1/password/forgot", app.base))
            .json(&serde_json::json!({ "nip": NIP }));
        app.send(req).await;
    }
    let req = owner
        .post(format!("{}/v1/password/forgot", app.base))
        .json(&serde_json::json!({ "nip": NIP }));
    assert_eq!(
        app.send(req).await.status,
        202,
        "the owner still gets a code"
    );
}

#[tokio::test]
async fn the_per_nip_ceiling_locks_every_address_until_a_reset() {
    let mut opts = AppOptions::default();
    opts.config.lockout_nip_ceiling = 12;
    let app = spawn_app_with(opts).await;
    app.seed_default().await;
    app.activate(NIP, EMAIL, STRONG).await;
    // Three addresses, four failures each: no address reaches its own threshold (5).
    for a in ["127.0.0.11", "127.0.0.12", "127.0.0.13"] {
        let from = addr(a);
        for _ in 0..4 {
            assert_eq!(
                login_from(&app, &from, NIP, "Wrong-Password-1")
                    .await
                    .status,
                401
            );
        }
    }
    let owner = addr("127.0.0.20");
    let a = login_from(&app, &owner, NIP, STRONG).await;
    assert_eq!(
        (a.status, a.header("retry-after").as_deref()),
        (429, Some("900"))
    );
    // A reset by e-mail ends every lock-out of the NIP.
    app.forgot(NIP).await;
    assert_eq!(
        app.reset(NIP, &app.last_code(EMAIL).await, STRONG2)
            .await
            .status,
        200
    );
    assert_eq!(login_from(&app, &owner, NIP, STRONG2).await.status, 200);
    assert_eq!(
        login_from(&app, &addr("127.0.0.11"), NIP, STRONG2)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_successful_login_clears_the_failure_count() {
    let app = spawn_app().await;
    app.seed_default().await;
    app.activate(NIP, EMAIL, STRONG).await;
    for _ in 0..4 {
        assert_eq!(app.login(NIP, "Wrong-Password-1").await.status, 401);
    }
    assert_eq!(app.login(NIP, STRONG).await.status, 200);
    // Four more failures: without the clearing, the fifth of nine would have locked.
    for _ in 0..4 {
        assert_eq!(app.login(NIP, "Wrong-Password-1").await.status, 401);
    }
    assert_eq!(app.login(NIP, STRONG).await.status, 200);
}

#[tokio::test]
async fn a_forgot_within_the_cooldown_sends_nothing_new() {
    let mut opts = AppOptions::default();
    opts.config.forgot_cooldown_secs = 60;
    let app = spawn_app_with(opts).await;
    app.seed_default().await;
    let first = app.forgot(NIP).await;
    let code = app.last_code(EMAIL).await;
    let again = app.forgot(NIP).await;
    let unknown = app.forgot(UNKNOWN_NIP).await;
    let unknown_again = app.forgot(UNKNOWN_NIP).await;
    assert_eq!((first.status, again.status), (202, 202));
    assert_eq!(first.body, again.body);
    assert_eq!(unknown_again.body, unknown.body);
    assert_eq!(app.outbox().await.len(), 1, "nothing new within 60 s");
    app.clock.advance(Duration::seconds(61));
    assert_eq!(app.forgot(NIP).await.status, 202);
    assert_eq!(app.outbox().await.len(), 2);
    assert_ne!(
        app.last_code(EMAIL).await,
        code,
        "a new code after the cooldown"
    );
    // A code that no longer works (staff ended codes and sessions) holds no cooldown.
    let op = sapk_core::staff::Operator {
        id: "OP-1".into(),
        office: "KANREG-I".into(),
        officer_id: None,
        scope: None,
        office_name: None,
    };
    app.service.staff().revoke_sessions(NIP, &op).await.unwrap();
    assert_eq!(app.forgot(NIP).await.status, 202);
    assert_eq!(app.outbox().await.len(), 3, "a fresh code at once");
}

#[tokio::test]
async fn passwords_built_from_the_name_and_birth_date_are_refused_at_reset() {
    let app = spawn_app().await;
    app.seed_default().await;
    for pw in [
        "BudiSantoso1986",
        "Budi260986!",
        "Santoso.Budi-86",
        "Indonesia2024!",
    ] {
        app.forgot(NIP).await;
        let code = app.last_code(EMAIL).await;
        let a = app.reset(NIP, &code, pw).await;
        assert_eq!(
            (a.status, a.code().as_str()),
            (422, "weak_password"),
            "{pw}"
        );
        assert!(
            a.json()["violations"]
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v == "too_guessable"),
            "{pw}"
        );
        assert!(a.json()["detail"]
            .as_str()
            .unwrap()
            .contains("tiga atau empat kata"));
    }
    app.forgot(NIP).await;
    let code = app.last_code(EMAIL).await;
    assert_eq!(
        app.reset(NIP, &code, "Danau-Toba-Kabut-64").await.status,
        200
    );
}
