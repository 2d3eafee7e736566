//! Passkeys at the API, with a software authenticator (`sapk_e2e::passkey_device`) standing
//! for the phone: added while signed in (password, and the authenticator's code when
//! two-step login is on), then a whole sign-in alone; and refused, each as an attacker would
//! try it: a replayed assertion, a wrong origin, a wrong RP ID, another account's credential
//! under a victim's user handle, no user verification, a late answer, a removed passkey.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sapk_core::ports::stores::*;
use sapk_core::ports::Clock;
use sapk_core::ports::PasskeyRecord;
use sapk_e2e::passkey_device::Device;
use sapk_e2e::*;
use serde_json::{json, Value};

const PAGE: &str = "https://akun.bkn.go.id";
const AYU: &str = "199009132025242014";
const AYU_EMAIL: &str = "ayu.lestari@example.go.id";

async fn passkey_app() -> TestApp {
    app_with(Some(format!("{PAGE}/")), false).await
}

/// The app with its page at `page` (passkeys off without one), two-step login required of
/// everyone when `required`; Budi and Ayu seeded.
async fn app_with(page: Option<String>, required: bool) -> TestApp {
    let mut config = test_config();
    config.help.page_url = page;
    if required {
        config.second_factor_required = sapk_core::config::FactorRequirement::Everyone;
    }
    let app = spawn_app_with(AppOptions {
        config,
        ..AppOptions::default()
    })
    .await;
    app.seed_default().await;
    app.seed(AYU, "Ayu Lestari", AYU_EMAIL).await;
    app
}

/// Adds a passkey made by `device` to the account of `token` (password [`STRONG`], `code`
/// when two-step login is on); the answer.
async fn add(app: &TestApp, token: &str, device: &mut Device, code: Option<&str>) -> Answer {
    let mut body = json!({ "current_password": STRONG });
    if let Some(c) = code {
        body["code"] = json!(c);
    }
    let o = app
        .post_bearer("/v1/account/passkeys/options", token, body)
        .await;
    assert_eq!(o.status, 200, "options: {}", o.json());
    let credential = device.create(&o.json()).await.expect("the device makes it");
    app.post_bearer(
        "/v1/account/passkeys/add",
        token,
        json!({ "credential": credential, "name": "Android (Pixel)" }),
    )
    .await
}

/// A sign-in's options, and the device's assertion for them.
async fn assertion(app: &TestApp, device: &mut Device) -> Value {
    let o = app.post("/v1/login/passkey/options", json!({})).await;
    assert_eq!(o.status, 200, "{}", o.json());
    device.get(&o.json()).await.expect("the device signs")
}

/// `GET /v1/account/passkeys` for the session `token`: the answer's body.
async fn listed(app: &TestApp, token: &str) -> Value {
    let list = app
        .send(
            app.client
                .get(format!("{}/v1/account/passkeys", app.base))
                .bearer_auth(token),
        )
        .await;
    assert_eq!(list.status, 200, "{}", list.json());
    list.json()
}

/// The device's passkey as the answer to the password's `challenge`.
async fn second_step(app: &TestApp, device: &mut Device, challenge: &str) -> Answer {
    let credential = assertion(app, device).await;
    app.post(
        "/v1/login/passkey",
        json!({ "credential": credential, "challenge": challenge }),
    )
    .await
}

async fn sign_in(app: &TestApp, credential: &Value) -> Answer {
    app.post("/v1/login/passkey", json!({ "credential": credential }))
        .await
}

