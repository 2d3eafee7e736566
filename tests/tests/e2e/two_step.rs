//! Two-step login over HTTP on the embedded store: setting up an authenticator app, the
//! second step (replay, drift, single use, the shared lock-out), recovery codes, a reset
//! that keeps the factor, its removal at a counter, and an agency's requirement.

use chrono::Duration;
use sapk_core::ports::stores::*;
use sapk_core::ports::Clock;
use sapk_core::staff::factor_removal::FactorRemovalRequest;
use sapk_core::staff::{ChangeError, DocumentSeen, IdentityCheck, Operator, StaffError};
use sapk_e2e::faults::CallLog;
use sapk_e2e::*;
use serde_json::{json, Value};

/// The NIK of the KTP that matches [`NIP`] (born 26-09-1986, male).
const NIK: &str = "3273012609860001";

async fn active_app_with(opts: AppOptions) -> (TestApp, String) {
    let app = spawn_app_with(opts).await;
    app.seed_default().await;
    let token = app.activate(NIP, EMAIL, STRONG).await;
    (app, token)
}

/// An app whose default employee has two-step login on; the clock moved past the step of
/// the confirming code.
async fn enrolled_app() -> (TestApp, String, Vec<String>) {
    let (app, token) = active_app_with(AppOptions::default()).await;
    let (uri, codes) = app.enrol(&token).await;
    app.clock.advance(Duration::seconds(30));
    (app, uri, codes)
}

/// NIP and password: the challenge of the second step (asserting there is no session).
async fn challenge(app: &TestApp) -> String {
    let a = app.login(NIP, STRONG).await;
    assert_eq!(a.status, 200, "{}", a.json());
    let j = a.json();
    assert_eq!(j["second_factor_required"], true);
    assert!(
        j.get("access_token").is_none(),
        "no session before the code"
    );
    j["challenge"].as_str().expect("challenge").to_owned()
}

async fn second(app: &TestApp, challenge: &str, code: &str) -> Answer {
    app.post(
        "/v1/login/second-factor",
        json!({ "challenge": challenge, "code": code }),
    )
    .await
}

fn code_now(app: &TestApp, uri: &str, offset_secs: i64) -> String {
    totp_code(uri, app.clock.now() + Duration::seconds(offset_secs))
}

fn subjects(mails: &[Mail]) -> Vec<String> {
    mails.iter().map(|m| m.subject.clone()).collect()
}

#[tokio::test]
async fn set_up_then_log_in_in_two_steps() {
    let (app, token) = active_app_with(AppOptions::default()).await;
    let s = app.session(&token).await.json();
    assert_eq!(
        (&s["second_factor"], &s["second_factor_required"]),
        (&json!(false), &json!(false))
    );
    // Start: an otpauth URI for the app and the key to type by hand.
    let a = app
        .post_bearer(
            "/v1/account/second-factor",
            &token,
            json!({ "current_password": STRONG }),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.json());
    let uri = a.json()["otpauth_uri"].as_str().unwrap().to_owned();
    assert!(
        uri.starts_with(&format!("otpauth://totp/SAPK%20BKN:{NIP}?")),
        "{uri}"
    );
    assert!(uri.contains(&format!("secret={}", a.json()["secret"].as_str().unwrap())));
    // Not in force until confirmed: login still gives a session at once.
    assert!(app.login(NIP, STRONG).await.json()["access_token"].is_string());
    // A wrong first code is refused; the right one turns it on, with ten recovery codes.
    let right = code_now(&app, &uri, 0);
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let w = app
        .post_bearer(
            "/v1/account/second-factor/confirm",
            &token,
            json!({ "code": wrong }),
        )
        .await;
    assert_eq!((w.status, w.code().as_str()), (400, "wrong_setup_code"));
    // No recovery code exists yet: the answer does not send the person to one.
    assert!(!w.json()["detail"].as_str().unwrap().contains("pemulihan"));
    let c = app
        .post_bearer(
            "/v1/account/second-factor/confirm",
            &token,
            json!({ "code": right }),
        )
        .await;
    assert_eq!(c.status, 200, "{}", c.json());
    let codes: Vec<String> = c.json()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    let distinct: std::collections::BTreeSet<_> = codes.iter().collect();
    assert_eq!(distinct.len(), 10);
    for code in &codes {
        assert!(
            code.len() == 11
                && code.as_bytes()[5] == b'-'
                && code
                    .chars()
                    .all(|ch| ch == '-' || ch.is_ascii_digit() || ch.is_ascii_lowercase()),
            "{code}"
        );
    }
    // Once on: neither a second set-up nor a second confirmation.
    for path in [
        "/v1/account/second-factor",
        "/v1/account/second-factor/confirm",
    ] {
        let again = app
            .post_bearer(
                path,
                &token,
                json!({ "code": right, "current_password": STRONG }),
            )
            .await;
        assert_eq!(
            (again.status, again.code().as_str()),
            (409, "already_enrolled"),
            "{path}"
        );
    }
    assert!(subjects(&app.outbox().await)
        .contains(&"Verifikasi dua langkah SAPK telah aktif".to_owned()));
    assert_eq!(app.session(&token).await.json()["second_factor"], true);
    // The secret is kept sealed: not in the clear, not in base32, in the store.
    let stored = app
        .store
        .get_account(&sapk_core::Nip::from_stored(NIP).unwrap())
        .await
        .unwrap()
        .unwrap()
        .second_factor
        .unwrap();
    let b32 = a.json()["secret"].as_str().unwrap().to_owned();
    assert!(!stored.sealed_secret.contains(&b32));
    assert_eq!(stored.recovery.len(), 10);
    assert!(stored.recovery.iter().all(|h| !codes.contains(h)));

    // Login: the password gives a challenge; a challenge is not a session.
    let ch = challenge(&app).await;
    assert_eq!(app.session(&ch).await.status, 401);
    // The code used to confirm is never accepted again, even within its step.
    let replay = second(&app, &ch, &right).await;
    assert_eq!(
        (replay.status, replay.code().as_str()),
        (400, "invalid_second_factor")
    );
    app.clock.advance(Duration::seconds(30));
    let ok = second(&app, &ch, &code_now(&app, &uri, 0)).await;
    assert_eq!(ok.status, 200, "{}", ok.json());
    let session = ok.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.session(&session).await.status, 200);
    // The challenge is single-use.
    app.clock.advance(Duration::seconds(30));
    let used = second(&app, &ch, &code_now(&app, &uri, 0)).await;
    assert_eq!(
        (used.status, used.code().as_str()),
        (401, "invalid_challenge")
    );
    // A session token is no challenge, nor is garbage.
    for not_one in [session.as_str(), "x", ""] {
        let a = second(&app, not_one, &code_now(&app, &uri, 0)).await;
        assert_eq!((a.status, a.code().as_str()), (401, "invalid_challenge"));
    }
    // The activity shows the set-up and the second step.
    let activity = app
        .send(
            app.client
                .get(format!("{}/v1/account/activity", app.base))
                .bearer_auth(&session),
        )
        .await
        .json();
    let actions: Vec<&str> = activity["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in ["second_factor_enrol", "login_second_step"] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
}

