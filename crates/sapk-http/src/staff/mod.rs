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

use crate::problem::problem_response;
use crate::{json_response, lang_of_headers, MAX_BODY_BYTES};
use lambda_http::http::{header, Method, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use sapk_core::audit_text::{Action, Reason};
use sapk_core::staff::{ChangeError, CheckFailure, EmailChangeRequest, Forbidden, StaffError};
use sapk_core::two_step::FactorRemovalRequest;
use sapk_core::{Lang, Service};
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
struct StaffProblem {
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

fn ok(lang: Lang, body: &Value) -> Response<Body> {
    json_response(StatusCode::OK, lang, body)
}

fn forbidden(why: Forbidden, lang: Lang) -> StaffProblem {
    staff_problem(&StaffError::Forbidden(why), lang)
}

/// Every staff problem carries the core's reason code, as the audit record does, and the
/// core's text for it.
fn staff_problem(e: &StaffError, lang: Lang) -> StaffProblem {
    let (status, code) = match e {
        StaffError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
        StaffError::InvalidNip(_) => (StatusCode::BAD_REQUEST, "invalid_nip"),
        StaffError::UnknownNip => (StatusCode::NOT_FOUND, "not_found"),
        StaffError::Conflict => (StatusCode::CONFLICT, "conflict"),
        StaffError::NoSecondFactor => (StatusCode::CONFLICT, "no_second_factor"),
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

/// The NIP segment and the action of a staff route, or `None` for a path or method that
/// is not one.
fn staff_route(path: &str, method: &Method) -> Option<(String, Action)> {
    let rest = path.strip_prefix("/v1/staff/employees/")?;
    let parts: Vec<&str> = rest.split('/').collect();
    let (nip, action) = match (parts.as_slice(), method) {
        ([nip], &Method::GET) => (*nip, Action::EmployeeViewed),
        ([nip, "email"], &Method::POST) => (*nip, Action::EmailChange),
        ([nip, "email-exception"], &Method::POST) => (*nip, Action::EmailExceptionRequest),
        ([nip, "email-exception"], &Method::GET) => (*nip, Action::EmailExceptionViewed),
        ([nip, "email-exception", "approve"], &Method::POST) => {
            (*nip, Action::EmailExceptionApprove)
        }
        ([nip, "email-exception", "reject"], &Method::POST) => (*nip, Action::EmailExceptionReject),
        ([nip, "unlock"], &Method::POST) => (*nip, Action::AccountUnlock),
        ([nip, "second-factor", "remove"], &Method::POST) => (*nip, Action::SecondFactorRemove),
        ([nip, "sessions", "revoke"], &Method::POST) => (*nip, Action::SessionRevoke),
        ([nip, "audit"], &Method::GET) => (*nip, Action::AuditViewed),
        ([nip, "audit", "verify"], &Method::GET) => (*nip, Action::AuditVerified),
        _ => return None,
    };
    Some((nip.to_owned(), action))
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

    /// Handles one request; never fails (every error becomes a problem response).
    pub async fn handle(&self, req: Request) -> Response<Body> {
        let lang = lang_of_headers(req.headers());
        match self.dispatch(&req, lang).await {
            Ok(r) => r,
            Err(p) => respond_problem(p, lang),
        }
    }

    async fn dispatch(&self, req: &Request, lang: Lang) -> Result<Response<Body>, StaffProblem> {
        let path = req.uri().path().trim_end_matches('/').to_owned();
        let route = staff_route(&path, req.method());
        // Identity first: only what the IAM authorizer verified. An unregistered caller
        // learns nothing, not even whether the route or the NIP exists; every refusal after
        // the officer is identified is audited, an unknown route and an oversized body too.
        let Some(principal) = iam_principal(req) else {
            return Err(forbidden(Forbidden::Unregistered, lang));
        };
        let svc = &self.service;
        // The NIP as typed (spaces and all), percent-encoded as one path segment.
        let nip_raw = route.as_ref().map_or_else(
            || {
                path.strip_prefix("/v1/staff/employees/")
                    .and_then(|r| r.split('/').next())
                    .unwrap_or_default()
                    .to_owned()
            },
            |(nip, _)| nip.clone(),
        );
        let nip_raw = percent_encoding::percent_decode_str(&nip_raw)
            .decode_utf8_lossy()
            .into_owned();
        let parsed = svc.nip(&nip_raw);
        let officer = svc
            .authorize_officer(&principal, parsed.as_ref().ok())
            .await
            .map_err(|e| staff_problem(&e, lang))?;
        let op = officer.operator();
        let refused = |action: Action, reason: Reason, p: StaffProblem| {
            let nip = parsed.as_ref().ok();
            let op = &op;
            async move {
                match svc.record_staff_refusal(op, nip, action, reason).await {
                    Ok(()) => p,
                    Err(e) => staff_problem(&e, lang),
                }
            }
        };
        let Some((_, action)) = route else {
            let p = problem(
                StatusCode::NOT_FOUND,
                "not_found",
                lang.pick("Alamat ini tidak ada.", "There is nothing at this address.")
                    .into(),
            );
            return Err(refused(Action::StaffRequest, Reason::UnknownRoute, p).await);
        };
        if req.body().as_ref().len() > MAX_BODY_BYTES {
            return Err(refused(action, Reason::PayloadTooLarge, too_large(lang)).await);
        }
        // The chain of records without a NIP (the registry, import runs, checkpoints): a BKN
        // office's officers may check it, as no person holds the key to check it directly.
        if action == Action::AuditVerified && nip_raw.trim() == sapk_core::audit_chain::SYSTEM_CHAIN
        {
            if officer.scope != sapk_core::ports::StaffScope::Bkn {
                return Err(refused(
                    action,
                    Reason::OutOfScope,
                    forbidden(Forbidden::OutOfScope, lang),
                )
                .await);
            }
            return svc
                .verify_system_audit(&op)
                .await
                .map(|r| ok(lang, &json!(r)))
                .map_err(|e| staff_problem(&e, lang));
        }
        let nip = match parsed {
            Ok(ref n) => n.clone(),
            Err(ref e) => {
                let p = problem(StatusCode::BAD_REQUEST, "invalid_nip", e.text(lang));
                return Err(
                    match svc
                        .record_staff_refusal(&op, None, action, Reason::InvalidNip)
                        .await
                    {
                        Ok(()) => p,
                        Err(e) => staff_problem(&e, lang),
                    },
                );
            }
        };
        let account = match svc.account_for_counter(nip.as_str()).await {
            Ok(a) => a,
            Err(StaffError::UnknownNip) => {
                let p = staff_problem(&StaffError::UnknownNip, lang);
                return Err(
                    match svc
                        .record_staff_refusal(&op, Some(&nip), action, Reason::UnknownNip)
                        .await
                    {
                        Ok(()) => p,
                        Err(e) => staff_problem(&e, lang),
                    },
                );
            }
            Err(e) => return Err(staff_problem(&e, lang)),
        };
        svc.check_scope(&officer, &account, action)
            .await
            .map_err(|e| staff_problem(&e, lang))?;
        let fail = |e: StaffError| staff_problem(&e, lang);
        let limit = |default: usize| {
            req.query_string_parameters_ref()
                .and_then(|q| q.first("limit"))
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(default)
                .clamp(1, 500)
        };
        match action {
            Action::EmployeeViewed => {
                let new_email = req
                    .query_string_parameters_ref()
                    .and_then(|q| q.first("new_email"))
                    .map(str::to_owned);
                let o = svc
                    .employee_overview_for(nip.as_str(), &op, limit(10), new_email.as_deref())
                    .await
                    .map_err(fail)?;
                Ok(ok(lang, &json!(o)))
            }
            Action::AccountUnlock => {
                let was_locked = svc.unlock_account(nip.as_str(), &op).await.map_err(fail)?;
                Ok(ok(lang, &json!({ "ok": true, "was_locked": was_locked })))
            }
            Action::SessionRevoke => {
                svc.revoke_sessions(nip.as_str(), &op).await.map_err(fail)?;
                Ok(ok(lang, &json!({ "ok": true })))
            }
            Action::AuditViewed => {
                let events = svc
                    .audit_trail(nip.as_str(), limit(50), &op)
                    .await
                    .map_err(fail)?;
                Ok(ok(lang, &json!(events)))
            }
            Action::AuditVerified => {
                let report = svc
                    .verify_audit_trail(nip.as_str(), &op)
                    .await
                    .map_err(fail)?;
                Ok(ok(lang, &json!(report)))
            }
            Action::EmailExceptionViewed => {
                let pending = svc.view_email_exception(&nip, &op).await.map_err(fail)?;
                Ok(ok(lang, &json!({ "pending": pending })))
            }
            Action::EmailExceptionApprove => {
                match svc.approve_email_exception(&nip, &op, lang).await {
                    Ok(out) => Ok(ok(lang, &json!({ "ok": true, "outcome": out }))),
                    Err(e) => Err(change_problem(e, lang)),
                }
            }
            Action::SecondFactorRemove => {
                let request =
                    body_json::<FactorRemovalRequest>(req, svc, &nip, &op, action, lang).await?;
                svc.remove_second_factor(&nip, &request, &op, lang)
                    .await
                    .map(|out| ok(lang, &json!({ "ok": true, "outcome": out })))
                    .map_err(|e| change_problem(e, lang))
            }
            Action::EmailExceptionReject => {
                let why = body_json::<RejectBody>(req, svc, &nip, &op, action, lang).await?;
                svc.reject_email_exception(&nip, &op, why.why.as_deref())
                    .await
                    .map_err(|e| change_problem(e, lang))?;
                Ok(ok(lang, &json!({ "ok": true })))
            }
            _ => {
                let request =
                    body_json::<EmailChangeRequest>(req, svc, &nip, &op, action, lang).await?;
                let result = if action == Action::EmailChange {
                    svc.change_email(&nip, &request, &op, lang)
                        .await
                        .map(|out| json!({ "ok": true, "outcome": out }))
                } else {
                    svc.request_email_exception(&nip, &request, &op)
                        .await
                        .map(|p| json!({ "ok": true, "pending": p }))
                };
                result
                    .map(|v| ok(lang, &v))
                    .map_err(|e| change_problem(e, lang))
            }
        }
    }
}

/// The body of a rejection: why, optionally.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RejectBody {
    #[serde(default)]
    why: Option<String>,
}

fn change_problem(e: ChangeError, lang: Lang) -> StaffProblem {
    match e {
        ChangeError::Check(f) => check_problem(&f, lang),
        ChangeError::Staff(e) => staff_problem(&e, lang),
    }
}

/// A request body as `T`: at most 16 KiB, JSON of that shape (an empty body is `{}`).
/// A body that is neither is refused, and the refusal audited under `action`.
async fn body_json<T: serde::de::DeserializeOwned>(
    req: &Request,
    svc: &Service,
    nip: &sapk_core::Nip,
    op: &sapk_core::staff::Operator,
    action: Action,
    lang: Lang,
) -> Result<T, StaffProblem> {
    // (The size was checked, and an oversized body refused and audited, by `dispatch`.)
    let bytes: &[u8] = req.body().as_ref();
    let bytes = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        bytes
    };
    match serde_json::from_slice::<T>(bytes) {
        Ok(r) => Ok(r),
        Err(e) => {
            let detail = match lang {
                Lang::Id => format!("Isi permintaan tidak dapat dibaca untuk tindakan ini (lihat dokumentasi API): {e}"),
                Lang::En => format!("The request body does not fit this action (see the API documentation): {e}"),
            };
            let p = StaffProblem {
                reason: Some("invalid_request"),
                ..problem(StatusCode::BAD_REQUEST, "invalid_request", detail)
            };
            Err(
                match svc
                    .record_staff_refusal(op, Some(nip), action, Reason::InvalidRequest)
                    .await
                {
                    Ok(()) => p,
                    Err(e) => staff_problem(&e, lang),
                },
            )
        }
    }
}
