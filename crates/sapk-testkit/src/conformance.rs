//! One conformance suite for every `Store`, written once. An adapter's test file calls
//! `sapk_testkit::store_conformance_tests!(async_expr_making_an_Arc_dyn_Store)`, which expands to one
//! `#[tokio::test]` per check. Checks use fresh NIPs, so a store may be shared.

use chrono::{DateTime, Duration, TimeZone, Utc};
use sapk_core::audit_chain::{chain_of, AuditKey, SYSTEM_CHAIN};
use sapk_core::email::Email;
use sapk_core::nip::Nip;
use sapk_core::ports::{
    Account, AuditEvent, CeremonyRecord, Expect, LoginThrottle, Officer, PasskeyRecord,
    PendingException, ResetCodeRecord, SessionRecord, StaffScope, Store, StoreError, ThrottleWrite,
};
use sapk_core::EmployeeName;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

pub type DynStore = Arc<dyn Store>;

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A NIP no other check uses (in this process; the sequence part varies per process).
/// Every other one is an NI PPPK, so each store keeps both layouts.
pub fn fresh_nip() -> Nip {
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let salt = std::process::id() % 1000;
    let day = 1 + n % 28;
    let month = 1 + (n / 28) % 12;
    let year = 1960 + (n / 336) % 40;
    let appointed = year + 25;
    let digits_13_14 = if n % 2 == 1 {
        21 + (n / 13440) % 9
    } else {
        1 + (n / 13440) % 12
    };
    let s = format!("{year:04}{month:02}{day:02}{appointed:04}{digits_13_14:02}1{salt:03}");
    match Nip::from_stored(&s) {
        Ok(nip) => nip,
        Err(e) => panic!("generated NIP {s} is invalid: {e}"),
    }
}

/// A fixed instant with microseconds, to check times round-trip exactly.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 8, 30, 0)
        .single()
        .unwrap_or_default()
        + Duration::microseconds(123_456)
}

/// A name as the import records it.
pub fn name(raw: &str) -> EmployeeName {
    EmployeeName::parse(raw).expect("a test name that parses")
}

pub fn account(nip: &Nip) -> Account {
    Account {
        nip: nip.clone(),
        name: name("Siti Rahayu Ñoño 🇮🇩"),
        // One address, one account: each its own.
        email: Email::parse(&format!("siti.rahayu.{}@example.go.id", nip.as_str())).ok(),
        email_verified_at: None,
        instansi: Some("Badan Kepegawaian Negara".into()),
        password_hash: None,
        credential_version: 0,
        password_changed_at: None,
        second_factor: None,
        created_at: t0(),
        updated_at: t0(),
        version: 0,
    }
}

pub fn code(nip: &Nip, hash: &str, attempts: u32) -> ResetCodeRecord {
    ResetCodeRecord {
        nip: nip.clone(),
        code_hash: hash.into(),
        issued_at: t0(),
        expires_at: t0() + Duration::minutes(15),
        attempts_left: attempts,
        credential_version: 0,
    }
}

/// A pending e-mail exception for `nip`, as the core records it.
pub fn exception(nip: &Nip, reason: &str) -> PendingException {
    PendingException {
        nip: nip.clone(),
        new_email: Email::parse("siti.baru@example.go.id").unwrap(),
        account_version: 0,
        reason: reason.into(),
        mismatch: vec!["birth_date".into()],
        nik_birth: "27-09-86".into(),
        nik_gender: sapk_core::Gender::Female,
        identity: serde_json::json!({ "nik_masked": "************0003", "documents": [] }),
        requested_by: "arn:aws:sts::1:assumed-role/x/rina".into(),
        requested_officer_id: String::new(),
        requested_office: "KANREG-I".into(),
        requested_at: t0(),
        expires_at: t0() + Duration::hours(24),
        requested_office_name: None,
    }
}

fn conflict<T: std::fmt::Debug>(r: Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::Conflict(_)))
}

pub async fn account_round_trip_and_versions(s: DynStore) {
    let nip = fresh_nip();
    assert_eq!(s.get_account(&nip).await.unwrap(), None);
    let mut a = account(&nip);
    a.password_changed_at = Some(t0());
    s.insert_account(&a).await.unwrap();
    assert_eq!(s.get_account(&nip).await.unwrap(), Some(a.clone()));
    assert!(
        conflict(s.insert_account(&a).await),
        "duplicate insert must conflict"
    );
    assert!(s.has_accounts().await.unwrap());

    let mut b = a.clone();
    b.email = None;
    b.instansi = None;
    b.password_hash = Some("$argon2id$v=19$m=19456,t=2,p=1$x$y".into());
    b.credential_version = 3;
    // The address changes only with its claim: a plain update refuses, the claiming one writes.
    assert!(conflict(s.update_account(&b, 0).await));
    s.update_account_email(&b, 0, a.email.as_ref())
        .await
        .unwrap();
    let stored = s.get_account(&nip).await.unwrap().unwrap();
    assert_eq!(stored.version, 1);
    assert_eq!(stored.email, None);
    assert_eq!(stored.credential_version, 3);
    assert_eq!(stored.password_hash, b.password_hash);
    assert!(
        conflict(s.update_account(&b, 0).await),
        "stale version must conflict"
    );
    let mut other = account(&fresh_nip());
    other.version = 0;
    assert!(
        conflict(s.update_account(&other, 0).await),
        "missing account must conflict"
    );
    // A second factor is kept whole, and removed.
    let mut c = stored.clone();
    c.second_factor = Some(sapk_core::factor::SecondFactor {
        sealed_secret: "c2VhbGVk".into(),
        started_at: t0(),
        enrolled_at: Some(t0() + Duration::minutes(1)),
        last_step: 59_000_001,
        recovery: vec!["a".repeat(64), "b".repeat(64)],
    });
    s.update_account(&c, 1).await.unwrap();
    let with = s.get_account(&nip).await.unwrap().unwrap();
    assert_eq!(with.second_factor, c.second_factor);
    let mut d = with.clone();
    d.second_factor = None;
    s.update_account(&d, 2).await.unwrap();
    assert_eq!(
        s.get_account(&nip).await.unwrap().unwrap().second_factor,
        None
    );
}

/// How many of the racing writes succeeded; the others must have lost with a conflict.
async fn successes(tasks: Vec<tokio::task::JoinHandle<Result<(), StoreError>>>) -> usize {
    let mut ok = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(()) => ok += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    ok
}

pub async fn concurrent_updates_one_wins(s: DynStore) {
    let nip = fresh_nip();
    s.insert_account(&account(&nip)).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..10 {
        let s = s.clone();
        let mut a = account(&nip);
        a.name = name(&format!("writer {i}"));
        tasks.push(tokio::spawn(async move { s.update_account(&a, 0).await }));
    }
    let ok = successes(tasks).await;
    assert_eq!(ok, 1);
    assert_eq!(s.get_account(&nip).await.unwrap().unwrap().version, 1);
}

