//! The Lambda handlers wired exactly as their `main`s wire them, over DynamoDB (moto) and SES
//! (aws-ses-v2-local), both through the AWS SDK.

use sapk_core::ports::stores::*;
use sapk_core::staff::Operator;
use sapk_e2e::aws::*;
use sapk_e2e::proxy::Proxy;
use sapk_e2e::verify_chain;
use sapk_http::Api;
use serde_json::json;
use serde_json::Value;

const PW: &str = "Sungai-Kapuas-Senja-58";
const PW2: &str = "Perahu-Layar-Biru-42";

#[tokio::test]
async fn forgot_reset_login_session_second_reset_on_dynamodb_and_ses() {
    whole_flow_on_dynamodb("198507152010012004", "rina").await;
}

#[tokio::test]
async fn the_whole_flow_works_for_an_ni_pppk_on_dynamodb() {
    whole_flow_on_dynamodb("199009132025242014", "ayu").await;
}

async fn whole_flow_on_dynamodb(nip: &str, who: &str) {
    let tables = fresh_tables(&dynamodb_url()).await;
    let f = functions(&dynamodb_url(), &function_env(&tables)).await;
    let email = format!("{who}.{}@example.go.id", std::process::id());
    seed(&f.service, nip, &email).await;

    let (s, body, _) = f.post_forgot(nip).await;
    assert_eq!(s, 202, "{body}");
    let code = ses_code_for(&email).await.expect("code mailed through SES");
    let (s, body, _) = f.post_reset(nip, &code, PW).await;
    assert_eq!(s, 200, "{body}");
    let (s, body, _) = f.post_login(nip, PW).await;
    assert_eq!(s, 200, "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    let (s, body, _) = invoke(&f.login, "GET", "/v1/session", None, Some(&token)).await;
    assert_eq!((s, body["nip"].as_str()), (200, Some(nip)));

    // Second reset revokes the session.
    f.post_forgot(nip).await;
    let code2 = ses_code_for(&email).await.unwrap();
    assert_ne!(code, code2);
    let (s, _, _) = f.post_reset(nip, &code2, PW2).await;
    assert_eq!(s, 200);
    let (s, body, _) = invoke(&f.login, "GET", "/v1/session", None, Some(&token)).await;
    assert_eq!((s, body["code"].as_str()), (401, Some("unauthorized")));
    // Used code, wrong function for the route.
    let (s, body, _) = f.post_reset(nip, &code2, PW).await;
    assert_eq!((s, body["code"].as_str()), (400, Some("invalid_token")));
    let (s, _, _) = invoke(
        &f.forgot,
        "POST",
        "/v1/login",
        Some(json!({ "nip": nip, "password": PW2 })),
        None,
    )
    .await;
    assert_eq!(s, 404);
    // The login function also serves a signed-in password change, on DynamoDB.
    let (s, body, _) = f.post_login(nip, PW2).await;
    assert_eq!(s, 200, "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    let (s, body, _) = invoke(
        &f.login,
        "POST",
        "/v1/password/change",
        Some(json!({ "current_password": PW2, "new_password": PW })),
        Some(&token),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let renewed = body["access_token"].as_str().unwrap().to_owned();
    let (s, _, _) = invoke(&f.login, "GET", "/v1/session", None, Some(&renewed)).await;
    assert_eq!(s, 200);
    // Mail: two codes and three "password changed" notices.
    assert_eq!(ses_mail_for(&email).await.len(), 5);
    // The audit trail is in DynamoDB.
    let n = sapk_core::Nip::from_stored(nip).unwrap();
    let events = f.service.store().list_audit(&n, 20).await.unwrap();
    assert!(events.iter().any(|e| e.action == "reset"
        && e.outcome == "succeeded"
        && e.source_ip.as_deref() == Some("203.0.113.10")));
}

#[tokio::test]
async fn store_unreachable_mid_run_gives_503_and_no_half_done_reset() {
    let moto: std::net::SocketAddr = dynamodb_url()
        .trim_start_matches("http://")
        .parse()
        .expect("moto address");
    let proxy = Proxy::start(moto).await;
    let tables = fresh_tables(&dynamodb_url()).await;
    let f = functions(&proxy.url(), &function_env(&tables)).await;
    let nip = "199203242015032001";
    let email = format!("dewi.{}@example.go.id", std::process::id());
    seed(&f.service, nip, &email).await;
    f.post_forgot(nip).await;
    let code = ses_code_for(&email).await.expect("code");

    // A direct view of the tables, not through the proxy.
    let direct = sapk_aws::DynamoStore::new(
        sapk_aws::dynamodb_client(&sapk_aws::local_sdk_config(&dynamodb_url()).await),
        tables.clone(),
    );
    let n = sapk_core::Nip::from_stored(nip).unwrap();
    let before = direct.get_account(&n).await.unwrap().unwrap();

    proxy.set_up(false);
    for (api, path, body) in [
        (
            &f.reset,
            "/v1/password/reset",
            json!({ "nip": nip, "token": code, "new_password": PW }),
        ),
        (&f.forgot, "/v1/password/forgot", json!({ "nip": nip })),
        (&f.login, "/v1/login", json!({ "nip": nip, "password": PW })),
    ] {
        let (s, body, retry) = invoke(api, "POST", path, Some(body), None).await;
        assert_eq!(
            (s, body["code"].as_str()),
            (503, Some("unavailable")),
            "{path}"
        );
        assert_eq!(retry.as_deref(), Some("5"));
    }
    assert_eq!(
        direct.get_account(&n).await.unwrap().unwrap(),
        before,
        "nothing written"
    );
    let rec = direct
        .get_reset_code(&n)
        .await
        .unwrap()
        .expect("code still there");
    assert_eq!(rec.attempts_left, 5, "no try taken");

    proxy.set_up(true);
    let (s, body, _) = f.post_reset(nip, &code, PW).await;
    assert_eq!(s, 200, "{body}");
    let (s, _, _) = f.post_login(nip, PW).await;
    assert_eq!(s, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_resets_on_dynamodb_one_wins() {
    let tables = fresh_tables(&dynamodb_url()).await;
    let mut env = function_env(&tables);
    env.insert("SAPK_LIMIT_RESET_NIP".into(), "1000/900".into());
    env.insert("SAPK_LIMIT_RESET_IP".into(), "1000/900".into());
    env.insert("SAPK_LIMIT_RESET_NIP_IP".into(), "1000/900".into());
    let f = std::sync::Arc::new(functions(&dynamodb_url(), &env).await);
    let nip = "198811302014021003";
    let email = format!("agus.{}@example.go.id", std::process::id());
    seed(&f.service, nip, &email).await;
    f.post_forgot(nip).await;
    let code = ses_code_for(&email).await.unwrap();
    // Twenty threads released together by a barrier.
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(20));
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (f, code, barrier) = (f.clone(), code.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            invoke(&f.reset, "POST", "/v1/password/reset", Some(json!({ "nip": nip, "token": code, "new_password": format!("Perahu-Layar-Biru-{i}") })), None).await.0
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 400),
        "{statuses:?}"
    );
    // Each of the nineteen losers lost the race in one of its places, and says which: the code
    // gone before it looked (`no_code`; `code_superseded` when it read the code before the
    // winner's write and the account after it), the code's five tries (`no_tries_left`) or the
    // atomic write (`code_already_used`, at most four: five tries, one winner).
    let reasons = sapk_e2e::reset_failure_reasons(f.service.store().as_ref(), nip).await;
    assert_eq!(reasons.len(), 19, "{reasons:?}");
    assert!(
        reasons.iter().all(|r| [
            "no_code",
            "code_superseded",
            "no_tries_left",
            "code_already_used"
        ]
        .contains(&r.as_str())),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().filter(|r| *r == "code_already_used").count() <= 4,
        "at most five took a try: {reasons:?}"
    );
    // Twenty audit appends raced for the NIP's chain on DynamoDB: all landed, in order.
    let report = verify_chain(&f.service, nip).await;
    assert!(report.intact(), "{report:?}");
    assert!(report.last_seq.unwrap_or(0) >= 21, "{report:?}");
    assert_eq!(report.last_seq, Some(report.records as u64));
}

#[tokio::test]
async fn an_account_carried_to_its_new_number_on_dynamodb() {
    let tables = fresh_tables(&dynamodb_url()).await;
    let f = functions(&dynamodb_url(), &function_env(&tables)).await;
    let (old, new) = ("199203142022211001", "199203142027031001");
    let email = format!("andi.{}@example.go.id", std::process::id());
    seed(&f.service, old, &email).await;
    let login = |nip: &'static str| {
        let f = &f;
        async move { f.post_login(nip, PW).await }
    };
    let token = f.activate(old, &email, PW).await;

    // A PPPK appointed PNS: the new NIP says TMT CPNS March 2027.
    let op = Operator {
        id: "admin-data".into(),
        office: "BKN-PUSAT".into(),
        officer_id: None,
        scope: None,
        office_name: None,
    };
    let r = f
        .service
        .staff()
        .renumber_employee(
            old,
            new,
            sapk_core::staff::RenumberReason::PppkToPns,
            &op,
            sapk_core::Lang::Id,
        )
        .await
        .expect("renumbered");
    assert_eq!(r.notified, Some(true));
    let (s, _, _) = invoke(&f.login, "GET", "/v1/session", None, Some(&token)).await;
    assert_eq!(s, 401, "sessions of the old number end");
    let (s, body, _) = login(old).await;
    assert_eq!(
        (s, body["code"].as_str()),
        (401, Some("invalid_credentials"))
    );
    let (s, _, _) = login(new).await;
    assert_eq!(s, 200, "the password came along");
    let mails = ses_mail_for(&email).await;
    assert!(
        mails
            .iter()
            .any(|m| m["subject"] == "Nomor akun SAPK Anda telah berubah"),
        "{mails:?}"
    );
    let store = f.service.store();
    let old_nip = sapk_core::Nip::from_stored(old).unwrap();
    assert!(store.get_account(&old_nip).await.unwrap().is_none());
    let events = store.list_audit(&old_nip, 20).await.unwrap();
    assert!(events
        .iter()
        .any(|e| e.action == "account_renumber" && e.outcome == "moved_out"));
}

/// Sends an operation's first attempt to a closed port: the SDK sees a refused connection,
/// a transient failure, and tries again against moto.
#[derive(Debug, Clone, Default)]
struct FirstAttemptRefused {
    attempts: std::sync::Arc<std::sync::atomic::AtomicU32>,
}

impl sapk_aws::aws_sdk_dynamodb::config::Intercept for FirstAttemptRefused {
    fn name(&self) -> &'static str {
        "FirstAttemptRefused"
    }

    fn modify_before_transmit(
        &self,
        ctx: &mut sapk_aws::aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextMut<'_>,
        _rc: &sapk_aws::aws_sdk_dynamodb::config::RuntimeComponents,
        _cfg: &mut sapk_aws::aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let n = self
            .attempts
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if n == 0 {
            // Port 9 (discard) has no listener on the test machine's loopback.
            ctx.request_mut().set_uri("http://127.0.0.1:9/")?;
        }
        Ok(())
    }
}