/// A code of a time a few minutes away is refused, at set-up and at login, with how far the
/// phone's clock is off and how to set it; it counts as a wrong code.
#[tokio::test]
async fn a_phone_clock_minutes_off_is_told_not_let_in() {
    let (app, token) = active_app_with(AppOptions::default()).await;
    let a = app
        .post_bearer(
            "/v1/account/second-factor",
            &token,
            json!({ "current_password": STRONG }),
        )
        .await;
    let uri = a.json()["otpauth_uri"].as_str().expect("uri").to_owned();
    // A phone 5 minutes fast: a plain wrong code (saying more would confirm a future code).
    let c = app
        .post_bearer(
            "/v1/account/second-factor/confirm",
            &token,
            json!({ "code": code_now(&app, &uri, 300) }),
        )
        .await;
    assert_eq!((c.status, c.code().as_str()), (400, "wrong_setup_code"));
    // Set-up with a phone 5 minutes slow: refused, and said.
    let c = app
        .post_bearer(
            "/v1/account/second-factor/confirm",
            &token,
            json!({ "code": code_now(&app, &uri, -300) }),
        )
        .await;
    assert_eq!(
        (c.status, c.code().as_str()),
        (400, "clock_off"),
        "{}",
        c.json()
    );
    let detail = c.json()["detail"].as_str().unwrap_or_default().to_owned();
    assert!(
        detail.contains("sekitar 5 menit") && detail.contains("otomatis"),
        "{detail}"
    );
    // The right time's code sets it up.
    let c = app
        .post_bearer(
            "/v1/account/second-factor/confirm",
            &token,
            json!({ "code": code_now(&app, &uri, 0) }),
        )
        .await;
    assert_eq!(c.status, 200, "{}", c.json());
    app.clock.advance(Duration::seconds(30));
    // Login with a phone 3 minutes slow: refused, and said; 11 minutes: a plain wrong code.
    let ch = challenge(&app).await;
    let slow = second(&app, &ch, &code_now(&app, &uri, -180)).await;
    assert_eq!((slow.status, slow.code().as_str()), (400, "clock_off"));
    let detail = slow.json()["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        detail.contains("sekitar 3 menit") && detail.contains("terlambat"),
        "{detail}"
    );
    let far = second(&app, &ch, &code_now(&app, &uri, -660)).await;
    assert_eq!(
        (far.status, far.code().as_str()),
        (400, "invalid_second_factor")
    );
    let records = app
        .store
        .list_audit(&sapk_core::Nip::from_stored(NIP).unwrap(), 100)
        .await
        .unwrap();
    assert!(
        records
            .iter()
            .any(|r| r.details["reason"] == "wrong_code_clock_off"),
        "the refusal is recorded as a wrong code from a clock off"
    );
}

