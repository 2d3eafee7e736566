//! `POST /v1/account/second-factor/confirm`: the app's first code turns two-step login on;
//! the answer carries the recovery codes.

use super::{Answer, Ctx, RouteDef, RouteMethod};
use crate::{field, object, recovery_codes_response, signed_in};

pub(super) const ROUTE: RouteDef = RouteDef {
    name: "second_factor_confirm",
    method: RouteMethod::Post,
    path: "/v1/account/second-factor/confirm",
    handler,
};

fn handler<'a>(c: &'a Ctx<'a>) -> Answer<'a> {
    Box::pin(async move {
        let token = signed_in(c.req)?;
        let body = object(c.req)?;
        let code = field(&body, "code")?;
        let codes = c
            .svc
            .public()
            .confirm_totp_enrolment(token, code, &c.meta)
            .await?;
        Ok(recovery_codes_response(&codes.0, c.lang))
    })
}
