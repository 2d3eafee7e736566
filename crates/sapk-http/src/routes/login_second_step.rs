//! `POST /v1/login/second-factor`: the challenge and a code give the session.

use super::{Answer, Ctx, RouteDef, RouteMethod};
use crate::{field, json_response, object, session_body};
use lambda_http::http::StatusCode;

pub(super) const ROUTE: RouteDef = RouteDef {
    name: "login_second_step",
    method: RouteMethod::Post,
    path: "/v1/login/second-factor",
    handler,
};

fn handler<'a>(c: &'a Ctx<'a>) -> Answer<'a> {
    Box::pin(async move {
        let body = object(c.req)?;
        let (challenge, code) = (field(&body, "challenge")?, field(&body, "code")?);
        let out = c
            .svc
            .public()
            .login_second_step(challenge, code, &c.meta)
            .await?;
        Ok(json_response(
            StatusCode::OK,
            c.lang,
            &session_body(&out, c.lang),
        ))
    })
}