#[tokio::test]
async fn one_step_of_drift_either_way_and_no_older_code() {
    let (app, uri, _) = enrolled_app().await;
    // A clock 30 s behind is accepted (once past the step the set-up used).
    app.clock.advance(Duration::seconds(30));
    let ch = challenge(&app).await;
    assert_eq!(
        second(&app, &ch, &code_now(&app, &uri, -30)).await.status,
        200
    );
    // 60 s ahead is not; 30 s ahead is.
    app.clock.advance(Duration::seconds(90));
    let ch = challenge(&app).await;
    let far = second(&app, &ch, &code_now(&app, &uri, 60)).await;
    assert_eq!(far.status, 400);
    assert_eq!(
        second(&app, &ch, &code_now(&app, &uri, 30)).await.status,
        200
    );
    // After the step ahead was used, the current step's code is older: refused.
    let ch = challenge(&app).await;
    let older = second(&app, &ch, &code_now(&app, &uri, 0)).await;
    assert_eq!(
        (older.status, older.code().as_str()),
        (400, "invalid_second_factor")
    );
    // Malformed codes are just wrong codes (and count: with the older one, four of the
    // five failures before the lock-out). A challenge takes three wrong codes.
    let ch = challenge(&app).await;
    for bad in ["12345", "١٢٣٤٥٦", ""] {
        let a = second(&app, &ch, bad).await;
        assert_eq!(
            (a.status, a.code().as_str()),
            (400, "invalid_second_factor"),
            "{bad:?}"
        );
    }
}

#[tokio::test]
async fn recovery_codes_work_once_are_told_by_mail_and_can_be_renewed() {
    let (app, uri, codes) = enrolled_app().await;
    let ch = challenge(&app).await;
    let a = second(&app, &ch, &codes[0]).await;
    assert_eq!(a.status, 200, "{}", a.json());
    let token = a.json()["access_token"].as_str().unwrap().to_owned();
    let mails = app.outbox().await;
    let used = mails
        .iter()
        .rfind(|m| m.subject == "Kode pemulihan SAPK dipakai untuk masuk")
        .expect("a notice");
    assert!(
        used.text.contains("Sisa kode pemulihan: 9"),
        "{}",
        used.text
    );
    // Used once: gone.
    let ch = challenge(&app).await;
    assert_eq!(second(&app, &ch, &codes[0]).await.status, 400);
    // Typed in capitals with a space instead of the hyphen: still the code.
    let typed = codes[1].to_uppercase().replace('-', " ");
    assert_eq!(second(&app, &ch, &typed).await.status, 200);

    // Renewing needs a current code from the app (a session alone is not enough).
    let no = app
        .post_bearer(
            "/v1/account/recovery-codes",
            &token,
            json!({ "current_password": STRONG, "code": codes[2] }),
        )
        .await;
    assert_eq!(
        (no.status, no.code().as_str()),
        (400, "invalid_second_factor")
    );
    let renewed = app
        .post_bearer(
            "/v1/account/recovery-codes",
            &token,
            json!({ "current_password": STRONG, "code": code_now(&app, &uri, 0) }),
        )
        .await;
    assert_eq!(renewed.status, 200, "{}", renewed.json());
    let fresh: Vec<String> = renewed.json()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fresh.len(), 10);
    assert!(subjects(&app.outbox().await)
        .contains(&"Kode pemulihan SAPK telah dibuat ulang".to_owned()));
    let ch = challenge(&app).await;
    assert_eq!(
        second(&app, &ch, &codes[2]).await.status,
        400,
        "old codes end"
    );
    assert_eq!(second(&app, &ch, &fresh[0]).await.status, 200);
}

#[tokio::test]
async fn wrong_codes_share_the_password_lock_out() {
    let (app, uri, _) = enrolled_app().await;
    let right = code_now(&app, &uri, 0);
    let wrong = if right == "999999" {
        "999998"
    } else {
        "999999"
    };
    // A challenge ends after its third wrong code.
    let ch = challenge(&app).await;
    for i in 1..=3 {
        let a = second(&app, &ch, wrong).await;
        assert_eq!(
            (a.status, a.code().as_str()),
            (400, "invalid_second_factor"),
            "try {i}"
        );
    }
    let ended = second(&app, &ch, &right).await;
    assert_eq!(
        (ended.status, ended.code().as_str()),
        (401, "invalid_challenge")
    );
    // The right password that gave the next challenge did not clear those three.
    let ch = challenge(&app).await;
    for i in 4..=5 {
        assert_eq!(second(&app, &ch, wrong).await.status, 400, "try {i}");
    }
    // Locked now: the right code and the right password alike.
    let locked = second(&app, &ch, &right).await;
    assert_eq!(
        (locked.status, locked.code().as_str()),
        (429, "rate_limited")
    );
    assert_eq!(app.login(NIP, STRONG).await.status, 429);
}

/// POST to `path` from the source address `from`.
async fn post_from(app: &TestApp, from: &reqwest::Client, path: &str, body: Value) -> Answer {
    app.send(from.post(format!("{}{path}", app.base)).json(&body))
        .await
}