pub async fn reset_code_replace_attempts_delete(s: DynStore) {
    let nip = fresh_nip();
    assert_eq!(s.get_reset_code(&nip).await.unwrap(), None);
    s.put_reset_code(&code(&nip, "old", 5)).await.unwrap();
    let newer = code(&nip, "new", 3);
    s.put_reset_code(&newer).await.unwrap();
    assert_eq!(s.get_reset_code(&nip).await.unwrap(), Some(newer));
    assert_eq!(
        s.take_code_attempt(&nip, "old").await.unwrap(),
        None,
        "superseded code"
    );
    assert_eq!(s.take_code_attempt(&nip, "new").await.unwrap(), Some(2));
    assert_eq!(s.take_code_attempt(&nip, "new").await.unwrap(), Some(1));
    assert_eq!(s.take_code_attempt(&nip, "new").await.unwrap(), Some(0));
    assert_eq!(
        s.take_code_attempt(&nip, "new").await.unwrap(),
        None,
        "no tries left"
    );
    s.delete_reset_code(&nip, Some("old")).await.unwrap();
    assert!(
        s.get_reset_code(&nip).await.unwrap().is_some(),
        "wrong hash deletes nothing"
    );
    s.delete_reset_code(&nip, Some("new")).await.unwrap();
    assert_eq!(s.get_reset_code(&nip).await.unwrap(), None);
    s.put_reset_code(&code(&nip, "third", 5)).await.unwrap();
    s.delete_reset_code(&nip, None).await.unwrap();
    assert_eq!(s.get_reset_code(&nip).await.unwrap(), None);
    // Expiry is the caller's: an expired record is still returned as stored.
    let mut expired = code(&nip, "expired", 5);
    expired.expires_at = t0() - Duration::hours(1);
    s.put_reset_code(&expired).await.unwrap();
    assert_eq!(s.get_reset_code(&nip).await.unwrap(), Some(expired));
}

pub async fn parallel_attempts_never_exceed_the_limit(s: DynStore) {
    let nip = fresh_nip();
    s.put_reset_code(&code(&nip, "h", 5)).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (s, nip) = (s.clone(), nip.clone());
        tasks.push(tokio::spawn(
            async move { s.take_code_attempt(&nip, "h").await },
        ));
    }
    let mut granted = 0;
    for t in tasks {
        if t.await.unwrap().unwrap().is_some() {
            granted += 1;
        }
    }
    assert_eq!(granted, 5);
}

/// A throttle record under `key` (the NIP alone, or `<nip>@<address>`).
pub fn throttle(nip: &Nip, key: &str, failures: u32, rev: u64) -> LoginThrottle {
    LoginThrottle {
        key: key.to_owned(),
        nip: nip.clone(),
        failures,
        locked_until: None,
        since: t0(),
        expires_at: t0() + Duration::days(1),
        rev,
    }
}

fn write(expect: Expect, record: &LoginThrottle) -> ThrottleWrite {
    ThrottleWrite {
        expect,
        record: record.clone(),
    }
}

async fn get_one(s: &DynStore, key: &str) -> Option<LoginThrottle> {
    s.get_throttles(&[key.to_owned()])
        .await
        .unwrap()
        .pop()
        .flatten()
}

/// The success record of a reset (unsealed: the chain's rules are checked on their own).
fn reset_record(nip: &Nip) -> AuditEvent {
    AuditEvent {
        at: t0(),
        actor: "self".into(),
        office: None,
        nip: Some(nip.clone()),
        source_ip: Some("203.0.113.9".into()),
        action: "reset".into(),
        outcome: "succeeded".into(),
        details: serde_json::Value::Null,
        link: None,
    }
}

pub async fn complete_reset_is_atomic(s: DynStore) {
    let nip = fresh_nip();
    s.insert_account(&account(&nip)).await.unwrap();
    s.put_reset_code(&code(&nip, "c1", 5)).await.unwrap();
    let locked = throttle(&nip, nip.as_str(), 5, 1);
    s.put_throttles(&[write(Expect::Absent, &locked)])
        .await
        .unwrap();
    let mut cleared = throttle(&nip, nip.as_str(), 0, 2);
    cleared.since = t0() + Duration::minutes(3);

    // Account changed meanwhile: nothing is written, the code survives.
    let mut next = account(&nip);
    next.password_hash = Some("h1".into());
    next.credential_version = 1;
    assert!(conflict(
        s.complete_reset("c1", &next, 7, &cleared, &reset_record(&nip))
            .await
    ));
    assert!(s.get_reset_code(&nip).await.unwrap().is_some());
    assert_eq!(
        s.get_account(&nip).await.unwrap().unwrap().password_hash,
        None
    );
    assert_eq!(get_one(&s, nip.as_str()).await, Some(locked.clone()));

    // Wrong code: nothing is written.
    assert!(conflict(
        s.complete_reset("other", &next, 0, &cleared, &reset_record(&nip))
            .await
    ));
    assert_eq!(s.get_account(&nip).await.unwrap().unwrap().version, 0);
    assert_eq!(get_one(&s, nip.as_str()).await, Some(locked));

    assert!(
        s.list_audit(&nip, 10).await.unwrap().is_empty(),
        "no record without its reset"
    );
    // The record's place in the chain is held: nothing is written either.
    let k = chain_key();
    let first = append_sealed(&s, &k, chain_event(Some(&nip), 0))
        .await
        .unwrap();
    let mut sealed = reset_record(&nip);
    sealed.link = Some(k.seal(&sealed, None));
    assert!(conflict(
        s.complete_reset("c1", &next, 0, &cleared, &sealed).await
    ));
    assert_eq!(s.get_account(&nip).await.unwrap().unwrap().version, 0);
    assert!(s.get_reset_code(&nip).await.unwrap().is_some());
    sealed.link = Some(k.seal(&sealed, first.link.as_ref()));
    s.complete_reset("c1", &next, 0, &cleared, &sealed)
        .await
        .unwrap();
    assert_eq!(
        s.audit_chain(nip.as_str()).await.unwrap(),
        vec![first, as_read(sealed)],
        "the reset's record, in one write with it"
    );
    let stored = s.get_account(&nip).await.unwrap().unwrap();
    assert_eq!(stored.password_hash.as_deref(), Some("h1"));
    assert_eq!((stored.version, stored.credential_version), (1, 1));
    assert_eq!(s.get_reset_code(&nip).await.unwrap(), None);
    assert_eq!(
        get_one(&s, nip.as_str()).await,
        Some(cleared.clone()),
        "reset writes the cleared lock-out record"
    );
    assert!(
        conflict(
            s.complete_reset("c1", &next, 1, &cleared, &reset_record(&nip))
                .await
        ),
        "single use"
    );
}

pub async fn one_code_twenty_consumers_one_wins(s: DynStore) {
    let nip = fresh_nip();
    s.insert_account(&account(&nip)).await.unwrap();
    s.put_reset_code(&code(&nip, "race", 5)).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let s = s.clone();
        let mut a = account(&nip);
        a.password_hash = Some(format!("h{i}"));
        a.credential_version = 1;
        tasks.push(tokio::spawn(async move {
            let cleared = throttle(&a.nip, a.nip.as_str(), 0, i);
            s.complete_reset("race", &a, 0, &cleared, &reset_record(&a.nip))
                .await
        }));
    }
    let wins = successes(tasks).await;
    assert_eq!(wins, 1);
    let stored = s.get_account(&nip).await.unwrap().unwrap();
    assert_eq!((stored.version, stored.credential_version), (1, 1));
}

pub async fn sessions(s: DynStore) {
    let nip = fresh_nip();
    let hash = format!("session-{}", nip.as_str());
    let rec = SessionRecord {
        token_hash: hash.clone(),
        nip: nip.clone(),
        credential_version: 4,
        issued_at: t0(),
        expires_at: t0() + Duration::hours(8),
    };
    assert_eq!(s.get_session(&hash).await.unwrap(), None);
    s.put_session(&rec).await.unwrap();
    assert_eq!(s.get_session(&hash).await.unwrap(), Some(rec));
    assert!(s.delete_session(&hash).await.unwrap(), "it was there");
    assert_eq!(s.get_session(&hash).await.unwrap(), None);
    assert!(!s.delete_session(&hash).await.unwrap(), "gone already");
    // Of several deletes at once exactly one removes it (a login challenge is single-use).
    s.put_session(&SessionRecord {
        token_hash: hash.clone(),
        ..rec_again(&nip)
    })
    .await
    .unwrap();
    let deletes = futures_util::future::join_all((0..6).map(|_| s.delete_session(&hash))).await;
    let won = deletes.into_iter().filter(|d| *d.as_ref().unwrap()).count();
    assert_eq!(won, 1);
}