#[tokio::test]
async fn a_passkey_added_while_signed_in_then_signs_in_alone() {
    let app = passkey_app().await;
    let token = app.activate(NIP, EMAIL, STRONG).await;
    // Two-step login on: the password alone does not add a passkey.
    let (uri, _) = app.enrol(&token).await;
    let mut phone = Device::at(PAGE);
    let o = app
        .post_bearer(
            "/v1/account/passkeys/options",
            &token,
            json!({ "current_password": "Wrong-Password-1" }),
        )
        .await;
    assert_eq!(
        (o.status, o.code().as_str()),
        (403, "wrong_current_password")
    );
    let o = app
        .post_bearer(
            "/v1/account/passkeys/options",
            &token,
            json!({ "current_password": STRONG }),
        )
        .await;
    assert_eq!(o.status, 400, "no code: {}", o.json());
    app.clock.advance(chrono::Duration::seconds(31));
    let code = totp_code(&uri, app.clock.now());
    let a = add(&app, &token, &mut phone, Some(&code)).await;
    assert_eq!(a.status, 201, "{}", a.json());
    assert_eq!(a.json()["passkey"]["name"], "Android (Pixel)");
    // The same code does not add another.
    let o = app
        .post_bearer(
            "/v1/account/passkeys/options",
            &token,
            json!({ "current_password": STRONG, "code": code }),
        )
        .await;
    assert_eq!(o.status, 400, "a used code: {}", o.json());
    let list = listed(&app, &token).await;
    assert_eq!(list["passkeys"].as_array().map(Vec::len), Some(1));
    let mails = app.outbox().await;
    assert!(
        mails.iter().any(|m| m.to == EMAIL
            && m.subject == "Passkey baru untuk akun SAPK Anda"
            && m.text.contains("Android (Pixel)")),
        "the owner is told"
    );
    // The user handle is random, never the NIP.
    let nip = sapk_core::Nip::from_stored(NIP).unwrap();
    let stored = app.store.list_passkeys(&nip).await.unwrap();
    assert!(
        !stored[0].user_handle.contains(NIP),
        "{}",
        stored[0].user_handle
    );

    // Signing in: no NIP, no password, no code, though two-step login is on.
    let options = app
        .post("/v1/login/passkey/options", json!({}))
        .await
        .json();
    assert!(
        options["publicKey"].get("allowCredentials").is_none(),
        "{options}"
    );
    assert_eq!(options["publicKey"]["userVerification"], "required");
    let credential = phone.get(&options).await.unwrap();
    let s = sign_in(&app, &credential).await;
    assert_eq!(s.status, 200, "{}", s.json());
    let session = s.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.session(&session).await.status, 200);
    // The same assertion again: refused (its challenge was used).
    let again = sign_in(&app, &credential).await;
    assert_eq!(
        (again.status, again.code().as_str()),
        (401, "invalid_passkey")
    );
    // Recorded, and in the person's activity in words.
    let trail = app.store.list_audit(&nip, 10).await.unwrap();
    assert!(trail
        .iter()
        .any(|e| e.action == "passkey_login" && e.outcome == "succeeded"));
    let activity = app
        .send(
            app.client
                .get(format!("{}/v1/account/activity", app.base))
                .bearer_auth(&session),
        )
        .await;
    assert!(
        activity.json()["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["text"] == "Anda masuk dengan passkey."),
        "{}",
        activity.json()
    );
    // A reset by e-mail code keeps the passkey.
    let (code, _) = app.code_and_a_wrong_one().await;
    assert_eq!(app.reset(NIP, &code, STRONG2).await.status, 200);
    let s = sign_in(&app, &assertion(&app, &mut phone).await).await;
    assert_eq!(s.status, 200, "after a reset: {}", s.json());
}