/// The attack of someone who knows the password (4.76 million ASN records leaked in 2024):
/// from five source addresses, six rounds of a password login and four wrong authenticator
/// codes, waiting out every lock-out in between. Before the one guess budget, the right
/// password cleared the counts before each round and all 120 codes were judged. Now at most
/// `second_step_cap` (10) are judged; then the authenticator's codes are refused, the right
/// one too, until the owner signs in with a recovery code, which turns them back on.
/// What someone with the password does from `from`: a login, then `codes` wrong codes on
/// its challenge; each answer is counted in `answers` (`login 200`, `code 400
/// invalid_second_factor`, …). Returns how many codes were judged wrong.
async fn attacker_round(
    app: &TestApp,
    uri: &str,
    from: &reqwest::Client,
    codes: usize,
    answers: &mut std::collections::BTreeMap<String, u32>,
) -> u32 {
    let a = post_from(
        app,
        from,
        "/v1/login",
        json!({ "nip": NIP, "password": STRONG }),
    )
    .await;
    *answers.entry(format!("login {}", a.status)).or_default() += 1;
    let Some(ch) = a.json()["challenge"].as_str().map(str::to_owned) else {
        return 0;
    };
    let mut judged = 0;
    for _ in 0..codes {
        let right = code_now(app, uri, 0);
        let wrong = if right == "000000" {
            "000001"
        } else {
            "000000"
        };
        let b = post_from(
            app,
            from,
            "/v1/login/second-factor",
            json!({ "challenge": ch, "code": wrong }),
        )
        .await;
        *answers
            .entry(format!("code {} {}", b.status, b.code()))
            .or_default() += 1;
        if b.code() == "invalid_second_factor" {
            judged += 1;
        }
    }
    judged
}

#[tokio::test]
async fn a_leaked_password_buys_at_most_ten_authenticator_guesses() {
    let (app, uri, codes) = enrolled_app().await;
    let addresses: Vec<reqwest::Client> = (2..7)
        .map(|i| client_from(Some(format!("127.0.0.{i}").parse().unwrap())))
        .collect();
    let mut judged = 0;
    let mut answers = std::collections::BTreeMap::<String, u32>::new();
    for _round in 0..6 {
        for from in &addresses {
            judged += attacker_round(&app, &uri, from, 4, &mut answers).await;
        }
        // Wait out every lock-out (at most 15 minutes) before the next round.
        app.clock.advance(Duration::minutes(16));
    }
    assert!(judged <= 10, "{judged} wrong codes judged: {answers:?}");
    assert!(
        answers.contains_key("code 403 second_factor_locked"),
        "the cap was reached: {answers:?}"
    );
    // The right authenticator code is refused too now.
    let ch = challenge(&app).await;
    let capped = second(&app, &ch, &code_now(&app, &uri, 0)).await;
    assert_eq!(
        (capped.status, capped.code().as_str()),
        (403, "second_factor_locked"),
        "{}",
        capped.json()
    );
    // The owner was told once.
    let told = subjects(&app.outbox().await)
        .iter()
        .filter(|s| s.as_str() == "Kode authenticator SAPK diblokir")
        .count();
    assert_eq!(told, 1);
    // A recovery code still signs the owner in, and turns the authenticator back on.
    assert_eq!(second(&app, &ch, &codes[0]).await.status, 200);
    app.clock.advance(Duration::seconds(30));
    let ch = challenge(&app).await;
    assert_eq!(
        second(&app, &ch, &code_now(&app, &uri, 0)).await.status,
        200
    );
}

/// Many wrong codes at once on one account cannot pass the challenge's three or the cap:
/// every attempt is counted before it is judged.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_codes_cannot_pass_the_challenge_budget() {
    let (app, uri, _) = enrolled_app().await;
    let app = std::sync::Arc::new(app);
    let ch = challenge(&app).await;
    let right = code_now(&app, &uri, 0);
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(12));
    let mut tasks = Vec::new();
    for i in 0..12u32 {
        let (app, barrier, ch) = (app.clone(), barrier.clone(), ch.clone());
        let code = if right == format!("{:06}", 100 + i) {
            "999999".to_owned()
        } else {
            format!("{:06}", 100 + i)
        };
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            second(&app, &ch, &code).await.code()
        }));
    }
    let mut judged = 0;
    for t in tasks {
        if t.await.unwrap() == "invalid_second_factor" {
            judged += 1;
        }
    }
    assert!(judged <= 3, "{judged} codes judged on one challenge");
}

/// A right password in between never clears failures of the second step, even when it
/// races them: the give-back takes one attempt off what the store holds then.
#[tokio::test]
async fn a_right_password_gives_back_only_its_own_attempt() {
    let (app, uri, _) = enrolled_app().await;
    let right = code_now(&app, &uri, 0);
    let wrong = if right == "123123" {
        "321321"
    } else {
        "123123"
    };
    for _ in 0..2 {
        let ch = challenge(&app).await;
        assert_eq!(second(&app, &ch, wrong).await.status, 400);
    }
    let nip = sapk_core::Nip::from_stored(NIP).unwrap();
    let held = app
        .store
        .get_throttles(&[NIP.to_owned(), format!("{nip}/second-step")])
        .await
        .unwrap();
    let counts: Vec<u32> = held
        .iter()
        .map(|t| t.as_ref().map_or(0, |t| t.failures))
        .collect();
    assert_eq!(
        counts,
        vec![2, 2],
        "two wrong codes stand after three right passwords"
    );
}

