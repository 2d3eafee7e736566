//! Test harness: `spawn_app` runs the local server in-process on an ephemeral port of
//! 127.0.0.1 over a temporary data directory, with a clock the test moves by hand.

#![allow(clippy::too_many_lines)]

pub mod aws;
pub mod control_plane;
pub mod faults;
pub mod iam_server;
pub mod lambda_runtime;
pub mod passkey_device;
pub mod proxy;
pub mod range_api;
pub mod recorder;
pub mod sso_portal;

use chrono::{DateTime, TimeZone, Utc};
use mail_parser::MessageParser;
use sapk_core::ports::{Clock, Mailer, Store};
use sapk_core::staff::{EmployeeRow, Operator};
use sapk_core::{Config, Service};
use sapk_embedded::SqliteStore;
use sapk_testkit::clock::ManualClock;
use serde_json::Value;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

pub use reqwest;

pub use sapk_testkit::config::test_config;
pub use sapk_testkit::ses::find_code;

pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 2, 0, 0)
        .single()
        .unwrap_or_default()
}

pub type StoreWrapper = sapk_local::Wrap<dyn Store>;
pub type MailerWrapper = sapk_local::Wrap<dyn Mailer>;

pub struct AppOptions {
    pub config: Config,
    /// Wraps the store (e.g. to inject failures).
    pub store_wrapper: Option<StoreWrapper>,
    pub mailer_wrapper: Option<MailerWrapper>,
    /// The server's read timeouts (the binary's by default).
    pub timeouts: sapk_local::Timeouts,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            config: test_config(),
            store_wrapper: None,
            mailer_wrapper: None,
            timeouts: sapk_local::Timeouts::default(),
        }
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub clock: Arc<ManualClock>,
    pub service: Arc<Service>,
    pub store: SqliteStore,
    pub outbox_dir: PathBuf,
    pub client: reqwest::Client,
    /// Delivers the mail queue to the outbox; `outbox()` runs it first.
    pub sender: Arc<sapk_embedded::Sender>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// One received e-mail, parsed from its `.eml` file.
#[derive(Debug, Clone)]
pub struct Mail {
    pub file: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub raw: String,
}

pub const NIP: &str = "198609262015051001";
pub const EMAIL: &str = "budi.santoso@example.go.id";
pub const STRONG: &str = "Sungai-Kapuas-Senja-58";
pub const STRONG2: &str = "Perahu-Layar-Biru-42";

pub async fn spawn_app() -> TestApp {
    spawn_app_with(AppOptions::default()).await
}

pub async fn spawn_app_with(opts: AppOptions) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = Arc::new(ManualClock::new(start_time()));
    // The binary's own assembly, on the test's clock and configuration. The data directory
    // keeps the keys (`audit.key` among them), so `sapk-admin` on it seals and checks with
    // the same keys as the served routes.
    let app = sapk_local::App::build(sapk_local::Settings {
        config: opts.config,
        clock: clock.clone() as Arc<dyn Clock>,
        store_wrapper: opts.store_wrapper,
        mailer_wrapper: opts.mailer_wrapper,
        ..sapk_local::Settings::new(dir.path())
    })
    .await
    .expect("app");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(sapk_local::serve_routes(
        listener,
        app.routes,
        opts.timeouts,
    ));
    TestApp {
        addr,
        base: format!("http://{addr}"),
        clock,
        service: app.service,
        store: app.store,
        outbox_dir: app.outbox_dir,
        client: client_from(None),
        sender: Arc::new(app.sender),
        server,
        _dir: dir,
    }
}

/// A client whose connections come from `ip` (any 127.x.y.z address works on Linux).
pub fn client_from(ip: Option<IpAddr>) -> reqwest::Client {
    let mut b = reqwest::Client::builder().no_proxy();
    if let Some(ip) = ip {
        b = b.local_address(ip);
    }
    b.build().expect("client")
}

/// Status, selected headers and the body of a response.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or("").to_owned()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

