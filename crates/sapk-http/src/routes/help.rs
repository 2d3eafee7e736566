//! `GET /v1/help`: where a civil servant gets help, and what the page says from the server's
//! configuration: the product's name, its address, how long a code lives and how soon another
//! can be asked for, and whether passkeys are offered at this address.

use super::{Answer, Ctx, RouteDef, RouteMethod};
use crate::json_response;
use lambda_http::http::StatusCode;
use serde_json::json;

pub(super) const ROUTE: RouteDef = RouteDef {
    name: "help",
    method: RouteMethod::Get,
    path: "/v1/help",
    handler,
};

fn handler<'a>(c: &'a Ctx<'a>) -> Answer<'a> {
    Box::pin(async move {
        let contacts = sapk_core::i18n::HelpContacts::current();
        Ok(json_response(
            StatusCode::OK,
            c.lang,
            &json!({
                "phone": contacts.phone,
                "email": contacts.email,
                "url": sapk_core::i18n::HELP_URL,
                "message": sapk_core::i18n::help_line(c.lang),
                "product": contacts.product,
                "page_url": contacts.page_url,
                "code_ttl_minutes": c.svc.config().code_ttl_secs / 60,
                "resend_after_seconds": c.svc.config().forgot_cooldown_secs,
                "passkeys": c.svc.passkeys_on(),
            }),
        ))
    })
}