#[tokio::test]
async fn what_an_attacker_tries_with_passkeys_is_refused() {
    let app = passkey_app().await;
    let budi = app.activate(NIP, EMAIL, STRONG).await;
    let ayu = app.activate(AYU, AYU_EMAIL, STRONG).await;
    let (mut budi_phone, mut ayu_phone) = (Device::at(PAGE), Device::at(PAGE));
    assert_eq!(add(&app, &budi, &mut budi_phone, None).await.status, 201);
    assert_eq!(add(&app, &ayu, &mut ayu_phone, None).await.status, 201);
    let refused = |a: &Answer| (a.status, a.code());
    let invalid = (401, "invalid_passkey".to_owned());

    // A registration made on another origin (a port the page is not on): refused.
    let mut elsewhere = Device::at("https://akun.bkn.go.id:8443");
    let a = add(&app, &budi, &mut elsewhere, None).await;
    assert_eq!(refused(&a), (400, "passkey_refused".to_owned()), "origin");
    // One bound to another RP ID (the parent domain): refused.
    let o = app
        .post_bearer(
            "/v1/account/passkeys/options",
            &budi,
            json!({ "current_password": STRONG }),
        )
        .await;
    let mut options = o.json();
    options["publicKey"]["rp"]["id"] = json!("bkn.go.id");
    let credential = Device::at(PAGE).create(&options).await.unwrap();
    let a = app
        .post_bearer(
            "/v1/account/passkeys/add",
            &budi,
            json!({ "credential": credential }),
        )
        .await;
    assert_eq!(refused(&a), (400, "passkey_refused".to_owned()), "RP ID");
    // A registration answered to another account's ceremony: refused.
    let o = app
        .post_bearer(
            "/v1/account/passkeys/options",
            &budi,
            json!({ "current_password": STRONG }),
        )
        .await;
    let credential = Device::at(PAGE).create(&o.json()).await.unwrap();
    let a = app
        .post_bearer(
            "/v1/account/passkeys/add",
            &ayu,
            json!({ "credential": credential }),
        )
        .await;
    assert_eq!(
        refused(&a),
        (400, "passkey_refused".to_owned()),
        "another's ceremony"
    );

    // Signing in from another origin with Budi's real passkey: refused.
    let good = PAGE.parse().unwrap();
    budi_phone.origin = "https://akun.bkn.go.id:8443".parse().unwrap();
    let a = sign_in(&app, &assertion(&app, &mut budi_phone).await).await;
    assert_eq!(refused(&a), invalid, "origin");
    budi_phone.origin = good;
    // Ayu's own passkey presented under Budi's user handle (not signed by the device):
    // refused, not a session for Budi.
    let budi_nip = sapk_core::Nip::from_stored(NIP).unwrap();
    let handle = app.store.list_passkeys(&budi_nip).await.unwrap()[0]
        .user_handle
        .clone();
    let handle = uuid_bytes(&handle);
    let mut forged = assertion(&app, &mut ayu_phone).await;
    forged["response"]["userHandle"] = json!(URL_SAFE_NO_PAD.encode(handle));
    let a = sign_in(&app, &forged).await;
    assert_eq!(refused(&a), invalid, "another account's credential");
    // Without user verification (the page's script told the authenticator it was not
    // needed, and the screen lock was skipped): refused, the service requires it.
    budi_phone.verify_user(false);
    let mut o = app
        .post("/v1/login/passkey/options", json!({}))
        .await
        .json();
    o["publicKey"]["userVerification"] = json!("discouraged");
    let skipped = budi_phone
        .get(&o)
        .await
        .expect("signed without the screen lock");
    let flags = authenticator_flags(&skipped);
    assert_eq!(
        flags & 0x04,
        0,
        "the assertion says the user was not verified"
    );
    assert_eq!(
        refused(&sign_in(&app, &skipped).await),
        invalid,
        "no user verification"
    );
    budi_phone.verify_user(true);
    // Answered after the challenge's five minutes: refused.
    let o = app
        .post("/v1/login/passkey/options", json!({}))
        .await
        .json();
    let late = budi_phone.get(&o).await.unwrap();
    app.clock.advance(chrono::Duration::minutes(6));
    assert_eq!(refused(&sign_in(&app, &late).await), invalid, "late");
    // Malformed answers: refused alike, nothing else said.
    for junk in [
        json!({}),
        json!({ "response": { "clientDataJSON": "%%%" } }),
    ] {
        assert_eq!(refused(&sign_in(&app, &junk).await), invalid, "{junk}");
    }
    // Budi's passkey removed: it no longer signs in; Ayu's still does.
    let id = app.store.list_passkeys(&budi_nip).await.unwrap()[0]
        .id
        .clone();
    // The lost phone's session (signed in with the passkey) ends with the removal; the
    // owner goes on with the answer's new token.
    let phone_session = sign_in(&app, &assertion(&app, &mut budi_phone).await)
        .await
        .json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = app.token(NIP, STRONG).await;
    let ends_at = app.session(&token).await.json()["expires_at"].clone();
    app.clock.advance(chrono::Duration::hours(1));
    // The phone's session alone (a thief's): no password, nothing removed, no one signed out.
    let r = app
        .post_bearer(
            "/v1/account/passkeys/remove",
            &phone_session,
            json!({ "id": id, "current_password": "Wrong-Password-1" }),
        )
        .await;
    assert_eq!(refused(&r), (403, "wrong_current_password".to_owned()));
    assert_eq!(app.session(&token).await.status, 200, "the owner's");
    let r = app
        .post_bearer(
            "/v1/account/passkeys/remove",
            &token,
            json!({ "id": id, "current_password": STRONG }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json());
    let renewed = r.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.session(&phone_session).await.status, 401, "the phone's");
    assert_eq!(app.session(&token).await.status, 401, "replaced");
    let left = app.session(&renewed).await;
    assert_eq!(left.status, 200);
    assert_eq!(
        left.json()["expires_at"],
        ends_at,
        "no longer than the session it replaced"
    );
    assert_eq!(r.json()["expires_in"], json!(7 * 3600));
    let r = app
        .post_bearer(
            "/v1/account/passkeys/remove",
            &ayu,
            json!({ "id": id, "current_password": STRONG }),
        )
        .await;
    assert_eq!(refused(&r), (404, "unknown_passkey".to_owned()));
    let a = sign_in(&app, &assertion(&app, &mut budi_phone).await).await;
    assert_eq!(refused(&a), invalid, "removed");
    let a = sign_in(&app, &assertion(&app, &mut ayu_phone).await).await;
    assert_eq!(a.status, 200, "{}", a.json());
    // A refused sign-in with a known passkey is in its account's trail: Budi's from the
    // wrong origin, Ayu's under Budi's user handle.
    for (nip, reason) in [(NIP, "not_verified"), (AYU, "user_handle_mismatch")] {
        let trail = app
            .store
            .list_audit(&sapk_core::Nip::from_stored(nip).unwrap(), 50)
            .await
            .unwrap();
        assert!(
            trail.iter().any(|e| e.action == "passkey_login"
                && e.outcome == "failed"
                && e.details["reason"] == reason),
            "{nip}: {reason}"
        );
    }
}

