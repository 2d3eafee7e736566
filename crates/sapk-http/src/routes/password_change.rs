//! `POST /v1/password/change`: signed in, the current password and a new one; other sessions
//! end and the answer carries a new token.

use super::{Answer, Ctx, RouteDef, RouteMethod};
use crate::{field, json_response, object, signed_in};
use lambda_http::http::StatusCode;
use secrecy::ExposeSecret;
use serde_json::json;

pub(super) const ROUTE: RouteDef = RouteDef {
    name: "password_change",
    method: RouteMethod::Post,
    path: "/v1/password/change",
    handler,
};

fn handler<'a>(c: &'a Ctx<'a>) -> Answer<'a> {
    Box::pin(async move {
        let token = signed_in(c.req)?;
        let body = object(c.req)?;
        let (current, new) = (
            field(&body, "current_password")?,
            field(&body, "new_password")?,
        );
        let out = c
            .svc
            .public()
            .change_password(token, current, new, &c.meta)
            .await?;
        Ok(json_response(
            StatusCode::OK,
            c.lang,
            &json!({
                "status": "password_changed",
                "message": c.lang.pick(
                    "Password berhasil diganti. Sesi lain sudah diakhiri; gunakan token baru ini.",
                    "Your password was changed. Other sessions were ended; use this new token.",
                ),
                "access_token": out.access_token.expose_secret(),
                "token_type": "Bearer",
                "expires_in": out.expires_in,
            }),
        ))
    })
}
