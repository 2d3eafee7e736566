//! The recovery page in a real browser: Debian's headless Chromium driven over WebDriver
//! (ChromeDriver) against the real `sapk-local` on 127.0.0.1 (the page opened as
//! `localhost`), the code read from the
//! outbox; axe-core checks each step. `scripts/test` installs the browser and axe-core and
//! says where they are (`SAPK_TEST_CHROMEDRIVER`, `SAPK_TEST_CHROMIUM`, `SAPK_TEST_AXE`).
//! With `SAPK_SCREENSHOTS=DIR` each step is also saved as a PNG (phone and desktop), as in
//! `docs/screenshots/`.

use fantoccini::{Client, ClientBuilder, Locator};
use sapk_e2e::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PNS: &str = "198609262015051001";
const PNS_EMAIL: &str = "budi.santoso@example.go.id";
const PPPK: &str = "199009132025242014";
const STRONG: &str = "Danau-Toba-Kabut-64";
/// The help line the server is configured with: the page shows it (one configurable place).
const HELP_PHONE: &str = "(021) 8093008";

pub(crate) struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn tool(var: &str, default: &str) -> String {
    let path = std::env::var(var).unwrap_or_else(|_| default.to_owned());
    assert!(
        std::path::Path::new(&path).exists(),
        "{path} not found ({var}): run scripts/test, which installs Debian's chromium and \
         chromium-driver and axe-core"
    );
    path
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The real server over a fresh data directory (demo employees seeded), forgot limited to
/// two a NIP so that the page's rate-limit message can be seen, with `env` besides; the
/// page's address, by the name `localhost` (as a person opens it: browsers offer passkeys
/// at a name, never at an IP address).
pub(crate) fn start_server(dir: &std::path::Path, env: &[(&str, &str)]) -> (Child, String) {
    let mut child = Child(
        Command::new(workspace_bin("sapk-local"))
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .envs(env.iter().copied())
            .env("SAPK_FORGOT_MIN_MS", "0")
            .env("SAPK_FORGOT_COOLDOWN_SECONDS", "45")
            .env("SAPK_CODE_TTL_SECONDS", "1200")
            .env("SAPK_LIMIT_FORGOT_NIP", "2/900")
            .env("SAPK_HELP_PHONE", HELP_PHONE)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sapk-local"),
    );
    let mut stdout = BufReader::new(child.0.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("first line");
    std::thread::spawn(move || {
        let mut sink = String::new();
        while stdout.read_line(&mut sink).is_ok_and(|n| n > 0) {
            sink.clear();
        }
    });
    let base = first.trim().rsplit(' ').next().unwrap_or("").to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{first}");
    (child, base.replacen("127.0.0.1", "localhost", 1))
}

/// What the phone profile's browser says it is: Chrome on an Android phone.
const PHONE_USER_AGENT: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 \
     (KHTML, like Gecko) Chrome/156.0.0.0 Mobile Safari/537.36";

/// ChromeDriver on a free port, and a headless Chromium session of `width`×`height` (a
/// phone's, with a phone's user agent, below 800 pixels).
pub(crate) async fn browser(profile: &std::path::Path, width: u32, height: u32) -> (Child, Client) {
    let port = free_port();
    let driver = Child(
        Command::new(tool("SAPK_TEST_CHROMEDRIVER", "/usr/bin/chromedriver"))
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let url = format!("http://127.0.0.1:{port}");
    let status = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while status.get(format!("{url}/status")).send().await.is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not answer");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut options = json!({
            "binary": tool("SAPK_TEST_CHROMIUM", "/usr/bin/chromium"),
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--lang=id-ID",
                format!("--user-data-dir={}", profile.display()),
                format!("--window-size={},{}", width.max(800), height),
            ],
    });
    if width < 800 {
        // A phone: Chromium's window is never narrower than 500 pixels, so the page gets a
        // phone's viewport (and touch) by device emulation.
        options["mobileEmulation"] = json!({
            "deviceMetrics": { "width": width, "height": height, "pixelRatio": 1, "touch": true },
            "userAgent": PHONE_USER_AGENT,
        });
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), options);
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&url)
        .await
        .expect("a WebDriver session");
    (driver, client)
}

