//! The staff API (`/v1/staff/...`): the counter operations for officers who sign their
//! requests with their own IAM identity. API Gateway's `AWS_IAM` authorizer verifies the
//! SigV4 signature and puts the caller in `requestContext.authorizer.iam`; this handler takes
//! the identity from there only, finds the officer in the staff registry, and leaves every
//! rule (registration, scope, the identity check, versions) to the core, which audits every
//! refusal. Without an IAM context a request is refused: these routes are never reachable
//! without IAM.
//!
//! | route | body | success |
//! |---|---|---|
//! | `GET /v1/staff/employees/{nip}?limit=N[&new_email=A]` | – | `200` the employee overview (N recent audit events; with `new_email`, who else has that address) |
//! | `POST /v1/staff/employees/{nip}/email` | `{"new_email","nik","documents":[{"kind","number"?}],"person_confirmed","if_version"?}` (the core's `EmailChangeRequest`) | `200` |
//! | `POST /v1/staff/employees/{nip}/email-exception` | an e-mail change with `"exception_reason"` (the NIK disagrees with the NIP) | `200` `{"pending"}`: waits for a second officer |
//! | `GET /v1/staff/employees/{nip}/email-exception` | – | `200` `{"pending": … or null}` |
//! | `POST /v1/staff/employees/{nip}/email-exception/approve` | – | `200` as an e-mail change; refused (`same_officer`) for the requester |
//! | `POST /v1/staff/employees/{nip}/email-exception/reject` | `{"why"?}` or empty | `200` |
//! | `POST /v1/staff/employees/{nip}/unlock` | – | `200` `{"was_locked"}` |
//! | `POST /v1/staff/employees/{nip}/second-factor/remove` | `{"nik","documents":[…],"person_confirmed","if_version"?}` (the core's `FactorRemovalRequest`: the e-mail change's identity check) | `200` `{"outcome":{"was_active","notified"}}`; `409 no_second_factor` when there is none |
//! | `POST /v1/staff/employees/{nip}/sessions/revoke` | – | `200` |
//! | `GET /v1/staff/employees/{nip}/audit?limit=N` | – | `200` the trail, newest first |
//! | `GET /v1/staff/employees/{nip}/audit/verify` | – | `200` the check of the trail's keyed hash chain (`ChainReport`: `problems` empty when intact) |

pub mod routes;

use crate::problem::problem_response;
use crate::{json_response, lang_of_headers, MAX_BODY_BYTES};
use lambda_http::http::{header, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use routes::StaffCtx;
pub use routes::{StaffRoute, StaffRouteDef};
use sapk_core::audit_text::{Action, Reason};
use sapk_core::ports::{Officer, StaffScope};
use sapk_core::staff::{ChangeError, CheckFailure, Forbidden, Operator, StaffError};
use sapk_core::{Lang, Nip, Service};
use serde_json::{json, Value};
use std::sync::Arc;

/// The IAM principal API Gateway verified, if the request came through the IAM authorizer.
pub fn iam_principal(req: &Request) -> Option<String> {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx
            .authorizer
            .as_ref()
            .and_then(|a| a.iam.as_ref())
            .and_then(|iam| iam.user_arn.clone())
            .filter(|arn| !arn.trim().is_empty()),
        _ => None,
    }
}

/// A staff problem: status, stable code, localised detail, and a refusal reason if any.
pub(crate) struct StaffProblem {
    status: StatusCode,
    code: &'static str,
    detail: String,
    reason: Option<&'static str>,
}

fn problem(status: StatusCode, code: &'static str, detail: String) -> StaffProblem {
    StaffProblem {
        status,
        code,
        detail,
        reason: None,
    }
}

fn respond_problem(p: StaffProblem, lang: Lang) -> Response<Body> {
    let title = match p.code {
        "forbidden" => lang.pick("Tidak diizinkan", "Forbidden"),
        "invalid_nip" => lang.pick("NIP tidak valid", "Invalid NIP"),
        "not_found" => lang.pick("Tidak ditemukan", "Not found"),
        "conflict" => lang.pick("Terjadi perubahan bersamaan", "Concurrent change"),
        "check_failed" => lang.pick("Pemeriksaan identitas gagal", "Identity check failed"),
        "payload_too_large" => lang.pick("Permintaan terlalu besar", "Request too large"),
        "unavailable" => lang.pick("Layanan sedang tidak tersedia", "Service unavailable"),
        "no_second_factor" => lang.pick("Verifikasi dua langkah tidak aktif", "No two-step login"),
        _ => lang.pick("Permintaan tidak valid", "Invalid request"),
    };
    let mut extra = serde_json::Map::new();
    if let Some(r) = p.reason {
        extra.insert("reason".into(), Value::from(r));
    }
    // As on the public routes, an unreachable store says when to try again.
    let header = (p.status == StatusCode::SERVICE_UNAVAILABLE)
        .then(|| (header::RETRY_AFTER, "5".to_owned()));
    problem_response(p.status, p.code, title, &p.detail, extra, header, lang)
}

