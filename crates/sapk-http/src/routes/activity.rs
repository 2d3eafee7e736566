//! `GET /v1/account/activity?limit=N`: the account's own recent security activity.

use super::{Answer, Ctx, RouteDef, RouteMethod};
use crate::{json_response, signed_in};
use lambda_http::http::StatusCode;
use lambda_http::RequestExt;
use serde_json::json;

pub(super) const ROUTE: RouteDef = RouteDef {
    name: "activity",
    method: RouteMethod::Get,
    path: "/v1/account/activity",
    handler,
};

fn handler<'a>(c: &'a Ctx<'a>) -> Answer<'a> {
    Box::pin(async move {
        let token = signed_in(c.req)?;
        let limit = c
            .req
            .query_string_parameters_ref()
            .and_then(|q| q.first("limit"))
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(30);
        let items = c
            .svc
            .public()
            .account_activity(token, limit, c.lang)
            .await?;
        Ok(json_response(
            StatusCode::OK,
            c.lang,
            &json!({ "events": items }),
        ))
    })
}
