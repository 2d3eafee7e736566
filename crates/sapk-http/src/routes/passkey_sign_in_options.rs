//! `POST /v1/login/passkey/options`: a sign-in challenge for the browser (a button, or the
//! NIP field's autofill), naming no one.

use super::{Answer, Ctx, RouteDef, RouteMethod};
use crate::json_response;
use lambda_http::http::StatusCode;

pub(super) const ROUTE: RouteDef = RouteDef {
    name: "passkey_sign_in_options",
    method: RouteMethod::Post,
    path: "/v1/login/passkey/options",
    handler,
};

fn handler<'a>(c: &'a Ctx<'a>) -> Answer<'a> {
    Box::pin(async move {
        let options = c.svc.public().passkey_sign_in_options(&c.meta).await?;
        Ok(json_response(StatusCode::OK, c.lang, &options))
    })
}