/// The flags byte of an assertion's authenticator data (bit 2: user verified).
fn authenticator_flags(assertion: &Value) -> u8 {
    let data = assertion["response"]["authenticatorData"].as_str().unwrap();
    URL_SAFE_NO_PAD.decode(data).unwrap()[32]
}

fn uuid_bytes(text: &str) -> Vec<u8> {
    let hex: String = text.chars().filter(char::is_ascii_hexdigit).collect();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

fn admin(app: &TestApp, args: &[&str]) -> std::process::Output {
    let out = std::process::Command::new(workspace_bin("sapk-admin"))
        .arg("--data-dir")
        .arg(app.data_dir())
        .args(["--operator", "RINA", "--office", "KANREG-I"])
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("sapk-admin");
    out
}

/// A lost phone: the counter sees the employee's passkeys, and after the in-person check
/// removes them; every session ends, the phone no longer signs in, the owner is told. A
/// wrong NIK removes nothing.
#[tokio::test]
async fn a_lost_phones_passkeys_are_removed_at_the_counter() {
    let app = passkey_app().await;
    let token = app.activate(NIP, EMAIL, STRONG).await;
    let mut phone = Device::at(PAGE);
    assert_eq!(add(&app, &token, &mut phone, None).await.status, 201);
    let text = |o: &std::process::Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    let out = admin(&app, &["employee", "show", NIP]);
    assert!(text(&out).contains("Android (Pixel)"), "{}", text(&out));
    let out = admin(
        &app,
        &[
            "account",
            "remove-passkeys",
            NIP,
            "--nik",
            "3174052709860001",
            "--document",
            "ktp",
            "--yes",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "a wrong NIK: {}", text(&out));
    let nip = sapk_core::Nip::from_stored(NIP).unwrap();
    assert_eq!(app.store.list_passkeys(&nip).await.unwrap().len(), 1);
    let out = admin(
        &app,
        &[
            "--json",
            "account",
            "remove-passkeys",
            NIP,
            "--nik",
            "3174052609860001",
            "--document",
            "ktp",
            "--yes",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let said: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(said["outcome"]["removed"], json!(["Android (Pixel)"]));
    assert_eq!(app.store.list_passkeys(&nip).await.unwrap(), vec![]);
    assert_eq!(app.session(&token).await.status, 401, "sessions ended");
    let a = sign_in(&app, &assertion(&app, &mut phone).await).await;
    assert_eq!((a.status, a.code().as_str()), (401, "invalid_passkey"));
    assert!(app
        .outbox()
        .await
        .iter()
        .any(|m| m.to == EMAIL && m.subject == "Passkey dihapus dari akun SAPK Anda"));
    // Nothing left to remove: said, exit 1.
    let out = admin(
        &app,
        &[
            "--json",
            "account",
            "remove-passkeys",
            NIP,
            "--nik",
            "3174052609860001",
            "--document",
            "ktp",
            "--yes",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["reason"],
        "no_passkey"
    );
}

/// Ten passkeys at most, however many ceremonies were started at once; and a passkey left
/// under a number by an earlier holder (a renumbering that raced its addition) never signs in
/// to the number's next holder.
#[tokio::test]
async fn the_cap_holds_and_a_number_s_next_holder_is_not_signed_in() {
    let app = passkey_app().await;
    let token = app.activate(NIP, EMAIL, STRONG).await;
    for _ in 0..9 {
        assert_eq!(
            add(&app, &token, &mut Device::at(PAGE), None).await.status,
            201
        );
    }
    let start = || async {
        app.post_bearer(
            "/v1/account/passkeys/options",
            &token,
            json!({ "current_password": STRONG }),
        )
        .await
        .json()
    };
    let (first, second) = (start().await, start().await);
    for (options, want) in [(first, 201), (second, 409)] {
        let credential = Device::at(PAGE).create(&options).await.unwrap();
        let a = app
            .post_bearer(
                "/v1/account/passkeys/add",
                &token,
                json!({ "credential": credential }),
            )
            .await;
        assert_eq!(a.status, want, "{}", a.json());
    }

    // Ayu's passkey stays under her old number; the number is later given to someone else.
    let ayu = app.activate(AYU, AYU_EMAIL, STRONG).await;
    let mut phone = Device::at(PAGE);
    assert_eq!(add(&app, &ayu, &mut phone, None).await.status, 201);
    let db = rusqlite::Connection::open(app.data_dir().join("sapk.db")).unwrap();
    db.execute("DELETE FROM accounts WHERE nip = ?1", [AYU])
        .unwrap();
    app.clock.advance(chrono::Duration::minutes(1));
    app.seed(AYU, "Orang Lain", "orang.lain@example.go.id")
        .await;
    let a = sign_in(&app, &assertion(&app, &mut phone).await).await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (401, "invalid_passkey"),
        "{}",
        a.json()
    );
}

/// A passkey as the second step after a password: asked for when the agency requires
/// two-step login and the account has a passkey but no authenticator (the password alone
/// no longer gives a session), offered beside the code when both are on; the password's
/// challenge is answered only by that account's passkey, once.
#[tokio::test]
async fn a_passkey_answers_the_second_step_of_its_own_account_once() {
    let app = app_with(Some(format!("{PAGE}/")), true).await;
    let token = app.activate(NIP, EMAIL, STRONG).await;
    let mut phone = Device::at(PAGE);
    assert_eq!(add(&app, &token, &mut phone, None).await.status, 201);

    let login = app.login(NIP, STRONG).await;
    assert_eq!(login.status, 200, "{}", login.json());
    let body = login.json();
    assert!(
        body.get("access_token").is_none(),
        "no session on a password alone: {body}"
    );
    assert_eq!(
        body["second_step"],
        json!({ "code": false, "passkey": true })
    );
    // No authenticator on this account: a code does not answer it, nor is it counted: a
    // thief with the password alone, sending codes to challenges no code answers, leaves
    // nothing against the authenticator the owner sets up later.
    let mut ch = body["challenge"].as_str().unwrap().to_owned();
    for _ in 0..11 {
        let wrong = app
            .post(
                "/v1/login/second-factor",
                json!({ "challenge": ch, "code": "123456" }),
            )
            .await;
        assert_eq!(wrong.status, 401, "{}", wrong.json());
        app.clock.advance(chrono::Duration::hours(1));
        ch = app.login(NIP, STRONG).await.json()["challenge"]
            .as_str()
            .unwrap()
            .to_owned();
    }

    // Another account's challenge (Ayu, with an authenticator): this passkey does not answer it.
    let ayu = app.activate(AYU, AYU_EMAIL, STRONG).await;
    app.enrol(&ayu).await;
    let theirs = app.login(AYU, STRONG).await.json();
    assert_eq!(
        theirs["second_step"],
        json!({ "code": true, "passkey": false })
    );
    for other in [theirs["challenge"].as_str().unwrap(), "not-a-challenge", ""] {
        let r = second_step(&app, &mut phone, other).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (401, "invalid_passkey"),
            "{other}"
        );
    }

    // Its own challenge: a session; then the challenge is used up.
    let challenge = ch;
    let s = second_step(&app, &mut phone, &challenge).await;
    assert_eq!(s.status, 200, "{}", s.json());
    let own = s.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.session(&own).await.status, 200);
    let again = second_step(&app, &mut phone, &challenge).await;
    assert_eq!(
        (again.status, again.code().as_str()),
        (401, "invalid_passkey")
    );
    // Both on: the passkey is offered beside the code, and the owner's code works.
    let (uri, _) = app.enrol(&own).await;
    app.clock.advance(chrono::Duration::seconds(31));
    let both = app.login(NIP, STRONG).await.json();
    let right = app
        .post(
            "/v1/login/second-factor",
            json!({ "challenge": both["challenge"], "code": totp_code(&uri, app.clock.now()) }),
        )
        .await;
    assert_eq!(
        right.status,
        200,
        "not locked by the thief: {}",
        right.json()
    );
    assert_eq!(
        both["second_step"],
        json!({ "code": true, "passkey": true })
    );
}

/// Where the requirement meets passkeys the service cannot use: with passkeys off (no page
/// address), an account's passkey still keeps the password alone from a session (fail
/// closed); a passkey left under the number by an earlier holder (older than the account)
/// is not this account's, so it neither asks for a second step nor shows in the list.
#[tokio::test]
async fn the_requirement_fails_closed_and_ignores_an_earlier_holder_s_passkey() {
    for (page, made_before) in [(None, false), (Some(format!("{PAGE}/")), true)] {
        let app = app_with(page.clone(), true).await;
        let token = app.activate(NIP, EMAIL, STRONG).await;
        let nip = sapk_core::Nip::from_stored(NIP).unwrap();
        let account = app.store.get_account(&nip).await.unwrap().unwrap();
        let at = if made_before {
            account.created_at - chrono::Duration::days(30)
        } else {
            app.clock.now()
        };
        app.store
            .insert_passkey(&PasskeyRecord {
                id: format!("kept-{made_before}"),
                nip: nip.clone(),
                user_handle: "00000000-0000-4000-8000-000000000000".into(),
                name: "Android, dibuat 1 Nov 2026".into(),
                credential: "{}".into(),
                created_at: at,
                last_used_at: None,
            })
            .await
            .unwrap();
        let login = app.login(NIP, STRONG).await;
        assert_eq!(login.status, 200, "{}", login.json());
        assert_eq!(
            login.json().get("access_token").is_some(),
            made_before,
            "page {page:?}: {}",
            login.json()
        );
        if made_before {
            let list = listed(&app, &token).await;
            assert_eq!(list["passkeys"], json!([]), "an earlier holder's");
        }
    }
}

/// Two removals at once from two sessions (the owner's and a thief's who has the password):
/// each ends every other session, so never do both get a session back; the one that lost
/// the race is signed out, not renewed over the other's sign-out.
#[tokio::test]
async fn of_two_removals_at_once_one_keeps_a_session() {
    let app = passkey_app().await;
    app.activate(NIP, EMAIL, STRONG).await;
    let mut phone = Device::at(PAGE);
    for round in 0..3 {
        // Every session ended in the round before: signed in again.
        let token = app.token(NIP, STRONG).await;
        let ids: Vec<String> = {
            for _ in 0..2 {
                assert_eq!(add(&app, &token, &mut phone, None).await.status, 201);
            }
            let nip = sapk_core::Nip::from_stored(NIP).unwrap();
            app.store
                .list_passkeys(&nip)
                .await
                .unwrap()
                .into_iter()
                .map(|p| p.id)
                .collect()
        };
        let (owner, thief) = (app.token(NIP, STRONG).await, app.token(NIP, STRONG).await);
        let remove = |session: String, id: String| {
            let app = &app;
            async move {
                app.post_bearer(
                    "/v1/account/passkeys/remove",
                    &session,
                    json!({ "id": id, "current_password": STRONG }),
                )
                .await
            }
        };
        let (a, b) = tokio::join!(
            remove(owner.clone(), ids[0].clone()),
            remove(thief.clone(), ids[1].clone())
        );
        let won: Vec<String> = [&a, &b]
            .iter()
            .filter(|r| r.status == 200)
            .map(|r| r.json()["access_token"].as_str().unwrap().to_owned())
            .collect();
        assert!(won.len() <= 1, "round {round}: both renewed");
        for r in [&a, &b] {
            assert!(
                r.status == 200 || r.status == 401,
                "round {round}: {}",
                r.json()
            );
        }
        let mut alive = 0;
        for t in won.iter().chain([&owner, &thief]) {
            if app.session(t).await.status == 200 {
                alive += 1;
            }
        }
        assert!(alive <= 1, "round {round}: {alive} sessions left");
        assert_eq!(app.session(&token).await.status, 401, "round {round}");
    }
}