/// Waits (bounded) until `script` (a JavaScript expression) is true in the page.
pub(crate) async fn until(c: &Client, script: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v = c
            .execute(&format!("return !!({script});"), vec![])
            .await
            .expect("script");
        if v == Value::Bool(true) {
            return;
        }
        assert!(Instant::now() < deadline, "never true: {script}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

pub(crate) async fn text(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .expect("text")
}

pub(crate) async fn fill(c: &Client, css: &str, value: &str) {
    let e = c.find(Locator::Css(css)).await.expect(css);
    e.clear().await.expect("clear");
    e.send_keys(value).await.expect("type");
}

pub(crate) async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .expect("click");
}

pub(crate) async fn submit(c: &Client, form: &str) {
    click(c, &format!("#{form} button[type=submit]")).await;
}

/// axe-core on the page as it is: no serious or critical violation.
pub(crate) async fn accessible(c: &Client, axe: &str, step: &str) {
    c.execute(axe, vec![]).await.expect("axe-core loads");
    let result = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] })
               .then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }))))
               .catch(e => done([{ id: 'axe failed: ' + e, impact: 'critical' }]));",
            vec![],
        )
        .await
        .expect("axe runs");
    let bad: Vec<&Value> = result
        .as_array()
        .expect("violations")
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .collect();
    assert!(bad.is_empty(), "{step}: {bad:?}");
}

/// A step of the flow: axe-core on it, and its screenshot when asked for.
pub(crate) async fn step(c: &Client, axe: &str, step: &str, shot_name: &str) {
    accessible(c, axe, step).await;
    shot(c, shot_name).await;
}

pub(crate) async fn shot(c: &Client, name: &str) {
    if let Ok(dir) = std::env::var("SAPK_SCREENSHOTS") {
        let png = c.screenshot().await.expect("screenshot");
        std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), png)
            .expect("write screenshot");
    }
}

/// The element that has the focus, by id or class.
async fn focused(c: &Client) -> String {
    c.execute(
        "const e = document.activeElement; return e.id || e.className;",
        vec![],
    )
    .await
    .expect("script")
    .as_str()
    .unwrap_or("")
    .to_owned()
}

/// Types into a field and leaves it (Tab), as a person moves on to the next field.
async fn fill_and_leave(c: &Client, css: &str, value: &str) {
    let e = c.find(Locator::Css(css)).await.expect(css);
    e.clear().await.expect("clear");
    e.send_keys(value).await.expect("type");
    e.send_keys(&fantoccini::key::Key::Tab.to_string())
        .await
        .expect("tab");
}

/// What the page put on the clipboard, read back by a paste (Ctrl+V) into a scratch field, as
/// a person pastes it into the authenticator app (headless Chromium keeps its own clipboard).
async fn clipboard(c: &Client) -> String {
    js(
        c,
        "const a = document.createElement('textarea'); a.id = 'paste-probe'; \
         document.body.appendChild(a); a.focus(); return true;",
    )
    .await;
    let probe = c.find(Locator::Css("#paste-probe")).await.expect("probe");
    probe.send_keys("\u{E009}v\u{E000}").await.expect("paste");
    let v = js(
        c,
        "const a = document.querySelector('#paste-probe'); const v = a.value; a.remove(); return v;",
    )
    .await;
    v.as_str().unwrap_or_default().to_owned()
}

pub(crate) async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.expect("script")
}

