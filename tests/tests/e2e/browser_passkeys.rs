//! Passkeys in the page, in the real browser: Chromium's virtual authenticator (a platform
//! authenticator with user verification, through WebDriver's WebAuthn extension commands)
//! stands for the phone's or laptop's screen lock. On the phone and desktop profiles: a
//! passkey added on the account page (after the password), the sign-in with it through the
//! button and through the NIP field's autofill (conditional mediation), as the second step
//! after a password when the agency requires two-step login, and its removal (after which
//! the autofill's answer is refused in words); axe-core on each step.

use super::browser::*;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::Client;
use sapk_e2e::*;
use serde_json::{json, Value};

const PNS: &str = "198609262015051001";
const PNS_EMAIL: &str = "budi.santoso@example.go.id";
const STRONG: &str = "Danau-Toba-Kabut-64";

/// One of WebDriver's WebAuthn extension commands (`/session/{id}/webauthn/…`).
#[derive(Debug)]
struct WebAuthn {
    method: http::Method,
    path: String,
    body: Option<Value>,
}

impl WebDriverCompatibleCommand for WebAuthn {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/webauthn/{}",
            session_id.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _url: &url::Url) -> (http::Method, Option<String>) {
        (
            self.method.clone(),
            self.body.as_ref().map(Value::to_string),
        )
    }
}

/// The browser's virtual authenticator: a platform one (the device's own screen lock) that
/// keeps discoverable credentials and verifies the user.
struct Authenticator<'a> {
    c: &'a Client,
    id: String,
}