pub(crate) fn ok(lang: Lang, body: &Value) -> Response<Body> {
    json_response(StatusCode::OK, lang, body)
}

fn forbidden(why: Forbidden, lang: Lang) -> StaffProblem {
    staff_problem(&StaffError::Forbidden(why), lang)
}

/// Every staff problem carries the core's reason code, as the audit record does, and the
/// core's text for it.
pub(crate) fn staff_problem(e: &StaffError, lang: Lang) -> StaffProblem {
    let (status, code) = match e {
        StaffError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
        StaffError::InvalidNip(_) => (StatusCode::BAD_REQUEST, "invalid_nip"),
        StaffError::UnknownNip => (StatusCode::NOT_FOUND, "not_found"),
        StaffError::Conflict => (StatusCode::CONFLICT, "conflict"),
        StaffError::NoSecondFactor => (StatusCode::CONFLICT, "no_second_factor"),
        StaffError::NoPasskey => (StatusCode::CONFLICT, "no_passkey"),
        StaffError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        _ => (StatusCode::BAD_REQUEST, "invalid_request"),
    };
    // The store's own message stays in the logs, not in the answer.
    let detail = match e {
        StaffError::Store(err) => {
            tracing::error!(error = %err, "staff request: the store failed");
            lang.pick(
                "Layanan sedang tidak tersedia; coba lagi sebentar lagi.",
                "The service is unavailable; try again shortly.",
            )
            .to_owned()
        }
        other => other.text(lang),
    };
    StaffProblem {
        status,
        code,
        detail,
        reason: Some(e.reason()),
    }
}

fn check_problem(f: &CheckFailure, lang: Lang) -> StaffProblem {
    StaffProblem {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        code: "check_failed",
        detail: f.text(lang),
        reason: Some(f.reason()),
    }
}

fn too_large(lang: Lang) -> StaffProblem {
    problem(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        lang.pick(
            "Isi permintaan melebihi 16 KiB.",
            "The request body exceeds 16 KiB.",
        )
        .into(),
    )
}

/// Who asks.
pub enum Caller {
    /// An IAM principal API Gateway verified; the staff registry says which officer it is.
    Iam(String),
    /// An operator acting directly on a store this machine holds.
    Local(Operator),
}

/// A writer's own audit key (a supervisor's, a data administrator's) seals only its own
/// records: the service's are checked by the staff function, through the API.
fn own_key_only(lang: Lang) -> StaffProblem {
    StaffProblem {
        reason: Some("use_api"),
        ..problem(
            StatusCode::FORBIDDEN,
            "forbidden",
            lang.pick(
                "Kunci audit Anda hanya menyegel catatan peran Anda; periksa rantai melalui API (--api URL).",
                "Your audit key seals only your role's records; check chains through the API (--api URL).",
            )
            .into(),
        )
    }
}

/// The staff routes, served by the `staff` function.
#[derive(Clone)]
pub struct StaffApi {
    service: Arc<Service>,
}

impl StaffApi {
    pub fn new(service: Arc<Service>) -> StaffApi {
        StaffApi { service }
    }

    /// The service behind the routes.
    pub fn service(&self) -> &Arc<Service> {
        &self.service
    }

