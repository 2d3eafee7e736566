//! `sapk-load`: measures the service on this machine.
//!
//! - `sapk-load http`: starts the real `sapk-local` server on 127.0.0.1 over a fresh data
//!   directory, seeds N employees, and drives login, forgot and reset with bounded
//!   concurrency for a bounded time, reporting throughput and p50/p95/p99 latency per route,
//!   and login throughput as a fraction of the hashing bound (cores divided by one argon2id
//!   verification, measured in the same run before the phases and after the login phase)
//!   and of what the cores give argon2id verifying at once. `--cheap-hash` takes the hash
//!   out, leaving what a request costs besides it.
//! - `sapk-load lambda-init`: starts a Lambda function binary against a minimal local Runtime
//!   API and reports its init time (process start to its first `next` call), RSS at that
//!   point, and peak RSS after one invocation.
//!
//! Every loop here is bounded in count and time, and every address is on 127.0.0.1.

#![cfg_attr(test, allow(clippy::too_many_lines))]

mod lambda;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use sapk_core::password::{HashParams, PasswordHasher};
use sapk_core::ports::{Account, Accounts};
use sapk_core::{Email, Nip};
use sapk_embedded::{DataDir, DEFAULT_MAIL_FROM};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Load the local server: login, forgot and reset phases.
    Http {
        /// The sapk-local binary (build it with `cargo build --release -p sapk-local`).
        #[arg(long, default_value = "target/release/sapk-local")]
        server: PathBuf,
        /// Employees to seed.
        #[arg(long, default_value_t = 2000)]
        accounts: usize,
        /// Requests in flight at once.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Length of each phase, seconds.
        #[arg(long, default_value_t = 15)]
        seconds: u64,
        /// Upper bound of requests per phase.
        #[arg(long, default_value_t = 100_000)]
        max_requests: u64,
        /// SAPK_FORGOT_MIN_MS for the server (0 measures its capacity; production uses 200).
        #[arg(long, default_value_t = 0)]
        forgot_min_ms: u64,
        /// argon2id at its cheapest (8 KiB, one pass) for the seeded accounts and the
        /// server: what a request costs besides the hash (with `--concurrency 1`, a login's
        /// latency beyond its verification).
        #[arg(long)]
        cheap_hash: bool,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Init time and memory of a Lambda function binary under a local Runtime API.
    LambdaInit {
        /// Function binaries (host builds: `cargo build --release -p sapk-functions`).
        #[arg(long = "bin", required = true)]
        bins: Vec<PathBuf>,
        /// Fresh processes per binary.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// DynamoDB endpoint (moto) with tables created; without it, store calls fail fast.
        #[arg(long)]
        dynamodb_url: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.cmd {
        Cmd::Http {
            server,
            accounts,
            concurrency,
            seconds,
            max_requests,
            forgot_min_ms,
            cheap_hash,
            json,
        } => rt.block_on(http(HttpArgs {
            server,
            accounts,
            concurrency,
            phase: Duration::from_secs(seconds),
            max_requests,
            forgot_min_ms,
            cheap_hash,
            json,
        })),
        Cmd::LambdaInit {
            bins,
            runs,
            dynamodb_url,
            json,
        } => rt.block_on(lambda::measure(&bins, runs, dynamodb_url.as_deref(), json)),
    }
}

struct HttpArgs {
    server: PathBuf,
    accounts: usize,
    concurrency: usize,
    phase: Duration,
    max_requests: u64,
    forgot_min_ms: u64,
    cheap_hash: bool,
    json: bool,
}

/// The hash parameters of the seeded accounts and the server.
fn hash_params(cheap: bool) -> HashParams {
    if cheap {
        sapk_testkit::config::NO_COST_HASH
    } else {
        HashParams::default()
    }
}

const PASSWORD: &str = "Sungai-Kapuas-Senja-58";

/// A valid NIP per index: birth dates walk through 1960-1999, appointed at 25, every other
/// one an NI PPPK (code 21), sequence numbers vary.
fn nip_for(i: usize) -> anyhow::Result<Nip> {
    let day = 1 + i % 28;
    let month = 1 + (i / 28) % 12;
    let year = 1960 + (i / 336) % 40;
    let seq = 1 + i / 13_440;
    let code = if i % 2 == 1 { 21 } else { 1 };
    let s = format!(
        "{year:04}{month:02}{day:02}{:04}{code:02}1{seq:03}",
        year + 25
    );
    Nip::from_stored(&s).with_context(|| format!("NIP {s}"))
}

fn email_for(i: usize) -> String {
    format!("pegawai{i}@load.example.go.id")
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Latencies and outcome counts of one phase.
#[derive(Default)]
struct Phase {
    latencies_us: Vec<u64>,
    unexpected: u64,
    elapsed: Duration,
}

impl Phase {
    fn summary(&self, name: &str) -> Value {
        let mut l = self.latencies_us.clone();
        l.sort_unstable();
        let pct = |p: f64| -> f64 {
            if l.is_empty() {
                return 0.0;
            }
            let idx = ((l.len() as f64 - 1.0) * p).round() as usize;
            l[idx.min(l.len() - 1)] as f64 / 1000.0
        };
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        json!({
            "route": name,
            "requests": l.len(),
            "unexpected": self.unexpected,
            "throughput_per_s": (l.len() as f64 / secs * 10.0).round() / 10.0,
            "p50_ms": pct(0.50),
            "p95_ms": pct(0.95),
            "p99_ms": pct(0.99),
        })
    }
}

async fn seed(dir: &Path, accounts: usize, params: HashParams) -> anyhow::Result<()> {
    let data = DataDir::open(dir, DEFAULT_MAIL_FROM, None)?;
    let hasher = PasswordHasher::new(params)?;
    let hash = hasher.hash_blocking(PASSWORD)?;
    let now = chrono::Utc::now();
    for i in 0..accounts {
        let account = Account {
            nip: nip_for(i)?,
            name: sapk_core::EmployeeName::parse(&format!("Pegawai {i}"))?,
            email: Some(Email::parse(&email_for(i))?),
            email_verified_at: None,
            instansi: None,
            password_hash: Some(hash.clone()),
            credential_version: 0,
            password_changed_at: Some(now),
            second_factor: None,
            created_at: now,
            updated_at: now,
            version: 0,
        };
        data.store.insert_account(&account).await?;
    }
    Ok(())
}

fn start_server(
    path: &Path,
    dir: &Path,
    forgot_min_ms: u64,
    params: HashParams,
) -> anyhow::Result<(Server, String)> {
    let huge = "1000000000/900";
    let mut child = Command::new(path)
        .env("SAPK_ARGON2_MEMORY_KIB", params.m_cost_kib.to_string())
        .env("SAPK_ARGON2_ITERATIONS", params.t_cost.to_string())
        .env("SAPK_ARGON2_PARALLELISM", params.p_cost.to_string())
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("RUST_LOG", "warn")
        .env("SAPK_FORGOT_MIN_MS", forgot_min_ms.to_string())
        .env("SAPK_LIMIT_FORGOT_NIP", huge)
        .env("SAPK_LIMIT_FORGOT_IP", huge)
        .env("SAPK_LIMIT_RESET_NIP", huge)
        .env("SAPK_LIMIT_RESET_IP", huge)
        .env("SAPK_LIMIT_LOGIN_NIP", huge)
        .env("SAPK_LIMIT_LOGIN_IP", huge)
        .env("SAPK_LIMIT_FORGOT_NIP_IP", huge)
        .env("SAPK_LIMIT_RESET_NIP_IP", huge)
        .env("SAPK_LIMIT_LOGIN_NIP_IP", huge)
        // The reset phase asks for a code per account as fast as it can.
        .env("SAPK_FORGOT_COOLDOWN_SECONDS", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", path.display()))?;
    let stdout = child.stdout.take().context("server stdout")?;
    let mut reader = BufReader::new(stdout);
    let mut first = String::new();
    reader.read_line(&mut first)?;
    // Keep reading what the server prints: a closed pipe would stop it at its next line.
    std::thread::spawn(move || {
        let mut sink = String::new();
        while reader.read_line(&mut sink).is_ok_and(|n| n > 0) {
            sink.clear();
        }
    });
    let base = first.trim().rsplit(' ').next().unwrap_or("").to_owned();
    if !base.starts_with("http://127.0.0.1:") {
        bail!("unexpected first line from the server: {first:?}");
    }
    Ok((Server(child), base))
}

/// Waits until the server's mail queue (in the data directory `dir`) holds nothing to send,
/// or `limit` has passed.
async fn drained(dir: &Path, limit: Duration) -> anyhow::Result<()> {
    let db = sapk_embedded::SqliteStore::open(&dir.join(sapk_embedded::DB_FILE))?;
    let end = Instant::now() + limit;
    while db.mail_queue_depth().await?.0 > 0 {
        if Instant::now() > end {
            bail!("the mail queue did not drain within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// Median time of one argon2id verification at the default parameters.
/// One argon2id verification at the default parameters, single-threaded: the median of 21
/// after 5 warm-up runs.
fn verification_time() -> anyhow::Result<Duration> {
    let h = PasswordHasher::new(HashParams::default())?;
    let phc = h.hash_blocking(PASSWORD)?;
    // Warm up (CPU frequency, caches), then take the median of 21.
    for _ in 0..5 {
        let _ = h.verify_blocking(PASSWORD, &phc);
    }
    let mut times: Vec<Duration> = (0..21)
        .map(|_| {
            let t = Instant::now();
            let ok = h.verify_blocking(PASSWORD, &phc);
            let d = t.elapsed();
            (ok, d)
        })
        .filter_map(|(ok, d)| ok.then_some(d))
        .collect();
    times.sort();
    times
        .get(times.len() / 2)
        .copied()
        .context("no verification")
}

/// Verifications per second with one thread per core verifying at once (21 each, after 3
/// warm-up runs): what the machine's cores really give argon2id together, which can be less
/// than cores ÷ one verification (shared caches and memory bandwidth).
fn parallel_capacity(cores: usize) -> anyhow::Result<f64> {
    let h = PasswordHasher::new(HashParams::default())?;
    let phc = h.hash_blocking(PASSWORD)?;
    let barrier = Arc::new(std::sync::Barrier::new(cores));
    let runs = 21;
    let workers: Vec<_> = (0..cores)
        .map(|_| {
            let (h, phc, barrier) = (h.clone(), phc.clone(), barrier.clone());
            std::thread::spawn(move || {
                for _ in 0..3 {
                    let _ = h.verify_blocking(PASSWORD, &phc);
                }
                barrier.wait();
                let t = Instant::now();
                let ok = (0..runs).all(|_| h.verify_blocking(PASSWORD, &phc));
                (ok, t.elapsed())
            })
        })
        .collect();
    let mut slowest = Duration::ZERO;
    for w in workers {
        let (ok, took) = w
            .join()
            .map_err(|_| anyhow::anyhow!("a verification thread failed"))?;
        if !ok {
            bail!("a verification failed");
        }
        slowest = slowest.max(took);
    }
    Ok((cores * runs) as f64 / slowest.as_secs_f64().max(1e-9))
}

/// [`verification_time`] and [`parallel_capacity`], measured off the async executor.
async fn hashing_figures(cores: usize) -> anyhow::Result<(Duration, f64)> {
    tokio::task::spawn_blocking(move || Ok((verification_time()?, parallel_capacity(cores)?)))
        .await?
}

fn random_index(n: usize) -> usize {
    let mut b = [0u8; 8];
    let _ = getrandom::fill(&mut b);
    (u64::from_le_bytes(b) % n as u64) as usize
}

/// Runs `op` from `concurrency` workers until the phase time or request bound is reached.
async fn run_phase<F, Fut>(a: &HttpArgs, op: F) -> Phase
where
    F: Fn(usize, u64) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = Option<(Duration, bool)>> + Send,
{
    let started = Instant::now();
    let deadline = started + a.phase;
    let issued = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for w in 0..a.concurrency {
        let (op, issued, max) = (op.clone(), issued.clone(), a.max_requests);
        tasks.push(tokio::spawn(async move {
            let mut p = Phase::default();
            while Instant::now() < deadline {
                let k = issued.fetch_add(1, Ordering::Relaxed);
                if k >= max {
                    break;
                }
                match op(w, k).await {
                    Some((d, ok)) => {
                        p.latencies_us.push(d.as_micros() as u64);
                        if !ok {
                            p.unexpected += 1;
                        }
                    }
                    None => p.unexpected += 1,
                }
            }
            p
        }));
    }
    let mut all = Phase::default();
    for t in tasks {
        if let Ok(p) = t.await {
            all.latencies_us.extend(p.latencies_us);
            all.unexpected += p.unexpected;
        }
    }
    all.elapsed = started.elapsed();
    all
}

async fn timed_post(
    client: &reqwest::Client,
    url: &str,
    body: &Value,
    want: u16,
) -> Option<(Duration, bool)> {
    let t = Instant::now();
    let resp = client.post(url).json(body).send().await.ok()?;
    let status = resp.status().as_u16();
    let _ = resp.bytes().await;
    Some((t.elapsed(), status == want))
}

/// The newest reset code per recipient, read from the outbox as files appear.
#[derive(Default)]
struct OutboxIndex {
    seen: Mutex<std::collections::HashSet<String>>,
    latest: Mutex<HashMap<String, (String, String)>>,
}

impl OutboxIndex {
    fn scan(&self, dir: &Path) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        let mut names: Vec<String> = rd
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with("reset-code.eml"))
            .collect();
        names.sort();
        for name in names {
            if !self
                .seen
                .lock()
                .map(|mut s| s.insert(name.clone()))
                .unwrap_or(false)
            {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(dir.join(&name)) else {
                continue;
            };
            let to = text
                .lines()
                .find_map(|l| l.strip_prefix("To: "))
                .unwrap_or("")
                .trim()
                .to_owned();
            let code = text
                .split_whitespace()
                .find(|w| w.len() == 9 && w.as_bytes()[4] == b'-')
                .unwrap_or("")
                .to_owned();
            if let Ok(mut m) = self.latest.lock() {
                m.insert(to, (name, code));
            }
        }
    }

    fn get(&self, email: &str) -> Option<(String, String)> {
        self.latest.lock().ok()?.get(email).cloned()
    }
}

async fn http(a: HttpArgs) -> anyhow::Result<()> {
    if !a.server.exists() {
        bail!(
            "{} not found: cargo build --release -p sapk-local",
            a.server.display()
        );
    }
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    // The hashing figures before the phases and again after the login phase (the machine
    // may have changed speed in between); the bound uses their mean.
    let before = hashing_figures(cores).await?;
    let params = hash_params(a.cheap_hash);

    let dir = std::env::temp_dir().join(format!("sapk-load-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    seed(&dir, a.accounts, params).await?;
    let (server, base) = start_server(&a.server, &dir, a.forgot_min_ms, params)?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(a.concurrency)
        .build()?;
    let login = login_phase(&a, &client, &base).await;
    let after = hashing_figures(cores).await?;
    let forgot = forgot_phase(&a, &client, &base).await;
    // First the forgot phase's e-mails leave the queue (one sender, behind the phase's
    // requests on the one SQLite connection): a reset phase's code must not wait behind
    // them. Polled until the queue is empty, at most two minutes.
    drained(&dir, Duration::from_secs(120)).await?;
    let reset = reset_phase(&a, &client, &base, &dir.join("outbox")).await;
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    let report = http_report(&a, cores, before, after, [&login, &forgot, &reset]);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_http_report(&a, cores, &report);
    }
    Ok(())
}

/// Forgot asks for the first half of the accounts, reset uses the second: a forgot phase's
/// codes (and their cooldown) never stand in a reset's way.
fn half_of(accounts: usize) -> usize {
    (accounts / 2).max(1)
}

async fn login_phase(a: &HttpArgs, client: &reqwest::Client, base: &str) -> Phase {
    let (c, url, n) = (client.clone(), format!("{base}/v1/login"), a.accounts);
    run_phase(a, move |_, _| {
        let (c, url) = (c.clone(), url.clone());
        async move {
            let i = random_index(n);
            let body = json!({ "nip": nip_for(i).ok()?.as_str(), "password": PASSWORD });
            timed_post(&c, &url, &body, 200).await
        }
    })
    .await
}

async fn forgot_phase(a: &HttpArgs, client: &reqwest::Client, base: &str) -> Phase {
    let half = half_of(a.accounts);
    let (c, url) = (client.clone(), format!("{base}/v1/password/forgot"));
    run_phase(a, move |_, _| {
        let (c, url) = (c.clone(), url.clone());
        async move {
            let i = random_index(half);
            timed_post(&c, &url, &json!({ "nip": nip_for(i).ok()?.as_str() }), 202).await
        }
    })
    .await
}

/// Reset: each worker asks for a code (not timed), reads it from the outbox, then resets.
async fn reset_phase(a: &HttpArgs, client: &reqwest::Client, base: &str, outbox: &Path) -> Phase {
    let index = Arc::new(OutboxIndex::default());
    index.scan(outbox);
    let (n, half, conc) = (a.accounts, half_of(a.accounts), a.concurrency);
    let (c, base, outbox) = (client.clone(), base.to_owned(), outbox.to_owned());
    run_phase(a, move |w, k| {
        let (c, base, index, outbox) = (c.clone(), base.clone(), index.clone(), outbox.clone());
        async move {
            // Accounts of worker w in the second half: w, w + conc, w + 2·conc, …
            let i = half + (w + conc * (k as usize / conc.max(1))) % (n - half).max(1);
            let nip = nip_for(i).ok()?;
            let code = fresh_code(&c, &base, &index, &outbox, &nip, &email_for(i)).await?;
            let body = json!({ "nip": nip.as_str(), "token": code, "new_password": PASSWORD });
            timed_post(&c, &format!("{base}/v1/password/reset"), &body, 200).await
        }
    })
    .await
}

/// Asks for a code for `nip` and waits (at most 5 s) for a new one in the outbox.
async fn fresh_code(
    c: &reqwest::Client,
    base: &str,
    index: &OutboxIndex,
    outbox: &Path,
    nip: &Nip,
    email: &str,
) -> Option<String> {
    index.scan(outbox);
    let before = index.get(email).map(|(f, _)| f);
    let r = c
        .post(format!("{base}/v1/password/forgot"))
        .json(&json!({ "nip": nip.as_str() }))
        .send()
        .await
        .ok()?;
    if r.status().as_u16() != 202 {
        return None;
    }
    let wait_until = Instant::now() + Duration::from_secs(5);
    loop {
        index.scan(outbox);
        match index.get(email) {
            Some((f, code)) if Some(&f) != before.as_ref() => return Some(code),
            _ if Instant::now() > wait_until => return None,
            _ => tokio::time::sleep(Duration::from_millis(2)).await,
        }
    }
}

/// The run's figures as JSON: the machine, the hashing bound, each phase's summary.
fn http_report(
    a: &HttpArgs,
    cores: usize,
    (verify_before, capacity_before): (Duration, f64),
    (verify_after, capacity_after): (Duration, f64),
    [login, forgot, reset]: [&Phase; 3],
) -> Value {
    let verify = (verify_before + verify_after) / 2;
    let bound = cores as f64 / verify.as_secs_f64();
    let capacity = (capacity_before + capacity_after) / 2.0;
    let rows = [
        login.summary("login"),
        forgot.summary("forgot"),
        reset.summary("reset"),
    ];
    let login_rps = rows[0]["throughput_per_s"].as_f64().unwrap_or(0.0);
    json!({
        "cores": cores,
        "concurrency": a.concurrency,
        "accounts": a.accounts,
        "phase_seconds": a.phase.as_secs(),
        "forgot_min_ms": a.forgot_min_ms,
        "cheap_hash": a.cheap_hash,
        "argon2id_verify_ms": verify.as_secs_f64() * 1000.0,
        "argon2id_verify_ms_before_after": [
            verify_before.as_secs_f64() * 1000.0,
            verify_after.as_secs_f64() * 1000.0
        ],
        "hashing_bound_per_s": (bound * 10.0).round() / 10.0,
        "login_fraction_of_bound": (login_rps / bound * 1000.0).round() / 1000.0,
        "argon2id_parallel_per_s": (capacity * 10.0).round() / 10.0,
        "login_fraction_of_parallel": (login_rps / capacity * 1000.0).round() / 1000.0,
        "routes": rows,
    })
}

fn print_http_report(a: &HttpArgs, cores: usize, report: &Value) {
    let ms = |k: &str, i: usize| report[k][i].as_f64().unwrap_or(0.0);
    println!(
        "cores {cores}, concurrency {}, {} accounts, {} s per phase, forgot minimum {} ms",
        a.concurrency,
        a.accounts,
        a.phase.as_secs(),
        a.forgot_min_ms
    );
    println!(
        "argon2id verification {:.1} ms (before {:.1}, after the login phase {:.1}) -> hashing bound {:.1} logins/s; {cores} at once: {:.1}/s",
        report["argon2id_verify_ms"].as_f64().unwrap_or(0.0),
        ms("argon2id_verify_ms_before_after", 0),
        ms("argon2id_verify_ms_before_after", 1),
        report["hashing_bound_per_s"].as_f64().unwrap_or(0.0),
        report["argon2id_parallel_per_s"].as_f64().unwrap_or(0.0)
    );
    println!(
        "{:<8} {:>9} {:>10} {:>12} {:>9} {:>9} {:>9}",
        "route", "requests", "unexpected", "per second", "p50 ms", "p95 ms", "p99 ms"
    );
    for r in &report["routes"].as_array().cloned().unwrap_or_default() {
        println!(
            "{:<8} {:>9} {:>10} {:>12.1} {:>9.2} {:>9.2} {:>9.2}",
            r["route"].as_str().unwrap_or(""),
            r["requests"].as_u64().unwrap_or(0),
            r["unexpected"].as_u64().unwrap_or(0),
            r["throughput_per_s"].as_f64().unwrap_or(0.0),
            r["p50_ms"].as_f64().unwrap_or(0.0),
            r["p95_ms"].as_f64().unwrap_or(0.0),
            r["p99_ms"].as_f64().unwrap_or(0.0)
        );
    }
    println!(
        "login throughput = {:.1}% of the hashing bound, {:.1}% of {cores} verifications at once",
        report["login_fraction_of_bound"].as_f64().unwrap_or(0.0) * 100.0,
        report["login_fraction_of_parallel"].as_f64().unwrap_or(0.0) * 100.0
    );
}