impl TestApp {
    /// The data directory (`sapk.db`, `outbox/`), the layout `sapk-admin --data-dir` opens.
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// Moves the test clock to the real time, for tests whose records must be live for a
    /// process on the system clock (the `sapk-admin` binary).
    pub fn sync_clock_to_real_time(&self) {
        let behind = Utc::now() - self.clock.now();
        if behind > chrono::Duration::zero() {
            self.clock.advance(behind);
        }
    }

    pub async fn seed(&self, nip: &str, name: &str, email: &str) {
        self.service
            .staff()
            .import_employee(
                &EmployeeRow {
                    nip: nip.into(),
                    name: name.into(),
                    email: email.into(),
                    instansi: None,
                },
                &Operator {
                    id: "test".into(),
                    office: "TEST".into(),
                    officer_id: None,
                    scope: None,
                    office_name: None,
                },
            )
            .await
            .expect("seed employee");
    }

    pub async fn seed_default(&self) {
        self.seed(NIP, "Budi Santoso", EMAIL).await;
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.expect("body").to_vec();
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn post_raw(&self, path: &str, body: Vec<u8>, lang: Option<&str>) -> Answer {
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body);
        if let Some(l) = lang {
            req = req.header("accept-language", l);
        }
        self.send(req).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.post_raw(path, body.to_string().into_bytes(), None)
            .await
    }

    pub async fn forgot(&self, nip: &str) -> Answer {
        self.post("/v1/password/forgot", serde_json::json!({ "nip": nip }))
            .await
    }

    pub async fn reset(&self, nip: &str, token: &str, pw: &str) -> Answer {
        self.post(
            "/v1/password/reset",
            serde_json::json!({ "nip": nip, "token": token, "new_password": pw }),
        )
        .await
    }

    pub async fn login(&self, nip: &str, pw: &str) -> Answer {
        self.post(
            "/v1/login",
            serde_json::json!({ "nip": nip, "password": pw }),
        )
        .await
    }

    pub async fn session(&self, token: &str) -> Answer {
        let req = self
            .client
            .get(format!("{}/v1/session", self.base))
            .bearer_auth(token);
        self.send(req).await
    }

    pub async fn logout(&self, token: &str) -> Answer {
        let req = self
            .client
            .post(format!("{}/v1/logout", self.base))
            .bearer_auth(token);
        self.send(req).await
    }