    /// Handles one request through API Gateway; never fails (every error becomes a problem
    /// response). The caller is the IAM principal the authorizer verified, or nobody.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        let caller = iam_principal(&req).map(Caller::Iam);
        self.handle_as(req, caller).await
    }

    /// Handles one request from an operator acting on a store this machine holds (the
    /// counter tool without `--api`): the same routes, checks and audit records as through
    /// API Gateway, with the operator the tool established instead of an IAM principal.
    pub async fn handle_local(&self, req: Request, op: Operator) -> Response<Body> {
        self.handle_as(req, Some(Caller::Local(op))).await
    }

    async fn handle_as(&self, req: Request, caller: Option<Caller>) -> Response<Body> {
        let lang = lang_of_headers(req.headers());
        match self.dispatch(&req, lang, caller).await {
            Ok(r) => r,
            Err(p) => respond_problem(p, lang),
        }
    }

    /// The officer behind `caller`: a registered, active one for an IAM principal (refused
    /// and audited otherwise); a local operator sees every employee, as the registry does
    /// not name them.
    async fn officer(
        &self,
        caller: Caller,
        target: Option<&Nip>,
        lang: Lang,
    ) -> Result<(Officer, Operator), StaffProblem> {
        match caller {
            Caller::Iam(principal) => {
                let officer = self
                    .service
                    .staff()
                    .authorize_officer(&principal, target)
                    .await
                    .map_err(|e| staff_problem(&e, lang))?;
                let op = officer.operator();
                Ok((officer, op))
            }
            Caller::Local(op) => Ok((
                Officer {
                    principal: op.id.clone(),
                    officer_id: op.officer_id.clone().unwrap_or_default(),
                    name: String::new(),
                    office: op.office.clone(),
                    scope: StaffScope::Bkn,
                    active: true,
                    updated_at: self.service.now(),
                    office_name: None,
                },
                op,
            )),
        }
    }

    async fn dispatch(
        &self,
        req: &Request,
        lang: Lang,
        caller: Option<Caller>,
    ) -> Result<Response<Body>, StaffProblem> {
        let path = req.uri().path().trim_end_matches('/').to_owned();
        let (segment, route) = routes::find(&path, req.method());
        // Identity first: only what the IAM authorizer verified. An unregistered caller
        // learns nothing, not even whether the route or the NIP exists; every refusal after
        // the officer is identified is audited, an unknown route and an oversized body too.
        let Some(caller) = caller else {
            return Err(forbidden(Forbidden::Unregistered, lang));
        };
        let local = matches!(caller, Caller::Local(_));
        let svc = &self.service;
        // The NIP as typed (spaces and all), percent-encoded as one path segment.
        let nip_raw = percent_encoding::percent_decode_str(&segment)
            .decode_utf8_lossy()
            .into_owned();
        let parsed = svc.nip(&nip_raw);
        let (officer, op) = self.officer(caller, parsed.as_ref().ok(), lang).await?;
        let refusal = Refusal {
            svc,
            op: &op,
            nip: parsed.as_ref().ok(),
            lang,
        };
        if path == routes::WAITING_PATH && req.method() == lambda_http::http::Method::GET {
            return waiting(req, &refusal).await;
        }
        let Some(route) = route else {
            let p = problem(
                StatusCode::NOT_FOUND,
                "not_found",
                lang.pick("Alamat ini tidak ada.", "There is nothing at this address.")
                    .into(),
            );
            return Err(refusal
                .record(Action::StaffRequest, Reason::UnknownRoute, p)
                .await);
        };
        if req.body().as_ref().len() > MAX_BODY_BYTES {
            return Err(refusal
                .record(route.action, Reason::PayloadTooLarge, too_large(lang))
                .await);
        }
        if route.name == routes::AUDIT_VERIFY.name && local && svc.audit_sealer().is_some() {
            return Err(own_key_only(lang));
        }
        if route.name == routes::AUDIT_VERIFY.name
            && nip_raw.trim() == sapk_core::audit_chain::SYSTEM_CHAIN
        {
            return system_chain(svc, &officer, &refusal).await;
        }
        let nip = match &parsed {
            Ok(n) => n.clone(),
            Err(e) => {
                let p = problem(StatusCode::BAD_REQUEST, "invalid_nip", e.text(lang));
                return Err(refusal.record(route.action, Reason::InvalidNip, p).await);
            }
        };
        match svc.staff().account_for_counter(nip.as_str()).await {
            Ok(account) => svc
                .staff()
                .check_scope(&officer, &account, route.action)
                .await
                .map_err(|e| staff_problem(&e, lang))?,
            // The trail of a number no account holds any more (moved to a new NIP, or never
            // imported) stays readable by a BKN office, whose scope is every employee.
            Err(StaffError::UnknownNip)
                if route.reads_history() && officer.scope == StaffScope::Bkn => {}
            Err(StaffError::UnknownNip) => {
                let p = staff_problem(&StaffError::UnknownNip, lang);
                return Err(refusal.record(route.action, Reason::UnknownNip, p).await);
            }
            Err(e) => return Err(staff_problem(&e, lang)),
        }
        let ctx = StaffCtx {
            svc,
            req,
            lang,
            nip,
            op: op.clone(),
            action: route.action,
        };
        (route.handler)(&ctx).await
    }
}

/// Records a refusal after the officer is identified; the problem to answer with (or the
/// store's, if the record could not be written).
struct Refusal<'a> {
    svc: &'a Service,
    op: &'a Operator,
    nip: Option<&'a Nip>,
    lang: Lang,
}