#[tokio::test]
async fn an_sdk_retry_is_counted_as_the_one_call_it_is() {
    let refused = FirstAttemptRefused::default();
    let calls = DynamoCalls::default();
    let sdk = sapk_aws::local_sdk_config(&dynamodb_url()).await;
    let cfg = sapk_aws::dynamodb_config(&sdk)
        .interceptor(calls.clone())
        .interceptor(refused.clone());
    let client = sapk_aws::aws_sdk_dynamodb::Client::from_conf(cfg.build());
    client
        .list_tables()
        .send()
        .await
        .expect("answered on the retry");
    assert_eq!(
        refused.attempts.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "one refused attempt, one answered"
    );
    assert_eq!(calls.take_sorted(), ["ListTables"]);
    assert_eq!(calls.take_timeline().len(), 1);
}

/// The NIPs of five account states the same-work tests compare: an active account with a
/// live code, one never activated, one without e-mail, an unknown NIP, and an unknown NIP
/// that asked for a code.
async fn account_states(f: &Functions, tag: &str) -> [&'static str; 5] {
    let pid = std::process::id();
    let (active, fresh, no_mail) = (
        "198609262015051001",
        "199009132025242014",
        "199001012020122003",
    );
    let (unknown, unknown_asked) = ("197512312000121009", "198811302014021003");
    let active_mail = format!("budi.{tag}.{pid}@example.go.id");
    seed(&f.service, active, &active_mail).await;
    seed(&f.service, fresh, &format!("ayu.{tag}.{pid}@example.go.id")).await;
    seed(&f.service, no_mail, "").await;
    f.post_forgot(active).await;
    let code = ses_code_for(&active_mail).await.expect("code");
    f.post_reset(active, &code, PW).await;
    f.post_forgot(active).await;
    f.post_forgot(unknown_asked).await;
    [active, fresh, no_mail, unknown, unknown_asked]
}

