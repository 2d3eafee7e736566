//! `POST /v1/password/reset`: a new password with the e-mailed code.

use super::{Answer, Ctx, RouteDef, RouteMethod};
use crate::{field, json_response, object};
use lambda_http::http::StatusCode;
use serde_json::json;

pub(super) const ROUTE: RouteDef = RouteDef {
    name: "reset",
    method: RouteMethod::Post,
    path: "/v1/password/reset",
    handler,
};

fn handler<'a>(c: &'a Ctx<'a>) -> Answer<'a> {
    Box::pin(async move {
        let body = object(c.req)?;
        let (nip, token, pw) = (
            field(&body, "nip")?,
            field(&body, "token")?,
            field(&body, "new_password")?,
        );
        c.svc.public().reset(nip, token, pw, &c.meta).await?;
        Ok(json_response(
            StatusCode::OK,
            c.lang,
            &json!({
                "status": "password_changed",
                "message": c.lang.pick(
                    "Password berhasil diperbarui. Silakan login dengan NIP dan password baru.",
                    "Your password was updated. Log in with your NIP and the new password.",
                ),
            }),
        ))
    })
}
