//! `POST /v1/account/second-factor`: signed in and with the current password, the key of a
//! new authenticator app (as an `otpauth://` URI and its QR code).

use super::{Answer, Ctx, RouteDef, RouteMethod};
use crate::{field, json_response, object, qr_svg, signed_in};
use lambda_http::http::StatusCode;
use secrecy::ExposeSecret;
use serde_json::json;

pub(super) const ROUTE: RouteDef = RouteDef {
    name: "second_factor_enrol",
    method: RouteMethod::Post,
    path: "/v1/account/second-factor",
    handler,
};

fn handler<'a>(c: &'a Ctx<'a>) -> Answer<'a> {
    Box::pin(async move {
        let token = signed_in(c.req)?;
        let body = object(c.req)?;
        let current = field(&body, "current_password")?;
        let e = c
            .svc
            .public()
            .start_totp_enrolment(token, current, &c.meta)
            .await?;
        Ok(json_response(
            StatusCode::OK,
            c.lang,
            &json!({
                "otpauth_uri": e.otpauth_uri.expose_secret(),
                "qr_svg": qr_svg(e.otpauth_uri.expose_secret()),
                "secret": e.secret.expose_secret(),
                "expires_in": e.expires_in,
                "message": c.lang.pick(
                    "Pindai kode QR (atau ketik kunci ini) di aplikasi authenticator, lalu kirim kode 6 digit pertamanya ke /v1/account/second-factor/confirm dalam 10 menit.",
                    "Scan the QR code (or type this key) in an authenticator app, then send its first 6-digit code to /v1/account/second-factor/confirm within 10 minutes.",
                ),
            }),
        ))
    })
}
