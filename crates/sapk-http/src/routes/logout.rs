//! `POST /v1/logout`: ends the session.

use super::{Answer, Ctx, RouteDef, RouteMethod};
use crate::{base_response, finish, signed_in};
use lambda_http::http::StatusCode;
use lambda_http::Body;

pub(super) const ROUTE: RouteDef = RouteDef {
    name: "logout",
    method: RouteMethod::Post,
    path: "/v1/logout",
    handler,
};

fn handler<'a>(c: &'a Ctx<'a>) -> Answer<'a> {
    Box::pin(async move {
        c.svc.public().logout(signed_in(c.req)?, &c.meta).await?;
        Ok(finish(
            base_response(StatusCode::NO_CONTENT, c.lang),
            Body::Empty,
        ))
    })
}
