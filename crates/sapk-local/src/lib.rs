//! The local server: every route of the public API on one machine, served by the same
//! [`sapk_http::Api`] the Lambda functions run. Each HTTP request is turned into the API
//! Gateway HTTP API (payload v2) event that AWS would deliver, so the handler sees the
//! caller's IP in `requestContext.http.sourceIp` exactly as in production.

#![cfg_attr(test, allow(clippy::too_many_lines))]

mod app;
pub mod gateway;

pub use app::{App, BuildError, Settings, Wrap};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use lambda_http::http::{header, StatusCode};
use lambda_http::Body;
use sapk_http::{lang_of_headers, Api, ApiGatewayV2, Problem, StaffApi, MAX_BODY_BYTES};
use serde_json::json;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tracing::{debug, warn};

static REQUEST_SEQ: AtomicU64 = AtomicU64::new(0);

/// How long a client may take to send its request headers (slowloris) and its body.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub header_read: Duration,
    pub body_read: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            header_read: Duration::from_secs(10),
            body_read: Duration::from_secs(10),
        }
    }
}
/// What the server answers: the public API, and (development mode) the staff routes behind
/// a stand-in for API Gateway's IAM authorizer.
#[derive(Clone)]
pub struct Routes {
    pub api: Api,
    pub staff: Option<(StaffApi, Arc<gateway::IamGateway>)>,
}

impl Routes {
    /// The public API alone (staff routes answer 404, as there is no IAM here).
    pub fn public(api: Api) -> Routes {
        Routes { api, staff: None }
    }
}

/// Of an oversized body, up to this much is read and thrown away before the 413 is sent, so
/// that a client still writing reads the answer instead of a reset connection.
pub const DRAIN_LIMIT_BYTES: u64 = 8 * 1024 * 1024;

/// The event API Gateway would deliver for this request: a catch-all route, the caller's
/// address as the source, received now.
fn local_event(parts: &hyper::http::request::Parts, body: &[u8], peer: SocketAddr) -> ApiGatewayV2 {
    ApiGatewayV2::new(parts.method.as_str(), parts.uri.path())
        .query(parts.uri.query().unwrap_or(""))
        .headers(&parts.headers)
        .body(body)
        .source_ip(&peer.ip().to_string())
        .route_key("$default")
        .api("local", "local", "localhost")
        .request_id(&format!(
            "local-{}",
            REQUEST_SEQ.fetch_add(1, Ordering::Relaxed)
        ))
        .at(chrono::Utc::now())
}

fn to_hyper(resp: lambda_http::Response<Body>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = resp.into_parts();
    let bytes = match body {
        Body::Text(s) => Bytes::from(s),
        Body::Binary(b) => Bytes::from(b),
        _ => Bytes::new(),
    };
    hyper::Response::from_parts(parts, Full::new(bytes))
}

/// Reads and discards what is left of a body, up to `DRAIN_LIMIT_BYTES` and
/// `BODY_READ_TIMEOUT`.
async fn drain(mut body: Incoming, within: Duration) {
    let mut seen = 0u64;
    let reading = async {
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(f) => {
                    seen += f.data_ref().map_or(0, |d| d.len() as u64);
                    if seen > DRAIN_LIMIT_BYTES {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
    };
    let _ = tokio::time::timeout(within, reading).await;
}

/// The answer to an oversized body: 413, and the connection closes after it.
fn too_large(api: &Api, lang: sapk_core::Lang) -> hyper::Response<Full<Bytes>> {
    let mut r = to_hyper(api.problem(&Problem::PayloadTooLarge, lang));
    r.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    r
}

/// Where the local server serves the API's OpenAPI document (`docs/openapi.yaml`).
pub const OPENAPI_PATH: &str = "/openapi.yaml";
/// The OpenAPI document, built into the binary.
pub const OPENAPI_YAML: &str = include_str!("../../../docs/openapi.yaml");

fn openapi_document() -> hyper::Response<Full<Bytes>> {
    let mut r = hyper::Response::new(Full::new(Bytes::from_static(OPENAPI_YAML.as_bytes())));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/yaml; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-cache"),
    );
    h.insert(
        "x-content-type-options",
        header::HeaderValue::from_static("nosniff"),
    );
    r
}

/// A file of the recovery page, with the page's security headers.
fn page_file(asset: &sapk_web::Asset, head: bool) -> hyper::Response<Full<Bytes>> {
    let body = if head {
        Bytes::new()
    } else {
        Bytes::from_static(asset.body.as_bytes())
    };
    let mut r = hyper::Response::new(Full::new(body));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(asset.content_type),
    );
    for (name, value) in sapk_web::SECURITY_HEADERS {
        h.insert(*name, header::HeaderValue::from_static(value));
    }
    r
}

