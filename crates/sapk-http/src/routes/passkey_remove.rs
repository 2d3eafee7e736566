//! `POST /v1/account/passkeys/remove`: removes the account's passkey `id`, given the
//! `current_password`; other sessions end and the answer carries a new token.

use super::{Answer, Ctx, RouteDef, RouteMethod};
use crate::{field, json_response, object, signed_in};
use lambda_http::http::StatusCode;
use secrecy::ExposeSecret;
use serde_json::json;

pub(super) const ROUTE: RouteDef = RouteDef {
    name: "passkey_remove",
    method: RouteMethod::Post,
    path: "/v1/account/passkeys/remove",
    handler,
};

fn handler<'a>(c: &'a Ctx<'a>) -> Answer<'a> {
    Box::pin(async move {
        let token = signed_in(c.req)?;
        let body = object(c.req)?;
        let (id, current) = (field(&body, "id")?, field(&body, "current_password")?);
        let out = c
            .svc
            .public()
            .remove_passkey(token, id, current, &c.meta)
            .await?;
        Ok(json_response(
            StatusCode::OK,
            c.lang,
            &json!({
                "removed": true,
                "message": c.lang.pick(
                    "Passkey dihapus dan tidak dapat dipakai lagi untuk masuk. Sesi lain sudah diakhiri; gunakan token baru ini.",
                    "The passkey was removed and can no longer be used to sign in. Other sessions were ended; use this new token.",
                ),
                "access_token": out.access_token.expose_secret(),
                "token_type": "Bearer",
                "expires_in": out.expires_in,
            }),
        ))
    })
}