fn rec_again(nip: &Nip) -> SessionRecord {
    SessionRecord {
        token_hash: String::new(),
        nip: nip.clone(),
        credential_version: 4,
        issued_at: t0(),
        expires_at: t0() + Duration::hours(8),
    }
}

pub async fn login_throttle(s: DynStore) {
    let nip = fresh_nip();
    let (k1, k2) = (nip.as_str().to_owned(), format!("{nip}@203.0.113.9"));
    let keys = [k1.clone(), k2.clone()];
    assert_eq!(s.get_throttles(&keys).await.unwrap(), vec![None, None]);
    let mut a = throttle(&nip, &k1, 1, 11);
    a.locked_until = Some(t0() + Duration::minutes(15));
    let b = throttle(&nip, &k2, 5, 12);
    s.put_throttles(&[write(Expect::Absent, &a), write(Expect::Absent, &b)])
        .await
        .unwrap();
    assert_eq!(
        s.get_throttles(&keys).await.unwrap(),
        vec![Some(a.clone()), Some(b.clone())],
        "records round-trip, in the order asked"
    );
    // All or nothing: one expectation fails, neither record is written.
    let a2 = throttle(&nip, &k1, 2, 21);
    let b2 = throttle(&nip, &k2, 6, 22);
    assert!(conflict(
        s.put_throttles(&[write(Expect::Rev(11), &a2), write(Expect::Rev(99), &b2)])
            .await
    ));
    assert!(conflict(
        s.put_throttles(&[write(Expect::Rev(11), &a2), write(Expect::Absent, &b2)])
            .await
    ));
    assert_eq!(
        s.get_throttles(&keys).await.unwrap(),
        vec![Some(a.clone()), Some(b.clone())]
    );
    s.put_throttles(&[write(Expect::Rev(11), &a2), write(Expect::Rev(12), &b2)])
        .await
        .unwrap();
    assert_eq!(get_one(&s, &k2).await, Some(b2.clone()));
    // Unconditional writes, a single write, and deletion.
    let a3 = throttle(&nip, &k1, 0, 31);
    s.put_throttles(&[write(Expect::Any, &a3)]).await.unwrap();
    assert!(conflict(
        s.put_throttles(&[write(Expect::Rev(21), &a3)]).await
    ));
    assert_eq!(get_one(&s, &k1).await, Some(a3));
    s.delete_throttle(&k2).await.unwrap();
    assert_eq!(get_one(&s, &k2).await, None);

    // Of 20 writers expecting the same record, exactly one wins.
    let mut tasks = Vec::new();
    for i in 0..20u64 {
        let (s, rec) = (s.clone(), throttle(&nip, &k1, 100 + i as u32, 1000 + i));
        tasks.push(tokio::spawn(async move {
            s.put_throttles(&[write(Expect::Rev(31), &rec)]).await
        }));
    }
    let won = successes(tasks).await;
    assert_eq!(won, 1, "compare-and-set admits one writer");
}

pub async fn rate_windows(s: DynStore) {
    let key = format!("rl:test:nip:{}:1", fresh_nip());
    let other = format!("{key}-other");
    let exp = t0() + Duration::minutes(15);
    assert_eq!(s.count_hit(&key, exp).await.unwrap(), 1);
    assert_eq!(s.count_hit(&key, exp).await.unwrap(), 2);
    assert_eq!(s.count_hit(&other, exp).await.unwrap(), 1);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (s, key) = (s.clone(), key.clone());
        tasks.push(tokio::spawn(async move { s.count_hit(&key, exp).await }));
    }
    let mut seen = Vec::new();
    for t in tasks {
        seen.push(t.await.unwrap().unwrap());
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        (3..=22).collect::<Vec<u64>>(),
        "every hit gets its own count"
    );
}

/// Writes at once, some refused: each refused one leaves no trace and takes no other down
/// (a store that commits several writes together must keep them apart).
pub async fn writes_at_once_stand_or_fall_alone(s: DynStore) {
    let contested = fresh_nip();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let s = s.clone();
        let mut rival = account(&contested);
        rival.name = name(&format!("Rival {i}"));
        let own = account(&fresh_nip());
        tasks.push(tokio::spawn(async move {
            let (won, mine) = tokio::join!(s.insert_account(&rival), s.insert_account(&own));
            (won.ok().map(|()| rival.name), mine.map(|()| own.nip))
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        let (won, mine) = t.await.unwrap();
        winners.extend(won);
        let mine = mine.expect("an uncontested insert succeeds");
        assert!(s.get_account(&mine).await.unwrap().is_some());
    }
    assert_eq!(winners.len(), 1, "one insert of a NIP wins: {winners:?}");
    let stored = s.get_account(&contested).await.unwrap().unwrap();
    assert_eq!(stored.name, winners[0]);
}

pub async fn rate_windows_at_once(s: DynStore) {
    let nip = fresh_nip();
    let exp = t0() + Duration::minutes(15);
    let keys: Vec<(String, _)> = ["ip", "nipip", "nip"]
        .iter()
        .map(|k| (format!("rl:test:{k}:{nip}:1"), exp))
        .collect();
    assert_eq!(s.count_hit(&keys[1].0, exp).await.unwrap(), 1);
    assert_eq!(s.count_hits(&keys).await.unwrap(), vec![1, 2, 1]);
    assert_eq!(s.count_hits(&keys).await.unwrap(), vec![2, 3, 2]);
    assert_eq!(s.count_hits(&[]).await.unwrap(), Vec::<u64>::new());
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (s, keys) = (s.clone(), keys.clone());
        tasks.push(tokio::spawn(async move { s.count_hits(&keys).await }));
    }
    let mut seen = vec![Vec::new(); 3];
    for t in tasks {
        for (i, count) in t.await.unwrap().unwrap().into_iter().enumerate() {
            seen[i].push(count);
        }
    }
    for (i, counts) in seen.iter_mut().enumerate() {
        counts.sort_unstable();
        let from = if i == 1 { 4 } else { 3 };
        assert_eq!(
            *counts,
            (from..from + 10).collect::<Vec<u64>>(),
            "every hit of rate window {i} gets its own count"
        );
    }
}

pub async fn audit_append_and_list(s: DynStore) {
    let a = fresh_nip();
    let b = fresh_nip();
    for i in 0..3 {
        s.append_audit(&AuditEvent {
            at: t0() + Duration::seconds(i),
            actor: "OP-7".into(),
            office: Some("KANREG-I".into()),
            nip: Some(a.clone()),
            source_ip: Some("203.0.113.9".into()),
            action: format!("action-{i}"),
            outcome: "ok".into(),
            details: serde_json::json!({ "i": i, "teks": "é 🇮🇩" }),
            link: None,
        })
        .await
        .unwrap();
    }
    s.append_audit(&AuditEvent {
        at: t0(),
        actor: "self".into(),
        office: None,
        nip: Some(b.clone()),
        source_ip: None,
        action: "login".into(),
        outcome: "failed".into(),
        details: serde_json::Value::Null,
        link: None,
    })
    .await
    .unwrap();
    let list = s.list_audit(&a, 10).await.unwrap();
    let actions: Vec<_> = list.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["action-2", "action-1", "action-0"],
        "newest first"
    );
    assert_eq!(
        list[0].details,
        serde_json::json!({ "i": 2, "teks": "é 🇮🇩" })
    );
    assert_eq!(list[2].at, t0());
    assert_eq!(list[0].office.as_deref(), Some("KANREG-I"));
    assert_eq!(s.list_audit(&a, 2).await.unwrap().len(), 2);
    let lb = s.list_audit(&b, 10).await.unwrap();
    assert_eq!(lb.len(), 1);
    assert_eq!(lb[0].source_ip, None);
}