/// How much of a staff request's body the local gateway reads before it refuses the request
/// unread (API Gateway's own limit is 10 MB; the staff handler refuses anything over 16 KiB,
/// audited).
const STAFF_BODY_READ_LIMIT: usize = 1024 * 1024;

async fn serve_one(
    routes: &Routes,
    req: hyper::Request<Incoming>,
    peer: SocketAddr,
    timeouts: Timeouts,
) -> hyper::Response<Full<Bytes>> {
    let api = &routes.api;
    let lang = lang_of_headers(req.headers());
    if req.method() == hyper::Method::GET || req.method() == hyper::Method::HEAD {
        if req.uri().path() == OPENAPI_PATH {
            return openapi_document();
        }
        if let Some(asset) = sapk_web::asset(req.uri().path()) {
            return page_file(asset, req.method() == hyper::Method::HEAD);
        }
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let (parts, body) = req.into_parts();
    // Staff requests are read further, as API Gateway passes them to the staff function, so
    // that an oversized one reaches the signature check and the handler, which refuses it
    // with an audit record (the officer is known by then).
    let limit = if routes.staff.is_some() && parts.uri.path().starts_with("/v1/staff/") {
        STAFF_BODY_READ_LIMIT
    } else {
        MAX_BODY_BYTES
    };
    if declared.is_some_and(|n| n > limit as u64) {
        drain(body, timeouts.body_read).await;
        return too_large(api, lang);
    }
    let bytes = match read_body(body, limit, timeouts).await {
        Ok(bytes) => bytes,
        Err(BodyRead::TooLarge) => return too_large(api, lang),
        Err(BodyRead::Answer(r)) => return r,
    };
    answer_event(routes, &parts, &bytes, peer, lang).await
}

/// Why a request's body was not read.
enum BodyRead {
    /// Over the limit (the rest was drained).
    TooLarge,
    /// Broken off, or not sent in time: this answer.
    Answer(hyper::Response<Full<Bytes>>),
}

/// The request's body, up to `limit` bytes, within the read timeout.
async fn read_body(
    mut body: Incoming,
    limit: usize,
    timeouts: Timeouts,
) -> Result<Bytes, BodyRead> {
    let mut buf = Vec::new();
    let mut over = false;
    let read = tokio::time::timeout(timeouts.body_read, async {
        while let Some(frame) = body.frame().await {
            if let Some(d) = frame?.data_ref() {
                buf.extend_from_slice(d);
                if buf.len() > limit {
                    over = true;
                    break;
                }
            }
        }
        Ok::<(), hyper::Error>(())
    })
    .await;
    match read {
        Ok(Ok(())) if over => {
            drain(body, timeouts.body_read).await;
            Err(BodyRead::TooLarge)
        }
        Ok(Ok(())) => Ok(Bytes::from(buf)),
        Ok(Err(e)) => {
            debug!(error = %e, "request body not read");
            let mut r = hyper::Response::new(Full::new(Bytes::new()));
            *r.status_mut() = StatusCode::BAD_REQUEST;
            Err(BodyRead::Answer(r))
        }
        Err(_) => {
            debug!("request body not sent in time");
            let mut r = hyper::Response::new(Full::new(Bytes::new()));
            *r.status_mut() = StatusCode::REQUEST_TIMEOUT;
            r.headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
            Err(BodyRead::Answer(r))
        }
    }
}

/// The request as the event API Gateway would deliver (a staff request through the IAM
/// stand-in first), answered by the handler it goes to.
async fn answer_event(
    routes: &Routes,
    parts: &hyper::http::request::Parts,
    bytes: &Bytes,
    peer: SocketAddr,
    lang: sapk_core::Lang,
) -> hyper::Response<Full<Bytes>> {
    let api = &routes.api;
    let mut event = local_event(parts, bytes, peer).into_json();
    let staff = match &routes.staff {
        Some((staff, iam)) if parts.uri.path().starts_with("/v1/staff/") => {
            let path_and_query = parts
                .uri
                .path_and_query()
                .map_or(parts.uri.path(), |p| p.as_str());
            match iam.verify(
                parts.method.as_str(),
                path_and_query,
                &parts.headers,
                bytes,
                std::time::SystemTime::now(),
            ) {
                Ok(authorizer) => {
                    event["requestContext"]["authorizer"] = authorizer;
                    Some(staff)
                }
                Err(denied) => return gateway_refusal(&denied),
            }
        }
        _ => None,
    };
    match lambda_http::request::from_str(&event.to_string()) {
        Ok(lambda_req) => to_hyper(match staff {
            Some(staff) => staff.handle(lambda_req).await,
            None => api.handle(lambda_req).await,
        }),
        Err(e) => {
            warn!(error = %e, "request could not be turned into an API Gateway event");
            to_hyper(api.problem(
                &Problem::InvalidRequest {
                    id: "Permintaan tidak dapat dibaca.".into(),
                    en: "The request could not be read.".into(),
                },
                lang,
            ))
        }
    }
}

/// API Gateway's own 403, before any function runs.
fn gateway_refusal(denied: &gateway::Denied) -> hyper::Response<Full<Bytes>> {
    let body = json!({ "message": denied.message() }).to_string();
    let mut r = hyper::Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = StatusCode::FORBIDDEN;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    r.headers_mut().insert(
        "x-amzn-errortype",
        header::HeaderValue::from_static("ForbiddenException"),
    );
    r
}

/// Serves `api` on `listener` until the task is dropped or aborted.
pub async fn serve(listener: TcpListener, api: Api) -> std::io::Result<()> {
    serve_routes(listener, Routes::public(api), Timeouts::default()).await
}

/// `serve` with other read timeouts (tests).
pub async fn serve_with(
    listener: TcpListener,
    api: Api,
    timeouts: Timeouts,
) -> std::io::Result<()> {
    serve_routes(listener, Routes::public(api), timeouts).await
}

/// Serves `routes` on `listener` until the task is dropped or aborted.
pub async fn serve_routes(
    listener: TcpListener,
    routes: Routes,
    timeouts: Timeouts,
) -> std::io::Result<()> {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                warn!(error = %e, "accept failed");
                continue;
            }
        };
        let routes = routes.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let routes = routes.clone();
                async move { Ok::<_, Infallible>(serve_one(&routes, req, peer, timeouts).await) }
            });
            if let Err(e) = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(timeouts.header_read)
                .serve_connection(TokioIo::new(stream), svc)
                .await
            {
                debug!(error = %e, "connection ended with an error");
            }
        });
    }
}

