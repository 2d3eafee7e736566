//! `POST /v1/login`: NIP and password; a session, or the challenge of the second step.

use super::{Answer, Ctx, RouteDef, RouteMethod};
use crate::{field, json_response, object, session_body};
use lambda_http::http::StatusCode;
use sapk_core::LoginStep;
use secrecy::ExposeSecret;
use serde_json::json;

pub(super) const ROUTE: RouteDef = RouteDef {
    name: "login",
    method: RouteMethod::Post,
    path: "/v1/login",
    handler,
};

fn handler<'a>(c: &'a Ctx<'a>) -> Answer<'a> {
    Box::pin(async move {
        let body = object(c.req)?;
        let (nip, pw) = (field(&body, "nip")?, field(&body, "password")?);
        let body = match c.svc.public().login(nip, pw, &c.meta).await? {
            LoginStep::Session(out) => session_body(&out, c.lang),
            LoginStep::SecondStep(ch) => json!({
                "second_factor_required": true,
                "challenge": ch.token.expose_secret(),
                "challenge_expires_in": ch.expires_in,
                "second_step": { "code": ch.code, "passkey": ch.passkey },
                "message": match (ch.code, ch.passkey) {
                    (true, false) => c.lang.pick(
                        "Masukkan kode 6 digit dari aplikasi authenticator Anda, atau salah satu kode pemulihan.",
                        "Enter the 6-digit code from your authenticator app, or one of your recovery codes.",
                    ),
                    (true, true) => c.lang.pick(
                        "Pakai passkey Anda, atau masukkan kode 6 digit dari aplikasi authenticator atau salah satu kode pemulihan.",
                        "Use your passkey, or enter the 6-digit code from your authenticator app or one of your recovery codes.",
                    ),
                    _ => c.lang.pick(
                        "Instansi Anda mewajibkan verifikasi dua langkah: pakai passkey Anda.",
                        "Your agency requires two-step login: use your passkey.",
                    ),
                },
            }),
        };
        Ok(json_response(StatusCode::OK, c.lang, &body))
    })
}
