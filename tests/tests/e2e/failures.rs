//! A store or mailer that fails: a clear 503 (or, for mail, the same 202), nothing half-done.

use chrono::Duration;
use sapk_core::ports::stores::*;
use sapk_core::ports::Clock;
use sapk_e2e::faults::{CallLog, FailMode, FailingMailer, FailingStore, Switch};
use sapk_e2e::*;
use std::sync::Arc;

/// The local server over a store that fails as `mode` says while the switch is on.
async fn app_over_a_failing_store(mode: FailMode) -> (TestApp, Switch) {
    let switch = Switch::default();
    let on = switch.clone();
    let app = spawn_app_with(AppOptions {
        store_wrapper: Some(Box::new(move |inner| {
            Arc::new(FailingStore::new(inner, on, mode)) as Arc<dyn Store>
        })),
        ..AppOptions::default()
    })
    .await;
    (app, switch)
}

#[tokio::test]
async fn store_down_gives_503_with_retry_after_then_recovers() {
    let (app, switch) = app_over_a_failing_store(FailMode::Everything).await;
    app.seed_default().await;
    let token = app.activate(NIP, EMAIL, STRONG).await;

    switch.set(true);
    for a in [
        app.forgot(NIP).await,
        app.forgot("197512312000121009").await,
        app.reset(NIP, "AAAA-AAAA", STRONG2).await,
        app.login(NIP, STRONG).await,
        app.session(&token).await,
    ] {
        assert_eq!((a.status, a.code().as_str()), (503, "unavailable"));
        assert_eq!(a.header("retry-after").as_deref(), Some("5"));
        assert!(a.json()["detail"].as_str().unwrap().contains("021-8093008"));
    }
    switch.set(false);
    assert_eq!(app.session(&token).await.status, 200);
    assert_eq!(app.login(NIP, STRONG).await.status, 200);
}

#[tokio::test]
async fn a_failure_inside_the_reset_leaves_nothing_half_done() {
    let (app, switch) = app_over_a_failing_store(FailMode::BeforeCompleteReset).await;
    app.seed_default().await;
    let token = app.activate(NIP, EMAIL, STRONG).await;
    app.forgot(NIP).await;
    let code = app.last_code(EMAIL).await;
    let nip = sapk_core::Nip::from_stored(NIP).unwrap();
    let before = app.store.get_account(&nip).await.unwrap().unwrap();

    switch.set(true);
    let a = app.reset(NIP, &code, STRONG2).await;
    assert_eq!((a.status, a.code().as_str()), (503, "unavailable"));
    assert_eq!(
        app.store.get_account(&nip).await.unwrap().unwrap(),
        before,
        "account untouched"
    );
    assert!(
        app.store.get_reset_code(&nip).await.unwrap().is_some(),
        "code not consumed"
    );
    assert_eq!(
        app.session(&token).await.status,
        200,
        "sessions not revoked"
    );
    assert_eq!(
        app.login(NIP, STRONG).await.status,
        200,
        "old password still works"
    );

    switch.set(false);
    assert_eq!(
        app.reset(NIP, &code, STRONG2).await.status,
        200,
        "the same code works once the store is back"
    );
    assert_eq!(app.session(&token).await.status, 401);
}

/// The app with a mail service (the sender's mailer) that fails while the switch is on.
async fn with_failing_mailer() -> (TestApp, Switch) {
    let switch = Switch::default();
    let s2 = switch.clone();
    let app = spawn_app_with(AppOptions {
        mailer_wrapper: Some(Box::new(move |inner| {
            Arc::new(FailingMailer { inner, switch: s2 }) as Arc<dyn sapk_core::ports::Mailer>
        })),
        ..AppOptions::default()
    })
    .await;
    (app, switch)
}

