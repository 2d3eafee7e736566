//! `GET /v1/account/passkeys`: the signed-in account's passkeys, oldest first.

use super::{Answer, Ctx, RouteDef, RouteMethod};
use crate::{json_response, signed_in};
use lambda_http::http::StatusCode;
use serde_json::json;

pub(super) const ROUTE: RouteDef = RouteDef {
    name: "passkey_list",
    method: RouteMethod::Get,
    path: "/v1/account/passkeys",
    handler,
};

fn handler<'a>(c: &'a Ctx<'a>) -> Answer<'a> {
    Box::pin(async move {
        let token = signed_in(c.req)?;
        let all = c.svc.public().list_passkeys(token).await?;
        Ok(json_response(
            StatusCode::OK,
            c.lang,
            &json!({ "passkeys": all }),
        ))
    })
}