/// The forgot step: hints only when the NIP field is left, dots and hyphens taken, the
/// answer with the spam and newest-code hints and a resend countdown.
async fn forgot_step(c: &Client, axe: &str, prefix: &str, outbox: &std::path::Path) -> String {
    assert_eq!(text(c, "#view-forgot h1").await, "Lupa password");
    fill(c, "#forgot-nip", "19860926201505").await;
    assert!(
        !text(c, "#forgot-nip-hint").await.contains("18 digit"),
        "no verdict while typing"
    );
    fill_and_leave(c, "#forgot-nip", "19860926201505").await;
    until(
        c,
        "document.querySelector('#forgot-nip-hint').textContent.includes('18 digit')",
    )
    .await;
    fill_and_leave(c, "#forgot-nip", "198609262015053001").await;
    until(
        c,
        "document.querySelector('#forgot-nip-hint').textContent.includes('jenis kelamin')",
    )
    .await;
    fill_and_leave(c, "#forgot-nip", "19860926.201505-1-001").await;
    until(
        c,
        "document.querySelector('#forgot-nip-hint').textContent.includes('PNS valid')",
    )
    .await;
    assert!(text(c, "#forgot-intro").await.contains("berlaku 20 menit"));
    step(c, axe, "forgot", &format!("{prefix}-1-forgot")).await;
    submit(c, "form-forgot").await;
    until(c, "!document.querySelector('#view-forgot .done').hidden").await;
    assert!(text(c, "#view-forgot .done").await.contains("kode reset"));
    let resend = text(c, "#view-forgot .resend").await;
    assert!(resend.contains("folder Spam"), "{resend}");
    assert!(resend.contains("Hanya kode terbaru"), "{resend}");
    until(c, "document.querySelector('#view-forgot .resend-button').disabled && /\\d+ detik/.test(document.querySelector('#view-forgot .countdown').textContent)").await;
    step(c, axe, "forgot, sent", &format!("{prefix}-1b-forgot-sent")).await;
    wait_for_code_in(outbox, PNS_EMAIL).await
}

/// The reset step: "minta kode baru" shows the countdown; a wrong code; every rule at once;
/// what made a password guessable; then the right one.
async fn reset_step(c: &Client, axe: &str, prefix: &str, code: &str) {
    click(c, "a[href='#reset']").await;
    until(c, "!document.querySelector('#view-reset').hidden").await;
    until(
        c,
        "document.querySelectorAll('#reset-rules li').length === 6",
    )
    .await;
    assert_eq!(
        js(c, "return document.querySelector('#reset-nip').value;").await,
        json!("19860926.201505-1-001")
    );
    click(c, "#reset-new-code").await;
    until(c, "!document.querySelector('#view-reset .resend').hidden && /\\d+ detik/.test(document.querySelector('#view-reset .countdown').textContent)").await;
    let wrong = if code.starts_with('2') {
        "3333-3333"
    } else {
        "2222-2222"
    };
    fill(c, "#reset-code", wrong).await;
    fill(c, "#reset-password", STRONG).await;
    submit(c, "form-reset").await;
    until(c, "!document.querySelector('#form-reset .error').hidden").await;
    assert!(text(c, "#form-reset .error")
        .await
        .contains("Kode reset salah"));
    assert_eq!(focused(c).await, "error", "the error takes the focus");
    fill(c, "#reset-code", code).await;
    fill(c, "#reset-password", "pendek").await;
    submit(c, "form-reset").await;
    until(
        c,
        "document.querySelector('#form-reset .error').textContent.includes('Password baru harus')",
    )
    .await;
    let error = text(c, "#form-reset .error").await;
    for rule in [
        "minimal 12 karakter",
        "minimal 1 huruf besar",
        "minimal 1 angka",
        "belum terpakai",
    ] {
        assert!(error.contains(rule), "{rule}: {error}");
    }
    until(
        c,
        "document.querySelector('#reset-rules li.broken[data-code=too_short]')",
    )
    .await;
    step(
        c,
        axe,
        "reset, weak password",
        &format!("{prefix}-2-reset-weak"),
    )
    .await;
    fill(c, "#reset-password", "Budisantoso1986").await;
    submit(c, "form-reset").await;
    until(
        c,
        "document.querySelector('#form-reset .error').textContent.includes('tidak mudah ditebak')",
    )
    .await;
    let error = text(c, "#form-reset .error").await;
    assert!(
        error.contains("nama Anda") || error.contains("tanggal lahir Anda"),
        "{error}"
    );
    fill(c, "#reset-password", STRONG).await;
    submit(c, "form-reset").await;
    until(c, "!document.querySelector('#view-login').hidden").await;
    assert!(text(c, "#view-login .done").await.contains("berhasil"));
}