/// The mail service is down when a code is asked for: the answer is the same, the e-mail
/// waits in the queue, and once the service is back (within the code's lifetime) the code
/// arrives and works. A code whose lifetime ends during the outage is dropped, not sent.
#[tokio::test]
async fn a_code_asked_for_during_a_mail_outage_arrives_when_mail_is_back() {
    let (app, switch) = with_failing_mailer().await;
    app.seed_default().await;
    let ok = app.forgot("197512312000121009").await;
    switch.set(true);
    let a = app.forgot(NIP).await;
    assert_eq!(
        (a.status, &a.body),
        (202, &ok.body),
        "no difference to be seen"
    );
    assert!(app.outbox().await.is_empty(), "the mail service is down");
    let nip = sapk_core::Nip::from_stored(NIP).unwrap();
    let audit = app.store.list_audit(&nip, 5).await.unwrap();
    assert_eq!(
        (audit[0].action.as_str(), audit[0].outcome.as_str()),
        ("code_requested", "queued")
    );
    assert_eq!(app.store.mail_queue_depth().await.unwrap(), (1, 0));

    // Back after a few minutes: the retry after the back-off delivers the same code.
    switch.set(false);
    app.clock.advance(Duration::minutes(3));
    let code = app.last_code(EMAIL).await;
    assert_eq!(app.store.mail_queue_depth().await.unwrap(), (0, 0));
    assert_eq!(app.reset(NIP, &code, STRONG).await.status, 200);
    let before = app.outbox().await.len(); // the code and the password-changed notice
    assert_eq!(before, 2);

    // A code whose lifetime ends while mail is down is dropped when mail is back.
    app.clock.advance(Duration::minutes(2));
    switch.set(true);
    assert_eq!(app.forgot(NIP).await.status, 202);
    assert_eq!(app.outbox().await.len(), before);
    app.clock.advance(Duration::minutes(16));
    switch.set(false);
    let drained = app.sender.drain().await.unwrap();
    assert_eq!(
        (drained.sent, drained.dropped_expired),
        (0, 1),
        "an expired code is not sent"
    );
    assert_eq!(app.outbox().await.len(), before);
    assert_eq!(app.store.mail_queue_depth().await.unwrap(), (0, 0));
}

/// A message that keeps failing is set aside after its tries (the local dead-letter queue),
/// and the others still go.
#[tokio::test]
async fn a_message_that_keeps_failing_is_set_aside() {
    let (app, switch) = with_failing_mailer().await;
    app.seed_default().await;
    switch.set(true);
    assert_eq!(app.forgot(NIP).await.status, 202);
    let mut tries = 0;
    for _ in 0..sapk_embedded::MAX_ATTEMPTS {
        let d = app.sender.drain().await.unwrap();
        tries += d.failed;
        app.clock.advance(Duration::seconds(40));
    }
    assert_eq!(tries, u64::from(sapk_embedded::MAX_ATTEMPTS));
    assert_eq!(app.store.mail_queue_depth().await.unwrap(), (0, 1));
}

