//! The staff routes under `/v1/staff/employees/{nip}`: one file each, holding the route's
//! definition (name, method, the path after the NIP, the audit action a refusal is recorded
//! under) and its handler. [`ALL`] is the table the staff API serves from and `sapk-admin`
//! builds its requests from.

mod audit;
mod audit_verify;
mod email_change;
mod email_exception;
mod email_exception_approve;
mod email_exception_reject;
mod email_exception_view;
mod employee;
mod export;
mod factor_remove;
mod passkeys_remove;
mod sessions_revoke;
mod unlock;

use super::StaffProblem;
use crate::RouteMethod;
use lambda_http::{Body, Request, Response};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sapk_core::audit_text::Action;
use sapk_core::staff::Operator;
use sapk_core::{Lang, Nip, Service};
use std::future::Future;
use std::pin::Pin;

/// The prefix of every staff route; the NIP is the next path segment.
pub const PREFIX: &str = "/v1/staff/employees/";

/// `GET /v1/staff/email-exceptions`: the e-mail exceptions waiting for a second officer in
/// the caller's scope (`sapk-admin email pending`); the one staff route not about one NIP.
pub const WAITING_PATH: &str = "/v1/staff/email-exceptions";

/// What a handler gets: the officer checked for the employee (registered, active, in scope).
pub(crate) struct StaffCtx<'a> {
    pub svc: &'a Service,
    pub req: &'a Request,
    pub lang: Lang,
    pub nip: Nip,
    pub op: Operator,
    pub action: Action,
}

pub(crate) type StaffAnswer<'a> =
    Pin<Box<dyn Future<Output = Result<Response<Body>, StaffProblem>> + Send + 'a>>;

/// One staff route.
pub struct StaffRouteDef {
    pub name: &'static str,
    pub method: RouteMethod,
    /// The path after `/v1/staff/employees/{nip}` (empty for the employee itself).
    pub suffix: &'static str,
    /// What the audit records a refusal of this route under.
    pub action: Action,
    pub(crate) handler: for<'a> fn(&'a StaffCtx<'a>) -> StaffAnswer<'a>,
}

impl std::fmt::Debug for StaffRouteDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}{{nip}}{}",
            self.method.as_str(),
            PREFIX,
            self.suffix
        )
    }
}

/// A path segment, percent-encoded (everything but unreserved characters).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A path segment or query value, percent-encoded as the staff routes read it.
pub fn encode(value: &str) -> String {
    utf8_percent_encode(value, SEGMENT).to_string()
}

impl StaffRouteDef {
    /// Whether the route reads the audit trail, which outlives the account it is about.
    pub fn reads_history(&self) -> bool {
        matches!(self.action, Action::AuditViewed | Action::AuditVerified)
    }

    /// The route's path for a NIP as typed (trimmed, spaces and all, as one encoded segment).
    pub fn path(&self, nip: &str) -> String {
        format!("{PREFIX}{}{}", encode(nip.trim()), self.suffix)
    }

    /// Whether the path after the NIP and the method are this route's.
    fn serves(&self, suffix: &str, method: &lambda_http::http::Method) -> bool {
        self.suffix == suffix && self.method.http() == method
    }
}

/// A staff route, as the staff API and `sapk-admin` name it.
pub type StaffRoute = &'static StaffRouteDef;

/// `GET …/{nip}?limit=N[&new_email=A]`: the employee overview.
pub const EMPLOYEE: StaffRouteDef = employee::ROUTE;
/// `POST …/{nip}/email`: an e-mail change after the identity check.
pub const EMAIL_CHANGE: StaffRouteDef = email_change::ROUTE;
/// `POST …/{nip}/email-exception`: an e-mail change whose NIK disagrees with the NIP, for a
/// second officer.
pub const EMAIL_EXCEPTION: StaffRouteDef = email_exception::ROUTE;
/// `GET …/{nip}/email-exception`: the pending exception.
pub const EMAIL_EXCEPTION_VIEW: StaffRouteDef = email_exception_view::ROUTE;
/// `POST …/{nip}/email-exception/approve`.
pub const EMAIL_EXCEPTION_APPROVE: StaffRouteDef = email_exception_approve::ROUTE;
/// `POST …/{nip}/email-exception/reject`.
pub const EMAIL_EXCEPTION_REJECT: StaffRouteDef = email_exception_reject::ROUTE;
/// `POST …/{nip}/unlock`.
pub const UNLOCK: StaffRouteDef = unlock::ROUTE;
/// `POST …/{nip}/second-factor/remove`.
pub const FACTOR_REMOVE: StaffRouteDef = factor_remove::ROUTE;
/// `POST …/{nip}/passkeys/remove`: a lost device's passkeys, after the identity check.
pub const PASSKEYS_REMOVE: StaffRouteDef = passkeys_remove::ROUTE;
/// `POST …/{nip}/sessions/revoke`.
pub const SESSIONS_REVOKE: StaffRouteDef = sessions_revoke::ROUTE;
/// `POST …/{nip}/export`: the subject access export (UU PDP art. 32).
pub const EXPORT: StaffRouteDef = export::ROUTE;
/// `GET …/{nip}/audit?limit=N`.
pub const AUDIT: StaffRouteDef = audit::ROUTE;
/// `GET …/{nip}/audit/verify` (`-` for the chain of records without a NIP).
pub const AUDIT_VERIFY: StaffRouteDef = audit_verify::ROUTE;

/// Every staff route.
pub const ALL: [StaffRoute; 13] = [
    &EMPLOYEE,
    &EMAIL_CHANGE,
    &EMAIL_EXCEPTION,
    &EMAIL_EXCEPTION_VIEW,
    &EMAIL_EXCEPTION_APPROVE,
    &EMAIL_EXCEPTION_REJECT,
    &UNLOCK,
    &FACTOR_REMOVE,
    &PASSKEYS_REMOVE,
    &SESSIONS_REVOKE,
    &EXPORT,
    &AUDIT,
    &AUDIT_VERIFY,
];

/// The NIP segment as sent (still encoded) and the route of a path and method, if any.
pub(crate) fn find(path: &str, method: &lambda_http::http::Method) -> (String, Option<StaffRoute>) {
    let rest = path.strip_prefix(PREFIX).unwrap_or_default();
    let (nip, suffix) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let route = path
        .starts_with(PREFIX)
        .then(|| ALL.iter().copied().find(|r| r.serves(suffix, method)))
        .flatten();
    (nip.to_owned(), route)
}

/// The `limit` query parameter, `default` when absent or not a number, within 1 to 500.
pub(crate) fn limit(req: &Request, default: usize) -> usize {
    use lambda_http::RequestExt;
    req.query_string_parameters_ref()
        .and_then(|q| q.first("limit"))
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(default)
        .clamp(1, 500)
}
