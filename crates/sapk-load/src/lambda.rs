//! Init time and memory of a Lambda function binary: a minimal Lambda Runtime API on
//! 127.0.0.1 hands it one API Gateway v2 event and records when it first asked for work.

use anyhow::{bail, Context};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use sapk_http::ApiGatewayV2;
use serde_json::{json, Value};
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

#[derive(Default)]
struct Runtime {
    first_next: Mutex<Option<Instant>>,
    answered: Mutex<Option<(Instant, String)>>,
    arrived: Notify,
    go: Notify,
    done: Notify,
}

fn event_for(bin: &Path) -> Value {
    let name = bin.file_name().and_then(|n| n.to_str()).unwrap_or("");
    // A different unknown NIP per run, so that repeated runs do not lock it out.
    let mut r = [0u8; 2];
    let _ = getrandom::fill(&mut r);
    let unknown = format!("197512312000121{:03}", 1 + u16::from_le_bytes(r) % 999);
    let unknown = unknown.as_str();
    let (method, path, body) = match name {
        "forgot" => ("POST", "/v1/password/forgot", json!({ "nip": unknown })),
        "reset" => (
            "POST",
            "/v1/password/reset",
            json!({ "nip": unknown, "token": "AAAA-AAAA", "new_password": "Sungai-Kapuas-Senja-58" }),
        ),
        _ => (
            "POST",
            "/v1/login",
            json!({ "nip": unknown, "password": "Sungai-Kapuas-Senja-58" }),
        ),
    };
    ApiGatewayV2::new(method, path)
        .header("user-agent", "sapk-load")
        .request_id("init-1")
        .json(&body)
        .to_json()
}