#[tokio::test]
async fn every_security_event_is_audited() {
    let app = spawn_app().await;
    app.seed_default().await;
    app.activate(NIP, EMAIL, STRONG).await;
    app.reset(NIP, "AAAA-AAAA", STRONG2).await;
    app.login(NIP, "Wrong-Password-1").await;
    let nip = sapk_core::Nip::from_stored(NIP).unwrap();
    let events = app.store.list_audit(&nip, 50).await.unwrap();
    let seen: Vec<(String, String)> = events
        .iter()
        .rev()
        .map(|e| (e.action.clone(), e.outcome.clone()))
        .collect();
    let want = [
        ("employee_imported", "created"),
        ("code_requested", "queued"),
        ("reset", "succeeded"),
        ("login", "succeeded"),
        ("reset", "failed"),
        ("login", "failed"),
    ];
    assert_eq!(seen, want.map(|(a, b)| (a.to_owned(), b.to_owned())));
    let last = &events[0];
    assert_eq!(last.source_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(last.actor, "self");
    assert_eq!(last.details["failures"], 1);
}

/// The events after a login: a lock-out, a password change (wrong and right), two-step
/// login (set-up, a wrong code, a right one, new recovery codes), a logout, and the counter's
/// unlock and session revocation: each leaves its record in the NIP's trail.
#[tokio::test]
async fn every_later_security_event_is_audited_too() {
    let app = spawn_app().await;
    app.seed_default().await;
    let token = app.activate(NIP, EMAIL, STRONG).await;
    let (uri, _) = app.enrol(&token).await;
    app.clock.advance(Duration::seconds(30));
    let challenge = |a: Answer| a.json()["challenge"].as_str().unwrap().to_owned();
    let ch = challenge(app.login(NIP, STRONG).await);
    let right = totp_code(&uri, app.clock.now());
    let wrong = if right == "000000" {
        "000001"
    } else {
        "000000"
    };
    let second = |code: String| {
        let ch = ch.clone();
        let app = &app;
        async move {
            app.post(
                "/v1/login/second-factor",
                serde_json::json!({ "challenge": ch, "code": code }),
            )
            .await
        }
    };
    assert_eq!(second(wrong.to_owned()).await.status, 400);
    let signed_in = second(right).await;
    assert_eq!(signed_in.status, 200);
    let token = signed_in.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.clock.advance(Duration::seconds(30));
    let renewed = app
        .post_bearer(
            "/v1/account/recovery-codes",
            &token,
            serde_json::json!({ "current_password": STRONG, "code": totp_code(&uri, app.clock.now()) }),
        )
        .await;
    assert_eq!(renewed.status, 200, "{}", renewed.json());
    let changed = app
        .post_bearer(
            "/v1/password/change",
            &token,
            serde_json::json!({ "current_password": "Wrong-Password-1", "new_password": STRONG2 }),
        )
        .await;
    assert_eq!(changed.status, 403);
    let changed = app
        .post_bearer(
            "/v1/password/change",
            &token,
            serde_json::json!({ "current_password": STRONG, "new_password": STRONG2 }),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.json());
    let token = changed.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.logout(&token).await.status, 204);
    for _ in 0..6 {
        app.login(NIP, "Wrong-Password-1").await;
    }
    let op = sapk_core::staff::Operator {
        id: "OP-7".into(),
        office: "KANREG-I".into(),
        officer_id: Some("199001012015031002".into()),
        scope: None,
        office_name: None,
    };
    app.service.staff().unlock_account(NIP, &op).await.unwrap();
    app.service.staff().revoke_sessions(NIP, &op).await.unwrap();

    let nip = sapk_core::Nip::from_stored(NIP).unwrap();
    let seen: Vec<(String, String)> = app
        .store
        .list_audit(&nip, 200)
        .await
        .unwrap()
        .iter()
        .map(|e| (e.action.clone(), e.outcome.clone()))
        .collect();
    for (action, outcome) in [
        ("password_change", "failed"),
        ("password_change", "succeeded"),
        ("second_factor_enrol", "started"),
        ("second_factor_enrol", "succeeded"),
        ("login", "second_step"),
        ("login_second_step", "failed"),
        ("login_second_step", "succeeded"),
        ("recovery_codes_renew", "succeeded"),
        ("logout", "succeeded"),
        ("login", "failed"),
        ("login", "throttled"),
        ("account_unlock", "done"),
        ("session_revoke", "done"),
    ] {
        assert!(
            seen.iter().any(|(a, o)| a == action && o == outcome),
            "({action}, {outcome}) not in {seen:?}"
        );
    }
    // The counter's records name the person behind the identity.
    let unlock = app
        .store
        .list_audit(&nip, 200)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.action == "account_unlock")
        .unwrap();
    assert_eq!(unlock.details["officer_id"], "199001012015031002");
}

#[tokio::test]
async fn a_reset_whose_answer_is_lost_after_the_commit_is_whole_and_done_once() {
    let (app, switch) = app_over_a_failing_store(FailMode::AfterCompleteReset).await;
    app.seed_default().await;
    let token = app.activate(NIP, EMAIL, STRONG).await;
    app.forgot(NIP).await;
    let code = app.last_code(EMAIL).await;
    switch.set(true);
    let a = app.reset(NIP, &code, STRONG2).await;
    assert_eq!((a.status, a.code().as_str()), (503, "unavailable"));
    switch.set(false);
    // The transaction committed as a whole: new password, code used, sessions ended.
    assert_eq!(app.login(NIP, STRONG2).await.status, 200);
    assert_eq!(app.login(NIP, STRONG).await.status, 401);
    assert_eq!(app.session(&token).await.status, 401);
    let nip = sapk_core::Nip::from_stored(NIP).unwrap();
    assert!(app.store.get_reset_code(&nip).await.unwrap().is_none());
    // Trying again with the same code cannot set another password.
    let again = app.reset(NIP, &code, "Danau-Toba-Kabut-64").await;
    assert_eq!(
        (again.status, again.code().as_str()),
        (400, "invalid_token")
    );
}

/// The store calls one request makes, sorted.
async fn calls_of<F: std::future::Future<Output = Answer>>(
    log: &CallLog,
    f: F,
) -> Vec<&'static str> {
    log.take_sorted();
    f.await;
    log.take_sorted()
}

