//! The public HTTP API (API Gateway HTTP API, payload v2) as one handler over `lambda_http`
//! types. The Lambda functions and the local server both call [`Api::handle`].

#![cfg_attr(test, allow(clippy::too_many_lines))]

pub mod breach_range;
pub mod event;
mod problem;
pub mod routes;
pub mod staff;

pub use event::ApiGatewayV2;
pub use problem::Problem;
pub use routes::{Route, RouteDef, RouteMethod};
pub use staff::{Caller, StaffApi};

use lambda_http::http::{header, response::Builder, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use sapk_core::service::RequestMeta;
use sapk_core::{Lang, Service};
use secrecy::ExposeSecret;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::Instant;
use tracing::{info, warn};

/// Request bodies above this size are refused with `413`.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

pub(crate) fn base_response(status: StatusCode, lang: Lang) -> Builder {
    Response::builder()
        .status(status)
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::CONTENT_LANGUAGE, lang.tag())
        .header("x-content-type-options", "nosniff")
}

pub(crate) fn finish(builder: Builder, body: Body) -> Response<Body> {
    match builder.body(body) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "response could not be built");
            let mut r = Response::new(Body::Empty);
            *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            r
        }
    }
}

pub(crate) fn json_response(status: StatusCode, lang: Lang, body: &Value) -> Response<Body> {
    finish(
        base_response(status, lang).header(header::CONTENT_TYPE, "application/json; charset=utf-8"),
        Body::Text(body.to_string()),
    )
}

/// Language of the answer, from `Accept-Language`.
pub fn lang_of_headers(headers: &lambda_http::http::HeaderMap) -> Lang {
    Lang::from_accept_language(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

fn lang_of(req: &Request) -> Lang {
    lang_of_headers(req.headers())
}

/// The header CloudFront adds to every request it forwards, with the origin-verify secret.
pub const ORIGIN_VERIFY_HEADER: &str = "x-origin-verify";
/// The viewer's address and port as CloudFront saw them (`198.51.100.7:46532`,
/// `2001:db8::7:46532`).
pub const VIEWER_ADDRESS_HEADER: &str = "cloudfront-viewer-address";

/// Where a request's source address comes from. Directly on API Gateway it is the request
/// context's. Behind CloudFront, API Gateway sees CloudFront's address, and the viewer's is in
/// `CloudFront-Viewer-Address`; anyone can send that header, so it is believed only on a
/// request that carries the origin-verify secret CloudFront adds (`X-Origin-Verify`), compared
/// in constant time. Otherwise the request context's address is used, as without CloudFront.
#[derive(Clone, Default)]
pub struct EdgeTrust {
    origin_secret: Option<secrecy::SecretString>,
}

impl std::fmt::Debug for EdgeTrust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeTrust")
            .field("cloudfront", &self.origin_secret.is_some())
            .finish()
    }
}

impl EdgeTrust {
    /// Behind CloudFront, with the origin-verify secret it sends.
    pub fn cloudfront(origin_secret: &str) -> EdgeTrust {
        let secret = origin_secret.trim();
        EdgeTrust {
            origin_secret: (!secret.is_empty())
                .then(|| secrecy::SecretString::from(secret.to_owned())),
        }
    }

    /// Whether a request may be served: always without CloudFront; behind it, only one that
    /// carries the origin-verify secret (compared in constant time), so the API's own domain
    /// is not a way around the WAF.
    pub fn admits(&self, req: &Request) -> bool {
        let Some(secret) = &self.origin_secret else {
            return true;
        };
        req.headers()
            .get(ORIGIN_VERIFY_HEADER)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| sapk_core::keys::ct_eq(v, secret.expose_secret()))
    }

    /// The client's address for limits, lock-outs and the audit.
    pub fn source_ip(&self, req: &Request) -> Option<String> {
        let direct = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
            _ => None,
        };
        if self.origin_secret.is_none() || !self.admits(req) {
            return direct;
        }
        req.headers()
            .get(VIEWER_ADDRESS_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(viewer_ip)
            .or(direct)
    }
}

/// The address of `CloudFront-Viewer-Address` (`ADDRESS:PORT`, an IPv6 address unbracketed).
fn viewer_ip(value: &str) -> Option<String> {
    let (ip, port) = value.trim().rsplit_once(':')?;
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    (!port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
        .then(|| ip.parse::<std::net::IpAddr>().ok())
        .flatten()
        .map(|a| a.to_string())
}

pub(crate) fn invalid(id: String, en: String) -> Problem {
    Problem::InvalidRequest { id, en }
}

/// Whether a `Content-Type` declares JSON (`application/json`, `application/*+json`, with
/// any parameters). A request without one is read as JSON.
fn declares_json(req: &Request) -> bool {
    let Some(v) = req.headers().get(header::CONTENT_TYPE) else {
        return true;
    };
    let Ok(v) = v.to_str() else {
        return false;
    };
    let essence = v
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The JSON object of a request body.
pub(crate) fn object(req: &Request) -> Result<Map<String, Value>, Problem> {
    let bytes: &[u8] = req.body().as_ref();
    if bytes.len() > MAX_BODY_BYTES {
        return Err(Problem::PayloadTooLarge);
    }
    if !declares_json(req) {
        return Err(Problem::UnsupportedMediaType);
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(invalid(
            "Isi permintaan harus berupa objek JSON.".into(),
            "The request body must be a JSON object.".into(),
        )),
        Err(_) => Err(invalid(
            "Isi permintaan bukan JSON yang valid.".into(),
            "The request body is not valid JSON.".into(),
        )),
    }
}

/// A required string field.
pub(crate) fn field<'a>(map: &'a Map<String, Value>, name: &str) -> Result<&'a str, Problem> {
    match map.get(name) {
        Some(Value::String(s)) => Ok(s),
        None | Some(Value::Null) => Err(invalid(
            format!("Field \"{name}\" wajib diisi."),
            format!("The field \"{name}\" is required."),
        )),
        Some(_) => Err(invalid(
            format!("Field \"{name}\" harus berupa teks."),
            format!("The field \"{name}\" must be a string."),
        )),
    }
}

