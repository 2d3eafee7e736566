//! `POST /v1/nip/check`: whether the text is a NIP by the server's rules (nothing about
//! whether it has an account).

use super::{Answer, Ctx, RouteDef, RouteMethod};
use crate::{field, json_response, object};
use lambda_http::http::StatusCode;
use serde_json::json;

pub(super) const ROUTE: RouteDef = RouteDef {
    name: "nip_check",
    method: RouteMethod::Post,
    path: "/v1/nip/check",
    handler,
};

fn handler<'a>(c: &'a Ctx<'a>) -> Answer<'a> {
    Box::pin(async move {
        let body = object(c.req)?;
        let nip = c.svc.parse_nip(field(&body, "nip")?)?;
        Ok(json_response(
            StatusCode::OK,
            c.lang,
            &json!({
                "valid": true,
                "nip": nip.as_str(),
                "kind": nip.kind().label(),
            }),
        ))
    })
}
