//! A Lambda function binary run as Lambda runs it: a minimal Runtime API on 127.0.0.1
//! (`/2018-06-01/runtime/invocation/next`, `…/response`, `…/error`, `…/init/error`) hands it
//! one event at a time and returns what it answered.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::collections::HashMap;
use std::convert::Infallible;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Mutex as AsyncMutex, Notify};

/// What the function made of one event: its answer, or the error it reported.
pub type Outcome = Result<Value, String>;

type Pending = (String, oneshot::Sender<Outcome>);

struct Shared {
    events: AsyncMutex<mpsc::Receiver<(Value, oneshot::Sender<Outcome>)>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    ready: Notify,
    init_error: Mutex<Option<String>>,
    next_id: Mutex<u64>,
}

/// A function binary running under the fake Runtime API; stopped when dropped.
pub struct LambdaProcess {
    child: std::process::Child,
    events: mpsc::Sender<(Value, oneshot::Sender<Outcome>)>,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
    /// Its stdout and stderr (JSON logs, panics).
    log: tempfile::NamedTempFile,
}

impl Drop for LambdaProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.server.abort();
    }
}

fn text(s: &str) -> hyper::Response<Full<Bytes>> {
    hyper::Response::new(Full::new(Bytes::from(s.to_owned())))
}

async fn route(
    shared: Arc<Shared>,
    req: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
        .unwrap_or_default();
    if path.ends_with("/invocation/next") {
        shared.ready.notify_one();
        let Some((event, reply)) = shared.events.lock().await.recv().await else {
            // No more events: the process is stopped before this returns.
            std::future::pending::<()>().await;
            return text("");
        };
        let id = {
            let mut n = shared.next_id.lock().unwrap_or_else(|p| p.into_inner());
            *n += 1;
            format!("req-{n}")
        };
        shared
            .waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.clone(), reply);
        let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
        return hyper::Response::builder()
            .header("content-type", "application/json")
            .header("lambda-runtime-aws-request-id", id)
            .header("lambda-runtime-deadline-ms", deadline.to_string())
            .header(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:ap-southeast-3:123456789012:function:sapk:live",
            )
            .header(
                "lambda-runtime-trace-id",
                "Root=1-00000000-000000000000000000000000",
            )
            .body(Full::new(Bytes::from(event.to_string())))
            .unwrap_or_else(|_| text(""));
    }
    if path.ends_with("/init/error") {
        *shared.init_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(body);
        shared.ready.notify_one();
        return text("");
    }
    let answer = if path.ends_with("/response") {
        Some(Ok(
            serde_json::from_str(&body).unwrap_or(Value::String(body))
        ))
    } else if path.ends_with("/error") {
        Some(Err(body))
    } else {
        None
    };
    if let Some(outcome) = answer {
        let id = path.rsplit('/').nth(1).unwrap_or("").to_owned();
        let waiting: Option<Pending> = shared
            .waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id)
            .map(|s| (id, s));
        if let Some((_, reply)) = waiting {
            let _ = reply.send(outcome);
        }
    }
    text("")
}

impl LambdaProcess {
    /// Starts `bin` with only `env` (plus what the Lambda runtime sets) and waits until it
    /// asks for its first event, or says why it cannot start.
    pub async fn start(
        bin: &Path,
        function: &str,
        env: &HashMap<String, String>,
    ) -> Result<LambdaProcess, String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let (tx, rx) = mpsc::channel(1);
        let shared = Arc::new(Shared {
            events: AsyncMutex::new(rx),
            waiting: Mutex::new(HashMap::new()),
            ready: Notify::new(),
            init_error: Mutex::new(None),
            next_id: Mutex::new(0),
        });
        let s = shared.clone();
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let s = s.clone();
                        async move { Ok::<_, Infallible>(route(s, req).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        let signals = shared.clone();
        let ready = signals.ready.notified();
        let log = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
        let child = std::process::Command::new(bin)
            .env_clear()
            .envs(env)
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", function)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{function}"),
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .stdout(log.reopen().map_err(|e| e.to_string())?)
            .stderr(log.reopen().map_err(|e| e.to_string())?)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", bin.display()))?;
        let mut process = LambdaProcess {
            child,
            events: tx,
            shared,
            server,
            log,
        };
        // Ready when it asks for work; not when it exits or reports an init error first.
        tokio::pin!(ready);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = process.child.try_wait() {
                return Err(format!(
                    "{function} exited ({status}): {}",
                    process.stderr()
                ));
            }
            if tokio::time::Instant::now() > deadline {
                return Err(format!(
                    "{function}: no first `next` within 20 s: {}",
                    process.stderr()
                ));
            }
            if tokio::time::timeout(Duration::from_millis(50), &mut ready)
                .await
                .is_ok()
            {
                break;
            }
        }
        let init_error = process
            .shared
            .init_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(e) = init_error {
            return Err(format!("{function} failed to start: {e}"));
        }
        Ok(process)
    }

    fn stderr(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.output()
    }

    /// What the function wrote so far (its JSON logs, a panic).
    pub fn output(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// Hands the function `event` and waits (30 s at most) for what it answers.
    pub async fn invoke(&self, event: Value) -> Outcome {
        let (reply, answer) = oneshot::channel();
        self.events
            .send((event, reply))
            .await
            .map_err(|_| "the runtime stopped".to_owned())?;
        tokio::time::timeout(Duration::from_secs(30), answer)
            .await
            .map_err(|_| "no answer within 30 s".to_owned())?
            .map_err(|_| "the runtime dropped the event".to_owned())?
    }
}
