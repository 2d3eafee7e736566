//! `POST /v1/account/passkeys/add`: the browser's new credential (`credential`, WebAuthn's JSON)
//! and an optional `name`; the passkey as listed.

use super::{Answer, Ctx, RouteDef, RouteMethod};
use crate::{invalid, json_response, object, optional_field, signed_in};
use lambda_http::http::StatusCode;
use serde_json::{json, Value};

pub(super) const ROUTE: RouteDef = RouteDef {
    name: "passkey_add",
    method: RouteMethod::Post,
    path: "/v1/account/passkeys/add",
    handler,
};

fn handler<'a>(c: &'a Ctx<'a>) -> Answer<'a> {
    Box::pin(async move {
        let token = signed_in(c.req)?;
        let body = object(c.req)?;
        let credential = credential_of(&body)?;
        let name = optional_field(&body, "name")?;
        let added = c
            .svc
            .public()
            .add_passkey(token, credential, name, &c.meta)
            .await?;
        Ok(json_response(
            StatusCode::CREATED,
            c.lang,
            &json!({
                "passkey": added,
                "message": c.lang.pick(
                    "Passkey ditambahkan. Mulai sekarang Anda dapat masuk dengan kunci layar perangkat ini, tanpa password.",
                    "Passkey added. From now on you can sign in with this device's screen lock, without a password.",
                ),
            }),
        ))
    })
}

/// The `credential` object of a body (WebAuthn's JSON of the browser's answer).
pub(super) fn credential_of(
    body: &serde_json::Map<String, Value>,
) -> Result<&Value, crate::Problem> {
    match body.get("credential") {
        Some(v @ Value::Object(_)) => Ok(v),
        None | Some(Value::Null) => Err(invalid(
            "Field \"credential\" wajib diisi.".into(),
            "The field \"credential\" is required.".into(),
        )),
        Some(_) => Err(invalid(
            "Field \"credential\" harus berupa objek JSON.".into(),
            "The field \"credential\" must be a JSON object.".into(),
        )),
    }
}
