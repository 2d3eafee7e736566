//! `GET /v1/password/policy`: the rules the server checks a new password by.

use super::{Answer, Ctx, RouteDef, RouteMethod};
use crate::{json_response, problem};
use lambda_http::http::StatusCode;

pub(super) const ROUTE: RouteDef = RouteDef {
    name: "password_policy",
    method: RouteMethod::Get,
    path: "/v1/password/policy",
    handler,
};

fn handler<'a>(c: &'a Ctx<'a>) -> Answer<'a> {
    Box::pin(async move {
        Ok(json_response(
            StatusCode::OK,
            c.lang,
            &problem::policy_body(&c.svc.config().password, c.lang),
        ))
    })
}
