//! `GET /v1/session`: the session of a bearer token.

use super::{Answer, Ctx, RouteDef, RouteMethod};
use crate::{json_response, signed_in};
use lambda_http::http::StatusCode;
use serde_json::json;

pub(super) const ROUTE: RouteDef = RouteDef {
    name: "session",
    method: RouteMethod::Get,
    path: "/v1/session",
    handler,
};

fn handler<'a>(c: &'a Ctx<'a>) -> Answer<'a> {
    Box::pin(async move {
        let info = c.svc.public().session(signed_in(c.req)?).await?;
        Ok(json_response(
            StatusCode::OK,
            c.lang,
            &json!({
                "nip": info.nip.as_str(),
                "expires_at": info.expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "second_factor": info.second_factor,
                "second_factor_required": info.second_factor_required,
                "name": info.name,
                "email_masked": info.email_masked,
                "recovery_codes_left": info.recovery_codes_left,
            }),
        ))
    })
}