pub async fn renumber_moves_atomically(s: DynStore) {
    let (old, new) = (fresh_nip(), fresh_nip());
    let mut a = account(&old);
    a.password_hash = Some("$argon2id$v=19$m=19456,t=2,p=1$x$y".into());
    a.email_verified_at = Some(t0());
    s.insert_account(&a).await.unwrap();
    s.put_reset_code(&code(&old, "h-old", 5)).await.unwrap();
    s.put_throttles(&[write(Expect::Absent, &throttle(&old, old.as_str(), 3, 5))])
        .await
        .unwrap();
    s.put_email_exception(&exception(&old, "akta kelahiran"))
        .await
        .unwrap();
    let (k1, k2) = (passkey_id(), passkey_id());
    s.insert_passkey(&passkey(&old, &k1, 0)).await.unwrap();
    s.insert_passkey(&passkey(&old, &k2, 1)).await.unwrap();
    let mut moved = a.clone();
    moved.nip = new.clone();
    moved.credential_version = 1;

    // A stale version of the old record writes nothing.
    let mut stale = a.clone();
    stale.version = 7;
    assert!(conflict(s.renumber_account(&stale, &moved, None).await));
    assert_eq!(s.get_account(&new).await.unwrap(), None);
    assert!(s.get_reset_code(&old).await.unwrap().is_some());

    s.renumber_account(&a, &moved, None).await.unwrap();
    assert_eq!(s.get_account(&old).await.unwrap(), None);
    assert_eq!(s.get_reset_code(&old).await.unwrap(), None);
    assert_eq!(s.get_email_exception(&old).await.unwrap(), None);
    assert_eq!(get_one(&s, old.as_str()).await, None);
    // The passkeys moved with it: listed under the new number, owned by it.
    assert_eq!(s.list_passkeys(&old).await.unwrap(), vec![]);
    let keys: Vec<(String, Nip)> = s
        .list_passkeys(&new)
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.id, p.nip))
        .collect();
    assert_eq!(keys, vec![(k1.clone(), new.clone()), (k2, new.clone())]);
    assert_eq!(
        s.get_passkey(&k1).await.unwrap().map(|p| p.nip),
        Some(new.clone())
    );
    assert!(
        !s.list_email_exceptions()
            .await
            .unwrap()
            .iter()
            .any(|p| p.nip == old || p.nip == new),
        "the old number's exception is not listed after the move"
    );
    let stored = s.get_account(&new).await.unwrap().unwrap();
    assert_eq!(stored.password_hash, a.password_hash);
    assert_eq!(stored.email_verified_at, Some(t0()));
    assert_eq!((stored.credential_version, stored.version), (1, 0));

    // Onto an existing record: only at the expected version.
    let third = fresh_nip();
    let mut target = account(&third);
    target.name = name("Data HR baru");
    s.insert_account(&target).await.unwrap();
    let mut onto = stored.clone();
    onto.nip = third.clone();
    assert!(
        conflict(s.renumber_account(&stored, &onto, None).await),
        "creating over an existing NIP must conflict"
    );
    let mut stale_target = target.clone();
    stale_target.version = 3;
    assert!(conflict(
        s.renumber_account(&stored, &onto, Some(&stale_target))
            .await
    ));
    assert!(
        s.get_account(&new).await.unwrap().is_some(),
        "nothing moved"
    );
    s.renumber_account(&stored, &onto, Some(&target))
        .await
        .unwrap();
    assert_eq!(s.get_account(&new).await.unwrap(), None);
    let merged = s.get_account(&third).await.unwrap().unwrap();
    assert_eq!(merged.version, 1);
    assert_eq!(merged.password_hash, a.password_hash);
}

pub async fn concurrent_renumbers_one_wins(s: DynStore) {
    let old = fresh_nip();
    let a = account(&old);
    s.insert_account(&a).await.unwrap();
    let mut tasks = Vec::new();
    let mut targets = Vec::new();
    for _ in 0..10 {
        let s = s.clone();
        let (a, mut moved) = (a.clone(), a.clone());
        moved.nip = fresh_nip();
        targets.push(moved.nip.clone());
        tasks.push(tokio::spawn(async move {
            s.renumber_account(&a, &moved, None).await
        }));
    }
    let ok = successes(tasks).await;
    assert_eq!(ok, 1, "exactly one renumbering wins");
    let mut present = 0;
    for n in &targets {
        present += usize::from(s.get_account(n).await.unwrap().is_some());
    }
    assert_eq!(
        present, 1,
        "the account exists under exactly one new number"
    );
}

pub async fn rewriting_a_code_changes_nothing_if_it_moved(s: DynStore) {
    let nip = fresh_nip();
    let c = code(&nip, "rw", 5);
    s.rewrite_reset_code(&c).await.unwrap();
    assert_eq!(
        s.get_reset_code(&nip).await.unwrap(),
        None,
        "no code, no write"
    );
    s.put_reset_code(&c).await.unwrap();
    s.rewrite_reset_code(&c).await.unwrap();
    assert_eq!(s.get_reset_code(&nip).await.unwrap(), Some(c.clone()));
    // A try taken meanwhile is never given back by a rewrite.
    assert_eq!(s.take_code_attempt(&nip, "rw").await.unwrap(), Some(4));
    s.rewrite_reset_code(&c).await.unwrap();
    assert_eq!(
        s.get_reset_code(&nip).await.unwrap().unwrap().attempts_left,
        4
    );
}

