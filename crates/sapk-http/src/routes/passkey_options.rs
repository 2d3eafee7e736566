//! `POST /v1/account/passkeys/options`: the options for the browser to make a passkey, given
//! the current password and, with two-step login on, the authenticator's code.

use super::{Answer, Ctx, RouteDef, RouteMethod};
use crate::{field, json_response, object, optional_field, signed_in};
use lambda_http::http::StatusCode;

pub(super) const ROUTE: RouteDef = RouteDef {
    name: "passkey_options",
    method: RouteMethod::Post,
    path: "/v1/account/passkeys/options",
    handler,
};

fn handler<'a>(c: &'a Ctx<'a>) -> Answer<'a> {
    Box::pin(async move {
        let token = signed_in(c.req)?;
        let body = object(c.req)?;
        let current = field(&body, "current_password")?;
        let code = optional_field(&body, "code")?;
        let options = c
            .svc
            .public()
            .passkey_registration_options(token, current, code, &c.meta)
            .await?;
        Ok(json_response(StatusCode::OK, c.lang, &options))
    })
}