async fn serve(listener: tokio::net::TcpListener, rt: Arc<Runtime>, event: String) {
    let event = Arc::new(event);
    while let Ok((stream, _)) = listener.accept().await {
        let (rt, event) = (rt.clone(), event.clone());
        tokio::spawn(async move {
            let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let (rt, event) = (rt.clone(), event.clone());
                async move {
                    let path = req.uri().path().to_owned();
                    if path.ends_with("/invocation/next") {
                        let first = {
                            let mut f = rt.first_next.lock().unwrap_or_else(|p| p.into_inner());
                            let first = f.is_none();
                            if first {
                                *f = Some(Instant::now());
                            }
                            first
                        };
                        if !first {
                            // No second event: the process is stopped before this returns.
                            std::future::pending::<()>().await;
                        }
                        rt.arrived.notify_one();
                        rt.go.notified().await;
                        let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
                        let resp = hyper::Response::builder()
                            .header("content-type", "application/json")
                            .header("lambda-runtime-aws-request-id", "init-1")
                            .header("lambda-runtime-deadline-ms", deadline.to_string())
                            .header(
                                "lambda-runtime-invoked-function-arn",
                                "arn:aws:lambda:ap-southeast-3:123456789012:function:sapk",
                            )
                            .header(
                                "lambda-runtime-trace-id",
                                "Root=1-00000000-000000000000000000000000",
                            )
                            .body(Full::new(Bytes::from(event.as_bytes().to_vec())))
                            .unwrap_or_default();
                        return Ok::<_, Infallible>(resp);
                    }
                    let body = req
                        .into_body()
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .unwrap_or_default();
                    if path.contains("/invocation/") || path.contains("/init/error") {
                        *rt.answered.lock().unwrap_or_else(|p| p.into_inner()) =
                            Some((Instant::now(), String::from_utf8_lossy(&body).into_owned()));
                        rt.done.notify_one();
                    }
                    Ok(hyper::Response::builder()
                        .status(202)
                        .body(Full::new(Bytes::new()))
                        .unwrap_or_default())
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

/// (VmRSS, VmHWM) in KiB.
fn rss(pid: u32) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

struct Run {
    init: Duration,
    idle_rss_kib: u64,
    peak_rss_kib: u64,
    invoke: Duration,
    status: u64,
}

async fn one(bin: &Path, dynamodb_url: Option<&str>) -> anyhow::Result<Run> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let rt = Arc::new(Runtime::default());
    let server = tokio::spawn(serve(listener, rt.clone(), event_for(bin).to_string()));
    let key = {
        let mut b = [0u8; 32];
        getrandom::fill(&mut b).map_err(|e| anyhow::anyhow!("{e}"))?;
        sapk_core::TokenKey::from_bytes(b.to_vec())?.to_base64()
    };
    let started = Instant::now();
    let mut child = std::process::Command::new(bin)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "sapk")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1769")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_REGION", "ap-southeast-3")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env(
            "AWS_ENDPOINT_URL",
            dynamodb_url.unwrap_or("http://127.0.0.1:9"),
        )
        .env("SAPK_TABLE_ACCOUNTS", "sapk-accounts")
        .env("SAPK_TABLE_EPHEMERAL", "sapk-ephemeral")
        .env("SAPK_TABLE_AUDIT", "sapk-audit")
        .env("SAPK_MAIL_FROM", "no-reply@sapk.example.go.id")
        .env("SAPK_TOKEN_KEY", key)
        .env("SAPK_FORGOT_MIN_MS", "0")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let pid = child.id();
    let result = async {
        tokio::time::timeout(Duration::from_secs(10), rt.arrived.notified())
            .await
            .context("no first `next` within 10 s")?;
        let first = rt
            .first_next
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .context("first next")?;
        let (idle, _) = rss(pid);
        let sent = Instant::now();
        rt.go.notify_one();
        tokio::time::timeout(Duration::from_secs(30), rt.done.notified())
            .await
            .context("no answer within 30 s")?;
        let (_, peak) = rss(pid);
        let (at, body) = rt
            .answered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .context("answer")?;
        let status = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v["statusCode"].as_u64())
            .unwrap_or(0);
        Ok(Run {
            init: first - started,
            idle_rss_kib: idle,
            peak_rss_kib: peak,
            invoke: at - sent,
            status,
        })
    }
    .await;
    let _ = child.kill();
    let _ = child.wait();
    server.abort();
    result
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

pub async fn measure(
    bins: &[PathBuf],
    runs: usize,
    dynamodb_url: Option<&str>,
    json_out: bool,
) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    for bin in bins {
        if !bin.exists() {
            bail!(
                "{} not found: cargo build --release -p sapk-functions",
                bin.display()
            );
        }
        let mut r = Vec::new();
        for _ in 0..runs.clamp(1, 50) {
            r.push(one(bin, dynamodb_url).await?);
        }
        rows.push(json!({
            "function": bin.file_name().and_then(|n| n.to_str()).unwrap_or(""),
            "binary_bytes": std::fs::metadata(bin).map(|m| m.len()).unwrap_or(0),
            "runs": r.len(),
            "init_ms_median": (median(r.iter().map(|x| x.init.as_secs_f64() * 1000.0).collect()) * 100.0).round() / 100.0,
            "init_ms_max": (r.iter().map(|x| x.init.as_secs_f64() * 1000.0).fold(0.0, f64::max) * 100.0).round() / 100.0,
            "idle_rss_mib": median(r.iter().map(|x| x.idle_rss_kib as f64 / 1024.0).collect()),
            "peak_rss_mib_after_one_invocation": median(r.iter().map(|x| x.peak_rss_kib as f64 / 1024.0).collect()),
            "first_invocation_ms": (median(r.iter().map(|x| x.invoke.as_secs_f64() * 1000.0).collect()) * 100.0).round() / 100.0,
            "first_invocation_status": r.last().map(|x| x.status).unwrap_or(0),
        }));
    }
    if json_out {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        println!(
            "{:<8} {:>10} {:>12} {:>10} {:>10} {:>10} {:>12} {:>7}",
            "function",
            "bin bytes",
            "init ms p50",
            "init max",
            "idle MiB",
            "peak MiB",
            "invoke ms",
            "status"
        );
        for r in &rows {
            println!(
                "{:<8} {:>10} {:>12.2} {:>10.2} {:>10.1} {:>10.1} {:>12.2} {:>7}",
                r["function"].as_str().unwrap_or(""),
                r["binary_bytes"].as_u64().unwrap_or(0),
                r["init_ms_median"].as_f64().unwrap_or(0.0),
                r["init_ms_max"].as_f64().unwrap_or(0.0),
                r["idle_rss_mib"].as_f64().unwrap_or(0.0),
                r["peak_rss_mib_after_one_invocation"]
                    .as_f64()
                    .unwrap_or(0.0),
                r["first_invocation_ms"].as_f64().unwrap_or(0.0),
                r["first_invocation_status"].as_u64().unwrap_or(0)
            );
        }
    }
    Ok(())
}