#[tokio::test]
async fn every_account_state_costs_the_same_store_work() {
    let log = CallLog::default();
    let l2 = log.clone();
    let mut config = test_config();
    // A live code within the cooldown is one more state that must not show.
    config.forgot_cooldown_secs = 60;
    let app = spawn_app_with(AppOptions {
        config,
        store_wrapper: Some(l2.wrapper()),
        ..AppOptions::default()
    })
    .await;
    // Activated with a live code, activated without code, not activated, no e-mail,
    // unknown (never asked), unknown with a code requested.
    let (active, idle, fresh, no_mail) = (
        "198609262015051001",
        "199203242015032001",
        "199009132025242014",
        "199001012020122003",
    );
    let (unknown, unknown_asked) = ("197512312000121009", "198811302014021003");
    app.seed(active, "Budi Santoso", EMAIL).await;
    app.seed(idle, "Dewi Lestari", "dewi@example.go.id").await;
    app.seed(fresh, "Ayu Lestari", "ayu@example.go.id").await;
    app.seed(no_mail, "Tanpa Email", "").await;
    app.activate(active, EMAIL, STRONG).await;
    app.activate(idle, "dewi@example.go.id", STRONG).await;
    app.forgot(active).await;
    app.forgot(unknown_asked).await;
    let all = [active, idle, fresh, no_mail, unknown, unknown_asked];

    let mut seen = Vec::new();
    for nip in all {
        seen.push(calls_of(&log, app.reset(nip, "AAAA-AAAA", STRONG2)).await);
    }
    assert!(seen.iter().all(|c| *c == seen[0]), "reset: {seen:?}");
    assert!(seen[0].contains(&"take_code_attempt"), "{:?}", seen[0]);

    let mut seen = Vec::new();
    for nip in all {
        seen.push(calls_of(&log, app.login(nip, "Wrong-Password-1")).await);
    }
    assert!(seen.iter().all(|c| *c == seen[0]), "login: {seen:?}");

    let mut seen = Vec::new();
    for nip in all {
        seen.push(calls_of(&log, app.forgot(nip)).await);
    }
    assert!(seen.iter().all(|c| *c == seen[0]), "forgot: {seen:?}");
    assert!(seen[0].contains(&"put_reset_code"), "{:?}", seen[0]);
}

/// A bulk import's batch: one batched read, then per-row writes. A row whose account was
/// created between the batch read and its write (here: the same NIP twice in one batch) is
/// read again and retried, not failed; when the batched read itself fails, every row is read
/// on its own and nothing is lost.
#[tokio::test]
async fn a_batched_import_retries_a_row_that_raced_and_survives_a_failed_batch_read() {
    use sapk_core::staff::{EmployeeRow, ImportOutcome, Operator};
    let (app, switch) = app_over_a_failing_store(FailMode::BatchReads).await;
    app.seed_default().await;
    let op = Operator {
        id: "data-admin".into(),
        office: "BKN".into(),
        officer_id: None,
        scope: None,
        office_name: None,
    };
    let row = |nip: &str, name: &str| EmployeeRow {
        nip: nip.into(),
        name: name.into(),
        email: format!("{nip}@example.go.id"),
        instansi: None,
    };
    let other = "199009132025242014";
    let rows = vec![
        row(NIP, "Budi Santoso Baru"),
        row(other, "Ayu Lestari"),
        row(other, "Ayu Lestari"),
        row("12345", "Bukan NIP"),
    ];
    let results = app.service.staff().import_employees(&rows, &op, 4).await;
    let outcomes: Vec<_> = results
        .iter()
        .map(|r| r.as_ref().map_err(|e| e.reason()))
        .collect();
    assert_eq!(outcomes[0], Ok(&ImportOutcome::Updated));
    assert_eq!(outcomes[3], Err("invalid_nip"));
    let mut pair = [outcomes[1], outcomes[2]];
    pair.sort_by_key(|o| format!("{o:?}"));
    assert_eq!(
        pair,
        [Ok(&ImportOutcome::Created), Ok(&ImportOutcome::Unchanged)],
        "the second row of a NIP is retried after a fresh read"
    );

    // The batched read fails: each row reads on its own, and the batch still lands.
    switch.set(true);
    let third = "198807122019032001";
    let results = app
        .service
        .staff()
        .import_employees(
            &[row(third, "Sri Wahyuni"), row(NIP, "Budi Santoso")],
            &op,
            2,
        )
        .await;
    assert!(
        results.iter().all(Result::is_ok),
        "{:?}",
        results
            .iter()
            .map(|r| r.as_ref().err().map(|e| e.reason()))
            .collect::<Vec<_>>()
    );
    let nip = sapk_core::Nip::from_stored(third).unwrap();
    assert!(app.store.get_account(&nip).await.unwrap().is_some());
}