/// Concurrent failures counted by compare-and-set over a record that has expired (TTL has
/// not removed it): each counts exactly once, none is lost to a blind overwrite.
pub async fn concurrent_failures_after_expiry_all_count(s: DynStore) {
    let nip = fresh_nip();
    let key = format!("{nip}@198.51.100.7");
    let mut old = throttle(&nip, &key, 9, 77);
    old.expires_at = t0() - Duration::seconds(1);
    s.put_throttles(&[write(Expect::Absent, &old)])
        .await
        .unwrap();
    let now = t0();
    let mut tasks = Vec::new();
    for i in 0..10u64 {
        let (s, nip, key) = (s.clone(), nip.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            for attempt in 0..200u64 {
                let cur = get_one(&s, &key).await;
                let live = cur.as_ref().filter(|t| t.expires_at > now);
                let mut next = throttle(&nip, &key, live.map_or(0, |t| t.failures) + 1, 0);
                next.rev = 1_000_000 + i * 1000 + attempt;
                let expect = cur.as_ref().map_or(Expect::Absent, |t| Expect::Rev(t.rev));
                match s.put_throttles(&[write(expect, &next)]).await {
                    Ok(()) => return,
                    Err(StoreError::Conflict(_)) => continue,
                    Err(e) => panic!("unexpected {e}"),
                }
            }
            panic!("no turn in 200 tries");
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        get_one(&s, &key).await.unwrap().failures,
        10,
        "the expired count starts again at 1 and none of the ten is lost"
    );
}

pub async fn officers_round_trip(s: DynStore) {
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let principal = format!(
        "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_CounterStaff_1a2b/petugas{n}@bkn.go.id"
    );
    assert_eq!(s.get_officer(&principal).await.unwrap(), None);
    let mut o = Officer {
        principal: principal.clone(),
        officer_id: "199001012015031002".into(),
        name: "Rina Kartika".into(),
        office: "BKPSDM-KOTA-BANDUNG".into(),
        scope: StaffScope::Instansi("Pemerintah Kota Bandung".into()),
        active: true,
        updated_at: t0(),
        office_name: None,
    };
    s.put_officer(&o).await.unwrap();
    assert_eq!(s.get_officer(&principal).await.unwrap(), Some(o.clone()));
    o.office_name = Some("BKPSDM Kota Bandung ñ".into());
    s.put_officer(&o).await.unwrap();
    assert_eq!(s.get_officer(&principal).await.unwrap(), Some(o.clone()));
    o.active = false;
    o.scope = StaffScope::Bkn;
    s.put_officer(&o).await.unwrap();
    assert_eq!(s.get_officer(&principal).await.unwrap(), Some(o.clone()));
    let all = s.list_officers().await.unwrap();
    assert_eq!(all.iter().filter(|x| x.principal == principal).count(), 1);
    assert!(
        all.windows(2).all(|w| w[0].principal <= w[1].principal),
        "sorted"
    );
}

pub async fn an_email_change_and_its_audit_record_are_one_write(s: DynStore) {
    let nip = fresh_nip();
    let a = account(&nip);
    s.insert_account(&a).await.unwrap();
    s.put_reset_code(&code(&nip, "old-code", 5)).await.unwrap();
    s.put_email_exception(&exception(&nip, "akta kelahiran"))
        .await
        .unwrap();
    let mut next = a.clone();
    next.email = Email::parse(&format!("baru.{}@example.go.id", nip.as_str())).ok();
    next.email_verified_at = Some(t0());
    next.credential_version = 1;
    let record = AuditEvent {
        at: t0(),
        actor: "arn:aws:sts::1:assumed-role/x/petugas".into(),
        office: Some("KANREG-I".into()),
        nip: Some(nip.clone()),
        source_ip: None,
        action: "email_change".into(),
        outcome: "changed".into(),
        details: serde_json::json!({ "new_email": "baru@example.go.id" }),
        link: None,
    };
    // A stale version: nothing at all is written.
    assert!(conflict(
        s.change_email_audited(&next, 5, a.email.as_ref(), &record)
            .await
    ));
    assert_eq!(s.get_account(&nip).await.unwrap().unwrap().email, a.email);
    assert!(s.get_reset_code(&nip).await.unwrap().is_some());
    assert!(s.get_email_exception(&nip).await.unwrap().is_some());
    assert!(
        s.list_audit(&nip, 10).await.unwrap().is_empty(),
        "no record without its change"
    );
    s.change_email_audited(&next, 0, a.email.as_ref(), &record)
        .await
        .unwrap();
    let stored = s.get_account(&nip).await.unwrap().unwrap();
    assert_eq!(
        (stored.email.clone(), stored.version),
        (next.email.clone(), 1)
    );
    assert_eq!(s.get_reset_code(&nip).await.unwrap(), None);
    assert_eq!(
        s.get_email_exception(&nip).await.unwrap(),
        None,
        "a change ends the pending exception"
    );
    assert!(
        !s.list_email_exceptions()
            .await
            .unwrap()
            .iter()
            .any(|p| p.nip == nip),
        "nor is it listed"
    );
    assert_eq!(s.list_audit(&nip, 10).await.unwrap(), vec![record]);
}

fn chain_key() -> AuditKey {
    match sapk_core::TokenKey::from_bytes(vec![42; 32]) {
        Ok(k) => AuditKey::new(k),
        Err(e) => panic!("test key: {e}"),
    }
}

fn chain_event(nip: Option<&Nip>, i: i64) -> AuditEvent {
    AuditEvent {
        at: t0() + Duration::microseconds(i),
        actor: "OP-7".into(),
        office: Some("KANREG-I".into()),
        nip: nip.cloned(),
        source_ip: Some("203.0.113.9".into()),
        action: format!("action-{i}"),
        outcome: "ok".into(),
        details: serde_json::json!({ "i": i, "teks": "é 🇮🇩", "x": [1.5, null] }),
        link: None,
    }
}

/// Seals `e` on `chain`'s head as the core does and appends it.
async fn append_sealed(
    s: &DynStore,
    k: &AuditKey,
    mut e: AuditEvent,
) -> Result<AuditEvent, StoreError> {
    let head = s.audit_head(chain_of(&e)).await?;
    e.link = Some(k.seal(&e, head.as_ref()));
    s.append_audit(&e).await?;
    Ok(as_read(e))
}

/// A sealed record as a store gives it back: the head's seal is kept beside the records,
/// not in them.
fn as_read(mut e: AuditEvent) -> AuditEvent {
    if let Some(l) = e.link.as_mut() {
        l.head_seal.clear();
    }
    e
}

/// `records` checked against the head the store keeps for `chain`.
async fn verify_kept(
    s: &DynStore,
    k: &AuditKey,
    chain: &str,
    records: &[AuditEvent],
) -> sapk_core::audit_chain::ChainReport {
    let head = s.kept_audit_head(chain).await.unwrap();
    k.verify(
        chain,
        records,
        &sapk_core::audit_chain::Evidence {
            head: head.as_ref(),
            checkpoint: None,
            expires: s.audit_expires(),
        },
    )
}

/// Every chained append moves its chain's kept head in the same write (sealed, so it
/// verifies), the head never moves back, and every chain's head is listed for a checkpoint.
pub async fn audit_heads_are_kept_with_each_append(s: DynStore) {
    let k = chain_key();
    let nip = fresh_nip();
    assert_eq!(s.kept_audit_head(nip.as_str()).await.unwrap(), None);
    let mut last = None;
    for i in 0..3 {
        last = Some(
            append_sealed(&s, &k, chain_event(Some(&nip), i))
                .await
                .unwrap(),
        );
    }
    let head = s
        .kept_audit_head(nip.as_str())
        .await
        .unwrap()
        .expect("a kept head");
    let link = last.unwrap().link.unwrap();
    assert_eq!((head.seq, head.mac.as_str()), (3, link.mac.as_str()));
    assert!(k.head_ok(&head));
    // A record that lost the race for a held place moves nothing.
    let mut rival = chain_event(Some(&nip), 8);
    rival.link = Some(k.seal(&rival, None));
    assert!(conflict(s.append_audit(&rival).await));
    assert_eq!(
        s.kept_audit_head(nip.as_str()).await.unwrap(),
        Some(head.clone())
    );
    let all = s.kept_audit_heads().await.unwrap();
    assert!(all.contains(&head), "listed for a checkpoint");
    let chain = s.audit_chain(nip.as_str()).await.unwrap();
    let report = verify_kept(&s, &k, nip.as_str(), &chain).await;
    assert!(report.intact(), "{report:?}");
}

/// Chained records come back exactly as sealed (they verify), oldest first, with the head
/// the newest; one place of a chain takes one record; chains of different NIPs and the
/// chain of records without one are apart.
/// A store that seals appends itself ([`Store::append_audit_sealed`]) loses none of many at
/// once, and its chain verifies.
pub async fn audit_appends_sealed_in_place(s: DynStore) {
    let k = chain_key();
    let nip = fresh_nip();
    if !s
        .append_audit_sealed(&chain_event(Some(&nip), 0), &k)
        .await
        .unwrap()
    {
        assert!(s.audit_chain(nip.as_str()).await.unwrap().is_empty());
        return;
    }
    let mut tasks = Vec::new();
    for i in 1..=24 {
        let (s, k, e) = (s.clone(), k.clone(), chain_event(Some(&nip), i));
        tasks.push(tokio::spawn(
            async move { s.append_audit_sealed(&e, &k).await },
        ));
    }
    for t in tasks {
        assert!(t.await.unwrap().unwrap());
    }
    let chain = s.audit_chain(nip.as_str()).await.unwrap();
    assert_eq!(chain.len(), 25, "every append kept");
    let report = verify_kept(&s, &k, nip.as_str(), &chain).await;
    assert!(report.intact(), "{report:?}");
    assert_eq!(report.last_seq, Some(25));
}

pub async fn audit_chain_places(s: DynStore) {
    let k = chain_key();
    let (a, b) = (fresh_nip(), fresh_nip());
    assert_eq!(s.audit_head(a.as_str()).await.unwrap(), None);
    let mut written = Vec::new();
    for i in 0..4 {
        written.push(
            append_sealed(&s, &k, chain_event(Some(&a), i))
                .await
                .unwrap(),
        );
    }
    append_sealed(&s, &k, chain_event(Some(&b), 9))
        .await
        .unwrap();
    let mut head = s.audit_head(a.as_str()).await.unwrap().unwrap();
    head.head_seal.clear();
    assert_eq!(Some(&head), written[3].link.as_ref());
    assert_eq!(head.seq, 4);
    let chain = s.audit_chain(a.as_str()).await.unwrap();
    assert_eq!(chain, written, "oldest first, as written");
    let report = verify_kept(&s, &k, a.as_str(), &chain).await;
    assert!(report.intact(), "{report:?}");
    assert_eq!(
        s.audit_head(b.as_str()).await.unwrap().map(|l| l.seq),
        Some(1)
    );

    // A second record at a held place: refused, nothing written.
    let mut rival = chain_event(Some(&a), 7);
    rival.link = Some(k.seal(&rival, written[2].link.as_ref()));
    assert!(conflict(s.append_audit(&rival).await));
    assert_eq!(s.audit_chain(a.as_str()).await.unwrap().len(), 4);
    assert_eq!(
        s.list_audit(&a, 10).await.unwrap()[0],
        written[3],
        "newest first"
    );

    // The chain of records without a NIP is one of its own (shared by every check: only
    // its growth is asserted).
    let before = s
        .audit_head(SYSTEM_CHAIN)
        .await
        .unwrap()
        .map_or(0, |l| l.seq);
    let sys = append_sealed(&s, &k, chain_event(None, 1)).await;
    let sys = match sys {
        Ok(e) => e,
        // Another check appended at the same moment: seal again on the new head.
        Err(StoreError::Conflict(_)) => append_sealed(&s, &k, chain_event(None, 1)).await.unwrap(),
        Err(e) => panic!("{e}"),
    };
    assert!(sys.link.as_ref().unwrap().seq > before);
    assert!(s
        .audit_chain(SYSTEM_CHAIN)
        .await
        .unwrap()
        .iter()
        .all(|e| e.nip.is_none()));
}

/// Six appends racing for one place of a chain: exactly one lands.
pub async fn racing_appends_one_place_one_wins(s: DynStore) {
    let k = chain_key();
    let a = fresh_nip();
    let first = append_sealed(&s, &k, chain_event(Some(&a), 0))
        .await
        .unwrap();
    let tries = futures_util::future::join_all((1..=6).map(|i| {
        let s = s.clone();
        let mut e = chain_event(Some(&a), i);
        e.link = Some(k.seal(&e, first.link.as_ref()));
        async move { s.append_audit(&e).await }
    }))
    .await;
    assert_eq!(tries.iter().filter(|r| r.is_ok()).count(), 1, "{tries:?}");
    assert!(tries
        .iter()
        .all(|r| matches!(r, Ok(()) | Err(StoreError::Conflict(_)))));
    let chain = s.audit_chain(a.as_str()).await.unwrap();
    assert_eq!(chain.len(), 2);
    assert!(verify_kept(&s, &k, a.as_str(), &chain).await.intact());
}

/// An e-mail change whose audit record's place is held already: nothing is written.
pub async fn an_email_change_with_a_held_audit_place_writes_nothing(s: DynStore) {
    let k = chain_key();
    let nip = fresh_nip();
    let a = account(&nip);
    s.insert_account(&a).await.unwrap();
    let first = append_sealed(&s, &k, chain_event(Some(&nip), 0))
        .await
        .unwrap();
    let mut next = a.clone();
    next.email = Email::parse(&format!("baru.{}@example.go.id", nip.as_str())).ok();
    let mut record = chain_event(Some(&nip), 1);
    record.link = Some(k.seal(&record, None));
    assert!(conflict(
        s.change_email_audited(&next, 0, a.email.as_ref(), &record)
            .await
    ));
    assert_eq!(s.get_account(&nip).await.unwrap().unwrap().email, a.email);
    assert_eq!(
        s.audit_chain(nip.as_str()).await.unwrap(),
        vec![first.clone()]
    );
    record.link = Some(k.seal(&record, first.link.as_ref()));
    s.change_email_audited(&next, 0, a.email.as_ref(), &record)
        .await
        .unwrap();
    let chain = s.audit_chain(nip.as_str()).await.unwrap();
    assert_eq!(chain, vec![first, as_read(record)]);
    assert!(verify_kept(&s, &k, nip.as_str(), &chain).await.intact());
}

/// A batched read: one answer per NIP in the order asked, absent ones `None`, a NIP asked
/// twice answered twice, more keys than one DynamoDB call takes (100).
pub async fn batched_account_reads(s: DynStore) {
    let nips: Vec<Nip> = (0..130).map(|_| fresh_nip()).collect();
    for (i, nip) in nips.iter().enumerate() {
        if i % 3 == 0 {
            let mut a = account(nip);
            a.name = name(&format!("Pegawai {i}"));
            s.insert_account(&a).await.unwrap();
        }
    }
    let mut asked = nips.clone();
    asked.push(nips[0].clone());
    let got = s.get_accounts(&asked).await.unwrap();
    assert_eq!(got.len(), asked.len());
    for (i, (nip, a)) in asked.iter().zip(&got).enumerate() {
        let i = i % 130;
        match a {
            Some(a) => {
                assert_eq!(
                    (&a.nip, a.name.as_str()),
                    (nip, format!("Pegawai {i}").as_str())
                );
            }
            None => assert_ne!(i % 3, 0, "{nip} exists"),
        }
    }
    assert!(got[130].is_some(), "a NIP asked twice is answered twice");
    assert!(s.get_accounts(&[]).await.unwrap().is_empty());
}

/// The last mail status of an account: round trip, replaced, deleted, one per NIP.
pub async fn mail_statuses(s: DynStore) {
    use sapk_core::mail_status::{MailState, MailStatus};
    let (nip, other) = (fresh_nip(), fresh_nip());
    assert_eq!(s.get_mail_status(&nip).await.unwrap(), None);
    let bounced = MailStatus {
        state: MailState::HardBounce,
        at: t0(),
        address: Email::parse("siti.rahayu@example.go.id").unwrap(),
        diagnostic: Some("smtp; 550 5.1.1 user unknown ñ".into()),
    };
    s.put_mail_status(&nip, &bounced).await.unwrap();
    assert_eq!(
        s.get_mail_status(&nip).await.unwrap(),
        Some(bounced.clone())
    );
    let delivered = MailStatus {
        state: MailState::Delivered,
        at: t0() + Duration::minutes(5),
        diagnostic: None,
        ..bounced
    };
    s.put_mail_status(&nip, &delivered).await.unwrap();
    assert_eq!(s.get_mail_status(&nip).await.unwrap(), Some(delivered));
    assert_eq!(s.get_mail_status(&other).await.unwrap(), None);
    s.delete_mail_status(&nip).await.unwrap();
    assert_eq!(s.get_mail_status(&nip).await.unwrap(), None);
}

/// A pending e-mail exception: round trip, one per NIP (the newer replaces), delete.
pub async fn email_exceptions(s: DynStore) {
    let (nip, other) = (fresh_nip(), fresh_nip());
    assert_eq!(s.get_email_exception(&nip).await.unwrap(), None);
    let first = exception(
        &nip,
        "Surat keterangan Dukcapil no. 470/123, tanggal lahir 26-09-1986",
    );
    s.put_email_exception(&first).await.unwrap();
    assert_eq!(s.get_email_exception(&nip).await.unwrap(), Some(first));
    let second = exception(&nip, "akta kelahiran ñ 🇮🇩");
    s.put_email_exception(&second).await.unwrap();
    assert_eq!(
        s.get_email_exception(&nip).await.unwrap(),
        Some(second.clone())
    );
    assert_eq!(s.get_email_exception(&other).await.unwrap(), None);
    // Listed once (the newer replaced the older), whole, beside another NIP's; the office's
    // display name kept.
    let mut theirs = exception(&other, "surat Dukcapil");
    theirs.requested_office_name = Some("Kantor Regional IV BKN Makassar".into());
    s.put_email_exception(&theirs).await.unwrap();
    let mine = |all: Vec<PendingException>| -> Vec<PendingException> {
        all.into_iter()
            .filter(|p| p.nip == nip || p.nip == other)
            .collect()
    };
    let listed = mine(s.list_email_exceptions().await.unwrap());
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(
        listed.contains(&second) && listed.contains(&theirs),
        "{listed:?}"
    );
    s.delete_email_exception(&nip).await.unwrap();
    assert_eq!(s.get_email_exception(&nip).await.unwrap(), None);
    s.delete_email_exception(&nip).await.unwrap();
    assert_eq!(mine(s.list_email_exceptions().await.unwrap()), vec![theirs]);
    s.delete_email_exception(&other).await.unwrap();
    assert_eq!(mine(s.list_email_exceptions().await.unwrap()), vec![]);
}

/// Who has an address: exact matches only, at most `limit`, none after the address changed.
/// (DynamoDB answers from an eventually consistent index: polled, bounded.)
pub async fn accounts_by_email(s: DynStore) {
    let mine = Email::parse(&format!("keluarga.{}@example.go.id", fresh_nip().as_str())).unwrap();
    let (a, c) = (fresh_nip(), fresh_nip());
    let mut acc = account(&a);
    acc.email = Some(mine.clone());
    s.insert_account(&acc).await.unwrap();
    let mut other = account(&c);
    other.email = Email::parse(&format!("Keluarga.{}@example.go.id", c.as_str())).ok();
    s.insert_account(&other).await.unwrap();
    let want = vec![a.clone()];
    let mut seen = Vec::new();
    for _ in 0..40 {
        seen = s.accounts_with_email(&mine, 10).await.unwrap();
        if seen == want {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(seen, want);
    assert_eq!(s.accounts_with_email(&mine, 1).await.unwrap().len(), 1);
    // a moves to another address: nobody is left.
    let mut moved = s.get_account(&a).await.unwrap().unwrap();
    moved.email = Email::parse(&format!("pindah.{}@example.go.id", a.as_str())).ok();
    s.update_account_email(&moved, 0, Some(&mine))
        .await
        .unwrap();
    let mut left = vec![a.clone()];
    for _ in 0..40 {
        left = s.accounts_with_email(&mine, 10).await.unwrap();
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(left, Vec::<Nip>::new());
}

fn taken(r: Result<(), StoreError>) -> bool {
    matches!(r, Err(StoreError::EmailTaken(_)))
}

/// One address, one account: a second account cannot have it (whatever the case of its
/// letters) by creation, by an e-mail change or by a renumbering; a plain update cannot change
/// an address; an address let go is free again; and twenty accounts racing for one address
/// leave one holder.
pub async fn one_address_one_account(s: DynStore) {
    let (a, b) = (fresh_nip(), fresh_nip());
    let address = Email::parse(&format!("rebutan.{}@example.go.id", a.as_str())).unwrap();
    let mut first = account(&a);
    first.email = Some(address.clone());
    s.insert_account(&first).await.unwrap();
    assert_eq!(s.email_holder(&address).await.unwrap(), Some(a.clone()));
    let upper = Email::parse(&address.as_str().to_uppercase()).unwrap();
    assert_eq!(
        s.email_holder(&upper).await.unwrap(),
        Some(a.clone()),
        "case-insensitive"
    );
    let mut second = account(&b);
    second.email = Some(upper.clone());
    match s.insert_account(&second).await {
        Err(StoreError::EmailTaken(h)) => assert!(h.is_empty() || h == a.as_str(), "{h}"),
        other => panic!("a second account got the address: {other:?}"),
    }
    assert_eq!(s.get_account(&b).await.unwrap(), None, "nothing written");
    // b exists with its own address; it cannot take a's, by any step.
    s.insert_account(&account(&b)).await.unwrap();
    let own = account(&b).email;
    let mut to_a = account(&b);
    to_a.email = Some(address.clone());
    assert!(taken(s.update_account_email(&to_a, 0, own.as_ref()).await));
    assert!(
        conflict(s.update_account(&to_a, 0).await),
        "a plain update keeps the address"
    );
    assert_eq!(s.get_account(&b).await.unwrap().unwrap().email, own);
    // a lets it go; b takes it; a cannot take it back.
    let mut a_moves = first.clone();
    a_moves.email = Email::parse(&format!("baru.{}@example.go.id", a.as_str())).ok();
    s.update_account_email(&a_moves, 0, Some(&address))
        .await
        .unwrap();
    assert_eq!(s.email_holder(&address).await.unwrap(), None, "released");
    s.update_account_email(&to_a, 0, own.as_ref())
        .await
        .unwrap();
    assert_eq!(s.email_holder(&address).await.unwrap(), Some(b.clone()));
    assert_eq!(s.email_holder(own.as_ref().unwrap()).await.unwrap(), None);
    let mut back = s.get_account(&a).await.unwrap().unwrap();
    back.email = Some(address.clone());
    assert!(taken(
        s.update_account_email(&back, 1, a_moves.email.as_ref())
            .await
    ));
    // A renumbering carries the claim to the new number, and releases the old number's.
    let c = fresh_nip();
    let b_now = s.get_account(&b).await.unwrap().unwrap();
    let mut moved = b_now.clone();
    moved.nip = c.clone();
    moved.version = 0;
    s.renumber_account(&b_now, &moved, None).await.unwrap();
    assert_eq!(s.email_holder(&address).await.unwrap(), Some(c.clone()));
    // Twenty accounts race for one free address: one holds it.
    let prize = Email::parse(&format!("hadiah.{}@example.go.id", a.as_str())).unwrap();
    let racers: Vec<Nip> = (0..20).map(|_| fresh_nip()).collect();
    for n in &racers {
        s.insert_account(&account(n)).await.unwrap();
    }
    let tries = racers.iter().map(|n| {
        let s = s.clone();
        let prize = prize.clone();
        let n = n.clone();
        async move {
            let mut acc = account(&n);
            let before = acc.email.clone();
            acc.email = Some(prize);
            s.update_account_email(&acc, 0, before.as_ref()).await
        }
    });
    let results = futures_util::future::join_all(tries).await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(won, 1, "{results:?}");
    assert!(results.iter().all(|r| r.is_ok()
        || matches!(
            r,
            Err(StoreError::EmailTaken(_)) | Err(StoreError::Conflict(_))
        )));
    let holder = s.email_holder(&prize).await.unwrap().expect("a holder");
    assert_eq!(
        s.get_account(&holder).await.unwrap().unwrap().email,
        Some(prize)
    );
    // An address from before claims is claimed once for its account, and not for another.
    let old_one = Email::parse(&format!("lama.{}@example.go.id", a.as_str())).unwrap();
    assert!(s.claim_email(&old_one, &a).await.unwrap());
    assert!(
        s.claim_email(&old_one, &a).await.unwrap(),
        "again: still its own"
    );
    assert!(!s.claim_email(&old_one, &b).await.unwrap());
    assert_eq!(s.email_holder(&old_one).await.unwrap(), Some(a.clone()));
    // Ten new accounts (an import's rows) racing for one address: one is created.
    let shared = Email::parse(&format!("impor.{}@example.go.id", a.as_str())).unwrap();
    let creations = (0..10).map(|_| {
        let s = s.clone();
        let mut acc = account(&fresh_nip());
        acc.email = Some(shared.clone());
        async move { s.insert_account(&acc).await }
    });
    let results = futures_util::future::join_all(creations).await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(results.iter().all(|r| r.is_ok()
        || matches!(
            r,
            Err(StoreError::EmailTaken(_)) | Err(StoreError::Conflict(_))
        )));
}

/// Every account, a page at a time, and nothing else (no claim).
pub async fn accounts_in_pages(s: DynStore) {
    let mine: Vec<Nip> = (0..7).map(|_| fresh_nip()).collect();
    for n in &mine {
        s.insert_account(&account(n)).await.unwrap();
    }
    let mut seen = std::collections::HashSet::new();
    let mut cursor = None;
    for _ in 0..10_000 {
        let (page, next) = s.accounts_page(cursor.clone(), 3).await.unwrap();
        assert!(page.len() <= 3);
        for a in page {
            assert!(
                seen.insert(a.nip.as_str().to_owned()),
                "{} twice",
                a.nip.as_str()
            );
        }
        match next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    for n in &mine {
        assert!(seen.contains(n.as_str()), "{} missing", n.as_str());
    }
}

/// A passkey of `nip` made at `t0()` plus `minutes`.
pub fn passkey(nip: &Nip, id: &str, minutes: i64) -> PasskeyRecord {
    PasskeyRecord {
        id: id.to_owned(),
        nip: nip.clone(),
        user_handle: "5a3c0b0e-1f2d-4c8b-9e7a-2b6d1c0f9a11".into(),
        name: "Android, dibuat 6 Des 2026 ñ".into(),
        credential: format!("{{\"cred\":\"{id}\",\"counter\":0}}"),
        created_at: t0() + Duration::minutes(minutes),
        last_used_at: None,
    }
}

/// A passkey ID no other test uses.
fn passkey_id() -> String {
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    format!("cred-{}-{n}_AbC-x", std::process::id())
}

/// Passkeys: by ID, listed per account oldest first, one ID once across accounts, a
/// sign-in's update only over the credential it read, removal only by the owner.
pub async fn passkeys_round_trip(s: DynStore) {
    let (nip, other) = (fresh_nip(), fresh_nip());
    let (a, b, c) = (passkey_id(), passkey_id(), passkey_id());
    assert_eq!(s.get_passkey(&a).await.unwrap(), None);
    assert_eq!(s.list_passkeys(&nip).await.unwrap(), vec![]);
    let second = passkey(&nip, &b, 5);
    let first = passkey(&nip, &a, 1);
    s.insert_passkey(&second).await.unwrap();
    s.insert_passkey(&first).await.unwrap();
    s.insert_passkey(&passkey(&other, &c, 0)).await.unwrap();
    assert_eq!(s.get_passkey(&a).await.unwrap(), Some(first.clone()));
    assert_eq!(
        s.list_passkeys(&nip).await.unwrap(),
        vec![first.clone(), second.clone()],
        "oldest first, only the account's"
    );
    // One credential ID, one passkey: not again, nor for another account.
    assert!(conflict(s.insert_passkey(&passkey(&other, &a, 9)).await));
    assert!(conflict(s.insert_passkey(&first).await));
    assert_eq!(s.get_passkey(&a).await.unwrap(), Some(first.clone()));
    assert_eq!(s.list_passkeys(&other).await.unwrap().len(), 1);
    // A sign-in's update, over the credential it read.
    let mut used = first.clone();
    used.credential = format!("{{\"cred\":\"{a}\",\"counter\":1}}");
    used.last_used_at = Some(t0() + Duration::hours(1));
    s.update_passkey(&used, &first.credential).await.unwrap();
    assert_eq!(s.get_passkey(&a).await.unwrap(), Some(used.clone()));
    let mut stale = used.clone();
    stale.credential = "replayed".into();
    assert!(conflict(s.update_passkey(&stale, &first.credential).await));
    let mut stolen = used.clone();
    stolen.nip = other.clone();
    assert!(conflict(s.update_passkey(&stolen, &used.credential).await));
    assert_eq!(s.get_passkey(&a).await.unwrap(), Some(used.clone()));
    // Removed only by its account.
    assert!(!s.delete_passkey(&other, &a).await.unwrap());
    assert!(s.get_passkey(&a).await.unwrap().is_some());
    assert!(s.delete_passkey(&nip, &a).await.unwrap());
    assert!(!s.delete_passkey(&nip, &a).await.unwrap());
    assert_eq!(s.get_passkey(&a).await.unwrap(), None);
    assert_eq!(s.list_passkeys(&nip).await.unwrap(), vec![second]);
}

/// Of eight sign-ins that read the same credential, one writes.
pub async fn concurrent_passkey_updates_one_wins(s: DynStore) {
    let nip = fresh_nip();
    let id = passkey_id();
    let p = passkey(&nip, &id, 0);
    s.insert_passkey(&p).await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (s, p) = (s.clone(), p.clone());
            tokio::spawn(async move {
                let mut next = p.clone();
                next.credential = format!("counter {i}");
                s.update_passkey(&next, &p.credential).await
            })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => won += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(won, 1);
}

/// A ceremony is taken once, whoever asks, however many at once.
pub async fn ceremonies_are_taken_once(s: DynStore) {
    let key = format!("ceremony-{}", passkey_id());
    assert_eq!(s.take_ceremony(&key).await.unwrap(), None);
    let nip = fresh_nip();
    let c = CeremonyRecord {
        key: key.clone(),
        nip: Some(nip),
        state: "{\"rs\":\"state ñ\"}".into(),
        expires_at: t0() + Duration::minutes(5),
    };
    s.put_ceremony(&c).await.unwrap();
    assert_eq!(s.take_ceremony(&key).await.unwrap(), Some(c.clone()));
    assert_eq!(s.take_ceremony(&key).await.unwrap(), None);
    let anonymous = CeremonyRecord { nip: None, ..c };
    s.put_ceremony(&anonymous).await.unwrap();
    let takes: Vec<_> = (0..8)
        .map(|_| {
            let (s, key) = (s.clone(), key.clone());
            tokio::spawn(async move { s.take_ceremony(&key).await })
        })
        .collect();
    let mut got = Vec::new();
    for t in takes {
        if let Some(c) = t.await.unwrap().unwrap() {
            got.push(c);
        }
    }
    assert_eq!(got, vec![anonymous]);
}

/// Expands to one `#[tokio::test]` per check; `$make` is an async expression giving a
/// `DynStore`.
#[macro_export]
macro_rules! store_conformance_tests {
    ($make:expr) => {
        $crate::store_conformance_tests!(@each $make;
            account_round_trip_and_versions,
            concurrent_updates_one_wins,
            reset_code_replace_attempts_delete,
            parallel_attempts_never_exceed_the_limit,
            complete_reset_is_atomic,
            one_code_twenty_consumers_one_wins,
            sessions,
            login_throttle,
            rate_windows,
            rate_windows_at_once,
            writes_at_once_stand_or_fall_alone,
            audit_appends_sealed_in_place,
            audit_append_and_list,
            renumber_moves_atomically,
            concurrent_renumbers_one_wins,
            rewriting_a_code_changes_nothing_if_it_moved,
            concurrent_failures_after_expiry_all_count,
            officers_round_trip,
            an_email_change_and_its_audit_record_are_one_write,
            email_exceptions,
            batched_account_reads,
            mail_statuses,
            accounts_by_email,
            one_address_one_account,
            accounts_in_pages,
            audit_chain_places,
            audit_heads_are_kept_with_each_append,
            racing_appends_one_place_one_wins,
            an_email_change_with_a_held_audit_place_writes_nothing,
            passkeys_round_trip,
            concurrent_passkey_updates_one_wins,
            ceremonies_are_taken_once
        );
    };
    (@each $make:expr; $($name:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let store: $crate::DynStore = $make.await;
                $crate::conformance::$name(store).await;
            }
        )*
    };
}
