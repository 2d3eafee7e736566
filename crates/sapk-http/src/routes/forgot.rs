//! `POST /v1/password/forgot`: a reset code by e-mail, the same answer for every valid NIP.

use super::{Answer, Ctx, RouteDef, RouteMethod};
use crate::{field, json_response, object};
use lambda_http::http::StatusCode;
use sapk_core::Lang;
use serde_json::json;

pub(super) const ROUTE: RouteDef = RouteDef {
    name: "forgot",
    method: RouteMethod::Post,
    path: "/v1/password/forgot",
    handler,
};

fn handler<'a>(c: &'a Ctx<'a>) -> Answer<'a> {
    Box::pin(async move {
        let body = object(c.req)?;
        let nip = field(&body, "nip")?;
        c.svc.public().forgot(nip, &c.meta).await?;
        let minutes = c.svc.config().code_ttl_secs / 60;
        let help = sapk_core::i18n::help_line(c.lang);
        let wait = c.svc.config().forgot_cooldown_secs;
        // The same words for every NIP: what to do if nothing comes, and that only the newest
        // code counts.
        let message = match c.lang {
            Lang::Id => format!("Jika NIP terdaftar dan memiliki email, kode reset telah dikirim ke email tersebut. Kode berlaku {minutes} menit; hanya kode terbaru yang berlaku. Email biasanya tiba dalam 1-2 menit: periksa juga folder Spam atau Promosi. Bila tidak datang, Anda dapat meminta kode baru setelah {wait} detik. Jika email tidak lagi dapat diakses, datangi kantor BKN terdekat atau unit kepegawaian instansi Anda dengan membawa KTP. {help}"),
            Lang::En => format!("If the NIP is registered and has an e-mail address, a reset code has been sent to it. The code is valid for {minutes} minutes; only the newest code works. The e-mail usually arrives within 1-2 minutes: check the Spam or Promotions folder too. If it does not come, you can ask for a new code after {wait} seconds. If you can no longer reach that e-mail, visit the nearest BKN office or your agency's HR unit with your KTP. {help}"),
        };
        Ok(json_response(
            StatusCode::ACCEPTED,
            c.lang,
            &json!({
                "status": "accepted",
                "message": message,
                "code_ttl_minutes": minutes,
                "resend_after_seconds": wait,
            }),
        ))
    })
}