/// The functions on fresh tables, with their DynamoDB calls logged.
async fn counted_functions() -> (DynamoCalls, Functions) {
    let tables = fresh_tables(&dynamodb_url()).await;
    let calls = DynamoCalls::default();
    let f = functions_counted(&dynamodb_url(), &function_env(&tables), Some(calls.clone())).await;
    (calls, f)
}

#[tokio::test]
async fn every_account_state_sends_the_same_dynamodb_calls() {
    let (calls, f) = counted_functions().await;
    let all = account_states(&f, "count").await;
    let post = |api: &'static str, nip: &'static str| {
        let f = &f;
        async move {
            let (api, path, body) = match api {
                "forgot" => (&f.forgot, "/v1/password/forgot", json!({ "nip": nip })),
                "reset" => (
                    &f.reset,
                    "/v1/password/reset",
                    json!({ "nip": nip, "token": "AAAA-AAAA", "new_password": PW2 }),
                ),
                _ => (
                    &f.login,
                    "/v1/login",
                    json!({ "nip": nip, "password": "Wrong-Password-1" }),
                ),
            };
            invoke(api, "POST", path, Some(body), None).await
        }
    };
    for route in ["reset", "login", "forgot"] {
        let mut seen = Vec::new();
        for nip in all {
            calls.take_sorted();
            post(route, nip).await;
            seen.push(calls.take_sorted());
        }
        assert!(seen.iter().all(|c| *c == seen[0]), "{route}: {seen:#?}");
        assert!(!seen[0].is_empty());
    }
}

/// The same as the endpoint sees it: every HTTP request reaching DynamoDB (SDK retries
/// included), counted by a relay in front of the stand-in. Each (route, state) is sent three
/// times and the fewest requests taken: a transient retry only ever adds one, while a
/// request that depends on the account's state shows in every repetition.
#[tokio::test]
async fn every_account_state_sends_the_same_requests_at_the_wire() {
    let wire = WireCounter::start(&dynamodb_url()).await;
    let tables = fresh_tables(&dynamodb_url()).await;
    let f = functions_counted(&wire.url, &function_env(&tables), None).await;
    let all = account_states(&f, "wire").await;
    for route in ["reset", "login", "forgot"] {
        let mut seen = Vec::new();
        for nip in all {
            let mut fewest: Option<Vec<String>> = None;
            for _ in 0..3 {
                wire.take_sorted();
                match route {
                    "reset" => f.post_reset(nip, "AAAA-AAAA", PW2).await,
                    "login" => f.post_login(nip, "Wrong-Password-1").await,
                    _ => f.post_forgot(nip).await,
                };
                let got = wire.take_sorted();
                if fewest.as_ref().is_none_or(|f| got.len() < f.len()) {
                    fewest = Some(got);
                }
            }
            seen.push((nip, fewest.unwrap_or_default()));
        }
        eprintln!(
            "{route}: {:?}",
            seen.iter().map(|(n, c)| (n, c.len())).collect::<Vec<_>>()
        );
        assert!(
            seen.iter().all(|(_, c)| *c == seen[0].1),
            "{route}: {seen:#?}"
        );
        assert!(!seen[0].1.is_empty());
    }
}

