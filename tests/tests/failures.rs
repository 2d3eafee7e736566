//! A store or mailer that fails: a clear 503 (or, for mail, the same 202), nothing half-done.

use sapk_core::ports::Store;
use sapk_e2e::faults::{FailingMailer, FailingStore, Switch};
use sapk_e2e::*;
use std::sync::Arc;

#[tokio::test]
async fn store_down_gives_503_with_retry_after_then_recovers() {
    let switch = Switch::default();
    let s2 = switch.clone();
    let app = spawn_app_with(AppOptions {
        store_wrapper: Some(Box::new(move |inner| {
            Arc::new(FailingStore {
                inner,
                switch: s2,
                only_complete_reset: false,
            }) as Arc<dyn Store>
        })),
        ..AppOptions::default()
    })
    .await;
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
    let switch = Switch::default();
    let s2 = switch.clone();
    let app = spawn_app_with(AppOptions {
        store_wrapper: Some(Box::new(move |inner| {
            Arc::new(FailingStore {
                inner,
                switch: s2,
                only_complete_reset: true,
            }) as Arc<dyn Store>
        })),
        ..AppOptions::default()
    })
    .await;
    app.seed_default().await;
    let token = app.activate(NIP, EMAIL, STRONG).await;
    app.forgot(NIP).await;
    let code = app.last_code(EMAIL);
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

#[tokio::test]
async fn mailer_down_forgot_answers_the_same_and_records_it() {
    let switch = Switch::default();
    let s2 = switch.clone();
    let app = spawn_app_with(AppOptions {
        mailer_wrapper: Some(Box::new(move |inner| {
            Arc::new(FailingMailer { inner, switch: s2 }) as Arc<dyn sapk_core::ports::Mailer>
        })),
        ..AppOptions::default()
    })
    .await;
    app.seed_default().await;
    let ok = app.forgot("197512312000121009").await;
    switch.set(true);
    let a = app.forgot(NIP).await;
    assert_eq!(
        (a.status, &a.body),
        (202, &ok.body),
        "no difference to be seen"
    );
    assert!(app.outbox().is_empty());
    let nip = sapk_core::Nip::from_stored(NIP).unwrap();
    let audit = app.store.list_audit(&nip, 5).await.unwrap();
    assert_eq!(
        (audit[0].action.as_str(), audit[0].outcome.as_str()),
        ("code_requested", "mail_failed")
    );
    switch.set(false);
    assert_eq!(app.forgot(NIP).await.status, 202);
    assert_eq!(app.outbox().len(), 1);
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
        ("code_requested", "sent"),
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
