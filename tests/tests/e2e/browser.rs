//! The recovery page in a real browser: Debian's headless Chromium driven over WebDriver
//! (ChromeDriver) against the real `sapk-local` on 127.0.0.1, the code read from the
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

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tool(var: &str, default: &str) -> String {
    let path = std::env::var(var).unwrap_or_else(|_| default.to_owned());
    assert!(
        std::path::Path::new(&path).exists(),
        "{path} not found ({var}): run scripts/test, which installs Debian's chromium and \
         chromium-driver and axe-core"
    );
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The real server over a fresh data directory (demo employees seeded), forgot limited to
/// two a NIP so that the page's rate-limit message can be seen.
fn start_server(dir: &std::path::Path) -> (Child, String) {
    let mut child = Child(
        Command::new(workspace_bin("sapk-local"))
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .env("SAPK_FORGOT_MIN_MS", "0")
            .env("SAPK_FORGOT_COOLDOWN_SECONDS", "0")
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
    (child, base)
}

/// ChromeDriver on a free port, and a headless Chromium session of `width`×`height`.
async fn browser(profile: &std::path::Path, width: u32, height: u32) -> (Child, Client) {
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
async fn until(c: &Client, script: &str) {
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

async fn text(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .expect("text")
}

async fn fill(c: &Client, css: &str, value: &str) {
    let e = c.find(Locator::Css(css)).await.expect(css);
    e.clear().await.expect("clear");
    e.send_keys(value).await.expect("type");
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .expect("click");
}

async fn submit(c: &Client, form: &str) {
    click(c, &format!("#{form} button[type=submit]")).await;
}

/// axe-core on the page as it is: no serious or critical violation.
async fn accessible(c: &Client, axe: &str, step: &str) {
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
async fn step(c: &Client, axe: &str, step: &str, shot_name: &str) {
    accessible(c, axe, step).await;
    shot(c, shot_name).await;
}

async fn shot(c: &Client, name: &str) {
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

async fn recover_in(width: u32, height: u32, prefix: &str) {
    let axe = std::fs::read_to_string(tool(
        "SAPK_TEST_AXE",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/web/node_modules/axe-core/axe.min.js"
        ),
    ))
    .expect("axe-core");
    let dir = tempfile::tempdir().unwrap();
    let profile = tempfile::tempdir().unwrap();
    let (_server, base) = start_server(dir.path());
    let (_driver, c) = browser(profile.path(), width, height).await;
    let outbox = dir.path().join("outbox");

    // Forgot: the NIP is checked as it is typed, by the server's rules.
    c.goto(&format!("{base}/")).await.expect("the page");
    until(&c, "!document.querySelector('#view-forgot').hidden").await;
    assert_eq!(text(&c, "#view-forgot h1").await, "Lupa password");
    until(
        &c,
        &format!("document.querySelector('footer').textContent.includes('{HELP_PHONE}')"),
    )
    .await;
    let help = c
        .execute("return document.querySelector('#help-link').href;", vec![])
        .await
        .expect("script");
    assert_eq!(help, json!(sapk_core::i18n::HELP_URL));
    fill(&c, "#forgot-nip", "19860926201505").await;
    until(
        &c,
        "document.querySelector('#forgot-nip-hint').textContent.includes('18 digit')",
    )
    .await;
    fill(&c, "#forgot-nip", "198609262015053001").await;
    until(
        &c,
        "document.querySelector('#forgot-nip-hint').textContent.includes('jenis kelamin')",
    )
    .await;
    fill(&c, "#forgot-nip", "19860926 201505 1 001").await;
    until(
        &c,
        "document.querySelector('#forgot-nip-hint').textContent.includes('PNS valid')",
    )
    .await;
    step(&c, &axe, "forgot", &format!("{prefix}-1-forgot")).await;
    submit(&c, "form-forgot").await;
    until(&c, "!document.querySelector('#view-forgot .done').hidden").await;
    assert!(text(&c, "#view-forgot .done").await.contains("kode reset"));
    let code = wait_for_code_in(&outbox, PNS_EMAIL).await;

    // Reset: a wrong code, then a weak password, then the right one.
    click(&c, "a[href='#reset']").await;
    until(&c, "!document.querySelector('#view-reset').hidden").await;
    until(
        &c,
        "document.querySelectorAll('#reset-rules li').length === 6",
    )
    .await;
    let nip_kept = c
        .execute("return document.querySelector('#reset-nip').value;", vec![])
        .await
        .expect("script");
    assert_eq!(nip_kept, json!("19860926 201505 1 001"));
    let wrong = if code.starts_with('2') {
        "3333-3333"
    } else {
        "2222-2222"
    };
    fill(&c, "#reset-code", wrong).await;
    fill(&c, "#reset-password", STRONG).await;
    submit(&c, "form-reset").await;
    until(&c, "!document.querySelector('#form-reset .error').hidden").await;
    assert!(text(&c, "#form-reset .error")
        .await
        .contains("Kode reset salah"));
    assert_eq!(focused(&c).await, "error", "the error takes the focus");
    fill(&c, "#reset-code", &code).await;
    fill(&c, "#reset-password", "pendek").await;
    submit(&c, "form-reset").await;
    until(
        &c,
        "document.querySelector('#form-reset .error').textContent.includes('belum memenuhi')",
    )
    .await;
    let error = text(&c, "#form-reset .error").await;
    assert!(error.contains("minimal 1 huruf besar"), "{error}");
    until(
        &c,
        "document.querySelector('#reset-rules li.broken[data-code=too_short]')",
    )
    .await;
    step(
        &c,
        &axe,
        "reset, weak password",
        &format!("{prefix}-2-reset-weak"),
    )
    .await;
    fill(&c, "#reset-password", STRONG).await;
    submit(&c, "form-reset").await;
    until(&c, "!document.querySelector('#view-login').hidden").await;
    assert!(text(&c, "#view-login .done").await.contains("berhasil"));

    // Login with the new password; signed in.
    fill(&c, "#login-password", STRONG).await;
    submit(&c, "form-login").await;
    until(&c, "!document.querySelector('#view-account').hidden").await;
    until(
        &c,
        &format!("document.querySelector('#account-info').textContent.includes('{PNS}')"),
    )
    .await;
    until(&c, "document.querySelectorAll('#activity li').length > 1").await;
    step(&c, &axe, "account", &format!("{prefix}-3-account")).await;

    // An authenticator: the QR code drawn by the server, the app's first code, the recovery
    // codes shown once; then out, and in again through the second step with a recovery code.
    // Setting it up asks for the password again (a stolen session alone cannot).
    fill(&c, "#enrol-current", STRONG).await;
    submit(&c, "form-enrol").await;
    until(&c, "!document.querySelector('#form-confirm').hidden").await;
    until(&c, "document.querySelector('#enrol-qr').src.startsWith('data:image/svg+xml') && document.querySelector('#enrol-qr').naturalWidth > 0").await;
    let secret = text(&c, "#enrol-secret").await;
    let uri = format!("otpauth://totp/SAPK%20BKN:{PNS}?secret={secret}&issuer=SAPK%20BKN");
    fill(&c, "#confirm-code", &totp_code(&uri, chrono::Utc::now())).await;
    submit(&c, "form-confirm").await;
    until(
        &c,
        "document.querySelectorAll('#recovery-codes li').length === 10",
    )
    .await;
    let recovery = text(&c, "#recovery-codes li").await;
    until(
        &c,
        "document.querySelector('#factor-state').textContent.startsWith('Aktif')",
    )
    .await;
    c.execute(
        "document.querySelector('#recovery').scrollIntoView();",
        vec![],
    )
    .await
    .expect("scroll");
    let viewport = c
        .execute("return window.innerWidth;", vec![])
        .await
        .expect("script");
    assert_eq!(viewport, json!(width), "the viewport is the device's");
    step(
        &c,
        &axe,
        "recovery codes",
        &format!("{prefix}-4-recovery-codes"),
    )
    .await;
    submit(&c, "form-logout").await;
    until(&c, "!document.querySelector('#view-login').hidden").await;
    fill(&c, "#login-nip", PNS).await;
    fill(&c, "#login-password", STRONG).await;
    submit(&c, "form-login").await;
    until(&c, "!document.querySelector('#view-second').hidden").await;
    accessible(&c, &axe, "second step").await;
    fill(&c, "#second-code", &recovery).await;
    submit(&c, "form-second").await;
    until(&c, "!document.querySelector('#view-account').hidden").await;

    // English, then out.
    click(&c, "#lang").await;
    until(
        &c,
        "document.querySelector('#view-account h1').textContent === 'Your account'",
    )
    .await;
    assert!(text(&c, "footer").await.contains("Need help?"));
    assert_eq!(
        c.execute("return document.documentElement.lang;", vec![])
            .await
            .expect("script"),
        json!("en")
    );
    submit(&c, "form-logout").await;
    until(&c, "!document.querySelector('#view-login').hidden").await;

    // Rate limited: the third code for a NIP within the window (in English now).
    c.goto(&format!("{base}/#forgot")).await.expect("the page");
    until(&c, "!document.querySelector('#view-forgot').hidden").await;
    for _ in 0..3 {
        fill(&c, "#forgot-nip", PPPK).await;
        submit(&c, "form-forgot").await;
        until(&c, "!document.querySelector('#view-forgot .done').hidden || !document.querySelector('#form-forgot .error').hidden").await;
    }
    until(&c, "document.querySelector('#form-forgot .error').textContent.includes('Too many attempts. Try again in')").await;
    step(
        &c,
        &axe,
        "rate limited",
        &format!("{prefix}-5-rate-limited"),
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