/// The demo employees seeded into an empty local store: a PNS and a PPPK.
pub const DEMO_NIP: &str = "198609262015051001";
pub const DEMO_NAME: &str = "Budi Santoso";
pub const DEMO_EMAIL: &str = "budi.santoso@example.go.id";
pub const DEMO_PPPK_NIP: &str = "199009132025242014";
pub const DEMO_PPPK_NAME: &str = "Ayu Lestari";
pub const DEMO_PPPK_EMAIL: &str = "ayu.lestari@example.go.id";

/// Seeds the demo employees when the store is empty; returns whether it did.
pub async fn seed_demo_if_empty(
    service: &sapk_core::Service,
) -> Result<bool, sapk_core::staff::StaffError> {
    if service.store().has_accounts().await? {
        return Ok(false);
    }
    let op = sapk_core::staff::Operator {
        id: "sapk-local".into(),
        office: "LOCAL".into(),
        officer_id: None,
        scope: None,
        office_name: None,
    };
    for (nip, name, email) in [
        (DEMO_NIP, DEMO_NAME, DEMO_EMAIL),
        (DEMO_PPPK_NIP, DEMO_PPPK_NAME, DEMO_PPPK_EMAIL),
    ] {
        service
            .staff()
            .import_employee(
                &sapk_core::staff::EmployeeRow {
                    nip: nip.into(),
                    name: name.into(),
                    email: email.into(),
                    instansi: Some("Badan Kepegawaian Negara".into()),
                },
                &op,
            )
            .await?;
    }
    Ok(true)
}

/// The identity a checkpoint written by the local server is audited under.
fn checkpoint_operator() -> sapk_core::staff::Operator {
    sapk_core::staff::Operator {
        id: "system".into(),
        office: "LOCAL".into(),
        officer_id: None,
        scope: None,
        office_name: None,
    }
}

/// Writes an audit checkpoint now (a failure is logged: the service goes on).
pub async fn checkpoint_now(service: &sapk_core::Service) {
    match service
        .staff()
        .write_audit_checkpoint(&checkpoint_operator())
        .await
    {
        Ok(cp) => tracing::info!(chains = cp.heads.len(), "audit checkpoint written"),
        Err(e) => warn!(error = %e, "audit checkpoint not written"),
    }
}

/// Writes an audit checkpoint at start and then every `period`.
pub async fn checkpoint_every(
    service: std::sync::Arc<sapk_core::Service>,
    period: std::time::Duration,
) {
    let mut tick = tokio::time::interval(period);
    loop {
        tick.tick().await;
        checkpoint_now(&service).await;
    }
}