#[tokio::test]
async fn before_the_password_is_right_enrolled_plain_and_unknown_look_alike() {
    let log = CallLog::default();
    let l2 = log.clone();
    let app = spawn_app_with(AppOptions {
        store_wrapper: Some(l2.wrapper()),
        ..AppOptions::default()
    })
    .await;
    let plain = "199203242015032001";
    app.seed_default().await;
    app.seed(plain, "Dewi Lestari", "dewi@example.go.id").await;
    let token = app.activate(NIP, EMAIL, STRONG).await;
    app.enrol(&token).await;
    app.activate(plain, "dewi@example.go.id", STRONG).await;
    let mut seen = Vec::new();
    for nip in [NIP, plain, "197512312000121009"] {
        log.take_sorted();
        let a = app.login(nip, "Wrong-Password-123").await;
        let mut body = a.json();
        body.as_object_mut().unwrap().remove("instance");
        seen.push((a.status, body, log.take_sorted()));
    }
    assert_eq!(seen[0], seen[1], "enrolled vs plain");
    assert_eq!(seen[1], seen[2], "plain vs unknown");
    assert_eq!(seen[0].0, 401);
}

#[tokio::test]
async fn a_reset_by_email_keeps_the_factor_and_ends_open_challenges() {
    let (app, uri, _) = enrolled_app().await;
    let ch = challenge(&app).await;
    assert_eq!(app.forgot(NIP).await.status, 202);
    let code = app.last_code(EMAIL).await;
    assert_eq!(app.reset(NIP, &code, STRONG2).await.status, 200);
    let old = second(&app, &ch, &code_now(&app, &uri, 0)).await;
    assert_eq!(
        (old.status, old.code().as_str()),
        (401, "invalid_challenge")
    );
    let a = app.login(NIP, STRONG2).await;
    assert_eq!(a.json()["second_factor_required"], true, "still two steps");
    let ch = a.json()["challenge"].as_str().unwrap().to_owned();
    assert_eq!(
        second(&app, &ch, &code_now(&app, &uri, 0)).await.status,
        200
    );
}

/// Eight requests with the right code on one challenge, released together by a barrier on a
/// runtime of four threads: one session, and every loser refused for a reason the race gives:
/// the challenge taken or out of tries, the code used meanwhile, or "try again" (its attempt
/// could not be counted among so many writers on one NIP, or, when six of the eight were
/// counted before the winner finished, the budget's own lock: no concurrency gets more checks
/// than the budget). Never a lasting lock-out: the winner's completed login clears the counts,
/// and every round's owner gets in. A round
/// proves a race when a loser had its attempt counted (it read the challenge before the winner
/// took it); rounds repeat, a fresh challenge and code each, until one does (at most 25: on
/// a loaded machine the eight may run one after another for a few rounds).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_challenge_gives_one_session_however_many_ask_at_once() {
    let (app, uri, _) = enrolled_app().await;
    let app = std::sync::Arc::new(app);
    let mut raced = false;
    for _round in 0..25 {
        let before = second_step_tally(&app).await;
        let answers = race_one_challenge(&app, &uri).await;
        let won = answers.iter().filter(|a| a.0 == 200).count();
        assert_eq!(won, 1, "{answers:?}");
        for loser in answers.iter().filter(|a| a.0 != 200) {
            let fits = [
                (401, "invalid_challenge"),
                (400, "invalid_second_factor"),
                (429, "rate_limited"),
            ]
            .contains(&(loser.0, loser.1.as_str()));
            assert!(fits, "{answers:?}");
            if loser.0 == 429 {
                let wait: u64 = loser.2.as_deref().unwrap_or("").parse().unwrap_or(0);
                assert!(
                    (1..=60).contains(&wait),
                    "at most the first lock: {answers:?}"
                );
            }
        }
        if second_step_tally(&app).await > before {
            raced = true;
            break;
        }
        // Past the login rate window (nine requests a round against 30 in 15 minutes from one
        // address), and a new authenticator step.
        app.clock.advance(Duration::seconds(900));
    }
    assert!(
        raced,
        "no round had two requests past the challenge at once"
    );
    // Every round's one success is audited; a loser that got as far as the code was refused
    // for having come too late (the code or the account changed by the winner).
    let trail = app
        .store
        .list_audit(&sapk_core::Nip::from_stored(NIP).unwrap(), 500)
        .await
        .unwrap();
    // No lasting lock-out: the owner logs in again, both steps (past the login rate window,
    // and at a new authenticator step).
    app.clock.advance(Duration::seconds(900));
    let ch = challenge(&app).await;
    assert_eq!(
        second(&app, &ch, &code_now(&app, &uri, 0)).await.status,
        200,
        "a race is not a lasting lock-out"
    );
    for e in trail
        .iter()
        .filter(|e| e.action == "login_second_step" && e.outcome == "failed")
    {
        let reason = e.details["reason"].as_str().unwrap_or_default();
        assert!(
            ["wrong_code", "used_meanwhile"].contains(&reason),
            "{reason}"
        );
    }
}

/// The account's count of second-step attempts not given back (30-day tally).
async fn second_step_tally(app: &TestApp) -> u32 {
    let held = app
        .store
        .get_throttles(&[format!("{NIP}/second-step")])
        .await
        .unwrap();
    held[0].as_ref().map_or(0, |t| t.failures)
}

/// One login, then eight second steps with the current code released at once.
/// Each answer: status, problem code, and Retry-After.
async fn race_one_challenge(
    app: &std::sync::Arc<TestApp>,
    uri: &str,
) -> Vec<(u16, String, Option<String>)> {
    let ch = challenge(app).await;
    let code = code_now(app, uri, 0);
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(8));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (app, barrier, ch, code) = (app.clone(), barrier.clone(), ch.clone(), code.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let a = second(&app, &ch, &code).await;
                (a.status, a.code(), a.header("retry-after"))
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    answers
}