/// Signed in: whose account, the menu, the activity in words, the change-password messages.
async fn account_step(c: &Client, axe: &str, prefix: &str) {
    fill(c, "#login-password", STRONG).await;
    submit(c, "form-login").await;
    until(c, "!document.querySelector('#view-account').hidden").await;
    until(
        c,
        "document.querySelector('#account-name').textContent === 'Budi Santoso'",
    )
    .await;
    assert!(text(c, "#account-email")
        .await
        .contains("***@example.go.id"));
    assert_eq!(text(c, "#account-nip").await, PNS);
    for (id, shown) in [
        ("#nav-account", true),
        ("#nav-logout", true),
        ("#nav-login", false),
        ("#nav-forgot", false),
    ] {
        assert_eq!(
            js(
                c,
                &format!("return !document.querySelector('{id}').hidden;")
            )
            .await,
            json!(shown),
            "{id}"
        );
    }
    until(c, "document.querySelector('#activity').textContent.includes('Password baru dibuat dengan kode dari email')").await;
    let activity = text(c, "#activity").await;
    assert!(
        activity.contains("Data kepegawaian Anda dimuat"),
        "{activity}"
    );
    assert!(
        !activity.contains("employee_imported") && !activity.contains(": dibuat"),
        "{activity}"
    );
    step(c, axe, "account", &format!("{prefix}-3-account")).await;
    fill(c, "#change-current", "Salah-Sandi-123").await;
    fill(c, "#change-new", "Perahu-Layar-Biru-42").await;
    submit(c, "form-change").await;
    until(c, "document.querySelector('#form-change .error').textContent.includes('Password saat ini yang Anda masukkan salah')").await;
    assert!(!text(c, "#form-change .error").await.contains("NIP"));
    fill(c, "#change-current", STRONG).await;
    fill(c, "#change-new", STRONG).await;
    submit(c, "form-change").await;
    until(c, "document.querySelector('#form-change .error').textContent.includes('sama dengan password saat ini')").await;
    until(c, "document.querySelector('#activity').textContent.includes('Percobaan mengganti password gagal')").await;
}

/// Two-step login set up on the phone being read: the link into the app, the key in groups
/// copied through the clipboard, a wrong first code, then the recovery codes that must be
/// kept before anything else; then renewed.
async fn authenticator_step(c: &Client, axe: &str, prefix: &str) -> (String, Vec<String>) {
    fill(c, "#enrol-current", STRONG).await;
    submit(c, "form-enrol").await;
    until(c, "!document.querySelector('#form-confirm').hidden").await;
    assert_eq!(focused(c).await, "enrol-title");
    let uri = js(
        c,
        "return document.querySelector('#enrol-open').getAttribute('href');",
    )
    .await;
    let uri = uri.as_str().expect("href").to_owned();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    let grouped = text(c, "#enrol-secret").await;
    let groups: Vec<&str> = grouped.split(' ').collect();
    assert!(
        groups.len() >= 8 && groups[..groups.len() - 1].iter().all(|g| g.len() == 4),
        "{grouped}"
    );
    click(c, "#enrol-copy").await;
    until(
        c,
        "document.querySelector('#enrol-copied').textContent === 'Disalin.'",
    )
    .await;
    let key = clipboard(c).await;
    assert_eq!(key, grouped.replace(' ', ""), "the key on the clipboard");
    assert!(uri.contains(&format!("secret={key}")), "{uri}");
    step(
        c,
        axe,
        "authenticator set-up",
        &format!("{prefix}-4-authenticator"),
    )
    .await;
    fill(c, "#confirm-code", "000000").await;
    submit(c, "form-confirm").await;
    until(
        c,
        "document.querySelector('#form-confirm .error').textContent.includes('tidak cocok')",
    )
    .await;
    assert!(!text(c, "#form-confirm .error").await.contains("pemulihan"));
    fill(c, "#confirm-code", &totp_code(&uri, chrono::Utc::now())).await;
    submit(c, "form-confirm").await;
    let first = keep_recovery_codes(c, axe, &format!("{prefix}-5-recovery-codes")).await;
    until(
        c,
        "document.querySelector('#factor-state').textContent.startsWith('Aktif')",
    )
    .await;
    until(c, "document.querySelector('#activity').textContent.includes('Verifikasi dua langkah diaktifkan')").await;
    // New codes from the account page: the password and the app's next code.
    until(
        c,
        "document.querySelector('#renew-left').textContent.includes('10 dari 10')",
    )
    .await;
    fill(c, "#renew-current", STRONG).await;
    fill(
        c,
        "#renew-code",
        &totp_code(&uri, chrono::Utc::now() + chrono::Duration::seconds(30)),
    )
    .await;
    submit(c, "form-renew").await;
    let renewed = keep_recovery_codes(c, axe, &format!("{prefix}-6-recovery-renewed")).await;
    assert!(renewed.iter().all(|c| !first.contains(c)), "new codes");
    (uri, renewed)
}

