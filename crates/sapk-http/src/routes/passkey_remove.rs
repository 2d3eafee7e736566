//! `POST /v1/account/passkeys/remove`: removes the account's passkey `id`.

use super::{Answer, Ctx, RouteDef, RouteMethod};
use crate::{field, json_response, object, signed_in};
use lambda_http::http::StatusCode;
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
        let id = field(&body, "id")?;
        c.svc.public().remove_passkey(token, id, &c.meta).await?;
        Ok(json_response(
            StatusCode::OK,
            c.lang,
            &json!({
                "removed": true,
                "message": c.lang.pick(
                    "Passkey dihapus dan tidak dapat dipakai lagi untuk masuk.",
                    "The passkey was removed and can no longer be used to sign in.",
                ),
            }),
        ))
    })
}