impl Refusal<'_> {
    async fn record(&self, action: Action, reason: Reason, p: StaffProblem) -> StaffProblem {
        match self
            .svc
            .staff()
            .record_staff_refusal(self.op, self.nip, action, reason)
            .await
        {
            Ok(()) => p,
            Err(e) => staff_problem(&e, self.lang),
        }
    }
}

/// The chain of records without a NIP (the registry, import runs, checkpoints): a BKN
/// office's officers may check it, as no person holds the key to check it directly.
/// `GET /v1/staff/email-exceptions`: the requests waiting in the officer's scope. A body
/// over the limit is refused and recorded, as on every staff route.
async fn waiting(req: &Request, refusal: &Refusal<'_>) -> Result<Response<Body>, StaffProblem> {
    let lang = refusal.lang;
    if req.body().as_ref().len() > MAX_BODY_BYTES {
        return Err(refusal
            .record(
                Action::EmailExceptionViewed,
                Reason::PayloadTooLarge,
                too_large(lang),
            )
            .await);
    }
    refusal
        .svc
        .staff()
        .list_email_exceptions(refusal.op, lang)
        .await
        .map(|w| ok(lang, &json!(w)))
        .map_err(|e| staff_problem(&e, lang))
}

async fn system_chain(
    svc: &Service,
    officer: &Officer,
    refusal: &Refusal<'_>,
) -> Result<Response<Body>, StaffProblem> {
    let lang = refusal.lang;
    if officer.scope != StaffScope::Bkn {
        let p = forbidden(Forbidden::OutOfScope, lang);
        return Err(refusal
            .record(Action::AuditVerified, Reason::OutOfScope, p)
            .await);
    }
    svc.staff()
        .verify_system_audit(refusal.op)
        .await
        .map(|r| ok(lang, &json!(r)))
        .map_err(|e| staff_problem(&e, lang))
}

pub(crate) fn change_problem(e: ChangeError, lang: Lang) -> StaffProblem {
    match e {
        ChangeError::Check(f) => check_problem(&f, lang),
        ChangeError::Staff(e) => staff_problem(&e, lang),
    }
}

/// A request body as `T`: at most 16 KiB, JSON of that shape (an empty body is `{}`).
/// A body that is neither is refused, and the refusal audited under the route's action.
pub(crate) async fn body_json<T: serde::de::DeserializeOwned>(
    c: &StaffCtx<'_>,
) -> Result<T, StaffProblem> {
    // (The size was checked, and an oversized body refused and audited, by `dispatch`.)
    let bytes: &[u8] = c.req.body().as_ref();
    let bytes = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        bytes
    };
    match serde_json::from_slice::<T>(bytes) {
        Ok(r) => Ok(r),
        Err(e) => {
            let detail = match c.lang {
                Lang::Id => format!("Isi permintaan tidak dapat dibaca untuk tindakan ini (lihat dokumentasi API): {}", shape_error(&e, c.lang)),
                Lang::En => format!("The request body does not fit this action (see the API documentation): {}", shape_error(&e, c.lang)),
            };
            let p = StaffProblem {
                reason: Some("invalid_request"),
                ..problem(StatusCode::BAD_REQUEST, "invalid_request", detail)
            };
            let refusal = Refusal {
                svc: c.svc,
                op: &c.op,
                nip: Some(&c.nip),
                lang: c.lang,
            };
            Err(refusal.record(c.action, Reason::InvalidRequest, p).await)
        }
    }
}

/// Where and how a body is not of a route's shape, without the values serde quotes (a NIK
/// or a document number sent as a JSON number would come back in the answer): the kind of
/// fault, the field serde names when one is unknown or missing, and the position.
fn shape_error(e: &serde_json::Error, l: Lang) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            l.pick("bukan JSON", "not JSON").to_owned()
        }
        Category::Data => {
            let text = e.to_string();
            // Field names are the API's own words, never the caller's values.
            let field = text.split('`').nth(1);
            match field {
                Some(f) if text.starts_with("unknown field") => {
                    format!("{} `{f}`", l.pick("field tidak dikenal", "unknown field"))
                }
                Some(f) if text.starts_with("missing field") => {
                    format!("{} `{f}`", l.pick("field wajib tidak ada", "missing field"))
                }
                _ => l
                    .pick(
                        "sebuah field berjenis atau bernilai salah",
                        "a field of the wrong type or value",
                    )
                    .to_owned(),
            }
        }
    };
    match l {
        Lang::Id => format!("{what} (baris {}, kolom {})", e.line(), e.column()),
        Lang::En => format!("{what} (line {}, column {})", e.line(), e.column()),
    }
}
