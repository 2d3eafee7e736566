//! `POST /v1/account/recovery-codes`: new recovery codes, given the current password and a
//! current authenticator code.

use super::{Answer, Ctx, RouteDef, RouteMethod};
use crate::{field, object, recovery_codes_response, signed_in};

pub(super) const ROUTE: RouteDef = RouteDef {
    name: "recovery_codes",
    method: RouteMethod::Post,
    path: "/v1/account/recovery-codes",
    handler,
};

fn handler<'a>(c: &'a Ctx<'a>) -> Answer<'a> {
    Box::pin(async move {
        let token = signed_in(c.req)?;
        let body = object(c.req)?;
        let code = field(&body, "code")?;
        let current = field(&body, "current_password")?;
        let codes = c
            .svc
            .public()
            .renew_recovery_codes(token, current, code, &c.meta)
            .await?;
        Ok(recovery_codes_response(&codes.0, c.lang))
    })
}
