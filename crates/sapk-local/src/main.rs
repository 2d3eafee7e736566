//! `sapk-local`: the whole public API on this machine, with an SQLite store and an outbox
//! folder instead of DynamoDB and SES.

#![cfg_attr(test, allow(clippy::too_many_lines))]

/// Writes a line to stdout; a reader that went away (a closed pipe) does not stop the server.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

use anyhow::Context;
use clap::Parser;

use sapk_embedded::EmbeddedSettings;
use sapk_local::{App, Settings};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Runs the SAPK account-recovery and login API locally.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000", env = "SAPK_LISTEN")]
    listen: SocketAddr,
    /// Holds sapk.db (SQLite), outbox/ (one .eml per e-mail) and token.key.
    #[arg(long, default_value = "./.sapk", env = "SAPK_DATA_DIR")]
    data_dir: PathBuf,
    /// Sender of the e-mails written to the outbox (default: SAPK_MAIL_FROM, else
    /// no-reply@sapk.example.go.id).
    #[arg(long)]
    mail_from: Option<String>,
    /// Log as JSON lines (as in Lambda) instead of text.
    #[arg(long)]
    log_json: bool,
    /// Development mode: also serve the staff routes (`/v1/staff/...`) behind a stand-in for
    /// API Gateway's IAM authorizer that verifies SigV4 signatures made with the test
    /// credentials in FILE (lines of `ACCESS_KEY_ID SECRET_ACCESS_KEY PRINCIPAL_ARN`). Only
    /// on a loopback address.
    #[arg(long, value_name = "FILE", env = "SAPK_LOCAL_IAM_CREDENTIALS")]
    iam_credentials: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    init_logging(args.log_json);
    let settings = EmbeddedSettings::from_env()?;
    let mut config = settings.config;
    for weak in config.security_floor_violations() {
        tracing::warn!(setting = %weak, "below the floor a deployed function refuses");
    }
    config.log_effective();
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    // The e-mails link to this server's page unless SAPK_PUBLIC_URL says otherwise: on a
    // loopback address by the name `localhost`, where browsers offer passkeys (never at an
    // IP address).
    if config.help.page_url.is_none() {
        config.help.page_url = Some(if addr.ip().is_loopback() {
            format!("http://localhost:{}/", addr.port())
        } else {
            format!("http://{addr}/")
        });
    }
    let app = App::build(Settings {
        mail_from: args.mail_from.clone().unwrap_or(settings.mail_from),
        config,
        token_key: settings.token_key,
        iam: iam_gateway(&args)?,
        seed_demo: true,
        ..Settings::new(&args.data_dir)
    })
    .await?;
    // Keyed checkpoints of every audit chain's head, beside the store.
    if !settings.checkpoint_every.is_zero() {
        tokio::spawn(sapk_local::checkpoint_every(
            app.service.clone(),
            settings.checkpoint_every,
        ));
    }
    say_started(&addr, &args, &app);
    if let Some(page) = &app.service.config().help.page_url {
        say!("  the page: {page}");
    }
    // As deployed: no answer waits for the mail; the sender delivers the queue meanwhile.
    tokio::spawn(app.sender.run());
    tokio::select! {
        r = sapk_local::serve_routes(listener, app.routes, sapk_local::Timeouts::default()) => r.context("server")?,
        _ = tokio::signal::ctrl_c() => say!("stopping"),
    }
    sapk_local::checkpoint_now(&app.service).await;
    Ok(())
}

/// JSON logs with `--log-json`, plain text otherwise (coloured on a terminal), on stderr.
fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    if json {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    } else {
        use std::io::IsTerminal;
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .init();
    }
}

/// The IAM stand-in of `--iam-credentials` (a development mode: loopback only).
fn iam_gateway(args: &Args) -> anyhow::Result<Option<sapk_local::gateway::IamGateway>> {
    let Some(path) = &args.iam_credentials else {
        return Ok(None);
    };
    anyhow::ensure!(
        args.listen.ip().is_loopback(),
        "--iam-credentials is a development mode: listen on 127.0.0.1 or ::1, not {}",
        args.listen
    );
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(Some(
        sapk_local::gateway::IamGateway::parse(&text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
    ))
}

/// Where the server listens, where its data and e-mails are, and how to try it.
fn say_started(addr: &std::net::SocketAddr, args: &Args, app: &App) {
    say!("SAPK local API listening on http://{addr}");
    say!(
        "  data: {} (expired items purged: {})",
        args.data_dir.display(),
        app.purged
    );
    say!(
        "  e-mails are queued, then written to {}",
        app.outbox_dir.display()
    );
    if app.seeded {
        say!(
            "  demo employees: NIP {} ({}, PNS), e-mail {}",
            sapk_local::DEMO_NIP,
            sapk_local::DEMO_NAME,
            sapk_local::DEMO_EMAIL
        );
        say!(
            "                  NI PPPK {} ({}, PPPK), e-mail {}",
            sapk_local::DEMO_PPPK_NIP,
            sapk_local::DEMO_PPPK_NAME,
            sapk_local::DEMO_PPPK_EMAIL
        );
        say!(
            "  try: curl -s -X POST http://{addr}/v1/password/forgot -H 'content-type: application/json' -d '{{\"nip\":\"{}\"}}'",
            sapk_local::DEMO_NIP
        );
    }
    if app.routes.staff.is_some() {
        say!(
            "  staff routes: http://{addr}/v1/staff/... (SigV4 checked with the test credentials; development only)"
        );
    }
}