/// The recovery codes on screen: nothing else until they are acknowledged.
async fn keep_recovery_codes(c: &Client, axe: &str, shot_name: &str) -> Vec<String> {
    until(
        c,
        "document.querySelectorAll('#recovery-codes li').length === 10",
    )
    .await;
    assert_eq!(
        focused(c).await,
        "recovery-title",
        "the codes take the focus"
    );
    let codes = js(
        c,
        "return [...document.querySelectorAll('#recovery-codes li')].map(l => l.textContent);",
    )
    .await;
    let codes: Vec<String> = codes
        .as_array()
        .expect("codes")
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_owned())
        .collect();
    step(c, axe, "recovery codes", shot_name).await;
    // Leaving is refused until they are kept: the menu and logging out both say so.
    for leave in ["#nav-account", "#nav-logout"] {
        click(c, leave).await;
        until(c, "!document.querySelector('#recovery-error').hidden && document.querySelector('#recovery-error').textContent.includes('Simpan kode pemulihan')").await;
        assert_eq!(js(c, "return !document.querySelector('#recovery').hidden && !document.querySelector('#logout-dialog').open;").await, json!(true), "{leave}");
    }
    assert_eq!(
        js(
            c,
            "return document.querySelector('#recovery-done').disabled;"
        )
        .await,
        json!(true)
    );
    click(c, "#recovery-copy").await;
    until(
        c,
        "document.querySelector('#recovery-copied').textContent === 'Disalin.'",
    )
    .await;
    let copied = clipboard(c).await;
    assert!(
        codes.iter().all(|code| copied.contains(code.as_str())),
        "{copied}"
    );
    click(c, "#recovery-ack").await;
    click(c, "#recovery-done").await;
    until(c, "document.querySelector('#recovery').hidden && !document.querySelector('#account-main').hidden").await;
    codes
}