/// What each route waits for on DynamoDB: at most three round trips one after another (the
/// rest go at once), the same for every account state. The counts and depths are printed
/// for docs/performance.md's latency model.
#[tokio::test]
async fn each_route_waits_for_at_most_three_dynamodb_round_trips() {
    let (calls, f) = counted_functions().await;
    let pid = std::process::id();
    let (active, unknown) = ("198609262015051001", "197512312000121009");
    let mail = format!("budi.depth.{pid}@example.go.id");
    seed(&f.service, active, &mail).await;
    let forgot = |nip: &'static str| f.post_forgot(nip);
    forgot(active).await;
    let code = ses_code_for(&mail).await.expect("code");
    calls.take_timeline();
    // A reset with the right code (the longest reset), logins right and wrong, a forgot
    // within the cooldown, one for an unknown NIP, a wrong code.
    let steps: [(&str, &Api, &str, Value, u16); 7] = [
        (
            "reset, right code",
            &f.reset,
            "/v1/password/reset",
            json!({ "nip": active, "token": code, "new_password": PW }),
            200,
        ),
        (
            "login, right password",
            &f.login,
            "/v1/login",
            json!({ "nip": active, "password": PW }),
            200,
        ),
        (
            "login, wrong password",
            &f.login,
            "/v1/login",
            json!({ "nip": active, "password": "Wrong-Password-1" }),
            401,
        ),
        (
            "login, unknown NIP",
            &f.login,
            "/v1/login",
            json!({ "nip": unknown, "password": PW }),
            401,
        ),
        (
            "forgot, account with e-mail",
            &f.forgot,
            "/v1/password/forgot",
            json!({ "nip": active }),
            202,
        ),
        (
            "forgot, unknown NIP",
            &f.forgot,
            "/v1/password/forgot",
            json!({ "nip": unknown }),
            202,
        ),
        (
            "reset, wrong code",
            &f.reset,
            "/v1/password/reset",
            json!({ "nip": unknown, "token": "AAAA-AAAA", "new_password": PW2 }),
            400,
        ),
    ];
    for (what, api, path, body, want) in steps {
        let (status, answer, _) = invoke(api, "POST", path, Some(body), None).await;
        assert_eq!(status, want, "{what}: {answer}");
        let timeline = calls.take_timeline();
        let depth = sequential_depth(&timeline);
        let ops: Vec<&str> = timeline.iter().map(|c| c.0.as_str()).collect();
        println!(
            "{what}: {} calls, {depth} one after another: {ops:?}",
            timeline.len()
        );
        assert!(
            depth <= 3,
            "{what}: {depth} round trips one after another: {ops:?}"
        );
        assert!(
            depth >= 2,
            "{what}: the depth measure sees the request's calls"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_logins_on_dynamodb_cannot_exceed_the_failure_budget() {
    let tables = fresh_tables(&dynamodb_url()).await;
    let mut env = function_env(&tables);
    env.insert("SAPK_LIMIT_LOGIN_NIP_IP".into(), "1000/900".into());
    let f = std::sync::Arc::new(functions(&dynamodb_url(), &env).await);
    let nip = "199203142022211001";
    seed(
        &f.service,
        nip,
        &format!("par.{}@example.go.id", std::process::id()),
    )
    .await;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(20));
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (f, barrier) = (f.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let (s, _, _) = f.post_login(nip, "Wrong-Password-1").await;
            s
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let wrong = statuses.iter().filter(|&&s| s == 401).count();
    let locked = statuses.iter().filter(|&&s| s == 429).count();
    assert_eq!(wrong + locked, 20, "{statuses:?}");
    assert!(wrong <= 5, "{wrong} wrong passwords judged: {statuses:?}");
    assert!(wrong >= 1, "{statuses:?}");
}

/// On DynamoDB as on SQLite: failures from many addresses lock each address out after five,
/// add up to the per-NIP ceiling (then the NIP is locked for everyone), and until then the
/// owner at another address is not locked out.
#[tokio::test]
async fn lock_out_on_dynamodb_from_several_addresses() {
    let tables = fresh_tables(&dynamodb_url()).await;
    let mut env = function_env(&tables);
    env.insert("SAPK_LIMIT_LOGIN_NIP_IP".into(), "1000/900".into());
    env.insert("SAPK_LIMIT_LOGIN_NIP".into(), "1000/900".into());
    env.insert("SAPK_LOCKOUT_NIP_CEILING".into(), "12".into());
    let f = functions(&dynamodb_url(), &env).await;
    let nip = "199203142022211001";
    let email = format!("lock.{}@example.go.id", std::process::id());
    let _ = activated_with_a_code(&f, nip, &email).await;
    let login_from = |ip: &'static str, pw: &'static str| {
        let f = &f;
        async move {
            let body = json!({ "nip": nip, "password": pw });
            invoke_from(&f.login, ip, "POST", "/v1/login", Some(body), None)
                .await
                .0
        }
    };
    // Two attacker addresses, six wrong passwords each: five judged, then locked.
    for ip in ["198.51.100.1", "198.51.100.2"] {
        let mut statuses = Vec::new();
        for _ in 0..6 {
            statuses.push(login_from(ip, "Wrong-Password-1").await);
        }
        assert_eq!(statuses, [401, 401, 401, 401, 401, 429], "{ip}");
        // Locked for the right password too, from that address.
        assert_eq!(login_from(ip, PW).await, 429, "{ip}");
    }
    // The owner elsewhere is not locked out (and a completed login clears the counts).
    assert_eq!(login_from("192.0.2.20", PW).await, 200);
    // A third address reaches the per-NIP ceiling of 12: then the NIP is locked everywhere.
    let mut statuses = Vec::new();
    for i in 0..14 {
        let ip: &'static str = Box::leak(format!("198.51.100.{}", 10 + i).into_boxed_str());
        statuses.push(login_from(ip, "Wrong-Password-1").await);
    }
    assert!(statuses.contains(&429), "the ceiling locks: {statuses:?}");
    assert_eq!(
        login_from("192.0.2.21", PW).await,
        429,
        "locked for everyone"
    );
}

/// Activates `nip` through the functions and leaves a fresh code in `email`'s inbox; returns
/// (session token, code).
async fn activated_with_a_code(f: &Functions, nip: &str, email: &str) -> (String, String) {
    seed(&f.service, nip, email).await;
    let forgot = || f.post_forgot(nip);
    forgot().await;
    let code = ses_code_for(email).await.expect("code");
    let (s, _, _) = f.post_reset(nip, &code, PW).await;
    assert_eq!(s, 200);
    let (_, body, _) = f.post_login(nip, PW).await;
    let token = body["access_token"].as_str().expect("token").to_owned();
    forgot().await;
    let code2 = ses_code_for(email).await.expect("second code");
    assert_ne!(code, code2);
    (token, code2)
}

#[tokio::test]
async fn the_reset_transaction_lost_before_or_after_dynamodb_leaves_nothing_half_done() {
    for after_commit in [false, true] {
        let tables = fresh_tables(&dynamodb_url()).await;
        let fault = DynamoFault::new("TransactWriteItems", after_commit);
        let f = functions_intercepted(
            &dynamodb_url(),
            &function_env(&tables),
            None,
            Some(fault.clone()),
        )
        .await;
        let nip = "199203242015032001";
        let email = format!("fault.{after_commit}.{}@example.go.id", std::process::id());
        let (token, code) = activated_with_a_code(&f, nip, &email).await;
        let n = sapk_core::Nip::from_stored(nip).unwrap();
        let before = f.service.store().get_account(&n).await.unwrap().unwrap();

        // The try is taken, then the one atomic write fails.
        fault.arm(true);
        let (s, body, retry) = f.post_reset(nip, &code, PW2).await;
        fault.arm(false);
        assert_eq!(
            (s, body["code"].as_str()),
            (503, Some("unavailable")),
            "{body}"
        );
        assert_eq!(retry.as_deref(), Some("5"));
        let after = f.service.store().get_account(&n).await.unwrap().unwrap();
        let (session, _, _) = invoke(&f.login, "GET", "/v1/session", None, Some(&token)).await;
        let again = f.post_reset(nip, &code, PW2).await;
        let login_new = f.post_login(nip, PW2).await;
        if after_commit {
            // All of it happened: new password, sessions ended, code used.
            assert_eq!(after.version, before.version + 1);
            assert_eq!(session, 401);
            assert_eq!(
                (again.0, again.1["code"].as_str()),
                (400, Some("invalid_token"))
            );
        } else {
            // None of it happened; the same code still works.
            assert_eq!(after, before);
            assert_eq!(session, 200);
            assert_eq!(again.0, 200, "{}", again.1);
        }
        assert_eq!(login_new.0, 200, "after_commit={after_commit}");
    }
}

/// The (action, resource) pairs a function's policy in `infra/template.yaml` allows: a
/// table's logical id, or `Logical/index/name` for one of its indexes (a grant on a table is
/// not one on its indexes, nor the other way round).
fn allowed_by_template(function: &str) -> std::collections::BTreeSet<(String, String)> {
    use serde_norway::Value as Y;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/template.yaml");
    let t: Y = serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut out = std::collections::BTreeSet::new();
    // Each function has a role of its own (`Role: !GetAtt <Function>Role.Arn`).
    let role = match &t["Resources"][function]["Properties"]["Role"] {
        Y::Tagged(tag) if tag.tag == "!GetAtt" => tag
            .value
            .as_str()
            .and_then(|s| s.strip_suffix(".Arn"))
            .expect("a role's ARN")
            .to_owned(),
        other => panic!("{function}: Role is {other:?}"),
    };
    for policy in t["Resources"][role.as_str()]["Properties"]["Policies"]
        .as_sequence()
        .unwrap()
    {
        for st in policy["PolicyDocument"]["Statement"].as_sequence().unwrap() {
            if st["Effect"] != "Allow" {
                continue;
            }
            let target = match &st["Resource"] {
                Y::Tagged(tag) if tag.tag == "!GetAtt" => tag
                    .value
                    .as_str()
                    .and_then(|s| s.strip_suffix(".Arn"))
                    .map(str::to_owned),
                // `${AccountsTable.Arn}/index/email`: that index alone.
                Y::Tagged(tag) if tag.tag == "!Sub" => tag
                    .value
                    .as_str()
                    .and_then(|s| s.strip_prefix("${"))
                    .and_then(|s| s.split_once(".Arn}/index/"))
                    .map(|(t, i)| format!("{t}/index/{i}")),
                _ => None,
            };
            let Some(target) = target else { continue };
            for a in st["Action"].as_sequence().unwrap() {
                out.insert((a.as_str().unwrap().to_owned(), target.clone()));
            }
        }
    }
    out
}

#[tokio::test]
async fn every_dynamodb_action_a_function_takes_is_in_its_policy() {
    let tables = fresh_tables(&dynamodb_url()).await;
    let calls = DynamoCalls::default();
    let mut env = function_env(&tables);
    env.insert("SAPK_FORGOT_COOLDOWN_SECONDS".into(), "60".into());
    let f = functions_counted(&dynamodb_url(), &env, Some(calls.clone())).await;
    let table_logical = |name: &str| {
        if name == tables.accounts {
            "AccountsTable"
        } else if name == tables.ephemeral {
            "EphemeralTable"
        } else if name == tables.audit {
            "AuditTable"
        } else if name == tables.staff {
            "StaffTable"
        } else {
            panic!("unknown table {name}")
        }
    };
    let logical = |name: &str| -> String {
        match name.split_once("/index/") {
            Some((table, index)) => format!("{}/index/{index}", table_logical(table)),
            None => table_logical(name).to_owned(),
        }
    };
    let nip = "199203142022211001";
    let email = format!("policy.{}@example.go.id", std::process::id());
    seed(&f.service, nip, &email).await;
    seed(&f.service, "199001012020122003", "").await;
    calls.take_actions();
    let post = |api: &'static str, path: &'static str, body: serde_json::Value| {
        let f = &f;
        async move {
            let api = match api {
                "forgot" => &f.forgot,
                "reset" => &f.reset,
                _ => &f.login,
            };
            invoke(api, "POST", path, Some(body), None).await
        }
    };
    // forgot: a code, the cooldown, an unknown NIP, an account without e-mail.
    for n in [nip, nip, "197512312000121009", "199001012020122003"] {
        post("forgot", "/v1/password/forgot", json!({ "nip": n })).await;
    }
    let forgot_used = calls.take_actions();
    let code = ses_code_for(&email).await.expect("code");
    // reset: a wrong code, then the right one.
    post(
        "reset",
        "/v1/password/reset",
        json!({ "nip": nip, "token": "AAAA-AAAA", "new_password": PW }),
    )
    .await;
    let (s, _, _) = post(
        "reset",
        "/v1/password/reset",
        json!({ "nip": nip, "token": code, "new_password": PW }),
    )
    .await;
    assert_eq!(s, 200);
    let reset_used = calls.take_actions();
    // login: a failure, a success, the session, logout.
    post(
        "login",
        "/v1/login",
        json!({ "nip": nip, "password": "Wrong-Password-1" }),
    )
    .await;
    let (_, body, _) = post("login", "/v1/login", json!({ "nip": nip, "password": PW })).await;
    let token = body["access_token"].as_str().unwrap().to_owned();
    invoke(&f.login, "GET", "/v1/session", None, Some(&token)).await;
    invoke(&f.login, "POST", "/v1/logout", None, Some(&token)).await;
    // Two-step login on DynamoDB, served by the login function: set-up and confirmation,
    // then a second step with a recovery code and one with the app's code (single-use
    // challenges, no code twice).
    let (_, body, _) = post("login", "/v1/login", json!({ "nip": nip, "password": PW })).await;
    let token = body["access_token"].as_str().unwrap().to_owned();
    let (s, body, _) = invoke(
        &f.login,
        "POST",
        "/v1/account/second-factor",
        Some(json!({ "current_password": PW })),
        Some(&token),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let uri = body["otpauth_uri"].as_str().unwrap().to_owned();
    let now = chrono::Utc::now();
    let (s, body, _) = invoke(
        &f.login,
        "POST",
        "/v1/account/second-factor/confirm",
        Some(json!({ "code": sapk_e2e::totp_code(&uri, now) })),
        Some(&token),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let recovery = body["recovery_codes"][0].as_str().unwrap().to_owned();
    for code in [
        recovery,
        sapk_e2e::totp_code(&uri, now + chrono::Duration::seconds(30)),
    ] {
        let (_, body, _) = post("login", "/v1/login", json!({ "nip": nip, "password": PW })).await;
        let challenge = body["challenge"].as_str().expect("a challenge").to_owned();
        let step = json!({ "challenge": challenge, "code": code });
        let (s, body, _) = post("login", "/v1/login/second-factor", step.clone()).await;
        assert_eq!(s, 200, "{body}");
        assert!(body["access_token"].is_string());
        let (s, body, _) = post("login", "/v1/login/second-factor", step).await;
        assert_eq!((s, body["code"].as_str()), (401, Some("invalid_challenge")));
    }
    let login_used = calls.take_actions();

    // staff: a registered BKN officer looks up, changes the e-mail after the check, unlocks,
    // ends sessions, reads the trail; and an unregistered caller is refused.
    let officer =
        "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_CounterStaff_1/andi@bkn.go.id";
    register_bkn_officer(&f.service, officer).await;
    calls.take_actions();
    let base = format!("/v1/staff/employees/{nip}");
    let (s, o) = invoke_staff(&f.staff, "GET", &base, None, officer).await;
    assert_eq!(s, 200, "{o}");
    let (s, body) = invoke_staff(
        &f.staff,
        "POST",
        &format!("{base}/email"),
        Some(json!({
            "new_email": format!("policy.baru.{}@example.go.id", std::process::id()),
            "nik": "3174051403920001",
            "documents": [{ "kind": "ktp" }],
            "person_confirmed": true,
            "if_version": o["version"],
        })),
        officer,
    )
    .await;
    assert_eq!(s, 200, "{body}");
    // The lost authenticator, removed after the same identity check (then nothing is left).
    let remove_path = format!("{base}/second-factor/remove");
    let remove = || {
        invoke_staff(
            &f.staff,
            "POST",
            &remove_path,
            Some(json!({
                "nik": "3174051403920001",
                "documents": [{ "kind": "ktp" }],
                "person_confirmed": true,
            })),
            officer,
        )
    };
    let (s, body) = remove().await;
    assert_eq!(
        (s, &body["outcome"]["was_active"]),
        (200, &json!(true)),
        "{body}"
    );
    let (s, body) = remove().await;
    assert_eq!(
        (s, body["code"].as_str()),
        (409, Some("no_second_factor")),
        "{body}"
    );
    for (method, path) in [
        ("POST", format!("{base}/unlock")),
        ("POST", format!("{base}/sessions/revoke")),
        ("GET", format!("{base}/audit")),
    ] {
        let (s, body) = invoke_staff(&f.staff, method, &path, None, officer).await;
        assert_eq!(s, 200, "{path}: {body}");
    }
    let (s, _) = invoke_staff(
        &f.staff,
        "GET",
        &base,
        None,
        "arn:aws:sts::1:assumed-role/x/eve",
    )
    .await;
    assert_eq!(s, 403);
    let staff_used = calls.take_actions();

    // The audit table is only appended to: every write any function sent it is a put that
    // the table refuses if the record's place is taken (no overwrite, update or delete).
    let writes = calls.take_writes();
    let audit_writes: Vec<_> = writes.iter().filter(|w| w.1 == tables.audit).collect();
    assert!(!audit_writes.is_empty(), "the flows appended audit records");
    for (action, _, condition) in &audit_writes {
        assert_eq!(action, "dynamodb:PutItem", "{audit_writes:?}");
        assert!(
            condition
                .as_deref()
                .is_some_and(|c| c.starts_with("attribute_not_exists(")),
            "an audit write that may overwrite: {audit_writes:?}"
        );
    }

    for (function, used) in [
        ("ForgotFunction", forgot_used),
        ("ResetFunction", reset_used),
        ("LoginFunction", login_used),
        ("StaffFunction", staff_used),
    ] {
        assert!(!used.is_empty());
        let allowed = allowed_by_template(function);
        for (action, table) in used {
            let pair = (action.clone(), logical(&table));
            assert!(
                allowed.contains(&pair),
                "{function} calls {action} on {} but its policy does not allow it",
                pair.1
            );
        }
    }
}

/// Each public function's HttpApi events in `infra/template.yaml` are exactly the routes its
/// binary serves (a route added to one and not the other answers 404 when deployed).
#[test]
fn the_templates_api_routes_are_the_routes_each_function_serves() {
    use serde_norway::Value as Y;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/template.yaml");
    let t: Y = serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for (function, routes) in [
        ("ForgotFunction", sapk_functions::FORGOT_ROUTES),
        ("ResetFunction", sapk_functions::RESET_ROUTES),
        ("LoginFunction", sapk_functions::LOGIN_ROUTES),
    ] {
        let events: std::collections::BTreeSet<(String, String)> = t["Resources"][function]
            ["Properties"]["Events"]
            .as_mapping()
            .unwrap_or_else(|| panic!("{function} has events"))
            .values()
            .filter(|e| e["Type"] == "HttpApi")
            .map(|e| {
                let p = &e["Properties"];
                (
                    p["Method"].as_str().unwrap().to_owned(),
                    p["Path"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let served: std::collections::BTreeSet<(String, String)> = routes
            .iter()
            .map(|r| (r.method.as_str().to_owned(), r.path.to_owned()))
            .collect();
        assert_eq!(events, served, "{function}");
    }
}

/// CloudFront serves the page with the headers `sapk-local` serves it with
/// (`sapk_web::SECURITY_HEADERS`), and sends `/v1/*` to the API and the rest to the page.
#[test]
fn the_edge_serves_the_page_as_the_local_server_does() {
    use serde_norway::Value as Y;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/edge.yaml");
    let t: Y = serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let policy = &t["Resources"]["PageHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"];
    let security = &policy["SecurityHeadersConfig"];
    let mut edge = std::collections::BTreeMap::new();
    let mut put = |name: &str, value: &str| {
        edge.insert(name.to_ascii_lowercase(), value.to_owned());
    };
    put(
        "content-security-policy",
        security["ContentSecurityPolicy"]["ContentSecurityPolicy"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(security["ContentTypeOptions"]["Override"], true);
    put("x-content-type-options", "nosniff");
    put(
        "x-frame-options",
        security["FrameOptions"]["FrameOption"].as_str().unwrap(),
    );
    put(
        "referrer-policy",
        security["ReferrerPolicy"]["ReferrerPolicy"]
            .as_str()
            .unwrap(),
    );
    for h in policy["CustomHeadersConfig"]["Items"]
        .as_sequence()
        .unwrap()
    {
        put(h["Header"].as_str().unwrap(), h["Value"].as_str().unwrap());
    }
    let local: std::collections::BTreeMap<String, String> = sapk_web::SECURITY_HEADERS
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    assert_eq!(edge, local);
    let config = &t["Resources"]["Distribution"]["Properties"]["DistributionConfig"];
    assert_eq!(config["DefaultCacheBehavior"]["TargetOriginId"], "page");
    assert_eq!(config["DefaultRootObject"], "index.html");
    let api: Vec<&Y> = config["CacheBehaviors"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter(|b| b["PathPattern"] == "/v1/*")
        .collect();
    assert_eq!(api.len(), 1);
    assert_eq!(api[0]["TargetOriginId"], "api");
}

/// The staff function as its `main` wires it (`build_staff`): after an officer changes an
/// e-mail, SES is asked to take the new address off the account's suppression list (the
/// request is read at the wire; aws-ses-v2-local has no suppression list, so what it answers
/// is not the point), and the old address is not released.
#[tokio::test]
async fn an_officers_email_change_asks_ses_to_release_the_new_address() {
    let tables = fresh_tables(&dynamodb_url()).await;
    let ses = HttpCalls::default();
    let f = functions_recording_ses(&dynamodb_url(), &function_env(&tables), ses.clone()).await;
    let nip = "199203142022211001";
    let run = std::process::id();
    let old = format!("lepas.lama.{run}@example.go.id");
    let new = format!("lepas.baru.{run}@example.go.id");
    seed(&f.service, nip, &old).await;
    let officer =
        "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_CounterStaff_1/andi@bkn.go.id";
    register_bkn_officer(&f.service, officer).await;
    let base = format!("/v1/staff/employees/{nip}");
    let (s, o) = invoke_staff(&f.staff, "GET", &base, None, officer).await;
    assert_eq!(s, 200, "{o}");
    ses.take();
    let (s, body) = invoke_staff(
        &f.staff,
        "POST",
        &format!("{base}/email"),
        Some(json!({
            "new_email": new,
            "nik": "3174051403920001",
            "documents": [{ "kind": "ktp" }],
            "person_confirmed": true,
            "if_version": o["version"],
        })),
        officer,
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let deletes: Vec<String> = ses
        .take()
        .into_iter()
        .filter(|(m, _)| m == "DELETE")
        .map(|(_, p)| p)
        .collect();
    let release = format!(
        "/v2/email/suppression/addresses/{}",
        new.replace('@', "%40")
    );
    assert!(deletes.contains(&release), "{deletes:?}");
    assert!(
        deletes.iter().all(|p| !p.contains("lama")),
        "the old address stays as it is: {deletes:?}"
    );
}

/// The login function as its `main` wires it (`build_api`) with `SAPK_ORIGIN_VERIFY` set, as
/// behind CloudFront: a request carrying the secret is served and its viewer's address counts
/// (in the audit); one without it, or with a guessed one, is refused (403) before anything is
/// recorded, so the API's own domain is no way around the WAF.
#[tokio::test]
async fn behind_cloudfront_the_function_believes_the_viewer_only_with_the_secret() {
    let tables = fresh_tables(&dynamodb_url()).await;
    let mut env = function_env(&tables);
    let secret = "origin-verify-aws-7c1e-0123456789abcdef";
    env.insert("SAPK_ORIGIN_VERIFY".into(), secret.into());
    let f = functions(&dynamodb_url(), &env).await;
    let nip = "199203142022211001";
    seed(
        &f.service,
        nip,
        &format!("tepi.{}@example.go.id", std::process::id()),
    )
    .await;
    let peer = "203.0.113.10";
    let n = sapk_core::Nip::from_stored(nip).unwrap();
    let before = f.service.store().list_audit(&n, 10).await.unwrap().len();
    let mut answers = Vec::new();
    for verify in [Some(secret), Some("guess"), None] {
        let mut event = sapk_http::ApiGatewayV2::new("POST", "/v1/login")
            .source_ip(peer)
            .header("cloudfront-viewer-address", "198.51.100.7:46532")
            .json(&json!({ "nip": nip, "password": "Wrong-Password-123" }));
        if let Some(v) = verify {
            event = event.header("x-origin-verify", v);
        }
        let a = sapk_testkit::events::call(&f.login, &event).await;
        let trail = f.service.store().list_audit(&n, 10).await.unwrap();
        answers.push((a.status, trail.len() - before));
        if a.status == 401 {
            assert_eq!(trail[0].source_ip.as_deref(), Some("198.51.100.7"));
        }
    }
    // Served once (one record, the viewer's address); the two others refused, unrecorded.
    assert_eq!(answers, [(401, 1), (403, 1), (403, 1)]);
}