/// An optional text field: `None` when absent or `null`, else as [`field`] reads it.
pub(crate) fn optional_field<'a>(
    map: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, Problem> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => field(map, name).map(Some),
    }
}

fn bearer(req: &Request) -> Option<&str> {
    let v = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The bearer token of a signed-in route, or `401`.
pub(crate) fn signed_in(req: &Request) -> Result<&str, Problem> {
    bearer(req).ok_or(Problem::Auth(sapk_core::AuthError::Unauthorized))
}

/// The answer that carries new recovery codes (a confirmed authenticator, or renewed codes).
pub(crate) fn recovery_codes_response(codes: &[String], lang: Lang) -> Response<Body> {
    json_response(
        StatusCode::OK,
        lang,
        &json!({
            "second_factor": true,
            "recovery_codes": codes,
            "message": lang.pick(
                "Verifikasi dua langkah aktif. Simpan 10 kode pemulihan ini di tempat aman (dicetak atau di pengelola password): masing-masing dapat dipakai sekali bila ponsel Anda hilang. Kode ini tidak akan ditampilkan lagi.",
                "Two-step login is on. Keep these 10 recovery codes somewhere safe (printed or in a password manager): each works once if you lose your phone. They will not be shown again.",
            ),
        }),
    )
}

/// The `otpauth://` URI as a QR code (SVG, black on white, with its quiet zone), drawn here
/// so that a page shows it without any third-party service. Empty if the URI does not fit
/// a QR code (it always does: a few hundred characters at most).
pub(crate) fn qr_svg(uri: &str) -> String {
    match qrcode::QrCode::with_error_correction_level(uri, qrcode::EcLevel::M) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
        Err(e) => {
            tracing::error!(error = %e, "QR code not drawn");
            String::new()
        }
    }
}

/// The answer that carries a new session.
pub(crate) fn session_body(out: &sapk_core::service::LoginOutput, lang: Lang) -> Value {
    let mut body = json!({
        "access_token": out.access_token.expose_secret(),
        "token_type": "Bearer",
        "expires_in": out.expires_in,
    });
    if out.enrol_second_factor {
        body["second_factor_setup_required"] = json!(true);
        body["message"] = json!(lang.pick(
            "Instansi Anda mewajibkan verifikasi dua langkah. Pasang aplikasi authenticator sekarang (POST /v1/account/second-factor).",
            "Your agency requires two-step login. Set up an authenticator app now (POST /v1/account/second-factor).",
        ));
    }
    body
}

/// The public API, serving the routes it was built with (a function's own, or all of them).
/// Cheap to clone: the service is shared and the routes are a static table.
#[derive(Clone)]
pub struct Api {
    service: Arc<Service>,
    routes: &'static [Route],
    edge: EdgeTrust,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api").field("routes", &self.routes).finish()
    }
}

impl Api {
    pub fn new(service: Arc<Service>, routes: &'static [Route]) -> Api {
        Api {
            service,
            routes,
            edge: EdgeTrust::default(),
        }
    }

    /// The same API, behind CloudFront: the viewer's address from `CloudFront-Viewer-Address`
    /// on requests that carry the origin-verify secret.
    pub fn with_edge(mut self, edge: EdgeTrust) -> Api {
        self.edge = edge;
        self
    }

    /// Every route (the local server).
    pub fn all(service: Arc<Service>) -> Api {
        Api::new(service, &routes::ALL)
    }

    pub fn service(&self) -> &Arc<Service> {
        &self.service
    }

    fn min_len(&self) -> usize {
        self.service.config().password.min_len
    }

    /// The answer to a problem, in `lang`.
    pub fn problem(&self, p: &Problem, lang: Lang) -> Response<Body> {
        p.response(lang, self.min_len())
    }

    /// Handles one request; never fails (every error becomes a problem response).
    pub async fn handle(&self, req: Request) -> Response<Body> {
        let started = Instant::now();
        let lang = lang_of(&req);
        let path = req.uri().path().trim_end_matches('/').to_owned();
        let route = self.routes.iter().copied().find(|r| r.path == path);
        let (name, response) = match route {
            // Counted by the stack's metric filter (SAPK/Api NotThroughEdge).
            _ if !self.edge.admits(&req) => {
                warn!(
                    source_ip = self.edge.source_ip(&req).as_deref().unwrap_or("-"),
                    "request not through the edge"
                );
                ("none", self.problem(&Problem::NotThroughEdge, lang))
            }
            None => ("none", self.problem(&Problem::NotFound, lang)),
            Some(r) if *req.method() != r.method.http() => (
                r.name,
                self.problem(&Problem::MethodNotAllowed(r.method.as_str()), lang),
            ),
            Some(r) => {
                let ctx = routes::Ctx {
                    svc: &self.service,
                    req: &req,
                    lang,
                    meta: RequestMeta {
                        source_ip: self.edge.source_ip(&req),
                        lang,
                    },
                };
                let answer = match (r.handler)(&ctx).await {
                    Ok(resp) => resp,
                    Err(p) => self.problem(&p, lang),
                };
                (r.name, answer)
            }
        };
        info!(
            route = name,
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request"
        );
        response
    }
}