impl<'a> Authenticator<'a> {
    async fn add(c: &'a Client) -> Authenticator<'a> {
        let v = webauthn(
            c,
            http::Method::POST,
            "authenticator".into(),
            Some(json!({
                "protocol": "ctap2", "transport": "internal", "hasResidentKey": true,
                "hasUserVerification": true, "isUserVerified": true,
                "automaticPresenceSimulation": true,
            })),
        )
        .await;
        let id = v
            .as_str()
            .or_else(|| v["authenticatorId"].as_str())
            .unwrap_or_else(|| panic!("an authenticator id: {v}"))
            .to_owned();
        Authenticator { c, id }
    }

    async fn credentials(&self) -> Vec<Value> {
        let path = format!("authenticator/{}/credentials", self.id);
        let v = webauthn(self.c, http::Method::GET, path, None).await;
        v.as_array().cloned().unwrap_or_default()
    }

    /// The device's passkeys put away (as on another device), to be given back.
    async fn take_away(&self) -> Vec<Value> {
        let kept = self.credentials().await;
        let path = format!("authenticator/{}/credentials", self.id);
        webauthn(self.c, http::Method::DELETE, path, None).await;
        assert!(self.credentials().await.is_empty());
        kept
    }

    async fn give_back(&self, kept: &[Value]) {
        for k in kept {
            let path = format!("authenticator/{}/credential", self.id);
            webauthn(self.c, http::Method::POST, path, Some(k.clone())).await;
        }
    }
}

async fn webauthn(c: &Client, method: http::Method, path: String, body: Option<Value>) -> Value {
    c.issue_cmd(WebAuthn { method, path, body })
        .await
        .unwrap_or_else(|e| panic!("WebAuthn command: {e}"))
}

/// Budi's password set through the API (the page's own reset is `browser`'s subject).
async fn set_password(base: &str, outbox: &std::path::Path) {
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{base}/v1/password/forgot"))
        .json(&json!({ "nip": PNS }))
        .send()
        .await
        .expect("forgot");
    assert_eq!(r.status(), 202);
    let code = wait_for_code_in(outbox, PNS_EMAIL).await;
    let r = http
        .post(format!("{base}/v1/password/reset"))
        .json(&json!({ "nip": PNS, "token": code, "new_password": STRONG }))
        .send()
        .await
        .expect("reset");
    assert_eq!(r.status(), 200);
}

const VISIBLE_ACCOUNT: &str = "!document.querySelector('#view-account').hidden";
const VISIBLE_LOGIN: &str = "!document.querySelector('#view-login').hidden";

/// Budi's NIP and password in the login form, sent.
async fn password_login(c: &Client) {
    fill(c, "#login-nip", PNS).await;
    fill(c, "#login-password", STRONG).await;
    submit(c, "form-login").await;
}

async fn log_out(c: &Client) {
    confirm_log_out(c).await;
    until(c, VISIBLE_LOGIN).await;
}

async fn confirm_log_out(c: &Client) {
    click(c, "#nav-logout").await;
    until(c, "document.querySelector('#logout-dialog').open").await;
    click(c, "#logout-yes").await;
}

/// Records how the page asks the browser for a passkey from now on (`modal` for the button,
/// `conditional` for the autofill), read back by [`asked`].
async fn watch_requests(c: &Client) {
    js(
        c,
        "window.sapkAsked = []; if (!window.sapkWatching) { window.sapkWatching = true; \
         const get = navigator.credentials.get.bind(navigator.credentials); \
         navigator.credentials.get = (o) => { window.sapkAsked.push(o.mediation || 'modal'); return get(o); }; } \
         return true;",
    )
    .await;
}

async fn asked(c: &Client) -> Value {
    js(c, "return window.sapkAsked;").await
}

async fn session_token(c: &Client) -> String {
    js(c, "return sessionStorage.getItem('sapk-token') || '';")
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Waits for the account's activity to say `words`.
async fn activity_says(c: &Client, words: &str) {
    until(
        c,
        &format!("document.querySelector('#activity').textContent.includes('{words}')"),
    )
    .await;
}

/// The account page's passkey form: the password, the suggested name, the device's screen
/// lock (the virtual authenticator) — a passkey listed, the e-mail told.
async fn add_passkey(c: &Client, axe: &str, prefix: &str, outbox: &std::path::Path) {
    let device = if prefix == "phone" {
        "Android"
    } else {
        "Linux"
    };
    until(c, "!document.querySelector('#account-2fa-required').hidden").await;
    until(
        c,
        "document.querySelector('#passkey-list').textContent.includes('Belum ada passkey')",
    )
    .await;
    let name = js(c, "return document.querySelector('#passkey-name').value;").await;
    assert!(
        name.as_str()
            .is_some_and(|n| n.starts_with(&format!("{device}, dibuat "))),
        "a name the person recognises: {name}"
    );
    fill(c, "#passkey-current", "Wrong-Password-1").await;
    submit(c, "form-passkey").await;
    until(
        c,
        "!document.querySelector('#form-passkey .error').hidden && document.querySelector('#form-passkey .error').textContent.length > 0",
    )
    .await;
    fill(c, "#passkey-current", STRONG).await;
    submit(c, "form-passkey").await;
    until(
        c,
        "document.querySelector('#view-account .done').textContent.includes('Passkey ditambahkan')",
    )
    .await;
    until(
        c,
        "document.querySelectorAll('#passkey-list .passkey-remove').length === 1",
    )
    .await;
    assert!(text(c, "#passkey-list")
        .await
        .contains(&format!("{device}, dibuat ")));
    // A passkey satisfies the agency's two-step requirement: no more nagging.
    until(c, "document.querySelector('#account-2fa-required').hidden").await;
    activity_says(c, "Passkey ditambahkan").await;
    js(
        c,
        "document.querySelector('#passkey-title').scrollIntoView(); return true;",
    )
    .await;
    step(
        c,
        axe,
        "passkey added",
        &format!("{prefix}-8-passkey-added"),
    )
    .await;
    let mails = read_outbox(outbox);
    assert!(
        mails
            .iter()
            .any(|m| m.to == PNS_EMAIL && m.subject == "Passkey baru untuk akun SAPK Anda"),
        "the owner is told"
    );
}

async fn passkeys_in(width: u32, height: u32, prefix: &str) {
    let axe = axe_source();
    let dir = tempfile::tempdir().unwrap();
    let profile = tempfile::tempdir().unwrap();
    let (_server, base) = start_server(dir.path(), &[("SAPK_SECOND_FACTOR_REQUIRED", "*")]);
    assert!(base.starts_with("http://localhost:"), "{base}");
    let outbox = dir.path().join("outbox");
    set_password(&base, &outbox).await;
    let (_driver, c) = browser(profile.path(), width, height).await;
    let device = Authenticator::add(&c).await;
    c.goto(&format!("{base}/#login")).await.expect("the page");
    until(&c, VISIBLE_LOGIN).await;
    until(&c, "!document.querySelector('#login-passkey-box').hidden").await;
    assert_eq!(
        js(
            &c,
            "return document.querySelector('#login-nip').autocomplete;"
        )
        .await,
        json!("username webauthn"),
        "the NIP field offers the device's passkeys"
    );
    password_login(&c).await;
    until(&c, VISIBLE_ACCOUNT).await;
    add_passkey(&c, &axe, prefix, &outbox).await;

    // The button: the passkey put away while the login is on screen (so the autofill has
    // nothing to offer), then given back and asked for by the button.
    let kept = device.take_away().await;
    log_out(&c).await;
    step(
        &c,
        &axe,
        "login with passkeys",
        &format!("{prefix}-9-login-passkey"),
    )
    .await;
    device.give_back(&kept).await;
    watch_requests(&c).await;
    click(&c, "#login-passkey").await;
    until(&c, VISIBLE_ACCOUNT).await;
    activity_says(&c, "Anda masuk dengan passkey.").await;
    assert_eq!(asked(&c).await, json!(["modal"]), "the button's request");

    // The autofill: the login on screen, the device's passkey offered and taken (Chromium's
    // virtual authenticator answers a conditional request at once), no click.
    let before = session_token(&c).await;
    watch_requests(&c).await;
    confirm_log_out(&c).await;
    until(
        &c,
        &format!(
            "{VISIBLE_ACCOUNT} && !!sessionStorage.getItem('sapk-token') && sessionStorage.getItem('sapk-token') !== '{before}'"
        ),
    )
    .await;
    until(
        &c,
        &format!("document.querySelector('#account-nip').textContent === '{PNS}'"),
    )
    .await;
    assert_eq!(
        asked(&c).await,
        json!(["conditional"]),
        "the autofill's request alone"
    );

    // The second step after a password (the agency requires two-step login): the passkey
    // only, no code field.
    let kept = device.take_away().await;
    log_out(&c).await;
    password_login(&c).await;
    until(&c, "!document.querySelector('#view-second').hidden").await;
    until(&c, "!document.querySelector('#second-passkey-box').hidden && document.querySelector('#form-second').hidden").await;
    step(
        &c,
        &axe,
        "second step by passkey",
        &format!("{prefix}-10-second-step-passkey"),
    )
    .await;
    device.give_back(&kept).await;
    watch_requests(&c).await;
    click(&c, "#second-passkey").await;
    until(&c, VISIBLE_ACCOUNT).await;
    assert_eq!(
        asked(&c).await,
        json!(["modal"]),
        "the second step's button"
    );
    activity_says(&c, "Password benar; menunggu langkah kedua").await;

    // Removed on the account page (after a question); then the device's answer is refused.
    until(
        &c,
        "document.querySelectorAll('#passkey-list .passkey-remove').length === 1",
    )
    .await;
    // A wrong password removes nothing, and says so.
    click(&c, "#passkey-list .passkey-remove").await;
    until(&c, "document.querySelector('#passkey-dialog').open").await;
    fill(&c, "#passkey-remove-current", "Wrong-Password-1").await;
    click(&c, "#passkey-yes").await;
    until(&c, "!document.querySelector('#passkey-list-error').hidden").await;
    assert!(text(&c, "#passkey-list-error").await.contains("assword"));
    assert_eq!(
        js(
            &c,
            "return document.querySelectorAll('#passkey-list .passkey-remove').length;"
        )
        .await,
        json!(1)
    );
    click(&c, "#passkey-list .passkey-remove").await;
    until(&c, "document.querySelector('#passkey-dialog').open").await;
    accessible(&c, &axe, "remove the passkey?").await;
    fill(&c, "#passkey-remove-current", STRONG).await;
    click(&c, "#passkey-yes").await;
    until(
        &c,
        "document.querySelector('#view-account .done').textContent.includes('Passkey dihapus')",
    )
    .await;
    until(
        &c,
        "document.querySelector('#passkey-list').textContent.includes('Belum ada passkey')",
    )
    .await;
    activity_says(&c, "Passkey dihapus").await;
    log_out(&c).await;
    until(
        &c,
        "document.querySelector('#form-login .error').textContent.includes('tidak terdaftar')",
    )
    .await;
    assert!(!text(&c, "#view-login").await.is_empty());
    step(
        &c,
        &axe,
        "a removed passkey refused",
        &format!("{prefix}-11-passkey-removed"),
    )
    .await;
    let mails = read_outbox(&outbox);
    assert!(
        mails
            .iter()
            .filter(|m| m.to == PNS_EMAIL && m.subject.contains("asskey"))
            .count()
            >= 2,
        "added and removed, each told"
    );
    c.close().await.expect("close the session");
}

#[tokio::test]
async fn a_civil_servant_signs_in_with_a_passkey_on_a_phone() {
    passkeys_in(390, 844, "phone").await;
}

#[tokio::test]
async fn a_civil_servant_signs_in_with_a_passkey_on_a_desktop() {
    passkeys_in(1280, 900, "desktop").await;
}
