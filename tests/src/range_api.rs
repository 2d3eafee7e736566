//! A stand-in for the Pwned Passwords range API on 127.0.0.1: `GET /range/{5 hex}` answers
//! the SHA-1 suffixes of its passwords under that prefix (and padding lines, seen 0 times),
//! as `SUFFIX:COUNT` lines. It records the paths and `Add-Padding` headers it was sent, and
//! can be made to hang (never answer) to stand for an API that is down.

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use sapk_core::breached::range_key;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// One request the stand-in saw: its path and whether it asked for padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeRequest {
    pub path: String,
    pub padding: bool,
}

pub struct RangeApi {
    /// The URL the service is configured with (`.../range/`).
    pub url: String,
    requests: Arc<Mutex<Vec<RangeRequest>>>,
    hang: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RangeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn answer(passwords: &[String], prefix: &str) -> String {
    let mut lines: Vec<String> = passwords
        .iter()
        .map(|p| range_key(p))
        .filter(|(p, _)| p == prefix)
        .map(|(_, s)| format!("{s}:42"))
        .collect();
    // Padding, as the real API adds it: suffixes seen 0 times.
    lines.extend((0..3).map(|i| format!("{:035X}:0", i + 1)));
    lines.join("\r\n")
}

impl RangeApi {
    /// Starts the stand-in, its corpus `passwords`.
    pub async fn start(passwords: &[&str]) -> RangeApi {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the range API stand-in");
        let url = format!("http://{}/range/", listener.local_addr().expect("addr"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let hang = Arc::new(AtomicBool::new(false));
        let corpus: Arc<Vec<String>> =
            Arc::new(passwords.iter().map(|p| (*p).to_owned()).collect());
        let (r, h) = (requests.clone(), hang.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (r, h, corpus) = (r.clone(), h.clone(), corpus.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let (r, h, corpus) = (r.clone(), h.clone(), corpus.clone());
                        async move {
                            let path = req.uri().path().to_owned();
                            let padding = req
                                .headers()
                                .get("add-padding")
                                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
                            r.lock().expect("lock").push(RangeRequest {
                                path: path.clone(),
                                padding,
                            });
                            if h.load(Ordering::SeqCst) {
                                std::future::pending::<()>().await;
                            }
                            let prefix = path.trim_start_matches("/range/");
                            Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(
                                answer(&corpus, prefix),
                            ))))
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        RangeApi {
            url,
            requests,
            hang,
            task,
        }
    }

    /// From now on, requests are taken and never answered.
    pub fn hang(&self) {
        self.hang.store(true, Ordering::SeqCst);
    }

    pub fn requests(&self) -> Vec<RangeRequest> {
        self.requests.lock().expect("lock").clone()
    }
}