/// Out (confirmed), in again with a recovery code, the language switched with a message on
/// screen, out again.
async fn logout_and_back(c: &Client, axe: &str, recovery: &[String]) {
    click(c, "#nav-logout").await;
    until(c, "document.querySelector('#logout-dialog').open").await;
    accessible(c, axe, "logout question").await;
    click(c, "#logout-no").await;
    until(c, "!document.querySelector('#logout-dialog').open && !document.querySelector('#view-account').hidden").await;
    click(c, "#nav-logout").await;
    until(c, "document.querySelector('#logout-dialog').open").await;
    click(c, "#logout-yes").await;
    until(c, "!document.querySelector('#view-login').hidden").await;
    assert_eq!(text(c, "#view-login .done").await, "Anda sudah keluar.");
    click(c, "#lang").await;
    until(
        c,
        "document.querySelector('#view-login .done').textContent === 'You have logged out.'",
    )
    .await;
    fill(c, "#login-nip", PNS).await;
    fill(c, "#login-password", STRONG).await;
    submit(c, "form-login").await;
    until(c, "!document.querySelector('#view-second').hidden").await;
    accessible(c, axe, "second step").await;
    fill(c, "#second-code", &recovery[0]).await;
    submit(c, "form-second").await;
    until(c, "!document.querySelector('#view-account').hidden").await;
    until(
        c,
        "document.querySelector('#view-account h1').textContent === 'Your account'",
    )
    .await;
    until(c, "document.querySelector('#activity').textContent.includes('You logged in with a recovery code')").await;
    assert!(text(c, "footer").await.contains("Need help?"));
    assert_eq!(
        js(c, "return document.documentElement.lang;").await,
        json!("en")
    );
    click(c, "#nav-logout").await;
    until(c, "document.querySelector('#logout-dialog').open").await;
    click(c, "#logout-yes").await;
    until(c, "!document.querySelector('#view-login').hidden").await;
}

/// axe-core's script, as `scripts/test` installed it.
pub(crate) fn axe_source() -> String {
    std::fs::read_to_string(tool(
        "SAPK_TEST_AXE",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/web/node_modules/axe-core/axe.min.js"
        ),
    ))
    .expect("axe-core")
}

async fn recover_in(width: u32, height: u32, prefix: &str) {
    let axe = axe_source();
    let dir = tempfile::tempdir().unwrap();
    let profile = tempfile::tempdir().unwrap();
    let (_server, base) = start_server(dir.path(), &[]);
    let (_driver, c) = browser(profile.path(), width, height).await;
    let outbox = dir.path().join("outbox");
    c.goto(&format!("{base}/")).await.expect("the page");
    until(&c, "!document.querySelector('#view-forgot').hidden").await;
    until(
        &c,
        &format!("document.querySelector('footer').textContent.includes('{HELP_PHONE}')"),
    )
    .await;
    assert_eq!(
        js(&c, "return document.querySelector('#help-link').href;").await,
        json!(sapk_core::i18n::HELP_URL)
    );
    let code = forgot_step(&c, &axe, prefix, &outbox).await;
    // The e-mail links to this page, by the product's name.
    let mail = read_outbox(&outbox)
        .into_iter()
        .rfind(|m| m.to.contains(PNS_EMAIL))
        .expect("the code's e-mail");
    assert!(mail.text.contains(&format!("{base}/")), "{}", mail.text);
    assert!(mail.text.contains("SAPK Akun ASN") && !mail.text.contains("MySAPK"));
    reset_step(&c, &axe, prefix, &code).await;
    account_step(&c, &axe, prefix).await;
    let viewport = js(&c, "return window.innerWidth;").await;
    assert_eq!(viewport, json!(width), "the viewport is the device's");
    let (_uri, recovery) = authenticator_step(&c, &axe, prefix).await;
    logout_and_back(&c, &axe, &recovery).await;

    // Rate limited: the third code for a NIP within the window (in English now).
    c.goto(&format!("{base}/#forgot")).await.expect("the page");
    until(&c, "!document.querySelector('#view-forgot').hidden").await;
    for _ in 0..3 {
        fill(&c, "#forgot-nip", PPPK).await;
        submit(&c, "form-forgot").await;
        until(&c, "!document.querySelector('#view-forgot .done').hidden || !document.querySelector('#form-forgot .error').hidden").await;
    }
    until(&c, "document.querySelector('#form-forgot .error').textContent.includes('Too many code requests')").await;
    step(
        &c,
        &axe,
        "rate limited",
        &format!("{prefix}-7-rate-limited"),
    )
    .await;
    c.close().await.expect("close the session");
}

#[tokio::test]
async fn a_civil_servant_recovers_the_account_in_the_page_on_a_phone() {
    recover_in(390, 844, "phone").await;
}

#[tokio::test]
async fn a_civil_servant_recovers_the_account_in_the_page_on_a_desktop() {
    recover_in(1280, 900, "desktop").await;
}