    /// Logs in and returns the access token (panics unless 200).
    pub async fn token(&self, nip: &str, pw: &str) -> String {
        let a = self.login(nip, pw).await;
        assert_eq!(a.status, 200, "login: {}", String::from_utf8_lossy(&a.body));
        a.json()["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// Every e-mail in the outbox, in send order, after the sender has delivered what is due
    /// (deterministic: no background sender races the test).
    pub async fn outbox(&self) -> Vec<Mail> {
        self.sender.drain().await.expect("mail queue");
        read_outbox(&self.outbox_dir)
    }

    /// The code in the newest reset-code e-mail to `to`.
    pub async fn last_code(&self, to: &str) -> String {
        last_code_in(&self.outbox().await, to).expect("a reset code e-mail")
    }

    /// A POST with a bearer token.
    pub async fn post_bearer(&self, path: &str, token: &str, body: Value) -> Answer {
        let req = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body);
        self.send(req).await
    }

    /// Sets up two-step login for the session `token` of an account whose password is
    /// [`STRONG`]: returns the `otpauth://` URI and the ten recovery codes.
    pub async fn enrol(&self, token: &str) -> (String, Vec<String>) {
        let a = self
            .post_bearer(
                "/v1/account/second-factor",
                token,
                serde_json::json!({ "current_password": STRONG }),
            )
            .await;
        assert_eq!(a.status, 200, "enrol: {}", a.json());
        let uri = a.json()["otpauth_uri"].as_str().expect("uri").to_owned();
        let code = totp_code(&uri, self.clock.now());
        let c = self
            .post_bearer(
                "/v1/account/second-factor/confirm",
                token,
                serde_json::json!({ "code": code }),
            )
            .await;
        assert_eq!(c.status, 200, "confirm: {}", c.json());
        let codes = c.json()["recovery_codes"]
            .as_array()
            .expect("codes")
            .iter()
            .map(|v| v.as_str().expect("code").to_owned())
            .collect();
        (uri, codes)
    }

    /// A fresh code for the default employee, and a well-formed code that is not it.
    pub async fn code_and_a_wrong_one(&self) -> (String, &'static str) {
        assert_eq!(self.forgot(NIP).await.status, 202);
        let code = self.last_code(EMAIL).await;
        let wrong = if code.starts_with('A') {
            "BBBB-BBBB"
        } else {
            "AAAA-AAAA"
        };
        (code, wrong)
    }

    /// forgot → code from the outbox → reset → login; returns the token.
    pub async fn activate(&self, nip: &str, email: &str, pw: &str) -> String {
        assert_eq!(self.forgot(nip).await.status, 202);
        let code = self.last_code(email).await;
        let r = self.reset(nip, &code, pw).await;
        assert_eq!(r.status, 200, "reset: {}", String::from_utf8_lossy(&r.body));
        self.token(nip, pw).await
    }
}

/// The code an authenticator app set up from `otpauth_uri` shows at `at`.
pub fn totp_code(otpauth_uri: &str, at: DateTime<Utc>) -> String {
    totp_rs::TOTP::from_url(otpauth_uri)
        .expect("an otpauth URI an app reads")
        .generate(u64::try_from(at.timestamp()).expect("after 1970"))
}

pub fn read_outbox(dir: &std::path::Path) -> Vec<Mail> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let raw = std::fs::read(&p).expect("eml");
            let msg = MessageParser::default().parse(&raw).expect("parseable eml");
            let to = msg
                .to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap_or("")
                .to_owned();
            Mail {
                file: p
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                to,
                subject: msg.subject().unwrap_or("").to_owned(),
                text: msg.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
                html: msg.body_html(0).map(|t| t.into_owned()).unwrap_or_default(),
                raw: String::from_utf8_lossy(&raw).into_owned(),
            }
        })
        .collect()
}

/// Finds `XXXX-XXXX` in the newest reset-code mail to `to`.
/// The newest code e-mailed to `to` in the outbox folder `dir`, polled until it is there
/// (the server's sender delivers the queue right after the answer), at most 10 s.
pub async fn wait_for_code_in(dir: &std::path::Path, to: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(code) = last_code_in(&read_outbox(dir), to) {
            return code;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no code for {to} in the outbox"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

pub fn last_code_in(mails: &[Mail], to: &str) -> Option<String> {
    mails
        .iter()
        .rev()
        .filter(|m| m.to == to && m.file.ends_with("reset-code.eml"))
        .find_map(|m| find_code(&m.text))
}

/// The reasons the audit trail gives for `nip`'s failed resets (the losers of a race say
/// where they lost).
pub async fn reset_failure_reasons(store: &dyn sapk_core::ports::Store, nip: &str) -> Vec<String> {
    store
        .list_audit(&sapk_core::Nip::from_stored(nip).expect("NIP"), 100)
        .await
        .expect("trail")
        .into_iter()
        .filter(|e| e.action == "reset" && e.outcome == "failed")
        .filter_map(|e| e.details["reason"].as_str().map(str::to_owned))
        .collect()
}

/// The check of a NIP's audit chain, as an auditor at the counter would run it (the check
/// is recorded too).
pub async fn verify_chain(service: &Service, nip: &str) -> sapk_core::audit_chain::ChainReport {
    let auditor = sapk_core::staff::Operator {
        id: "AUDITOR-1".into(),
        office: "KANREG-I".into(),
        officer_id: None,
        scope: None,
        office_name: None,
    };
    service
        .staff()
        .verify_audit_trail(nip, &auditor)
        .await
        .expect("audit chain readable")
}

/// Path of a workspace binary, building it first when it is missing.
pub fn workspace_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let dir = exe
        .parent()
        .and_then(|p| p.parent())
        .expect("target dir")
        .to_owned();
    let bin = dir.join(name);
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args(["build", "--bin", name])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo build");
        assert!(status.success(), "building {name}");
    }
    bin
}
