//! The public routes: one file each, holding the route's definition (its name in the logs,
//! method and path) and its handler. [`ALL`] is the table the API serves from, the functions
//! pick their own from, and the OpenAPI and template tests read.

mod activity;
mod factor_confirm;
mod factor_enrol;
mod forgot;
mod help;
mod login;
mod login_second_step;
mod logout;
mod nip_check;
mod passkey_add;
mod passkey_list;
mod passkey_options;
mod passkey_remove;
mod passkey_sign_in;
mod passkey_sign_in_options;
mod password_change;
mod password_policy;
mod recovery_codes;
mod reset;
mod session;

use crate::Problem;
use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use sapk_core::service::RequestMeta;
use sapk_core::{Lang, Service};
use std::future::Future;
use std::pin::Pin;

/// What a handler gets: the service, the request, its language and its source.
pub(crate) struct Ctx<'a> {
    pub svc: &'a Service,
    pub req: &'a Request,
    pub lang: Lang,
    pub meta: RequestMeta,
}

/// A handler's answer, boxed so that every route's handler has one type.
pub(crate) type Answer<'a> =
    Pin<Box<dyn Future<Output = Result<Response<Body>, Problem>> + Send + 'a>>;

/// A route's HTTP method (plain data, so that route definitions are constants).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteMethod {
    Get,
    Post,
}

impl RouteMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            RouteMethod::Get => "GET",
            RouteMethod::Post => "POST",
        }
    }

    pub fn http(self) -> Method {
        match self {
            RouteMethod::Get => Method::GET,
            RouteMethod::Post => Method::POST,
        }
    }
}

/// One public route.
pub struct RouteDef {
    /// The route's name in the request log.
    pub name: &'static str,
    pub method: RouteMethod,
    pub path: &'static str,
    pub(crate) handler: for<'a> fn(&'a Ctx<'a>) -> Answer<'a>,
}

impl std::fmt::Debug for RouteDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method.as_str(), self.path)
    }
}

impl PartialEq for RouteDef {
    fn eq(&self, other: &RouteDef) -> bool {
        self.path == other.path && self.method == other.method
    }
}

/// A route, as the API and the functions name it.
pub type Route = &'static RouteDef;

pub const FORGOT: RouteDef = forgot::ROUTE;
pub const RESET: RouteDef = reset::ROUTE;
pub const LOGIN: RouteDef = login::ROUTE;
pub const SESSION: RouteDef = session::ROUTE;
pub const LOGOUT: RouteDef = logout::ROUTE;
/// A signed-in user's password change.
pub const PASSWORD_CHANGE: RouteDef = password_change::ROUTE;
/// A signed-in user's own security activity.
pub const ACTIVITY: RouteDef = activity::ROUTE;
/// The second step of a two-step login (challenge and code).
pub const LOGIN_SECOND_STEP: RouteDef = login_second_step::ROUTE;
/// A signed-in user starts setting up an authenticator app ...
pub const FACTOR_ENROL: RouteDef = factor_enrol::ROUTE;
/// ... and confirms it with the app's first code.
pub const FACTOR_CONFIRM: RouteDef = factor_confirm::ROUTE;
/// New recovery codes, given the current password and a current code.
pub const RECOVERY_CODES: RouteDef = recovery_codes::ROUTE;
/// The password policy's rules, so that a form shows what the server checks.
pub const PASSWORD_POLICY: RouteDef = password_policy::ROUTE;
/// Whether a NIP as typed is one (the server's rules, for a form as the user types).
pub const NIP_CHECK: RouteDef = nip_check::ROUTE;
/// Where a civil servant gets help (the configured contacts).
pub const HELP: RouteDef = help::ROUTE;
/// `POST /v1/account/passkeys/options`: the options to make a passkey (password, code).
pub const PASSKEY_OPTIONS: RouteDef = passkey_options::ROUTE;
/// `POST /v1/account/passkeys/add`: the new passkey.
pub const PASSKEY_ADD: RouteDef = passkey_add::ROUTE;
/// `GET /v1/account/passkeys`.
pub const PASSKEY_LIST: RouteDef = passkey_list::ROUTE;
/// `POST /v1/account/passkeys/remove`.
pub const PASSKEY_REMOVE: RouteDef = passkey_remove::ROUTE;
/// `POST /v1/login/passkey/options`: a sign-in challenge naming no one.
pub const PASSKEY_SIGN_IN_OPTIONS: RouteDef = passkey_sign_in_options::ROUTE;
/// `POST /v1/login/passkey`: a session for a verified assertion.
pub const PASSKEY_SIGN_IN: RouteDef = passkey_sign_in::ROUTE;

/// Every public route.
pub const ALL: [Route; 20] = [
    &FORGOT,
    &RESET,
    &LOGIN,
    &SESSION,
    &LOGOUT,
    &PASSWORD_CHANGE,
    &ACTIVITY,
    &LOGIN_SECOND_STEP,
    &FACTOR_ENROL,
    &FACTOR_CONFIRM,
    &RECOVERY_CODES,
    &PASSWORD_POLICY,
    &NIP_CHECK,
    &HELP,
    &PASSKEY_OPTIONS,
    &PASSKEY_ADD,
    &PASSKEY_LIST,
    &PASSKEY_REMOVE,
    &PASSKEY_SIGN_IN_OPTIONS,
    &PASSKEY_SIGN_IN,
];
