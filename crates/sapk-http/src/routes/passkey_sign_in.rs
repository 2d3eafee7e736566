//! `POST /v1/login/passkey`: the browser's assertion (`credential`, WebAuthn's JSON) for a
//! sign-in challenge, and the password's `challenge` when the passkey is the second step; a
//! session, as a login with password and code gives.

use super::passkey_add::credential_of;
use super::{Answer, Ctx, RouteDef, RouteMethod};
use crate::{json_response, object, optional_field, session_body};
use lambda_http::http::StatusCode;

pub(super) const ROUTE: RouteDef = RouteDef {
    name: "passkey_sign_in",
    method: RouteMethod::Post,
    path: "/v1/login/passkey",
    handler,
};

fn handler<'a>(c: &'a Ctx<'a>) -> Answer<'a> {
    Box::pin(async move {
        let body = object(c.req)?;
        let credential = credential_of(&body)?;
        let challenge = optional_field(&body, "challenge")?;
        let out = c
            .svc
            .public()
            .passkey_sign_in(credential, challenge, &c.meta)
            .await?;
        Ok(json_response(
            StatusCode::OK,
            c.lang,
            &session_body(&out, c.lang),
        ))
    })
}