fn officer() -> Operator {
    Operator {
        id: "198807122019032001".into(),
        office: "KANREG-III".into(),
        officer_id: None,
        scope: None,
        office_name: None,
    }
}

fn removal(nik: Option<&str>, docs: &[&str], confirmed: bool) -> FactorRemovalRequest {
    FactorRemovalRequest {
        identity: IdentityCheck {
            nik: nik.map(str::to_owned),
            documents: docs
                .iter()
                .map(|d| DocumentSeen::new(d, Some("12345678")).unwrap())
                .collect(),
            person_confirmed: confirmed,
        },
        if_version: None,
    }
}

#[tokio::test]
async fn a_counter_removes_a_lost_authenticator_after_the_identity_check() {
    let (app, uri, _) = enrolled_app().await;
    let ch = challenge(&app).await;
    let session = second(&app, &ch, &code_now(&app, &uri, 0)).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let nip = sapk_core::Nip::from_stored(NIP).unwrap();
    let svc = &app.service;
    let lang = sapk_core::Lang::Id;
    // Every refusal changes nothing.
    let refusals = [
        (removal(None, &["ktp"], true), "no_nik"),
        (
            removal(Some("3273016609860001"), &["ktp"], true),
            "nik_mismatch",
        ),
        (removal(Some(NIK), &["karpeg"], true), "no_ktp"),
        (removal(Some(NIK), &["ktp"], false), "not_confirmed"),
    ];
    for (req, reason) in refusals {
        match svc
            .staff()
            .remove_second_factor(&nip, &req, &officer(), lang)
            .await
        {
            Err(ChangeError::Check(f)) => assert_eq!(f.reason(), reason),
            other => panic!("{reason}: {other:?}"),
        }
    }
    let out = svc
        .staff()
        .remove_second_factor(&nip, &removal(Some(NIK), &["ktp"], true), &officer(), lang)
        .await
        .expect("removed");
    assert!(out.was_active);
    assert_eq!(out.notified, Some(true));
    // Every session ended; the password alone signs in now.
    assert_eq!(app.session(&session).await.status, 401);
    let a = app.login(NIP, STRONG).await;
    assert!(a.json()["access_token"].is_string(), "{}", a.json());
    let mails = app.outbox().await;
    let notice = mails
        .iter()
        .rfind(|m| m.subject == "Verifikasi dua langkah SAPK telah dihapus")
        .expect("a notice");
    // The office by its name, not its code.
    assert!(
        notice
            .text
            .contains("petugas Kantor Regional III BKN Bandung")
            && !notice.text.contains("KANREG-III"),
        "{}",
        notice.text
    );
    // Audited with the identity record (masked), never the NIK itself.
    let trail = app.store.list_audit(&nip, 50).await.unwrap();
    let done = trail
        .iter()
        .find(|e| e.action == "second_factor_remove" && e.outcome == "done")
        .expect("audited");
    assert_eq!(done.office.as_deref(), Some("KANREG-III"));
    assert!(!done.details.to_string().contains(NIK));
    assert_eq!(
        trail
            .iter()
            .filter(|e| e.action == "second_factor_remove" && e.outcome == "refused")
            .count(),
        4
    );
    // The user's activity names the office, not the officer.
    let token = a.json()["access_token"].as_str().unwrap().to_owned();
    let activity = app
        .send(
            app.client
                .get(format!("{}/v1/account/activity", app.base))
                .bearer_auth(&token),
        )
        .await
        .json();
    let removed = activity["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "second_factor_remove" && e["result"] == "done")
        .cloned()
        .expect("in the activity");
    assert_eq!(removed["office"], "KANREG-III");
    assert!(!activity.to_string().contains("198807122019032001"));
    // Nothing left to remove; a new set-up is possible.
    assert!(matches!(
        svc.staff()
            .remove_second_factor(&nip, &removal(Some(NIK), &["ktp"], true), &officer(), lang)
            .await,
        Err(ChangeError::Staff(StaffError::NoSecondFactor))
    ));
    app.enrol(&token).await;
}

#[tokio::test]
async fn an_agency_that_requires_it_leads_its_employees_to_set_it_up() {
    let mut config = test_config();
    config.second_factor_required = sapk_core::config::FactorRequirement::parse(
        "Kementerian Pendidikan, Kebudayaan; Pemerintah Kota Bandung",
    );
    let app = spawn_app_with(AppOptions {
        config,
        ..AppOptions::default()
    })
    .await;
    let other = "199203242015032001";
    for (nip, email, instansi) in [
        (NIP, EMAIL, "PEMERINTAH  KOTA BANDUNG"),
        (other, "dewi@example.go.id", "Pemerintah Kota Bogor"),
    ] {
        app.service
            .staff()
            .import_employee(
                &sapk_core::staff::EmployeeRow {
                    nip: nip.into(),
                    name: "Pegawai".into(),
                    email: email.into(),
                    instansi: Some(instansi.into()),
                },
                &officer(),
            )
            .await
            .unwrap();
    }
    let token = app.activate(NIP, EMAIL, STRONG).await;
    let a = app.login(NIP, STRONG).await.json();
    assert_eq!(a["second_factor_setup_required"], true, "{a}");
    assert!(a["access_token"].is_string(), "still let in");
    assert_eq!(
        app.session(&token).await.json()["second_factor_required"],
        true
    );
    app.activate(other, "dewi@example.go.id", STRONG).await;
    let b = app.login(other, STRONG).await.json();
    assert!(b.get("second_factor_setup_required").is_none(), "{b}");
    // Once set up, the login has two steps and nothing more to ask.
    app.enrol(&token).await;
    app.clock.advance(Duration::seconds(30));
    assert_eq!(
        app.login(NIP, STRONG).await.json()["second_factor_required"],
        true
    );
}

#[tokio::test]
async fn bad_bodies_on_the_two_step_routes_get_clear_problems_and_change_nothing() {
    let (app, token) = active_app_with(AppOptions::default()).await;
    let before = app
        .store
        .get_account(&sapk_core::Nip::from_stored(NIP).unwrap())
        .await
        .unwrap();
    let cases = [
        (
            "/v1/login/second-factor",
            json!({ "challenge": 5, "code": "123456" }),
            "Field \"challenge\" harus berupa teks.",
        ),
        (
            "/v1/login/second-factor",
            json!({ "challenge": "x" }),
            "Field \"code\" wajib diisi.",
        ),
        (
            "/v1/account/second-factor/confirm",
            json!({ "code": 123456 }),
            "Field \"code\" harus berupa teks.",
        ),
        (
            "/v1/account/recovery-codes",
            json!({ "code": null }),
            "Field \"code\" wajib diisi.",
        ),
    ];
    for (path, body, detail) in cases {
        let a = app.post_bearer(path, &token, body.clone()).await;
        assert_eq!(
            (a.status, a.code().as_str()),
            (400, "invalid_request"),
            "{path} {body}"
        );
        assert_eq!(a.json()["detail"], detail);
    }
    for (path, raw) in [
        ("/v1/login/second-factor", b"{\"challenge\": ".to_vec()),
        ("/v1/login/second-factor", b"[1,2]".to_vec()),
    ] {
        let a = app.post_raw(path, raw, None).await;
        assert_eq!(a.status, 400, "{path}");
    }
    // Without a session, the signed-in routes refuse before reading anything.
    for path in [
        "/v1/account/second-factor",
        "/v1/account/second-factor/confirm",
        "/v1/account/recovery-codes",
    ] {
        let a = app.post(path, json!({ "code": "123456" })).await;
        assert_eq!(
            (a.status, a.code().as_str()),
            (401, "unauthorized"),
            "{path}"
        );
    }
    // A confirmation or renewal with nothing set up.
    for path in [
        "/v1/account/second-factor/confirm",
        "/v1/account/recovery-codes",
    ] {
        let a = app
            .post_bearer(
                path,
                &token,
                json!({ "code": "123456", "current_password": STRONG }),
            )
            .await;
        assert_eq!(
            (a.status, a.code().as_str()),
            (409, "not_enrolled"),
            "{path}"
        );
    }
    let after = app
        .store
        .get_account(&sapk_core::Nip::from_stored(NIP).unwrap())
        .await
        .unwrap();
    assert_eq!(before, after, "nothing changed");
}

#[tokio::test]
async fn a_set_up_not_confirmed_within_ten_minutes_must_start_again() {
    let (app, token) = active_app_with(AppOptions::default()).await;
    let a = app
        .post_bearer(
            "/v1/account/second-factor",
            &token,
            json!({ "current_password": STRONG }),
        )
        .await;
    let uri = a.json()["otpauth_uri"].as_str().unwrap().to_owned();
    app.clock.advance(Duration::minutes(11));
    let late = app
        .post_bearer(
            "/v1/account/second-factor/confirm",
            &token,
            json!({ "code": code_now(&app, &uri, 0) }),
        )
        .await;
    assert_eq!((late.status, late.code().as_str()), (409, "not_enrolled"));
    // Starting again replaces the secret: the old app's codes do not confirm the new one.
    let b = app
        .post_bearer(
            "/v1/account/second-factor",
            &token,
            json!({ "current_password": STRONG }),
        )
        .await;
    let fresh = b.json()["otpauth_uri"].as_str().unwrap().to_owned();
    assert_ne!(fresh, uri);
    let old = app
        .post_bearer(
            "/v1/account/second-factor/confirm",
            &token,
            json!({ "code": code_now(&app, &uri, 0) }),
        )
        .await;
    assert_eq!(old.status, 400);
    let ok = app
        .post_bearer(
            "/v1/account/second-factor/confirm",
            &token,
            json!({ "code": code_now(&app, &fresh, 0) }),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.json());
}

/// A stolen session alone (no password) cannot put the thief's authenticator on the account
/// nor make new recovery codes: both ask for the current password, and a wrong one counts
/// as a wrong login.
#[tokio::test]
async fn a_stolen_session_alone_cannot_change_how_the_owner_signs_in() {
    let (app, stolen) = active_app_with(AppOptions::default()).await;
    let nip = sapk_core::Nip::from_stored(NIP).unwrap();
    let before = app.store.get_account(&nip).await.unwrap();
    let no_password = app
        .post_bearer("/v1/account/second-factor", &stolen, json!({}))
        .await;
    assert_eq!(
        (no_password.status, no_password.code().as_str()),
        (400, "invalid_request")
    );
    for _ in 0..5 {
        let guess = app
            .post_bearer(
                "/v1/account/second-factor",
                &stolen,
                json!({ "current_password": "Tebak-Tebakan-77" }),
            )
            .await;
        assert_eq!(
            (guess.status, guess.code().as_str()),
            (403, "wrong_current_password")
        );
    }
    // Five wrong guesses lock the address out, as five wrong logins would.
    let locked = app
        .post_bearer(
            "/v1/account/second-factor",
            &stolen,
            json!({ "current_password": STRONG }),
        )
        .await;
    assert_eq!(
        (locked.status, locked.code().as_str()),
        (429, "rate_limited")
    );
    assert_eq!(before, app.store.get_account(&nip).await.unwrap());

    // With two-step login on, renewing recovery codes needs the password as well as a code.
    let (app, uri, _) = enrolled_app().await;
    let token = {
        let ch = challenge(&app).await;
        let a = second(&app, &ch, &code_now(&app, &uri, 0)).await;
        a.json()["access_token"].as_str().unwrap().to_owned()
    };
    app.clock.advance(Duration::seconds(30));
    let renew = app
        .post_bearer(
            "/v1/account/recovery-codes",
            &token,
            json!({ "current_password": "Tebak-Tebakan-77", "code": code_now(&app, &uri, 0) }),
        )
        .await;
    assert_eq!(
        (renew.status, renew.code().as_str()),
        (403, "wrong_current_password")
    );
}

/// A store writer without the factor key copies the factor of an account whose codes they
/// hold (their own) onto another account: the sealed secret does not open there and the
/// recovery codes do not match, so neither signs in to the other account.
#[tokio::test]
async fn a_factor_copied_onto_another_account_does_not_work_there() {
    let (app, uri, codes) = enrolled_app().await;
    let victim = "199009132025242014";
    app.seed(victim, "Ayu Lestari", "ayu.lestari@example.go.id")
        .await;
    app.activate(victim, "ayu.lestari@example.go.id", STRONG2)
        .await;
    let budi = app
        .store
        .get_account(&sapk_core::Nip::from_stored(NIP).unwrap())
        .await
        .unwrap()
        .unwrap();
    let ayu_nip = sapk_core::Nip::from_stored(victim).unwrap();
    let ayu = app.store.get_account(&ayu_nip).await.unwrap().unwrap();
    let mut copied = ayu.clone();
    copied.second_factor = budi.second_factor.clone();
    app.store
        .update_account(&copied, ayu.version)
        .await
        .unwrap();
    app.clock.advance(Duration::seconds(30));
    let ch = {
        let a = app.login(victim, STRONG2).await;
        a.json()["challenge"]
            .as_str()
            .expect("challenge")
            .to_owned()
    };
    let by_code = second(&app, &ch, &code_now(&app, &uri, 0)).await;
    assert!(
        by_code.json()["access_token"].is_null() && by_code.status != 200,
        "{}",
        by_code.json()
    );
    let ch = {
        let a = app.login(victim, STRONG2).await;
        a.json()["challenge"]
            .as_str()
            .expect("challenge")
            .to_owned()
    };
    let by_recovery = second(&app, &ch, &codes[0]).await;
    assert_eq!(
        (by_recovery.status, by_recovery.code().as_str()),
        (400, "invalid_second_factor")
    );
}

/// Someone with the password spends three challenges of three wrong codes from fresh
/// addresses between the owner's ordinary sign-ins: the owner's right codes give the
/// attacker no fresh tries. At most 10 wrong codes are judged over four rounds; the owner is
/// e-mailed half-way and at the cap, after which even the owner's right code is refused
/// until a recovery code.
#[tokio::test]
async fn the_owners_sign_ins_give_an_attacker_no_fresh_tries() {
    let (app, uri, codes) = enrolled_app().await;
    let mut judged = 0;
    let mut answers = std::collections::BTreeMap::new();
    let mut address = 10;
    for _round in 0..4 {
        for _challenge in 0..3 {
            address += 1;
            let from = client_from(Some(format!("127.0.0.{address}").parse().unwrap()));
            judged += attacker_round(&app, &uri, &from, 3, &mut answers).await;
        }
        // The owner signs in as usual (a later step's code each time).
        app.clock.advance(Duration::seconds(30));
        let ch = challenge(&app).await;
        second(&app, &ch, &code_now(&app, &uri, 0)).await;
    }
    assert!(judged <= 10, "{judged} wrong codes judged");
    let subjects = subjects(&app.outbox().await);
    for s in [
        "Kode verifikasi SAPK salah berkali-kali",
        "Kode authenticator SAPK diblokir",
    ] {
        assert_eq!(
            subjects.iter().filter(|x| x.as_str() == s).count(),
            1,
            "{s}: {subjects:?}"
        );
    }
    app.clock.advance(Duration::seconds(30));
    let ch = challenge(&app).await;
    let refused = second(&app, &ch, &code_now(&app, &uri, 0)).await;
    assert_eq!(refused.code(), "second_factor_locked");
    assert_eq!(second(&app, &ch, &codes[0]).await.status, 200);
}
